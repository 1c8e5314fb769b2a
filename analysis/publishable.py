"""Every statistic a paper needs beside the study's figures, as named tables (one CSV each in a report).

`TABLES` names each table and what it holds; the statistics live in `clustered.py` (error bars),
`intervals.py` (Wilson / exact), `paired.py` (run comparisons), `power.py`, `prompt_model.py`
(beta-binomial, tail risk) and `judge_noise.py`. Tables with nothing to show (one run, one judge)
are left out.
"""

from __future__ import annotations

import itertools

import pandas as pd

from refusal_stability.analysis import (
    bootstrap,
    clustered,
    intervals,
    judge_noise,
    paired,
    power,
    prompt_model,
    tidy,
)
from refusal_stability.schema import UNSTABLE_THRESHOLD

TABLES: dict[str, str] = {
    "error_bars": "means with SEs over per-prompt values, cluster-robust SE by category, ICC, design effect",
    "share_intervals": "Wilson and exact intervals for % unstable, % flipped, % majority / any COMPLY "
    "(overall, by category, within each temperature)",
    "compare_runs": "paired differences between runs on the same prompts, McNemar, Holm",
    "detectable": "smallest difference in harmfulness and % unstable detectable at 80 % power",
    "prompts_needed": "prompts x samples needed to detect a 2- or 5-point difference in comply rate",
    "prompt_model": "beta-binomial: share of prompts with comply probability in [5 %, 95 %], expected "
    "% flipped at K = 5 / 20 / 100, P(any COMPLY in N asks)",
    "tail_risk": "per prompt: P(at least one COMPLY in 1 / 10 / 100 asks) with a credible interval",
    "judge_noise": "byte-identical responses that got different verdicts (judge-noise rate)",
    "judge_disagreement": "flips from judge disagreement; SSI on the samples both judges agree on",
    "corrected_rates": "each judge's label shares corrected for its confusion with another judge",
}
"""Every table `publishable_tables` can return, and what it holds (the report lists them)."""


def _levels(tables: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Stack tables of the same statistic at different levels, with a `level` column first."""
    parts = [t.assign(level=level) for level, t in tables if len(t)]
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts, ignore_index=True)
    return table[["level", *[c for c in table if c != "level"]]]


def corrected_all_pairs(
    frame: pd.DataFrame, n_boot: int = bootstrap.N_BOOTSTRAP, seed: int = 0
) -> pd.DataFrame:
    """`judge_noise.corrected_rates` for every ordered pair (reference, judge) of judges in the frame."""
    judges = sorted(frame[tidy.JUDGE].dropna().unique())
    tables = [
        judge_noise.corrected_rates(frame, reference, judge, n_boot=n_boot, seed=seed)
        for reference, judge in itertools.permutations(judges, 2)
    ]
    tables = [t for t in tables if len(t)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def publishable_tables(
    frame: pd.DataFrame,
    prompts: pd.DataFrame,
    prompts_by_temperature: pd.DataFrame,
    threshold: float = UNSTABLE_THRESHOLD,
    n_boot: int = bootstrap.N_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Compute every table of the module docstring.

    Args:
        frame: The tidy table.
        prompts: Its per-prompt table (`per_prompt.per_prompt`).
        prompts_by_temperature: Its per-prompt-and-temperature table.
        threshold: SSI below which a prompt is unstable.
        n_boot: Bootstrap resamples (the prompt model uses at most `prompt_model.N_BOOTSTRAP`, since
            each resample refits it).
        seed: Bootstrap seed.

    Returns:
        Table name -> table, non-empty tables only.
    """
    by_category = (
        intervals.share_intervals(prompts, (tidy.CATEGORY,), threshold)
        if prompts[tidy.CATEGORY].notna().any()
        else pd.DataFrame()
    )
    tables = {
        "error_bars": _levels(
            [
                ("overall", clustered.error_bars(prompts)),
                ("temperature", clustered.error_bars(prompts_by_temperature, (tidy.TEMPERATURE,))),
            ]
        ),
        "share_intervals": _levels(
            [
                ("overall", intervals.share_intervals(prompts, (), threshold)),
                ("category", by_category),
                (
                    "temperature",
                    intervals.share_intervals(prompts_by_temperature, (tidy.TEMPERATURE,), threshold),
                ),
            ]
        ),
        "compare_runs": paired.compare_runs(prompts, threshold=threshold),
        "detectable": power.detectable_differences(prompts, threshold),
        "prompts_needed": power.prompts_needed(prompts),
        "prompt_model": prompt_model.instability_model(
            prompts, n_boot=min(n_boot, prompt_model.N_BOOTSTRAP), seed=seed
        ),
        "tail_risk": prompt_model.per_prompt_tail_risk(prompts),
        "judge_noise": judge_noise.identical_response_noise(frame),
        "judge_disagreement": judge_noise.judge_disagreement(frame, threshold),
        "corrected_rates": corrected_all_pairs(frame, n_boot, seed),
    }
    return {name: table for name, table in tables.items() if len(table)}
