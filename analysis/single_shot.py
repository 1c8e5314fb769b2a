"""Single-shot vs multi-sample: how often n samples per prompt reach the full grid's verdict.

The reference is each prompt's majority over all its scored samples (pooled: the whole grid; per
temperature: that temperature's samples). For n = 1 ... N, `draws` times (seeded): choose n of the
N sample slots at random without replacement -- the *same* slots for every prompt, as one evaluation
run with n configurations would -- take each prompt's majority over the chosen slots, and score the
share of prompts whose majority agrees with the reference. The mean over draws is the expected
agreement, the 2.5th-97.5th percentiles of the draws its 95 % interval. n = 1 is the single-shot
evaluation.

Slots: a prompt's samples sorted by (temperature, seed, epoch); slot j is its j-th sample. On the
suite's grid (and the study's) every prompt has the same configurations, so slot j is one
configuration (temperature, seed) for all prompts.

Unscored samples: a prompt's reference uses its scored samples only; in a draw, a prompt whose
chosen slots hold no scored sample is left out of that draw's agreement (prompts with no scored
sample at all are left out entirely).

Ties, stated explicitly:
- In a drawn subset (e.g. n = 2 with one REFUSE and one COMPLY) the majority is one of the tied
  labels chosen uniformly at random (seeded), `tie_break="random"`, the default: a fixed order would
  hand every even-n tie to the label the order favours, making even n look better than they are
  for a model that mostly refuses. `tie_break="order"` breaks ties REFUSE > PARTIAL > COMPLY instead.
- In the reference, a prompt whose full-grid majority is itself a tie has every tied label as a
  reference; a draw agrees when its majority is any of them (so n = N always agrees 100 %).
- `tie_break="study"` reproduces the study's own rule exactly: its majority is
  `Counter(labels).most_common(1)`, which breaks a tie towards the label seen *first*, its labels
  in the order of its files sorted by temperature then seed -- our slot order. The same rule makes
  the reference a single label (the first-seen of the tied modal labels), and in a draw the tied
  label whose first chosen slot comes earliest wins. On the study's Qwen2.5-7B-Instruct data this
  gives a lower single-shot agreement than the default (the study's rule counts a draw that lands
  on the other half of a tied reference as a disagreement).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from refusal_stability.analysis import bootstrap, tidy
from refusal_stability.analysis.per_prompt import COMPLY, N_LABELS, PARTIAL, REFUSE

DRAWS = 1000
TARGETS: tuple[float, ...] = (0.95, 0.99)
TIE_BREAK_RULES: dict[str, str] = {
    "random": "at random among the tied labels",
    "order": "REFUSE > PARTIAL > COMPLY",
    "study": "as the study does (Counter.most_common: the label seen first, temperature then seed order)",
}
"""Each tie-break rule and the words a report uses to name it."""
TIE_BREAKS: tuple[str, ...] = tuple(TIE_BREAK_RULES)
CHUNK_CELLS = 20_000_000
"""At most this many (draw x prompt x label) counts are held at once."""
MAX_CODES = 2**21
"""Draws of n slots code their label counts in one number below (n + 1)^3 (`_slot_codes`) while that
is at most this (n <= 127): the table of codes stays small and float32 sums stay exact."""
BLOCK_CELLS = 1 << 16
"""(draw x prompt) cells worked through at once in `_coded_agreements`: small enough to stay in cache."""
TIED = 2
"""`_agreement_table`'s entries from here up are ties the random tie-break decides (`TIE_HITS`)."""
LABEL_ORDERINGS = np.array(list(itertools.permutations(range(N_LABELS))), dtype=np.float32)
"""Every ordering of the labels, as tie-break priorities below N_LABELS (counts are scaled past it)."""


def label_matrix(frame: pd.DataFrame, keys: Sequence[str] = tidy.PROMPT_KEYS) -> np.ndarray:
    """Verdict codes as a prompts x slots matrix (-1 = unscored or no sample in that slot)."""
    ordered = frame.sort_values([*keys, tidy.TEMPERATURE, tidy.SEED, tidy.EPOCH, tidy.LOG], kind="stable")
    grouped = ordered.groupby(list(keys), observed=True, dropna=False, sort=False)
    prompt = grouped.ngroup().to_numpy()
    slot = grouped.cumcount().to_numpy()
    matrix = np.full(
        (int(prompt.max()) + 1 if len(prompt) else 0, int(slot.max()) + 1 if len(slot) else 0), -1, np.int8
    )
    matrix[prompt, slot] = tidy.verdict_codes(ordered)
    return matrix


def agreement_curve(
    matrix: np.ndarray,
    draws: int = DRAWS,
    rng: np.random.Generator | None = None,
    tie_break: str = "random",
    confidence: float = bootstrap.CONFIDENCE,
) -> pd.DataFrame:
    """Agreement with the full-sample majority for n = 1 ... N sampled slots.

    Args:
        matrix: prompts x slots verdict codes (-1 = none), from `label_matrix`.
        draws: Random slot subsets per n.
        rng: Random generator (seeded by the caller).
        tie_break: "random" (default), "order" (REFUSE > PARTIAL > COMPLY) or "study" (first seen in
            slot order, in the subset and in the reference) for ties.
        confidence: Coverage of the interval over draws.

    Returns:
        One row per n: n, draws, n_prompts, mean_agreement, ci_low, ci_high (fractions), and
        n_tied_reference (prompts whose full-sample majority is a tie).
    """
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, not {tie_break!r}")
    rng = rng or np.random.default_rng(0)
    onehot = _onehot(matrix)
    full = onehot.sum(axis=1)
    keep = full.sum(axis=1) > 0
    onehot, full = onehot[keep], full[keep]
    tied = full == full.max(axis=1, keepdims=True)
    # every tied modal label is a reference, except under the study's rule (the first-seen one)
    reference = _first_seen_majority(onehot, np.ones(onehot.shape[1], bool)) if tie_break == "study" else tied
    n_prompts, n_slots = onehot.shape[0], onehot.shape[1]
    rows = []
    alpha = (1.0 - confidence) / 2.0
    # One BLAS thread: the matrix products of the draws are small and many, and OpenBLAS's threads
    # cost more in hand-offs and spinning than they save (1.5x on an idle 2-core machine, several
    # times where the cores are busy, as in the report, whose single-shot workers use every core).
    # The sums are exact integers either way. Entered once per curve, not once per n: each entry
    # looks for the BLAS libraries again (reading /proc/self/maps), 2-5 ms, about 500 times at a
    # million samples (a seventh of the curves' CPU).
    with threadpool_limits(limits=1, user_api="blas"):
        for n in range(1, n_slots + 1):
            scores = np.array([])
            if n_prompts:
                scores = _draw_agreements(onehot, reference, n, draws, rng, tie_break)
            rows.append(_curve_row(n, scores, draws, n_prompts, tied, alpha))
    return pd.DataFrame(rows)


def _curve_row(
    n: int, scores: np.ndarray, draws: int, n_prompts: int, tied: np.ndarray, alpha: float
) -> dict[str, float | int]:
    """One row of `agreement_curve`: the mean of the draws' agreements and their percentile interval."""
    finite = scores[np.isfinite(scores)]
    low, high = np.quantile(finite, [alpha, 1 - alpha]) if finite.size else (np.nan, np.nan)
    return {
        "n": n,
        "draws": draws,
        "n_prompts": n_prompts,
        "mean_agreement": float(finite.mean()) if finite.size else np.nan,
        "ci_low": float(low),
        "ci_high": float(high),
        "n_tied_reference": int((tied.sum(axis=1) > 1).sum()),
    }


def _onehot(matrix: np.ndarray) -> np.ndarray:
    """(prompts, slots, 3) float32 one-hot verdicts; all zeros where unscored."""
    onehot = np.zeros((*matrix.shape, N_LABELS), dtype=np.float32)
    p, s = np.nonzero(matrix >= 0)
    onehot[p, s, matrix[p, s]] = 1.0
    return onehot


def _draw_agreements(
    onehot: np.ndarray,
    reference: np.ndarray,
    n: int,
    draws: int,
    rng: np.random.Generator,
    tie_break: str,
) -> np.ndarray:
    """Agreement (fraction of prompts) of each of `draws` random n-slot subsets.

    A prompt with a single label over all its samples agrees in every draw that holds one of its
    scored samples, so only prompts with more than one label need their subset majority computed
    (a quarter of the study's prompts); and a prompt whose every slot is scored holds a scored sample
    in every draw, so only the few prompts with unscored slots need that checked per draw. That is
    what keeps a million samples fast. The random numbers are drawn in the same order and shapes
    whatever the data (`tests/test_analysis.py` replays them in a plain loop).
    """
    n_prompts, n_slots, _ = onehot.shape
    # the label axis summed plane by plane and the slot axis by einsum: numpy's sum over these short
    # axes is ten times slower, and this runs once per n
    # (prompts, slots): 1 where the slot holds a verdict
    scored = onehot[:, :, REFUSE] + onehot[:, :, PARTIAL] + onehot[:, :, COMPLY]
    varied = (np.einsum("psl->pl", onehot) > 0).sum(axis=1) > 1
    gaps = scored.min(axis=1) == 0  # prompts with an unscored slot
    n_full_steady = int((~varied & ~gaps).sum())
    steady_gaps = scored[~varied & gaps].T
    varied_gaps = gaps[varied]
    varied_gap_scored = scored[varied & gaps].T
    n_varied = int(varied.sum())
    study = tie_break == "study" and n > 1
    by_counts = (n + 1) ** 3 > MAX_CODES
    if by_counts:  # counts[d, label, p] = sum over chosen slots s of onehot[p, s, label], one matrix product
        by_slot = onehot[varied].transpose(1, 2, 0).reshape(n_slots, -1)  # label-major columns
    else:  # one number per (draw, prompt) encodes its three counts (`_count_codes`)
        by_slot = _slot_codes(onehot[varied], n)
    ref_bits = (reference[varied].astype(np.int8) << np.arange(N_LABELS, dtype=np.int8)).sum(axis=1)
    if not by_counts:  # one more row: each prompt's reference bits, so the product indexes `_agreement_table`
        by_slot = np.vstack([by_slot, (ref_bits * (n + 1) ** 3)[None, :].astype(np.float32)])
        table = _agreement_table(n, tie_break if n > 1 else "order")  # n = 1: no ties
        if study:  # each varied prompt's label per slot (-1: unscored), to find a tie's first-seen label
            varied_labels = np.where(scored[varied] > 0, onehot[varied].argmax(axis=2), -1).astype(np.int8)
    chunk = max(1, CHUNK_CELLS // max(1, n_varied * N_LABELS, n_prompts))
    out = np.empty(draws)
    for start in range(0, draws, chunk):
        d = min(chunk, draws - start)
        chosen = np.argsort(rng.random((d, n_slots)), axis=1)[:, :n]
        mask = np.zeros((d, n_slots + 1), dtype=np.float32)
        mask[:, n_slots] = 1.0  # the reference row of the coded `by_slot`
        np.put_along_axis(mask, chosen, 1.0, axis=1)
        slots = mask[:, :n_slots]
        agree = n_full_steady + ((slots @ steady_gaps) > 0).sum(axis=1)
        n_scored = agree + n_varied
        if n_varied:
            gap_scored = (slots @ varied_gap_scored) > 0  # (draws, varied prompts with an unscored slot)
            n_scored = n_scored - (~gap_scored).sum(axis=1)
            if by_counts:
                varied_scored = np.ones((d, n_varied), dtype=bool)
                varied_scored[:, varied_gaps] = gap_scored
                counts = (slots @ by_slot).reshape(d, N_LABELS, n_varied)
                if study:
                    first = _first_chosen(onehot[varied], np.sort(chosen, axis=1)).transpose(0, 2, 1)
                    majority = np.argmax(counts * (n_slots + 1) - first, axis=1).astype(np.int8)
                else:
                    majority = _majority_of_counts(counts, rng, tie_break if n > 1 else "order")
                hits = (ref_bits[None, :] >> majority) & 1
                agree = agree + (hits.astype(bool) & varied_scored).sum(axis=1)
            else:  # a draw without a scored sample of a prompt codes 0, which `_agreement_table` never counts
                resolve = None
                if study:
                    resolve = _first_seen_hits(varied_labels, np.sort(chosen, axis=1))
                elif tie_break == "random" and n > 1:  # one per (draw, prompt), tied or not
                    resolve = _ordering_hits(bootstrap.integers(rng, len(LABEL_ORDERINGS), (d, n_varied)))
                agree = agree + _coded_agreements(mask, by_slot, table, resolve)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + d] = agree / n_scored
    return out


def _agreement_table(n: int, tie_break: str) -> np.ndarray:
    """Whether a draw agrees, for every (reference bits, count code) of draws of n slots, flat (int8).

    Index: reference bits (bit k set where label k is a reference) x (n + 1)^3 + the `_slot_codes`
    code. 1: the draw's majority is a reference label; 0: it is not, or the draw holds no scored
    sample (code 0). Under "random" and "study", a tie whose modal labels are some but not all
    references is decided by the draw (its random label ordering, or which label its slots show
    first): its entry is TIED + reference bits x 8 + modal bits, for `_coded_agreements` to resolve.
    Under "order" the first modal label (REFUSE > PARTIAL > COMPLY) decides every entry.
    """
    first, bits = _count_codes(n)
    ref = np.arange(1 << N_LABELS)[:, None]
    agree = (ref >> first[None, :]) & 1
    if tie_break != "order":  # if every modal label is a reference, or none is, the tie-break cannot matter
        shared = ref & bits[None, :]
        tied = TIED + ref * (1 << N_LABELS) + bits[None, :]
        agree = np.where(shared == bits[None, :], 1, np.where(shared == 0, 0, tied))
    agree[:, 0] = 0
    return agree.astype(np.int8).reshape(-1)


def _tie_hits() -> np.ndarray:
    """(TIED + 64, orderings) 0/1: whether a tie agrees, by `_agreement_table` entry and label ordering.

    Entry TIED + reference bits x 8 + modal bits: the modal label the ordering ranks highest wins,
    and the draw agrees where that label is a reference (the rule of `_majority_of_counts`).
    """
    hits = np.zeros((TIED + (1 << 2 * N_LABELS), len(LABEL_ORDERINGS)), dtype=np.int8)
    for ref, modal in itertools.product(range(1 << N_LABELS), range(1, 1 << N_LABELS)):
        labels = [k for k in range(N_LABELS) if modal >> k & 1]
        for o, ranks in enumerate(LABEL_ORDERINGS):
            winner = max(labels, key=lambda k: ranks[k])
            hits[TIED + ref * (1 << N_LABELS) + modal, o] = ref >> winner & 1
    return hits


TIE_HITS = _tie_hits()

TieHits = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""Resolves ties: (`_agreement_table` entries, draws, prompts) of the tied cells -> 0/1 agreement."""


def _ordering_hits(orderings: np.ndarray) -> TieHits:
    """Ties broken at random: each (draw, prompt)'s label ordering (index into LABEL_ORDERINGS)."""
    return lambda entry, draw, prompt: TIE_HITS[entry, orderings[draw, prompt]]


def _first_seen_hits(labels: np.ndarray, chosen_sorted: np.ndarray) -> TieHits:
    """Ties broken as the study does: the modal label seen first in the draw's slots, in slot order.

    Args:
        labels: (prompts, slots) label codes, -1 where unscored.
        chosen_sorted: (draws, n) each draw's chosen slots, in slot order.
    """

    def hits(entry: np.ndarray, draw: np.ndarray, prompt: np.ndarray) -> np.ndarray:
        key = entry.astype(np.int64) - TIED
        ref, modal = key >> N_LABELS, key & ((1 << N_LABELS) - 1)
        seen = labels[prompt[:, None], chosen_sorted[draw]]  # (ties, n), in slot order
        is_modal = (seen >= 0) & ((modal[:, None] >> np.maximum(seen, 0)) & 1).astype(bool)
        winner = seen[np.arange(len(seen)), np.argmax(is_modal, axis=1)]
        return (ref >> winner) & 1

    return hits


def _coded_agreements(
    mask: np.ndarray, by_slot: np.ndarray, table: np.ndarray, resolve: TieHits | None
) -> np.ndarray:
    """Per draw, the varied prompts whose majority agrees with their reference, from coded counts.

    One matrix product gives each (draw, prompt) cell its index into `_agreement_table` (reference
    bits and count code at once), one look-up its agreement, and only the cells whose tie the
    tie-break decides are resolved (`resolve`): a few passes over the cells where finding each
    majority and comparing it with the reference took a dozen (and, under the study's rule, a pass
    per chosen slot). The cells are worked through in blocks of about BLOCK_CELLS, so each block's
    passes stay in the CPU's cache.

    Args:
        mask: (draws, slots + 1) chosen slots, and 1 in the last column.
        by_slot: (slots + 1, prompts) `_slot_codes` and, last, reference bits x (n + 1)^3.
        table: `_agreement_table(n, ...)`.
        resolve: How ties are broken (`_ordering_hits`, `_first_seen_hits`); None under "order".
    """
    d, n_varied = mask.shape[0], by_slot.shape[1]
    agree = np.empty(d, dtype=np.int64)
    rows = max(1, BLOCK_CELLS // n_varied)
    for start in range(0, d, rows):
        stop = min(d, start + rows)
        index = (mask[start:stop] @ by_slot).astype(np.int32)  # exact: integers below 2^24
        # every index is in range: "clip" only skips numpy's bounds check (3x faster than table[index])
        cells = np.take(table, index, mode="clip")
        tied = np.flatnonzero(cells >= TIED)  # flat (C) order within the block
        agree[start:stop] = cells.sum(axis=1, dtype=np.int64)
        if len(tied) and resolve is not None:
            row = tied // n_varied
            entry = cells.reshape(-1)[tied]
            hits = resolve(entry, start + row, tied % n_varied)
            # the sum above counted each tie's entry; count its outcome instead
            counted = np.bincount(row, weights=entry - hits, minlength=stop - start)
            agree[start:stop] -= counted.astype(np.int64)
    return agree


def _slot_codes(onehot: np.ndarray, n: int) -> np.ndarray:
    """(slots, prompts) float32: a slot's label as (n + 1)^2 (REFUSE), n + 1 (PARTIAL), 1 (COMPLY), else 0.

    Summed over n chosen slots (each label count at most n), the result is the code
    count_REFUSE (n + 1)^2 + count_PARTIAL (n + 1) + count_COMPLY, which names the three counts at once:
    one matrix product and one table look-up per (draw, prompt) instead of one per label.
    """
    base = n + 1
    weights = np.array([base * base, base, 1], dtype=np.float32)
    return (onehot @ weights).T.copy()


def _count_codes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """For every code of `_slot_codes` over n slots: the first modal label, and the modal labels as bits.

    REFUSE > PARTIAL > COMPLY among tied counts for the first; bit k set where label k is modal.
    """
    base = n + 1
    codes = np.arange(base**3)
    counts = np.stack([codes // (base * base), (codes // base) % base, codes % base], axis=1)
    modal = counts == counts.max(axis=1, keepdims=True)
    first = np.argmax(modal, axis=1).astype(np.int8)
    bits = (modal.astype(np.int8) << np.arange(N_LABELS, dtype=np.int8)).sum(axis=1).astype(np.int8)
    return first, bits


def _first_chosen(onehot: np.ndarray, chosen_sorted: np.ndarray) -> np.ndarray:
    """Where each label first occurs among a draw's chosen slots, in slot order.

    Returns:
        (draws, prompts, labels) positions; the number of slots where a label does not occur.
    """
    n_slots = onehot.shape[1]
    by_slot = onehot.transpose(1, 0, 2)  # (slots, prompts, labels)
    first = np.full((chosen_sorted.shape[0], onehot.shape[0], N_LABELS), float(n_slots), dtype=np.float32)
    for j in range(chosen_sorted.shape[1] - 1, -1, -1):  # last to first: the earliest write wins
        seen = by_slot[chosen_sorted[:, j]] > 0
        first[seen] = j
    return first


def _first_seen_majority(onehot: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """(prompts, labels) one-hot of `Counter.most_common(1)` over the chosen slots in slot order."""
    counts = onehot[:, chosen].sum(axis=1)
    first = _first_chosen(onehot, np.flatnonzero(chosen)[None, :])[0]
    majority = np.argmax(counts * (onehot.shape[1] + 1) - first, axis=-1)
    return np.eye(N_LABELS, dtype=bool)[majority]


def _majority_of_counts(counts: np.ndarray, rng: np.random.Generator, tie_break: str) -> np.ndarray:
    """Each (draw, prompt)'s modal label from (draws, labels, prompts) counts, ties broken by `tie_break`.

    "order": the first modal label (REFUSE > PARTIAL > COMPLY). "random": every (draw, prompt) gets
    one of the 6 orderings of the labels uniformly at random and the first modal label in that
    ordering wins, so each tied label is equally likely; the orderings are drawn for every (draw,
    prompt), tied or not (so the random stream does not depend on the data), but only the tied ones
    are looked up. For draws of too many slots to code the counts; `_coded_agreements` applies the
    same rule to the same random numbers.
    """
    refuse, partial, comply = counts[:, REFUSE], counts[:, PARTIAL], counts[:, COMPLY]
    top = np.maximum(np.maximum(refuse, partial), comply)
    is_top = [refuse == top, partial == top, comply == top]
    majority = np.where(is_top[REFUSE], REFUSE, np.where(is_top[PARTIAL], PARTIAL, COMPLY)).astype(np.int8)
    if tie_break == "order":
        return majority
    draw = bootstrap.integers(rng, len(LABEL_ORDERINGS), top.shape)
    tied = np.nonzero(is_top[0].astype(np.int8) + is_top[1] + is_top[2] > 1)
    if len(tied[0]):
        priority = LABEL_ORDERINGS[draw[tied]]  # (tied, labels)
        candidates = np.stack([t[tied] for t in is_top], axis=1)
        majority[tied] = np.argmax(np.where(candidates, priority, -1.0), axis=1)
    return majority


def smallest_n(curve: pd.DataFrame, targets: Sequence[float] = TARGETS) -> pd.DataFrame:
    """The smallest n whose mean agreement (and, stricter, whose interval's low end) reaches a target.

    NA where no n reaches it.
    """
    rows = []
    for target in targets:
        by_mean = curve.loc[curve["mean_agreement"] >= target, "n"]
        by_low = curve.loc[curve["ci_low"] >= target, "n"]
        rows.append(
            {
                "target": target,
                "n_mean": int(by_mean.min()) if len(by_mean) else None,
                "n_ci_low": int(by_low.min()) if len(by_low) else None,
            }
        )
    return pd.DataFrame(rows).astype({"n_mean": "Int64", "n_ci_low": "Int64"})


def single_shot(
    frame: pd.DataFrame,
    draws: int = DRAWS,
    seed: int = 0,
    tie_break: str = "random",
    targets: Sequence[float] = TARGETS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Agreement curves pooled and per temperature, and the smallest n per target, per group.

    Returns:
        (curves: keys + scope ("pooled" or "temperature") + temperature + the curve columns;
        needed: keys + scope + temperature + target + n_mean + n_ci_low).
    """
    return assemble([group_curves(key, g, draws, seed, tie_break, targets) for key, g in run_groups(frame)])


def run_groups(frame: pd.DataFrame) -> list[tuple[tuple, pd.DataFrame]]:
    """The table split by run / model / dataset / judge, in order (each is `group_curves`d on its own)."""
    return list(frame.groupby(list(tidy.RUN_KEYS), observed=True, dropna=False, sort=True))


def group_curves(
    key: tuple,
    g: pd.DataFrame,
    draws: int = DRAWS,
    seed: int = 0,
    tie_break: str = "random",
    targets: Sequence[float] = TARGETS,
) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """One group's curves and smallest n, pooled and per temperature (`single_shot` of one group).

    Each scope draws from its own generator seeded by the group's key, so groups can be computed
    apart (in worker processes) and give the same numbers.
    """
    curves, needed = [], []
    label = dict(zip(tidy.RUN_KEYS, key, strict=True))
    scopes: list[tuple[str, float, pd.DataFrame]] = [("pooled", np.nan, g)]
    temperatures = g[tidy.TEMPERATURE].dropna().unique()
    if len(temperatures) > 1:
        scopes += [("temperature", t, g[g[tidy.TEMPERATURE] == t]) for t in sorted(temperatures)]
    for scope, temperature, part in scopes:
        rng = bootstrap.rng_for(seed, "single-shot", *key, scope, temperature)
        curve = agreement_curve(label_matrix(part), draws, rng, tie_break)
        extra = {**label, "scope": scope, tidy.TEMPERATURE: temperature, "tie_break": tie_break}
        curves.append(curve.assign(**extra))
        needed.append(smallest_n(curve, targets).assign(**extra))
    return curves, needed


def assemble(
    groups: Sequence[tuple[list[pd.DataFrame], list[pd.DataFrame]]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The curves and needed tables of `single_shot` from each group's `group_curves`, in group order."""
    curves = [c for group, _ in groups for c in group]
    needed = [n for _, group in groups for n in group]
    front = [*tidy.RUN_KEYS, "scope", tidy.TEMPERATURE]
    curves_table = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    needed_table = pd.concat(needed, ignore_index=True) if needed else pd.DataFrame()
    return _reorder(curves_table, front), _reorder(needed_table, front)


def _reorder(table: pd.DataFrame, front: list[str]) -> pd.DataFrame:
    """Put the key columns first."""
    if not len(table):
        return table
    return table[front + [c for c in table if c not in front]]
