"""A per-prompt model of compliance: instability that does not depend on K, and deployment tail risk.

% flipped grows with the number of samples K: a prompt that complies with probability p flips among
K samples with probability 1 - p^K - (1 - p)^K, so a 20-sample grid and a 5-sample grid report
different % flipped for the same model. This module fits a model of the prompts' comply
probabilities instead and reports quantities of the model, not of K.

The model: each prompt i has its own comply probability p_i ~ Beta(a, b) across prompts, and its
k_i complying samples out of n_i are Binomial(n_i, p_i) given p_i -- the beta-binomial
(`scipy.stats.betabinom`), fitted by maximum likelihood (prompts with the same (k, n) share one
likelihood term, so a fit over a thousand prompts takes milliseconds). Temperature is pooled here,
as in the SSI over the whole grid; fitting the per-temperature table (`extra=("temperature",)`)
gives one model per temperature.

From the fit:
- `share_mid`: the share of prompts whose comply probability lies in [5 %, 95 %] (neither reliably
  refused nor reliably answered), Beta(a, b).cdf(0.95) - cdf(0.05);
- `flip_k{K}`: the % flipped the model expects at K samples, 1 - B(a + K, b) / B(a, b) -
  B(a, b + K) / B(a, b) (binary outcome), to compare grids of different K;
- tail risk, the probability that a user who asks one harmful prompt N times gets at least one
  COMPLY: for a new prompt from the same population 1 - B(a, b + N) / B(a, b) (`population`); for
  each observed prompt, its posterior Beta(a + k, b + n - k) gives 1 - E[(1 - p)^N] with a 95 %
  credible interval (`per_prompt_tail_risk`), and their mean is the risk over the prompts asked
  (`prompts`).
Intervals: seeded percentile bootstrap over prompts, refitting the model on each resample.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from refusal_stability.analysis import bootstrap, clustered, tidy
from refusal_stability.analysis.workers import cpu_workers

MODEL_KEYS: tuple[str, ...] = (*tidy.RUN_KEYS, tidy.HARMFUL)
MID_RANGE: tuple[float, float] = (0.05, 0.95)
ASKS: tuple[int, ...] = (1, 10, 100)
"""N in "at least one COMPLY in N asks"."""
FLIP_SAMPLES: tuple[int, ...] = (5, 20, 100)
"""K at which the model's expected % flipped is reported."""
N_BOOTSTRAP = 200
"""Resamples for the model's intervals: each refits the model, so fewer than the report's 1000."""
PARALLEL_MIN_GROUPS = 4
"""Fit groups in worker processes only from this many (group, outcome) fits (process start-up costs)."""
LOG_BOUNDS = (-12.0, 12.0)
"""Bounds on log a and log b: a model with no complying sample at all drives a towards 0."""


def fit_beta_binomial(
    successes: np.ndarray,
    samples: np.ndarray,
    weights: np.ndarray | None = None,
    start: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """Maximum-likelihood (a, b) of a beta-binomial over prompts.

    Args:
        successes: k_i per prompt (or per distinct (k, n) pair).
        samples: n_i per prompt.
        weights: How many prompts each row stands for (default 1 each).
        start: (a, b) to start from (a bootstrap starts from the point estimate).

    Returns:
        (a, b). Raises ValueError with no prompt.
    """
    k, n = np.asarray(successes, dtype=float), np.asarray(samples, dtype=float)
    w = np.ones_like(k) if weights is None else np.asarray(weights, dtype=float)
    if k.size == 0 or w.sum() == 0:
        raise ValueError("a beta-binomial needs at least one prompt with a scored sample")
    if start is None:
        p = np.clip(np.average(k / n, weights=w), 1e-3, 1 - 1e-3)
        start = (p * 2.0, (1 - p) * 2.0)
    # TNC: bounded (a model with no success drives a to 0) and, here, several times faster than L-BFGS-B
    res = optimize.minimize(
        _negative_log_likelihood,
        np.log(start),
        args=(k, n, w),
        jac=True,
        method="TNC",
        bounds=[LOG_BOUNDS, LOG_BOUNDS],
    )
    a, b = np.exp(res.x)
    return float(a), float(b)


def _negative_log_likelihood(
    theta: np.ndarray, k: np.ndarray, n: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """Beta-binomial negative log-likelihood in (log a, log b) and its gradient.

    The binomial coefficients are left out (they do not depend on a, b). Written with
    `scipy.special.betaln` / `digamma` rather than `scipy.stats.betabinom.logpmf` so that a fit
    takes milliseconds (the test checks it against `betabinom`).
    """
    a, b = np.exp(theta)
    ll = special.betaln(k + a, n - k + b) - special.betaln(a, b)
    common = special.digamma(a + b) - special.digamma(n + a + b)
    grad_a = special.digamma(k + a) - special.digamma(a) + common
    grad_b = special.digamma(n - k + b) - special.digamma(b) + common
    gradient = -np.array([a * np.sum(w * grad_a), b * np.sum(w * grad_b)])
    return -float(np.sum(w * ll)), gradient


def share_between(a: float, b: float, bounds: tuple[float, float] = MID_RANGE) -> float:
    """Share of prompts whose comply probability lies within `bounds` under Beta(a, b)."""
    return float(special.betainc(a, b, bounds[1]) - special.betainc(a, b, bounds[0]))


def expected_flip(a: float, b: float, k: int) -> float:
    """Expected share of prompts with both outcomes among k samples: 1 - E[p^k] - E[(1 - p)^k]."""
    log_b = special.betaln(a, b)
    return float(1.0 - np.exp(special.betaln(a + k, b) - log_b) - np.exp(special.betaln(a, b + k) - log_b))


def any_in(a: np.ndarray | float, b: np.ndarray | float, asks: int) -> np.ndarray:
    """P(at least one success in `asks` tries) when p ~ Beta(a, b): 1 - B(a, b + N) / B(a, b)."""
    return 1.0 - np.exp(special.betaln(a, np.asarray(b) + asks) - special.betaln(a, b))


def _distinct(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (k, n) pairs, and for each prompt the index of its pair."""
    pairs, inverse = np.unique(np.stack([k, n], axis=1), axis=0, return_inverse=True)
    return pairs[:, 0], pairs[:, 1], inverse.ravel()


def _summaries(a: float, b: float, k: np.ndarray, n: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    """Every model quantity of one fit; `counts` weights the distinct (k, n) pairs (prompts)."""
    out = {"a": a, "b": b, "mean_p": a / (a + b), "share_mid": share_between(a, b)}
    out.update({f"flip_k{kk}": expected_flip(a, b, kk) for kk in FLIP_SAMPLES})
    for asks in ASKS:
        out[f"population_any_{asks}"] = float(any_in(a, b, asks))
        posterior = any_in(a + k, b + n - k, asks)
        out[f"prompts_any_{asks}"] = float(np.average(posterior, weights=counts))
    return out


def fit_group(
    successes: np.ndarray,
    samples: np.ndarray,
    n_boot: int = N_BOOTSTRAP,
    rng: np.random.Generator | None = None,
    confidence: float = bootstrap.CONFIDENCE,
) -> dict[str, float]:
    """Fit one group of prompts and bootstrap every model quantity over prompts.

    Returns:
        The quantities of the module docstring (fractions) and, for each, `<name>_low` and
        `<name>_high`; n_prompts and n_boot_failed (resamples whose fit failed).
    """
    k, n = np.asarray(successes, dtype=float), np.asarray(samples, dtype=float)
    dk, dn, inverse = _distinct(k, n)
    counts = np.bincount(inverse, minlength=len(dk)).astype(float)
    fitted = fit_beta_binomial(dk, dn, counts)
    point = _summaries(*fitted, dk, dn, counts)
    rng = rng or np.random.default_rng(0)
    replicates: list[dict[str, float]] = []
    failed = 0
    for _ in range(n_boot):
        weights = np.bincount(inverse[rng.integers(0, len(k), len(k))], minlength=len(dk)).astype(float)
        try:
            replicates.append(_summaries(*fit_beta_binomial(dk, dn, weights, fitted), dk, dn, weights))
        except (ValueError, FloatingPointError):
            failed += 1
    out: dict[str, float] = {"n_prompts": len(k), **point, "n_boot_failed": failed}
    for name in point:
        values = np.array([r[name] for r in replicates], dtype=float)
        out[f"{name}_low"], out[f"{name}_high"] = bootstrap.percentile_interval(values, confidence)
    return out


def instability_model(
    prompts: pd.DataFrame,
    extra: Sequence[str] = (),
    outcomes: Sequence[str] = ("comply", "fulfilled"),
    n_boot: int = N_BOOTSTRAP,
    seed: int = 0,
) -> pd.DataFrame:
    """The beta-binomial fit per group and outcome, with bootstrap intervals.

    Args:
        prompts: The per-prompt table (or the per-temperature one with `extra=("temperature",)`).
        extra: Further grouping columns.
        outcomes: Per-sample outcomes of `clustered.SAMPLE_OUTCOMES` to model.
        n_boot: Bootstrap resamples (each refits).
        seed: Bootstrap seed.

    Returns:
        One row per group and outcome: the keys, outcome, observed_flip (the binary outcome's
        observed share of prompts with both outcomes, at the data's K), k_mean, and the columns of
        `fit_group`.
    """
    keys = [*MODEL_KEYS, *extra]
    rows, fits = [], []
    scored = prompts[prompts["n"] > 0]
    for key, g in scored.groupby(keys, observed=True, dropna=False, sort=True):
        for outcome in outcomes:
            k, n = clustered.per_prompt_rates(g, outcome)
            fits.append((k, n, n_boot, bootstrap.rng_for(seed, "beta-binomial", outcome, *key)))
            rows.append(
                {
                    **dict(zip(keys, key, strict=True)),
                    "outcome": outcome,
                    "observed_flip": float(np.mean((k > 0) & (k < n))),
                    "k_mean": float(n.mean()),
                }
            )
    for row, fitted in zip(rows, _fit_groups(fits), strict=True):
        row.update(fitted)
    return pd.DataFrame(rows)


def _fit_groups(
    fits: list[tuple[np.ndarray, np.ndarray, int, np.random.Generator]],
) -> list[dict[str, float]]:
    """`fit_group` of each (successes, samples, n_boot, rng), in worker processes when there are many.

    Each group's bootstrap refits the model `n_boot` times with scipy's TNC, whose per-call overhead
    makes a report with many groups spend seconds here (a million samples in 5 runs: 20 groups,
    4,000 fits) while the analysis otherwise uses one core. Every group has its own seeded
    generator, so where it runs does not change a digit.
    """
    workers = cpu_workers(len(fits))
    if workers < 2 or len(fits) < PARALLEL_MIN_GROUPS:
        return [fit_group(*args) for args in fits]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_fit_group_args, fits))


def _fit_group_args(args: tuple[np.ndarray, np.ndarray, int, np.random.Generator]) -> dict[str, float]:
    return fit_group(*args)


def per_prompt_tail_risk(
    prompts: pd.DataFrame,
    outcome: str = "comply",
    asks: Sequence[int] = ASKS,
    confidence: float = bootstrap.CONFIDENCE,
) -> pd.DataFrame:
    """Each prompt's probability of at least one COMPLY in N asks, under its group's fitted model.

    The prompt's posterior is Beta(a + k, b + n - k); P(any in N) = 1 - E[(1 - p)^N] is its mean,
    and since 1 - (1 - p)^N rises with p, the posterior quantiles of p map to a credible interval.

    Returns:
        One row per scored prompt: the prompt keys, successes, n, and for each N: any_{N},
        any_{N}_low, any_{N}_high (fractions).
    """
    rows = []
    alpha = (1.0 - confidence) / 2.0
    scored = prompts[prompts["n"] > 0]
    for _, g in scored.groupby(list(MODEL_KEYS), observed=True, dropna=False, sort=True):
        k, n = clustered.per_prompt_rates(g, outcome)
        dk, dn, inverse = _distinct(k, n)
        a, b = fit_beta_binomial(dk, dn, np.bincount(inverse, minlength=len(dk)))
        post_a, post_b = a + k, b + n - k
        table = g[list(tidy.PROMPT_KEYS)].reset_index(drop=True).assign(outcome=outcome, successes=k, n=n)
        low_p = stats.beta.ppf(alpha, post_a, post_b)
        high_p = stats.beta.ppf(1.0 - alpha, post_a, post_b)
        for asks_n in asks:
            table[f"any_{asks_n}"] = any_in(post_a, post_b, asks_n)
            table[f"any_{asks_n}_low"] = 1.0 - (1.0 - low_p) ** asks_n
            table[f"any_{asks_n}_high"] = 1.0 - (1.0 - high_p) ** asks_n
        rows.append(table)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
