"""The most any fixed reading of a response can agree with a judge that is not a fixed reading of it.

A judge (the reference) that labels byte-identical responses to the same prompt differently is, on
those responses, not a function of the text. No rater that reads only the prompt and the response
(rules, or an LLM judge at temperature 0) can then agree with it every time: the best such a rater
can do on a text is to give the label the judge gives it most often, and it still disagrees
whenever the judge gives another. This module estimates that best rater's agreement (the
*ceiling*) with the reference over a whole set of responses, so a goal set as kappa against the
reference can be checked against what the reference itself allows.

Estimation, from the groups of two or more identical responses (same prompt id, same text):
- In a group, every row gets the group's modal label as the best rater's label; where k labels tie
  for the mode, the row's vote is split 1/k to each (any fixed choice agrees on 1/k of such a
  group on average). The modal share within a group is, in expectation, at least the judge's true
  top probability for that text (the maximum is convex), so the estimate errs towards a higher
  ceiling, and the more so the smaller the groups: with three judgements a text (the study's groups
  hold three on average) a simulation puts it 0.15 above the true 3-class kappa, with sixty within
  0.001 (`tests/test_reference_ceiling.py`). A lower estimate comes with it: each row given the mode
  of the *other* rows of its group (leave one out), a rater that learned the text's label from the
  judge's other judgements of it, which can only do worse than the best rater. The best rater's
  kappa lies between the two.
- The groups stand for every response of their *stratum* (a prompt-level part of the data, such
  as a source or a category) that got the same reference label: each (stratum, reference label)
  cell of the population counts its rows spread over the best rater's labels as the cell's
  grouped rows are (stratified weighting, as in `label_audit`). The assumption, which the caller
  must judge: within a stratum and reference label, the judge is as consistent on the responses a
  model repeats as on those it does not (repeats are mostly greedy, temperature-0 responses).
- A cell without a single grouped row is counted as agreeing in full (towards a higher ceiling
  again), and its size is reported (`no_evidence`).

The kappas come from the estimated population confusion matrix (`agreement.kappa_from_confusion`),
3-class and refuse-vs-not, with a 95 % percentile interval from a bootstrap that redraws the groups
of each stratum with replacement (the population counts are fixed). `scripts/judge_agreement.py`
prints the table for the study's judge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from refusal_stability.analysis import bootstrap
from refusal_stability.analysis.agreement import kappa_from_confusion
from refusal_stability.analysis.rule_splits import LABEL, REFUSE, RESPONSE
from refusal_stability.schema import VERDICTS

PROMPT_ID = "prompt_id"
N_LABELS = len(VERDICTS)
REFUSE_CODE = VERDICTS.index(REFUSE)


def _check(frame: pd.DataFrame, stratum: str, source: str) -> None:
    """Raise a ValueError naming `source`, the row and the field of the first bad value."""
    missing = [c for c in (PROMPT_ID, RESPONSE, LABEL, stratum) if c not in frame.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}")
    bad = ~frame[LABEL].isin(VERDICTS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"{source}: row {row + 1}, field {LABEL!r}: {frame[LABEL].iat[row]!r} is not one of {VERDICTS}"
        )
    for column in (PROMPT_ID, RESPONSE, stratum):
        if frame[column].isna().any():
            row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            raise ValueError(f"{source}: row {row + 1}, field {column!r} is empty")
    strata_per_prompt = frame.groupby(PROMPT_ID)[stratum].nunique()
    if (strata_per_prompt > 1).any():
        prompt = strata_per_prompt.index[np.argmax(strata_per_prompt.to_numpy() > 1)]
        row = int(np.flatnonzero((frame[PROMPT_ID] == prompt).to_numpy())[0])
        raise ValueError(
            f"{source}: row {row + 1}, field {stratum!r}: prompt {prompt!r} is in more than one stratum "
            "(a stratum must be a property of the prompt)"
        )


def repeated_groups(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The groups of two or more identical responses (same prompt id and text) and their labels.

    Returns:
        Each group's position (the row index of its first row in `frame`), and a (groups, 3) array of
        its rows per reference label (`VERDICTS` order).
    """
    codes = frame[LABEL].map({v: i for i, v in enumerate(VERDICTS)}).to_numpy()
    group = frame.groupby([PROMPT_ID, RESPONSE], sort=False).ngroup().to_numpy()
    counts = np.zeros((group.max() + 1 if len(group) else 0, N_LABELS))
    np.add.at(counts, (group, codes), 1.0)
    repeated = counts.sum(axis=1) >= 2
    first = pd.Series(np.arange(len(group))).groupby(group).first().to_numpy()
    return first[repeated], counts[repeated]


def group_votes(counts: np.ndarray, leave_one_out: bool = False) -> np.ndarray:
    """Each group's (reference label x best label) row votes, from its rows per label (`repeated_groups`).

    A row's vote goes to the modal label, split evenly over tied modal labels, so [g, l, :] sums to
    the number of group g's rows labelled l. With `leave_one_out` the mode is that of the *other* rows
    of the group (a rater that learned the text's label from the judge's other judgements of it: a
    lower estimate of the best rater's agreement, where the group's own mode gives a higher one).
    """
    # the counts each row's best label is the mode of: (groups, own label, 3), the same for all labels
    # of a group, or with one of the row's own label taken out
    seen = counts[:, None, :] - (np.eye(N_LABELS)[None, :, :] if leave_one_out else 0.0)
    modal = seen == seen.max(axis=2, keepdims=True)
    return counts[:, :, None] * modal / modal.sum(axis=2, keepdims=True)  # split over tied modal labels


def ceiling_confusion(
    votes: Mapping[str, np.ndarray], population: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, float]:
    """The best rater's estimated confusion matrix over the strata given, and the rows without evidence.

    Args:
        votes: stratum -> (3, 3) summed votes of its grouped rows ([reference label, best label]).
        population: stratum -> its row count per reference label (`VERDICTS` order).

    Returns:
        The matrix (rows: the reference, columns: the best rater) and how many of its rows are in
        (stratum, label) cells without a grouped row (counted on the diagonal).
    """
    matrix = np.zeros((N_LABELS, N_LABELS))
    no_evidence = 0.0
    for name, counts in population.items():
        cell_votes = votes.get(name, np.zeros((N_LABELS, N_LABELS)))
        for label in range(N_LABELS):
            total = cell_votes[label].sum()
            if total > 0:
                matrix[label] += counts[label] * cell_votes[label] / total
            else:
                matrix[label, label] += counts[label]
                no_evidence += counts[label]
    return matrix, no_evidence


def refuse_vs_not(matrix: np.ndarray) -> np.ndarray:
    """A 3-class confusion matrix collapsed to REFUSE against PARTIAL and COMPLY together."""
    other = [i for i in range(N_LABELS) if i != REFUSE_CODE]
    return np.array(
        [
            [matrix[REFUSE_CODE, REFUSE_CODE], matrix[REFUSE_CODE, other].sum()],
            [matrix[other, REFUSE_CODE].sum(), matrix[np.ix_(other, other)].sum()],
        ]
    )


def ceiling_table(
    frame: pd.DataFrame,
    stratum: str,
    subsets: Mapping[str, Sequence[str]] | None = None,
    n_boot: int = bootstrap.N_BOOTSTRAP,
    seed: int = 0,
    source: str = "responses",
) -> pd.DataFrame:
    """The ceiling on the agreement of any fixed reading of the text with the reference, per subset.

    Args:
        frame: One row per judged response: `prompt_id`, `response`, `label` (the reference's
            verdict) and the `stratum` column.
        stratum: The column whose values are the strata (a property of the prompt).
        subsets: name -> the strata it pools; default: every stratum alone, then all together.
        n_boot: Bootstrap replicates for the intervals (0: none).
        seed: Seed of the replicates.
        source: What `frame` is, for error messages.

    Returns:
        One row per subset: subset, responses, groups (of identical responses), grouped_rows,
        pair_disagreement (% of pairs of identical responses the reference labels differently),
        kappa3 and kappa2 (refuse vs not) of the best rater with their 95 % intervals
        (``*_low``, ``*_high``), from each group's own mode (errs high), kappa3_loo and kappa2_loo
        from the mode of the other rows (errs low), agreement3 (%, of the first), no_evidence
        (rows counted as agreeing for want of a group).

    Raises:
        ValueError: A column is missing, a label is not a verdict, a value is empty, or a prompt is
            in more than one stratum (naming `source`, the row and the field).
    """
    _check(frame, stratum, source)
    frame = frame.reset_index(drop=True)
    names = list(dict.fromkeys(frame[stratum]))
    subsets = subsets or {**{str(n): [n] for n in names}, "all": names}
    population = {
        n: np.bincount(frame.loc[frame[stratum] == n, LABEL].map(VERDICTS.index), minlength=N_LABELS)
        for n in names
    }
    first, counts_by_group = repeated_groups(frame)
    group_stratum = frame[stratum].to_numpy()[first]
    votes, loo_votes = group_votes(counts_by_group), group_votes(counts_by_group, leave_one_out=True)
    by_stratum = {n: votes[group_stratum == n] for n in names}
    loo = {n: loo_votes[group_stratum == n].sum(axis=0) for n in names}
    replicates = _replicates(by_stratum, n_boot, seed) if n_boot else {}
    rows = []
    for name, pooled in subsets.items():
        unknown = [n for n in pooled if n not in population]
        if unknown:
            raise ValueError(f"{source}: subset {name!r} names strata not in column {stratum!r}: {unknown}")
        counts = {n: population[n] for n in pooled}
        matrix, no_evidence = ceiling_confusion({n: by_stratum[n].sum(axis=0) for n in pooled}, counts)
        row = {
            "subset": name,
            "responses": int(sum(population[n].sum() for n in pooled)),
            **_pair_counts(counts_by_group[np.isin(group_stratum, pooled)]),
            "kappa3": kappa_from_confusion(matrix),
            "kappa2": kappa_from_confusion(refuse_vs_not(matrix)),
            "agreement3": 100.0 * float(np.trace(matrix) / matrix.sum()) if matrix.sum() else np.nan,
            "no_evidence": no_evidence,
        }
        row["kappa3_loo"], row["kappa2_loo"] = _kappas(
            ceiling_confusion({n: loo[n] for n in pooled}, counts)[0]
        )
        for column in ("kappa3", "kappa2"):
            row[f"{column}_low"] = row[f"{column}_high"] = np.nan
        if replicates:
            kappas = np.array(
                [
                    _kappas(ceiling_confusion({n: replicates[n][b] for n in pooled}, counts)[0])
                    for b in range(n_boot)
                ]
            )
            for column, values in zip(("kappa3", "kappa2"), kappas.T, strict=True):
                row[f"{column}_low"], row[f"{column}_high"] = bootstrap.percentile_interval(values)
        rows.append(row)
    order = ["subset", "responses", "groups", "grouped_rows", "pair_disagreement"]
    order += [f"{k}{end}" for k in ("kappa3", "kappa2") for end in ("", "_low", "_high")]
    return pd.DataFrame(rows)[[*order, "kappa3_loo", "kappa2_loo", "agreement3", "no_evidence"]]


def _kappas(matrix: np.ndarray) -> tuple[float, float]:
    """3-class and refuse-vs-not kappa of one confusion matrix."""
    return kappa_from_confusion(matrix), kappa_from_confusion(refuse_vs_not(matrix))


def _pair_counts(counts: np.ndarray) -> dict[str, float | int]:
    """Groups, grouped rows and the share of within-group pairs with different reference labels."""
    sizes = counts.sum(axis=1)
    pairs = (sizes * (sizes - 1) / 2).sum()
    same = (counts * (counts - 1) / 2).sum()
    return {
        "groups": len(counts),
        "grouped_rows": int(sizes.sum()),
        "pair_disagreement": 100.0 * (1.0 - same / pairs) if pairs else np.nan,
    }


def _replicates(by_stratum: Mapping[str, np.ndarray], n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """Each stratum's (n_boot, 3, 3) summed votes of its groups redrawn with replacement, per replicate."""
    out = {}
    for name, votes in by_stratum.items():
        n = len(votes)
        if n == 0:
            out[name] = np.zeros((n_boot, N_LABELS, N_LABELS))
            continue
        drawn = bootstrap.integers(bootstrap.rng_for(seed, "reference-ceiling", name), n, (n_boot, n))
        times = np.zeros((n_boot, n))
        np.add.at(times, (np.repeat(np.arange(n_boot), n), drawn.ravel()), 1.0)
        out[name] = (times @ votes.reshape(n, -1)).reshape(n_boot, N_LABELS, N_LABELS)
    return out
