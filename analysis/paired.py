"""Comparing two runs on the same prompts: paired differences, McNemar, Holm.

Two runs (two models, checkpoints, fine-tuning seeds, or one model's responses under two judges)
that answered the same prompts are compared prompt by prompt, which removes the between-prompt
variance that dominates the error of each run's own mean (see `clustered.py`: the intra-class
correlation of the study's comply outcome is about 0.4):

- comply rate and SSI: the mean of the per-prompt differences (b - a), its standard error
  sd(d) / sqrt(n), the t interval and the paired t-test (`scipy.stats.ttest_rel`);
- unstable and flipped (per-prompt indicators): the difference in % with the same paired standard
  error, and McNemar's test on the discordant prompts (`statsmodels`' `mcnemar`: the exact binomial
  test when fewer than `MCNEMAR_EXACT_BELOW` prompts are discordant, else the chi-square test with
  continuity correction);
- Holm's step-down correction (`holm`, checked against statsmodels' `multipletests`) over every dataset,
  prompt half and category compared for one pair of runs and one metric: the family a reader scans
  for "where do the two runs differ".

A run here is a (run, model, judge) unit; two units are compared on every dataset (and prompt half)
they share. Prompts scored in only one of the two are counted (`n_unmatched`) and left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from refusal_stability.analysis import bootstrap, tidy
from refusal_stability.schema import UNSTABLE_THRESHOLD

UNIT_KEYS: tuple[str, ...] = (tidy.RUN, tidy.MODEL, tidy.JUDGE)
"""What one side of a comparison is."""
MATCH_KEYS: tuple[str, ...] = (tidy.DATASET, tidy.HARMFUL, tidy.PROMPT_ID)
"""What makes two rows the same prompt."""
CONTINUOUS: tuple[str, ...] = ("comply_rate", "ssi")
INDICATORS: tuple[str, ...] = ("unstable", "flipped")
MCNEMAR_EXACT_BELOW = 25
"""Discordant prompts below which McNemar's exact binomial test is used (the usual rule)."""
ALPHA = 0.05


def unit_name(key: Sequence[object]) -> str:
    """A readable name for a (run, model, judge) unit; the model is left out when it equals the run."""
    run, model, judge = (str(k) for k in key)
    return f"{run} | {judge}" if run == model else f"{run} | {model} | {judge}"


def paired_difference(a: np.ndarray, b: np.ndarray, confidence: float = bootstrap.CONFIDENCE) -> dict:
    """Mean of the per-prompt differences b - a with its standard error, t interval and paired t-test."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = b - a
    out = {"n": len(d), "mean_a": np.nan, "mean_b": np.nan, "diff": np.nan, "se": np.nan}
    out.update(ci_low=np.nan, ci_high=np.nan, statistic=np.nan, p=np.nan)
    if len(d) == 0:
        return out
    out.update(mean_a=float(a.mean()), mean_b=float(b.mean()), diff=float(d.mean()))
    if len(d) < 2:
        return out
    out["se"] = float(d.std(ddof=1) / np.sqrt(len(d)))
    if np.allclose(d, d[0], rtol=0.0, atol=1e-12):  # no spread: the t statistic is undefined
        out.update(ci_low=float(d[0]), ci_high=float(d[0]))
        return out
    res = stats.ttest_rel(b, a)
    ci = res.confidence_interval(confidence)
    out.update(
        ci_low=float(ci.low), ci_high=float(ci.high), statistic=float(res.statistic), p=float(res.pvalue)
    )
    return out


def mcnemar_test(a: np.ndarray, b: np.ndarray) -> dict:
    """McNemar's test of paired binary indicators (statsmodels).

    Returns:
        only_a (True in a only), only_b, test ("exact" or "chi2"), statistic, p. With no
        discordant prompt there is nothing to test: p = 1.
    """
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    table = [[int((a & b).sum()), only_a], [only_b, int((~a & ~b).sum())]]
    exact = only_a + only_b < MCNEMAR_EXACT_BELOW
    out = {"only_a": only_a, "only_b": only_b, "test": "exact" if exact else "chi2"}
    if only_a + only_b == 0:
        return {**out, "statistic": 0.0, "p": 1.0}
    res = mcnemar(table, exact=exact, correction=True)
    return {**out, "statistic": float(res.statistic), "p": float(res.pvalue)}


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values; NaN p-values stay NaN and do not count towards the family.

    Holm's step-down: sort the m p-values, multiply the i-th smallest (0-based) by m - i, take the
    running maximum, cap at 1. Written here rather than taken from statsmodels' `multipletests`
    (the test checks the two agree) because its Holm branch calls `gc.collect()` on every call,
    half a second each inside a report's heap.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size:
        order = ok[np.argsort(p[ok], kind="stable")]
        adjusted = np.maximum.accumulate(p[order] * np.arange(ok.size, 0, -1))
        out[order] = np.minimum(adjusted, 1.0)
    return out


def compare_pair(
    a: pd.DataFrame,
    b: pd.DataFrame,
    threshold: float = UNSTABLE_THRESHOLD,
    confidence: float = bootstrap.CONFIDENCE,
) -> list[dict]:
    """The four paired comparisons of two per-prompt tables restricted to one scope.

    Returns:
        One dict per metric: metric, n, n_unmatched, mean_a, mean_b, diff, se, ci_low, ci_high, p,
        test, and for the indicators only_a / only_b. Indicators are in %, rates and SSI fractions.
    """
    left = a[a["n"] > 0].set_index(list(MATCH_KEYS))
    right = b[b["n"] > 0].set_index(list(MATCH_KEYS))
    common = left.index.intersection(right.index)
    n_unmatched = len(left.index.union(right.index)) - len(common)
    return _pair_rows(
        _columns(left.loc[common]), _columns(right.loc[common]), n_unmatched, threshold, confidence
    )


def _columns(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """The per-prompt columns a comparison reads, as arrays."""
    return {
        **{metric: table[metric].to_numpy() for metric in CONTINUOUS},
        "ssi_float": table["ssi"].to_numpy(float),
        "flipped": table["flipped"].to_numpy(bool),
    }


def _pair_rows(
    left: dict[str, np.ndarray],
    right: dict[str, np.ndarray],
    n_unmatched: int,
    threshold: float,
    confidence: float,
) -> list[dict]:
    """`compare_pair`'s rows from the matched prompts' columns (same order on both sides)."""
    rows = []
    for metric in CONTINUOUS:
        res = paired_difference(left[metric], right[metric], confidence)
        rows.append({"metric": metric, **res, "test": "paired t", "n_unmatched": n_unmatched})
    flags = {
        "unstable": (left["ssi_float"] < threshold, right["ssi_float"] < threshold),
        "flipped": (left["flipped"], right["flipped"]),
    }
    for metric, (x, y) in flags.items():
        res = paired_difference(100.0 * x, 100.0 * y, confidence)
        test = mcnemar_test(x, y)
        rows.append({"metric": metric, **res, **test, "n_unmatched": n_unmatched})
    return rows


def _scoped_pairs(
    sa: pd.DataFrame,
    sb: pd.DataFrame,
    extra: Sequence[str],
    threshold: float,
    confidence: float,
) -> list[tuple[str, object, list[dict]]]:
    """`compare_pair` on one dataset's prompts and on each value of every `extra` column.

    The prompts are matched once; a scope takes the matched prompts whose value is its own on both
    sides, in the same order `compare_pair` on the scope's rows would put them (the order of `sa`),
    so the figures are the same to the bit (`tests/test_analysis_compare.py` checks it). Matching a
    scope's rows anew cost most of the comparison at a million samples. Tables where a prompt
    appears twice on one side go through `compare_pair` scope by scope.
    """
    scopes: list[tuple[str, object]] = [("all", None)]
    for column in extra:
        if sa[column].notna().any():
            scopes += [(column, value) for value in sorted(sa[column].dropna().unique(), key=str)]
    left = sa[sa["n"] > 0].set_index(list(MATCH_KEYS))
    right = sb[sb["n"] > 0].set_index(list(MATCH_KEYS))
    if not (left.index.is_unique and right.index.is_unique):
        return [
            (scope, value, compare_pair(*_scope_rows(sa, sb, scope, value), threshold, confidence))
            for scope, value in scopes
        ]
    common = left.index.intersection(right.index)
    matched_left, matched_right = left.loc[common], right.loc[common]
    columns_left, columns_right = _columns(matched_left), _columns(matched_right)
    out = []
    for scope, value in scopes:
        if scope == "all":
            n_left, n_right, keep = len(left), len(right), np.ones(len(common), dtype=bool)
        else:
            n_left = int((left[scope] == value).sum())
            n_right = int((right[scope] == value).sum())
            keep = ((matched_left[scope] == value) & (matched_right[scope] == value)).to_numpy(bool)
        n_common = int(keep.sum())
        n_unmatched = n_left + n_right - 2 * n_common  # |union| - |common| of the scope's prompts
        rows = _pair_rows(
            {k: v[keep] for k, v in columns_left.items()},
            {k: v[keep] for k, v in columns_right.items()},
            n_unmatched,
            threshold,
            confidence,
        )
        out.append((scope, value, rows))
    return out


def _scope_rows(
    sa: pd.DataFrame, sb: pd.DataFrame, scope: str, value: object
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of one scope on both sides."""
    if scope == "all":
        return sa, sb
    return sa[sa[scope] == value], sb[sb[scope] == value]


def compare_runs(
    prompts: pd.DataFrame,
    extra: Sequence[str] = (tidy.CATEGORY,),
    threshold: float = UNSTABLE_THRESHOLD,
    confidence: float = bootstrap.CONFIDENCE,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Every pair of runs compared on every dataset (and prompt half) they share, overall and per category.

    Args:
        prompts: The per-prompt table of all runs.
        extra: Scopes within a dataset (rows with scope "category"); a column with no value on any
            prompt is skipped.
        threshold: SSI below which a prompt is unstable.
        confidence: Interval coverage.
        alpha: Level at which `significant` is set, after Holm.

    Returns:
        One row per pair, dataset, harmful, scope and metric: run_a, run_b, dataset, harmful, scope
        ("all" or the column), value (the category), the figures of `compare_pair`, p_holm,
        n_tests (the family size) and significant. Empty with fewer than two runs.
    """
    units = {key: g for key, g in prompts.groupby(list(UNIT_KEYS), observed=True, sort=True)}
    rows = []
    for (ka, ga), (kb, gb) in itertools.combinations(units.items(), 2):
        datasets = set(map(tuple, ga[[tidy.DATASET, tidy.HARMFUL]].drop_duplicates().to_numpy()))
        datasets &= set(map(tuple, gb[[tidy.DATASET, tidy.HARMFUL]].drop_duplicates().to_numpy()))
        for dataset, harmful in sorted(datasets, key=str):
            sa = ga[(ga[tidy.DATASET] == dataset) & (ga[tidy.HARMFUL] == harmful)]
            sb = gb[(gb[tidy.DATASET] == dataset) & (gb[tidy.HARMFUL] == harmful)]
            for scope, value, pair_rows in _scoped_pairs(sa, sb, extra, threshold, confidence):
                label = {
                    "run_a": unit_name(ka),
                    "run_b": unit_name(kb),
                    tidy.DATASET: dataset,
                    tidy.HARMFUL: harmful,
                    "scope": scope,
                    "value": value,
                }
                rows += [{**label, **r} for r in pair_rows]
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["p_holm"] = np.nan
    table["n_tests"] = 0
    for _, g in table.groupby(["run_a", "run_b", "metric"], sort=False):
        table.loc[g.index, "p_holm"] = holm(g["p"].to_numpy())
        table.loc[g.index, "n_tests"] = int(g["p"].notna().sum())
    table["significant"] = table["p_holm"] < alpha
    return table
