"""Significance tests: whether temperature changes stability, and whether unstable prompts comply more.

- Friedman test of the within-temperature SSI across temperatures, prompts as blocks (repeated
  measures: every prompt is sampled at every temperature), with `scipy.stats.friedmanchisquare`
  (tie-corrected). Only prompts with a scored sample at every temperature enter. Needs >= 3
  temperatures (scipy's requirement); with fewer the row says so.
- Kendall's W = chi2 / (n (k - 1)), the Friedman statistic's effect size (n prompts, k temperatures;
  the tie-corrected chi2 gives the tie-corrected W).
- Post-hoc: Wilcoxon signed-rank test (`scipy.stats.wilcoxon`, two-sided, zero differences dropped
  as in Wilcoxon's original method) for every pair of temperatures, Bonferroni-corrected over the
  number of pairs (p x pairs, capped at 1).
- Spearman's rho between a prompt's comply rate and its SSI, with a seeded percentile bootstrap
  interval over prompts (resamples where either variable is constant give no rho and are dropped).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from refusal_stability.analysis import bootstrap, tidy

STAT_KEYS: tuple[str, ...] = (*tidy.RUN_KEYS, tidy.HARMFUL)
ALPHA = 0.05
MIN_FRIEDMAN_LEVELS = 3


def ssi_by_temperature(prompts_by_temperature: pd.DataFrame) -> pd.DataFrame:
    """Pivot within-temperature SSI to prompts x temperatures, keeping prompts scored at every one."""
    wide = prompts_by_temperature.pivot_table(
        index=tidy.PROMPT_ID, columns=tidy.TEMPERATURE, values="ssi", observed=True, aggfunc="first"
    )
    return wide.dropna(axis=0, how="any").sort_index(axis=1)


def kendalls_w(chi2: float, n_blocks: int, k: int) -> float:
    """Kendall's coefficient of concordance from a Friedman statistic: chi2 / (n (k - 1))."""
    if n_blocks <= 0 or k <= 1:
        return float("nan")
    return float(chi2) / (n_blocks * (k - 1))


def friedman(wide: pd.DataFrame) -> dict[str, float | int | str]:
    """Friedman test over the columns of a blocks x conditions table (no missing values).

    Returns:
        chi2, p, dof, n_blocks, k, kendalls_w and a note when the test cannot be run.
    """
    n, k = wide.shape
    result: dict[str, float | int | str] = {
        "n_blocks": n,
        "k": k,
        "dof": k - 1,
        "chi2": np.nan,
        "p": np.nan,
        "kendalls_w": np.nan,
        "note": "",
    }
    if k < MIN_FRIEDMAN_LEVELS:
        result["note"] = f"needs >= {MIN_FRIEDMAN_LEVELS} temperatures, found {k}"
        return result
    if n < 2:
        result["note"] = f"needs >= 2 prompts scored at every temperature, found {n}"
        return result
    values = wide.to_numpy(dtype=float)
    if np.all(values == values[:, :1]):
        result["note"] = "every prompt has the same SSI at every temperature: no variation to test"
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        chi2, p = stats.friedmanchisquare(*values.T)
    result.update(chi2=float(chi2), p=float(p), kendalls_w=kendalls_w(chi2, n, k))
    return result


def wilcoxon_posthoc(wide: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Wilcoxon signed-rank test for every pair of columns, Bonferroni-corrected over the pairs."""
    pairs = list(itertools.combinations(wide.columns, 2))
    rows = []
    for a, b in pairs:
        x, y = wide[a].to_numpy(dtype=float), wide[b].to_numpy(dtype=float)
        diff = x - y
        row = {
            "temperature_a": a,
            "temperature_b": b,
            "n": len(diff),
            "n_nonzero": int(np.count_nonzero(diff)),
            "mean_diff": float(diff.mean()) if len(diff) else np.nan,
            "statistic": np.nan,
            "p": np.nan,
        }
        if row["n_nonzero"] > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                res = stats.wilcoxon(x, y, zero_method="wilcox", alternative="two-sided")
            row.update(statistic=float(res.statistic), p=float(res.pvalue))
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["p_bonferroni"] = np.minimum(table["p"] * len(pairs), 1.0)
        table["significant"] = table["p_bonferroni"] < alpha
        table["comparisons"] = len(pairs)
    return table


def temperature_tests(
    prompts_by_temperature: pd.DataFrame, keys: Sequence[str] = STAT_KEYS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Friedman + Kendall's W and the Wilcoxon post-hoc table, per group.

    Returns:
        (friedman table: one row per group; post-hoc table: one row per group and temperature pair).
    """
    friedman_rows, posthoc = [], []
    for key, g in prompts_by_temperature.groupby(list(keys), observed=True, dropna=False, sort=True):
        wide = ssi_by_temperature(g)
        label = dict(zip(keys, key, strict=True))
        friedman_rows.append({**label, **friedman(wide), "temperatures": list(wide.columns)})
        if wide.shape[1] >= 2:
            posthoc.append(wilcoxon_posthoc(wide).assign(**label))
    post = pd.concat(posthoc, ignore_index=True) if posthoc else pd.DataFrame()
    if len(post):
        post = post[list(keys) + [c for c in post if c not in keys]]
    return pd.DataFrame(friedman_rows), post


def spearman_ci(
    x: np.ndarray,
    y: np.ndarray,
    n_boot: int = bootstrap.N_BOOTSTRAP,
    rng: np.random.Generator | None = None,
    confidence: float = bootstrap.CONFIDENCE,
) -> dict[str, float | int]:
    """Spearman's rho (scipy) with a percentile bootstrap interval over pairs.

    Returns:
        rho, p, ci_low, ci_high, n, and n_boot_valid (resamples with a defined rho).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    out: dict[str, float | int] = {
        "rho": np.nan,
        "p": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n": len(x),
        "n_boot_valid": 0,
    }
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    res = stats.spearmanr(x, y)
    x_levels, x_codes = np.unique(x, return_inverse=True)
    y_levels, y_codes = np.unique(y, return_inverse=True)

    def statistic(idx: np.ndarray) -> np.ndarray:
        rx = _resample_ranks(x_codes.ravel(), len(x_levels), idx)
        ry = _resample_ranks(y_codes.ravel(), len(y_levels), idx)
        return _centred_corr(rx, ry)

    replicates = bootstrap.bootstrap_statistic(len(x), statistic, n_boot, rng)
    low, high = bootstrap.percentile_interval(replicates, confidence)
    out.update(
        rho=float(res.statistic),
        p=float(res.pvalue),
        ci_low=low,
        ci_high=high,
        n_boot_valid=int(np.isfinite(replicates).sum()),
    )
    return out


def _rank_corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise Spearman correlation of (rows, n) arrays: Pearson correlation of average ranks."""
    return _centred_corr(stats.rankdata(x, axis=1), stats.rankdata(y, axis=1))


def _centred_corr(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of (rows, n) rank arrays (modified in place)."""
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (rx * ry).sum(axis=1) / denom, np.nan)


def _resample_ranks(codes: np.ndarray, levels: int, idx: np.ndarray) -> np.ndarray:
    """`stats.rankdata(values[idx], axis=1)` (average ranks), from the values' level codes by counting.

    A value's average rank in a row is (values below it) + (its count + 1) / 2, which is what
    `rankdata` computes (the same integers and halves, so the same floats), in time linear in n
    rather than a sort per resample: per-prompt rates take few distinct values, and at a million
    samples the sorts were most of the Spearman interval's cost.
    """
    rows, n = idx.shape
    resampled = codes[idx]
    offsets = (np.arange(rows) * levels)[:, None]
    counts = np.bincount((resampled + offsets).ravel(), minlength=rows * levels).reshape(rows, levels)
    below = np.cumsum(counts, axis=1) - counts
    rank_of_level = below + (counts + 1) / 2.0
    return np.take_along_axis(rank_of_level, resampled, axis=1)


def comply_ssi_correlation(
    prompts: pd.DataFrame,
    n_boot: int = bootstrap.N_BOOTSTRAP,
    seed: int = 0,
    keys: Sequence[str] = STAT_KEYS,
) -> pd.DataFrame:
    """Spearman's rho of per-prompt comply rate vs SSI with a bootstrap interval, per group."""
    rows = []
    for key, g in prompts.groupby(list(keys), observed=True, dropna=False, sort=True):
        scored = g[g["n"] > 0]
        rng = bootstrap.rng_for(seed, "spearman", *key)
        result = spearman_ci(scored["comply_rate"].to_numpy(), scored["ssi"].to_numpy(), n_boot, rng)
        rows.append({**dict(zip(keys, key, strict=True)), **result})
    return pd.DataFrame(rows)
