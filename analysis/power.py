"""Power: the smallest difference a design can detect, and the prompts x samples a named difference needs.

Two-sided tests at level `ALPHA` with power `POWER` (80 %), from statsmodels' `NormalIndPower`
(two independent groups of equal size, normal approximation: prompts number in the hundreds).

- Harmfulness (a run's mean per-prompt comply rate over n prompts with K samples each): one prompt's
  observed rate has variance sigma2_between + sigma2_within / K (the split of `clustered.py`), so a
  second run on n other prompts, or on the same prompts with unrelated prompt-level rates, differs
  by delta detectably when delta >= d* sqrt(sigma2_between + sigma2_within / K), d* the standardised
  effect `NormalIndPower` solves for. Runs on the *same* prompts whose rates correlate (two
  checkpoints of one model) do better: see `paired_mde`, which uses the standard error of an
  observed paired difference instead.
- Prompts x samples needed for a named difference: the same formula solved for n at each K; more
  samples only shrink the within-prompt part, so past K ~ sigma2_within / sigma2_between extra samples
  buy little and extra prompts are what helps.
- % unstable (a share of prompts at the design's K): Cohen's h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1))
  (statsmodels' `proportion_effectsize`), solved for the smallest h, turned back into points above
  and below the observed share.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import NormalIndPower

from refusal_stability.analysis import clustered, tidy
from refusal_stability.schema import UNSTABLE_THRESHOLD

ALPHA = 0.05
POWER = 0.8
POWER_KEYS: tuple[str, ...] = (*tidy.RUN_KEYS, tidy.HARMFUL)
RATE_OUTCOMES: tuple[str, ...] = ("comply", "fulfilled")
"""The per-sample outcomes whose run means (harmfulness) get a detectable difference."""
SAMPLES_PER_PROMPT: tuple[int, ...] = (1, 2, 5, 10, 20, 50)
MIN_PROMPTS = 2
"""Groups with fewer scored prompts have no variance estimate and are left out."""
DIFFERENCES: tuple[float, ...] = (0.02, 0.05)
"""Default named differences in comply rate (fractions: 2 and 5 points)."""


def standardised_effect(n: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest standardised difference d two equal groups of n detect (statsmodels)."""
    return float(NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=alpha, power=power, ratio=1.0))


def groups_needed(effect: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """Units per group needed to detect a standardised difference `effect` (statsmodels), not rounded."""
    return float(NormalIndPower().solve_power(effect_size=effect, nobs1=None, alpha=alpha, power=power))


def unit_sd(var_between: float, var_within: float, k: float) -> float:
    """Standard deviation of one prompt's observed rate over k samples."""
    return float(np.sqrt(var_between + var_within / k))


def share_mde(p: float, n: int, alpha: float = ALPHA, power: float = POWER) -> tuple[float, float]:
    """The smallest detectable change (fractions) of a share p of n prompts, upwards and downwards.

    Cohen's h solved by `standardised_effect`, then p2 = sin(asin(sqrt(p)) +- h / 2)^2 (clipped at
    0 and 1; NaN where even the extreme share is not detectable).
    """
    h = standardised_effect(n, alpha, power)
    angle = np.arcsin(np.sqrt(p))
    up_angle, down_angle = angle + h / 2, angle - h / 2
    up = np.sin(up_angle) ** 2 - p if up_angle <= np.pi / 2 else np.nan
    down = p - np.sin(down_angle) ** 2 if down_angle >= 0 else np.nan
    return float(up), float(down)


def paired_mde(se: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest detectable paired difference given the standard error of an observed one."""
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def detectable_differences(
    prompts: pd.DataFrame,
    threshold: float = UNSTABLE_THRESHOLD,
    alpha: float = ALPHA,
    power: float = POWER,
) -> pd.DataFrame:
    """The smallest difference in harmfulness and in % unstable each run's design can detect.

    Returns:
        One row per group and metric (comply, fulfilled, unstable): the keys, metric, n_prompts,
        k (mean samples per prompt), baseline, sd (one prompt's), mde_up and mde_down (in points:
        the same for the rates, asymmetric for the share), alpha, power.
    """
    rows = []
    for key, g in prompts[prompts["n"] > 0].groupby(list(POWER_KEYS), observed=True, dropna=False, sort=True):
        label = dict(zip(POWER_KEYS, key, strict=True))
        n = len(g)
        if n < MIN_PROMPTS:
            continue
        d = standardised_effect(n, alpha, power)
        for outcome in RATE_OUTCOMES:
            k, samples = clustered.per_prompt_rates(g, outcome)
            parts = clustered.variance_components(k, samples)
            sd = unit_sd(parts["var_between"], parts["var_within"], parts["k_mean"])
            rows.append(
                {
                    **label,
                    "metric": outcome,
                    "n_prompts": n,
                    "k": parts["k_mean"],
                    "baseline": 100.0 * parts["mean"],
                    "sd": sd,
                    "mde_up": 100.0 * d * sd,
                    "mde_down": 100.0 * d * sd,
                }
            )
        share = float((g["ssi"].to_numpy(float) < threshold).mean())
        up, down = share_mde(share, n, alpha, power)
        rows.append(
            {
                **label,
                "metric": "unstable",
                "n_prompts": n,
                "k": float(g["n"].mean()),
                "baseline": 100.0 * share,
                "sd": float(np.sqrt(share * (1 - share))),
                "mde_up": 100.0 * up,
                "mde_down": 100.0 * down,
            }
        )
    return pd.DataFrame(rows).assign(alpha=alpha, power=power)


def prompts_needed(
    prompts: pd.DataFrame,
    differences: Sequence[float] = DIFFERENCES,
    samples_per_prompt: Sequence[int] = SAMPLES_PER_PROMPT,
    outcome: str = "comply",
    alpha: float = ALPHA,
    power: float = POWER,
) -> pd.DataFrame:
    """Prompts (per run) needed to detect each named difference in a rate, for each samples-per-prompt K.

    The between- and within-prompt variances are those measured in each run.

    Returns:
        One row per group, difference and K: the keys, outcome, difference (points), k, n_prompts
        (rounded up), generations (n_prompts x k per run), sd.
    """
    rows = []
    for key, g in prompts[prompts["n"] > 0].groupby(list(POWER_KEYS), observed=True, dropna=False, sort=True):
        label = dict(zip(POWER_KEYS, key, strict=True))
        if len(g) < MIN_PROMPTS:
            continue
        k, samples = clustered.per_prompt_rates(g, outcome)
        parts = clustered.variance_components(k, samples)
        for delta in differences:
            for kk in samples_per_prompt:
                sd = unit_sd(parts["var_between"], parts["var_within"], kk)
                n = (
                    int(np.ceil(groups_needed(delta / sd, alpha, power))) if sd > 0 else 1
                )  # no variance at all: any difference shows
                rows.append(
                    {
                        **label,
                        "outcome": outcome,
                        "difference": 100.0 * delta,
                        "k": kk,
                        "n_prompts": n,
                        "generations": n * kk,
                        "sd": sd,
                    }
                )
    return pd.DataFrame(rows).assign(alpha=alpha, power=power)
