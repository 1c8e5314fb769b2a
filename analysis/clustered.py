"""Error bars over prompts (Miller 2024, "Adding Error Bars to Evals", arXiv 2411.00640).

A prompt's K samples are not K independent observations: they share the prompt. So every mean is
taken over *per-prompt* values (each prompt's comply rate, SSI, ...), and its standard error is
the standard deviation of those values over sqrt(n prompts) -- never over sqrt(n samples).

- `se`: the central-limit standard error over per-prompt values, sd (ddof = 1) / sqrt(n).
- `se_category`: the cluster-robust standard error when prompts of one category are related
  (Miller section 2.2): statsmodels' OLS of the per-prompt values on a constant with
  `cov_type="cluster"` by category (its default small-sample correction G/(G-1) (n-1)/(n-1)).
  A prompt without a category is its own cluster. NaN with fewer than two categories.
- `se_naive`: what treating the N = n K samples as independent would claim, sqrt(p (1 - p) / N),
  shown only so the reader sees how much too narrow it is.

For the per-sample outcomes (a sample's verdict is COMPLY, COMPLY or PARTIAL, REFUSE) the variance
is split as in Miller section 3 (law of total variance over prompts):
- within-prompt variance sigma2_within = mean over prompts of the unbiased Bernoulli variance
  p_i (1 - p_i) K_i / (K_i - 1) (prompts with K_i = 1 carry no within information and are left
  out of it);
- between-prompt variance sigma2_between = var(p_i) - mean(sigma2_i / K_i), floored at 0, the
  variance of the prompts' true rates once the sampling noise of each p_i is taken out;
- intra-class correlation ICC = sigma2_between / (sigma2_between + sigma2_within);
- design effect of K repeated samples, deff = 1 + (K - 1) ICC (K the mean samples per prompt):
  the factor by which K samples per prompt inflate the variance over K independent prompts, so
  n K samples are worth n K / deff independent ones (the `effective_n`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS

from refusal_stability.analysis import bootstrap, tidy

SE_KEYS: tuple[str, ...] = (*tidy.RUN_KEYS, tidy.HARMFUL)
SAMPLE_OUTCOMES: dict[str, tuple[str, ...]] = {
    "comply": ("n_COMPLY",),
    "fulfilled": ("n_COMPLY", "n_PARTIAL"),
    "refuse": ("n_REFUSE",),
}
"""Per-sample binary outcomes: the verdict counts that make a sample count as a success."""
PROMPT_VALUES: tuple[str, ...] = ("ssi",)
"""Per-prompt statistics that are not per-sample rates (no within-prompt variance to split)."""


def per_prompt_rates(prompts: pd.DataFrame, outcome: str) -> tuple[np.ndarray, np.ndarray]:
    """(successes, scored samples) per scored prompt for one outcome of `SAMPLE_OUTCOMES`."""
    if outcome not in SAMPLE_OUTCOMES:
        raise ValueError(f"outcome must be one of {tuple(SAMPLE_OUTCOMES)}, not {outcome!r}")
    scored = prompts[prompts["n"] > 0]
    k = sum(scored[c].to_numpy(dtype=float) for c in SAMPLE_OUTCOMES[outcome])
    return np.asarray(k, dtype=float), scored["n"].to_numpy(dtype=float)


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and central-limit standard error over per-prompt values (NaN values left out)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    if values.size == 1:
        return float(values[0]), float("nan")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def cluster_se(values: np.ndarray, clusters: Sequence[object]) -> tuple[float, int]:
    """Cluster-robust standard error of the mean of `values` (statsmodels OLS on a constant).

    Args:
        values: Per-prompt values.
        clusters: Each prompt's cluster (its category); None / NaN makes the prompt its own cluster.

    Returns:
        (se, number of clusters); se is NaN with fewer than two clusters.
    """
    values = np.asarray(values, dtype=float)
    labels = pd.Series(list(clusters), dtype=object).reset_index(drop=True)
    missing = labels.isna().to_numpy()
    labels = labels.astype(str)
    labels[missing] = [f"\x00prompt-{i}" for i in np.flatnonzero(missing)]
    keep = np.isfinite(values)
    codes = pd.factorize(labels[keep])[0]
    n_clusters = int(codes.max()) + 1 if codes.size else 0
    if n_clusters < 2:
        return float("nan"), n_clusters
    fit = OLS(values[keep], np.ones((int(keep.sum()), 1))).fit(cov_type="cluster", cov_kwds={"groups": codes})
    return float(fit.bse[0]), n_clusters


def variance_components(successes: np.ndarray, samples: np.ndarray) -> dict[str, float]:
    """Split a per-sample binary outcome's variance into between- and within-prompt parts.

    Args:
        successes: Per prompt, the samples with the outcome.
        samples: Per prompt, its scored samples (K_i >= 1).

    Returns:
        mean, var_between, var_within, icc, k_mean, design_effect, effective_n (see the module
        docstring); NaN where undefined (fewer than two prompts, or no prompt with K_i >= 2).
    """
    k, n = np.asarray(successes, dtype=float), np.asarray(samples, dtype=float)
    p = k / n
    out = dict.fromkeys(
        ("mean", "var_between", "var_within", "icc", "k_mean", "design_effect", "effective_n"), np.nan
    )
    if p.size == 0:
        return out
    out["mean"] = float(p.mean())
    out["k_mean"] = float(n.mean())
    multi = n >= 2
    if p.size < 2 or not multi.any():
        return out
    within_i = np.zeros_like(p)
    within_i[multi] = p[multi] * (1.0 - p[multi]) * n[multi] / (n[multi] - 1.0)
    var_within = float(within_i[multi].mean())
    noise = float(np.mean(np.where(multi, within_i / n, 0.0)))
    var_between = max(float(p.var(ddof=1)) - noise, 0.0)
    total = var_between + var_within
    icc = var_between / total if total > 0 else float("nan")
    deff = 1.0 + (out["k_mean"] - 1.0) * icc
    out.update(
        var_between=var_between,
        var_within=var_within,
        icc=icc,
        design_effect=deff,
        effective_n=float(n.sum() / deff) if np.isfinite(deff) and deff > 0 else np.nan,
    )
    return out


def error_bars(
    prompts: pd.DataFrame,
    extra: Sequence[str] = (),
    confidence: float = bootstrap.CONFIDENCE,
) -> pd.DataFrame:
    """Mean, standard errors and variance split of each outcome and per-prompt value, per group.

    Args:
        prompts: The per-prompt table.
        extra: Further grouping columns (e.g. `temperature` with `per_prompt_temperature`).
        confidence: Coverage of the normal interval mean +- z se.

    Returns:
        One row per group and metric (comply, fulfilled, refuse, ssi): the keys, metric,
        n_prompts, n_samples, mean, se, ci_low, ci_high, se_category, n_clusters, se_naive and,
        for the per-sample outcomes, var_between, var_within, icc, k_mean, design_effect,
        effective_n. Means are fractions (rates and SSI alike).
    """
    keys = [*SE_KEYS, *extra]
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    rows = []
    scored_all = prompts[prompts["n"] > 0]
    for key, g in scored_all.groupby(keys, observed=True, dropna=False, sort=True):
        label = dict(zip(keys, key, strict=True))
        categories = g[tidy.CATEGORY].tolist()
        n_samples = int(g["n"].sum())
        for metric in (*SAMPLE_OUTCOMES, *PROMPT_VALUES):
            if metric in SAMPLE_OUTCOMES:
                k, n = per_prompt_rates(g, metric)
                values = k / n
                components = variance_components(k, n)
                pooled = float(k.sum() / n.sum())
                naive = float(np.sqrt(pooled * (1 - pooled) / n.sum()))
            else:
                values = g[metric].to_numpy(dtype=float)
                components, naive = {}, np.nan
            mean, se = mean_se(values)
            se_cat, n_clusters = (
                cluster_se(values, categories)
                if g[tidy.CATEGORY].notna().any()
                else (
                    np.nan,
                    0,
                )
            )
            rows.append(
                {
                    **label,
                    "metric": metric,
                    "n_prompts": len(g),
                    "n_samples": n_samples,
                    "mean": mean,
                    "se": se,
                    "ci_low": mean - z * se,
                    "ci_high": mean + z * se,
                    "se_category": se_cat,
                    "n_clusters": n_clusters,
                    "se_naive": naive,
                    **{c: v for c, v in components.items() if c != "mean"},
                }
            )
    return pd.DataFrame(rows)
