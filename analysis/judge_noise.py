"""Judge noise apart from model instability.

A flip (a prompt with more than one label) can come from the model -- it answered differently -- or
from the judge -- it labelled the same kind of answer differently. Three measurements separate them:

1. `identical_response_noise`: prompts whose responses are byte-identical (compared by hash) yet got
   more than one verdict can only have flipped through the judge. At temperature 0 (greedy
   decoding, where responses should repeat) that is a judge-noise rate: noisy prompts / prompts with
   identical responses, with Wilson and exact intervals (`intervals.proportion_interval`). The same
   count over every group of identical responses at any temperature is given as well.
2. `judge_disagreement`, for two judges on the same samples: each judge's flips that disappear on
   the samples where both judges agree came from judge disagreement, not from the model (the share
   `flips_from_judges_a` / `_b`); and the stability over the agreed samples only (mean SSI, %
   unstable, % flipped), a lower bound on the model's own instability that no judge error inflates.
3. `corrected_rates`: the label shares a judge reports, corrected for its misclassification against
   a reference judge. With P[r, j] = P(judge says j | reference says r) estimated where both judged
   (the calibration samples), the judge's observed shares q satisfy q = P^T pi, so pi = P^-T q (the
   3 x 3 matrix inverse); for two classes this is Rogan-Gladen, pi = (q + Sp - 1) / (Se + Sp - 1).
   Applied to the calibration samples themselves it returns the reference's shares exactly; its use
   is a judge run on more samples than the reference was. Intervals: seeded bootstrap over prompts.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection

import numpy as np
import pandas as pd

from refusal_stability.analysis import bootstrap, clustered, intervals, per_prompt, tidy
from refusal_stability.analysis.agreement import PAIR_KEYS, SAMPLE_KEYS
from refusal_stability.schema import UNSTABLE_THRESHOLD, VERDICTS, pct

GREEDY_TEMPERATURE = 0.0
N_LABELS = len(VERDICTS)


def _noise_row(flags: pd.DataFrame, confidence: float) -> dict[str, float | int]:
    """Counts and intervals of groups of identical responses with more than one verdict."""
    n, noisy = len(flags), int(flags["noisy"].sum())
    wilson = intervals.proportion_interval(noisy, n, intervals.WILSON, confidence)
    exact = intervals.proportion_interval(noisy, n, intervals.EXACT, confidence)
    return {
        "n_groups": n,
        "n_noisy": noisy,
        "pct_noisy": 100.0 * noisy / n if n else np.nan,
        "wilson_low": 100.0 * wilson[0],
        "wilson_high": 100.0 * wilson[1],
        "exact_low": 100.0 * exact[0],
        "exact_high": 100.0 * exact[1],
    }


def identical_response_noise(
    frame: pd.DataFrame,
    temperature: float = GREEDY_TEMPERATURE,
    confidence: float = bootstrap.CONFIDENCE,
) -> pd.DataFrame:
    """Judge-noise rate from byte-identical responses, per run / model / dataset / judge.

    Returns:
        Two rows per group: scope "greedy prompts" (prompts with >= 2 responses at `temperature`,
        all identical; noisy = more than one verdict among them, the study's 12 of 154 at T = 0)
        and scope "identical responses" (every set of >= 2 identical responses of one prompt, any
        temperature). Columns: the keys, scope, n_groups, n_noisy, pct_noisy and the Wilson and
        exact intervals in %.
    """
    rows = []
    keys = list(tidy.PROMPT_KEYS)
    greedy = frame[np.isclose(frame[tidy.TEMPERATURE].to_numpy(dtype=float), temperature)]
    by_prompt = greedy.groupby(keys, observed=True, dropna=False).agg(
        responses=(tidy.RESPONSE_HASH, "size"),
        distinct=(tidy.RESPONSE_HASH, "nunique"),
        labels=(tidy.VERDICT, "nunique"),
    )
    by_prompt = by_prompt[(by_prompt["responses"] >= 2) & (by_prompt["distinct"] == 1)].reset_index()
    by_prompt["noisy"] = by_prompt["labels"] > 1
    by_response = frame.groupby([*keys, tidy.RESPONSE_HASH], observed=True, dropna=False).agg(
        copies=(tidy.VERDICT, "size"), labels=(tidy.VERDICT, "nunique")
    )
    by_response = by_response[by_response["copies"] >= 2].reset_index()
    by_response["noisy"] = by_response["labels"] > 1
    run_keys = list(tidy.RUN_KEYS)
    for key in frame[run_keys].drop_duplicates().sort_values(run_keys).itertuples(index=False):
        label = dict(zip(run_keys, key, strict=True))
        for scope, table in (("greedy prompts", by_prompt), ("identical responses", by_response)):
            mask = np.ones(len(table), dtype=bool)
            for column, value in label.items():
                mask &= (table[column] == value).to_numpy(dtype=bool)
            rows.append({**label, "scope": scope, **_noise_row(table[mask], confidence)})
    out = pd.DataFrame(rows)
    if len(out):
        out.insert(
            len(run_keys) + 1,
            tidy.TEMPERATURE,
            np.where(out["scope"] == "greedy prompts", temperature, np.nan),
        )
    return out


def _paired_verdicts(g: pd.DataFrame, judge_a: str, judge_b: str) -> pd.DataFrame:
    """One row per sample both judges scored: the sample keys, prompt attributes, verdict_a, verdict_b."""
    keep = [*SAMPLE_KEYS, *tidy.PROMPT_KEYS, *per_prompt.PROMPT_ATTRIBUTES, tidy.TEMPERATURE, tidy.SEED]
    keep = list(dict.fromkeys(k for k in keep if k != tidy.JUDGE))
    a = g[g[tidy.JUDGE] == judge_a][[*keep, tidy.VERDICT]]
    b = g[g[tidy.JUDGE] == judge_b][[*SAMPLE_KEYS, tidy.VERDICT]]
    both = a.merge(b, on=list(SAMPLE_KEYS), suffixes=("_a", "_b"), validate="one_to_one")
    return both[both["verdict_a"].notna() & both["verdict_b"].notna()]


def judge_disagreement(
    frame: pd.DataFrame,
    threshold: float = UNSTABLE_THRESHOLD,
    confidence: float = bootstrap.CONFIDENCE,
) -> pd.DataFrame:
    """Flips from judge disagreement, and stability on the samples both judges agree on.

    Returns:
        One row per run / model / dataset and judge pair: judge_a, judge_b, n_samples (both
        scored), n_agree, n_prompts; flipped_a / flipped_b (prompts flipping under each judge over
        the paired samples), flipped_both_agree (prompts flipping over the agreed samples), and
        flips_from_judges_a / _b (% of each judge's flips that vanish on the agreed samples);
        on the agreed samples: mean_ssi_agree with its standard error, pct_unstable_agree and
        pct_flipped_agree with Wilson intervals.
    """
    rows = []
    for key, g in frame.groupby(list(PAIR_KEYS), observed=True, dropna=False, sort=True):
        judges = sorted(g[tidy.JUDGE].dropna().unique())
        for judge_a, judge_b in itertools.combinations(judges, 2):
            paired = _paired_verdicts(g, judge_a, judge_b)
            if paired.empty:
                continue
            prompt_keys = [k for k in tidy.PROMPT_KEYS if k != tidy.JUDGE]
            flips = paired.groupby(prompt_keys, observed=True, dropna=False).agg(
                a=("verdict_a", "nunique"), b=("verdict_b", "nunique")
            )
            agree = paired[paired["verdict_a"] == paired["verdict_b"]]
            consensus = agree.drop(columns=["verdict_b"]).rename(columns={"verdict_a": tidy.VERDICT})
            consensus = consensus.assign(**{tidy.JUDGE: f"{judge_a} = {judge_b}"})
            agreed_prompts = per_prompt.summarise_labels(consensus, prompt_keys, threshold).set_index(
                prompt_keys
            )
            flipped_a, flipped_b = flips["a"] > 1, flips["b"] > 1
            flipped_agree = agreed_prompts["flipped"].reindex(flips.index).fillna(False).astype(bool)
            ssi = agreed_prompts["ssi"].to_numpy(dtype=float)
            n_agreed_prompts = int(np.isfinite(ssi).sum())
            unstable = int((ssi < threshold).sum())
            flipped_n = int(agreed_prompts["flipped"].fillna(False).astype(bool).sum())
            mean, se = clustered.mean_se(ssi)
            unstable_ci = intervals.proportion_interval(unstable, n_agreed_prompts, confidence=confidence)
            flipped_ci = intervals.proportion_interval(flipped_n, n_agreed_prompts, confidence=confidence)
            rows.append(
                {
                    **dict(zip(PAIR_KEYS, key, strict=True)),
                    "judge_a": judge_a,
                    "judge_b": judge_b,
                    "n_samples": len(paired),
                    "n_agree": len(agree),
                    "n_prompts": len(flips),
                    "flipped_a": int(flipped_a.sum()),
                    "flipped_b": int(flipped_b.sum()),
                    "flipped_both_agree": int(flipped_agree.sum()),
                    "flips_from_judges_a": pct(int((flipped_a & ~flipped_agree).sum()), int(flipped_a.sum())),
                    "flips_from_judges_b": pct(int((flipped_b & ~flipped_agree).sum()), int(flipped_b.sum())),
                    "n_prompts_agree": n_agreed_prompts,
                    "mean_ssi_agree": mean,
                    "ssi_agree_se": se,
                    "pct_unstable_agree": pct(unstable, n_agreed_prompts),
                    "unstable_agree_low": 100.0 * unstable_ci[0],
                    "unstable_agree_high": 100.0 * unstable_ci[1],
                    "pct_flipped_agree": pct(flipped_n, n_agreed_prompts),
                    "flipped_agree_low": 100.0 * flipped_ci[0],
                    "flipped_agree_high": 100.0 * flipped_ci[1],
                }
            )
    return pd.DataFrame(rows)


def rogan_gladen(observed: float, sensitivity: float, specificity: float) -> float:
    """Rogan-Gladen corrected prevalence: (q + Sp - 1) / (Se + Sp - 1); NaN when Se + Sp = 1."""
    denominator = sensitivity + specificity - 1.0
    if np.isclose(denominator, 0.0):
        return float("nan")
    return float((observed + specificity - 1.0) / denominator)


def correct_shares(confusion: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """True label shares from a judge's observed shares and its confusion counts against a reference.

    Args:
        confusion: (..., L, L) counts, rows the reference's label, columns the judge's.
        observed: (..., L) the judge's label shares on the data to correct.

    Returns:
        (..., L) shares pi solving P^T pi = q, P the row-normalised confusion; NaN where P is
        singular or a reference label never occurs. Not clipped: a share outside [0, 1] says the
        calibration does not fit the data corrected.
    """
    confusion = np.asarray(confusion, dtype=float)
    rows = confusion.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = confusion / rows
    out = np.full(np.broadcast_shapes(confusion.shape[:-1], np.shape(observed)), np.nan)
    ok = np.all(np.isfinite(p), axis=(-2, -1)) & (
        np.abs(np.linalg.det(np.where(np.isfinite(p), p, 0.0))) > 1e-12
    )
    if np.any(ok):
        transposed = np.swapaxes(p, -1, -2)
        q = np.broadcast_to(np.asarray(observed, dtype=float), out.shape)
        out[ok] = np.linalg.solve(transposed[ok], q[ok][..., None])[..., 0]
    return out


def _per_prompt_counts(frame: pd.DataFrame, reference: str, judge: str) -> tuple[np.ndarray, np.ndarray]:
    """Per prompt: (L, L) confusion counts on samples both judged, and (L,) the judge's label counts."""
    keys = [k for k in tidy.PROMPT_KEYS if k != tidy.JUDGE]
    paired = _paired_verdicts(frame, reference, judge)
    own = frame[(frame[tidy.JUDGE] == judge) & frame[tidy.VERDICT].notna()]
    prompts = pd.concat([paired[keys], own[keys]]).drop_duplicates().reset_index(drop=True)
    index = pd.MultiIndex.from_frame(prompts)
    n = len(index)
    confusion = np.zeros((n, N_LABELS, N_LABELS))
    if len(paired):
        pid = index.get_indexer(pd.MultiIndex.from_frame(paired[keys]))
        r = paired["verdict_a"].cat.codes.to_numpy()
        j = paired["verdict_b"].cat.codes.to_numpy()
        np.add.at(confusion, (pid, r, j), 1.0)
    counts = np.zeros((n, N_LABELS))
    if len(own):
        pid = index.get_indexer(pd.MultiIndex.from_frame(own[keys]))
        np.add.at(counts, (pid, own[tidy.VERDICT].cat.codes.to_numpy()), 1.0)
    return confusion, counts


def corrected_rates(
    frame: pd.DataFrame,
    reference: str,
    judge: str,
    target_prompts: Collection[str] | None = None,
    n_boot: int = bootstrap.N_BOOTSTRAP,
    seed: int = 0,
    confidence: float = bootstrap.CONFIDENCE,
) -> pd.DataFrame:
    """A judge's label shares corrected for its confusion with a reference judge, per run / model / dataset.

    Args:
        frame: The tidy table holding both judges.
        reference: The reference judge's name (its labels are taken as the truth).
        judge: The judge to correct.
        target_prompts: Prompt ids whose shares are corrected; the confusion is then estimated on
            the *other* prompts (a split-sample check). None: estimate on every sample both judged
            and correct every sample the judge scored.
        n_boot: Bootstrap resamples (calibration and target prompts resampled independently).
        seed: Bootstrap seed.
        confidence: Interval coverage.

    Returns:
        One row per group and label: reference, judge, label, n_calibration (paired samples),
        n_target (judge's samples), observed (judge's share, %), corrected (%, with ci_low and
        ci_high), reference_share (the reference's own share on the target samples, %, where it
        judged them), and rogan_gladen (the two-class correction of this label against the rest).
    """
    rows = []
    alpha = (1.0 - confidence) / 2.0
    for key, g in frame.groupby(list(PAIR_KEYS), observed=True, dropna=False, sort=True):
        if not {reference, judge} <= set(g[tidy.JUDGE].dropna().unique()):
            continue
        confusion, counts = _per_prompt_counts(g, reference, judge)
        keys = [k for k in tidy.PROMPT_KEYS if k != tidy.JUDGE]
        prompts = pd.concat(
            [
                _paired_verdicts(g, reference, judge)[keys],
                g[(g[tidy.JUDGE] == judge) & g[tidy.VERDICT].notna()][keys],
            ]
        ).drop_duplicates()
        ids = prompts[tidy.PROMPT_ID].astype(str).to_numpy()
        if target_prompts is None:
            calibrate, target = np.ones(len(ids), bool), np.ones(len(ids), bool)
        else:
            target = np.isin(ids, list(target_prompts))
            calibrate = ~target
        cal_conf, tgt_counts = confusion[calibrate], counts[target]
        observed = tgt_counts.sum(axis=0) / max(tgt_counts.sum(), 1.0)
        corrected = correct_shares(cal_conf.sum(axis=0), observed)
        ref_target = confusion[target].sum(axis=(0, 2))
        rng = bootstrap.rng_for(seed, "corrected", reference, judge, *key)
        boots = np.full((max(n_boot, 0), N_LABELS), np.nan)
        if n_boot > 0 and len(cal_conf) and len(tgt_counts):
            ci = bootstrap.integers(rng, len(cal_conf), (n_boot, len(cal_conf)))
            ti = bootstrap.integers(rng, len(tgt_counts), (n_boot, len(tgt_counts)))
            boot_conf = cal_conf[ci].sum(axis=1)
            boot_counts = tgt_counts[ti].sum(axis=1)
            boot_q = boot_counts / np.maximum(boot_counts.sum(axis=1, keepdims=True), 1.0)
            boots = correct_shares(boot_conf, boot_q)
        total_cal = cal_conf.sum(axis=0)
        for i, label in enumerate(VERDICTS):
            finite = boots[:, i][np.isfinite(boots[:, i])]
            low, high = np.quantile(finite, [alpha, 1 - alpha]) if finite.size else (np.nan, np.nan)
            positive = total_cal[i].sum()
            negative = total_cal.sum() - positive
            se = total_cal[i, i] / positive if positive else np.nan
            sp = (
                (total_cal.sum() - total_cal[i].sum() - total_cal[:, i].sum() + total_cal[i, i]) / negative
                if negative
                else np.nan
            )
            rows.append(
                {
                    **dict(zip(PAIR_KEYS, key, strict=True)),
                    "reference": reference,
                    "judge": judge,
                    "label": label,
                    "n_calibration": int(cal_conf.sum()),
                    "n_target": int(tgt_counts.sum()),
                    "observed": 100.0 * observed[i],
                    "corrected": 100.0 * corrected[i],
                    "ci_low": 100.0 * low,
                    "ci_high": 100.0 * high,
                    "reference_share": 100.0 * ref_target[i] / ref_target.sum()
                    if ref_target.sum()
                    else np.nan,
                    "rogan_gladen": 100.0 * rogan_gladen(observed[i], se, sp),
                }
            )
    return pd.DataFrame(rows)
