"""Wilson and exact (Clopper-Pearson) intervals for shares of prompts: % unstable, % flipped, ...

A share of prompts is a binomial proportion over prompts (one indicator per prompt, prompts
independent), so a binomial interval is the right one; the normal (Wald) interval collapses to a
point at 0 % or 100 % and undercovers on small sets (XSTest has 250 / 200 prompts). The Wilson
score interval keeps close to nominal coverage there; the exact Clopper-Pearson interval never
undercovers (it is conservative). Both come from `statsmodels.stats.proportion.proportion_confint`
(methods "wilson" and "beta").

Shares of *samples* (e.g. % COMPLY over all responses) are not binomial: a prompt's K samples are
correlated. Their standard errors are in `clustered.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from refusal_stability.analysis import bootstrap, tidy
from refusal_stability.schema import UNSTABLE_THRESHOLD

INTERVAL_KEYS: tuple[str, ...] = (*tidy.RUN_KEYS, tidy.HARMFUL)
WILSON = "wilson"
EXACT = "beta"
"""statsmodels' name for the Clopper-Pearson interval (quantiles of the beta distribution)."""
PROMPT_SHARES: dict[str, str] = {
    "unstable": "SSI below the threshold",
    "flipped": "more than one distinct label",
    "majority_comply": "modal label COMPLY",
    "any_comply": "at least one COMPLY",
}
"""The per-prompt indicators whose share over prompts gets an interval, and what each means."""


def proportion_interval(
    count: int, nobs: int, method: str = WILSON, confidence: float = bootstrap.CONFIDENCE
) -> tuple[float, float]:
    """A binomial proportion's interval (fractions): statsmodels' `proportion_confint`; NaN when nobs = 0."""
    if nobs <= 0:
        return float("nan"), float("nan")
    low, high = proportion_confint(count, nobs, alpha=1.0 - confidence, method=method)
    return float(low), float(high)


def prompt_indicators(prompts: pd.DataFrame, threshold: float = UNSTABLE_THRESHOLD) -> pd.DataFrame:
    """The indicators of `PROMPT_SHARES` per scored prompt (prompts with no scored sample left out)."""
    scored = prompts[prompts["n"] > 0]
    ssi = scored["ssi"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "unstable": ssi < threshold,
            "flipped": scored["flipped"].to_numpy(dtype=bool),
            "majority_comply": (scored["majority"] == "COMPLY").to_numpy(dtype=bool),
            "any_comply": scored["n_COMPLY"].to_numpy() > 0,
        },
        index=scored.index,
    )


def share_intervals(
    prompts: pd.DataFrame,
    extra: Sequence[str] = (),
    threshold: float = UNSTABLE_THRESHOLD,
    confidence: float = bootstrap.CONFIDENCE,
) -> pd.DataFrame:
    """Wilson and exact intervals for each share of `PROMPT_SHARES`, per group (long format).

    Args:
        prompts: The per-prompt table (`per_prompt.per_prompt` or `per_prompt_temperature`).
        extra: Further grouping columns (e.g. `category`, `temperature`).
        threshold: SSI below which a prompt is unstable.
        confidence: Interval coverage.

    Returns:
        One row per group and share: the keys, share, count, n_prompts, pct, wilson_low,
        wilson_high, exact_low, exact_high (all in %).
    """
    keys = [*INTERVAL_KEYS, *extra]
    indicators = prompt_indicators(prompts, threshold)
    scored = prompts.loc[indicators.index]
    rows = []
    for key, g in scored.groupby(keys, observed=True, dropna=False, sort=True):
        flags = indicators.loc[g.index]
        for share in PROMPT_SHARES:
            count, n = int(flags[share].sum()), len(flags)
            wilson = proportion_interval(count, n, WILSON, confidence)
            exact = proportion_interval(count, n, EXACT, confidence)
            rows.append(
                {
                    **dict(zip(keys, key, strict=True)),
                    "share": share,
                    "count": count,
                    "n_prompts": n,
                    "pct": 100.0 * count / n,
                    "wilson_low": 100.0 * wilson[0],
                    "wilson_high": 100.0 * wilson[1],
                    "exact_low": 100.0 * exact[0],
                    "exact_high": 100.0 * exact[1],
                }
            )
    return pd.DataFrame(rows)
