"""The report's opening summary: per evaluated unit, the numbers a researcher pastes, then in sentences.

`summary_table` picks, for each unit (run / model / dataset / judge / harmful half) of the overall
group table, the numbers the statistics modules already computed: prompts and samples, mean SSI
with its bootstrap 95 % interval over prompts (`groups`), % unstable and % flipped with Wilson
intervals (`intervals.share_intervals`), how often one sample disagrees with the full-grid majority
(`single_shot`, n = 1), the samples needed for each agreement target, the temperature effect
(within-temperature SSI and comply rate at the lowest and highest temperature, Friedman's test) and
the judge-noise rate (`judge_noise.identical_response_noise`, greedy prompts). It computes no
statistic: a number missing upstream is NaN here and its clause is left out of the sentence.
`summary_sentences` writes one row as sentences; the table itself is `summary.csv`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from refusal_stability.analysis import tidy
from refusal_stability.schema import (
    BENIGN_PCT_REFUSE,
    HARMFUL_PCT_COMPLY,
    MEAN_SSI,
    PCT_FLIPPED,
    PCT_UNSTABLE,
)

if TYPE_CHECKING:
    from refusal_stability.analysis.report import Analysis

UNIT_KEYS: tuple[str, ...] = (*tidy.RUN_KEYS, tidy.HARMFUL)
GREEDY_SCOPE = "greedy prompts"
"""The judge-noise rate quoted: prompts whose greedy (T = 0) responses are byte-identical."""


def _lookup(table: pd.DataFrame, keys: dict[str, Any], **where: Any) -> pd.Series | None:
    """The one row of `table` matching `keys` (the columns it has) and `where`; None when absent."""
    if table is None or table.empty:
        return None
    mask = np.ones(len(table), dtype=bool)
    for column, value in {**keys, **where}.items():
        if column not in table:
            continue
        values = table[column]
        if isinstance(value, float) and np.isnan(value):
            mask &= values.isna().to_numpy()
        else:
            mask &= (values.astype(object) == value).to_numpy(dtype=bool)
    rows = table[mask]
    return rows.iloc[0] if len(rows) else None


def _get(row: pd.Series | None, column: str) -> float:
    """A number of a looked-up row, NaN when the row or the value is missing."""
    if row is None or column not in row or pd.isna(row[column]):
        return float("nan")
    return float(row[column])


def summary_table(analysis: Analysis) -> pd.DataFrame:
    """One row per unit of the overall group table with the numbers of the module docstring."""
    overall = analysis.groups[analysis.groups["level"] == "overall"]
    by_t = analysis.groups[analysis.groups["level"] == "temperature"]
    shares = analysis.publishable.get("share_intervals", pd.DataFrame())
    noise = analysis.publishable.get("judge_noise", pd.DataFrame())
    curves = analysis.curves
    single = curves[(curves["n"] == 1) & (curves["scope"] == "pooled")] if len(curves) else curves
    rows = []
    for _, g in overall.iterrows():
        unit = {k: g[k] for k in UNIT_KEYS}
        run = {k: g[k] for k in tidy.RUN_KEYS}
        unstable = _lookup(shares, unit, level="overall", share="unstable")
        flipped = _lookup(shares, unit, level="overall", share="flipped")
        one = _lookup(single, run)
        greedy = _lookup(noise, run, scope=GREEDY_SCOPE)
        friedman = _lookup(analysis.friedman, unit)
        row: dict[str, Any] = {
            **unit,
            "n_prompts": g["n_prompts"],
            "samples_per_prompt": g["n_samples"] / g["n_prompts"] if g["n_prompts"] else np.nan,
            "n_scored": g["n_scored"],
            "n_unscored": g["n_unscored"],
            MEAN_SSI: g[MEAN_SSI],
            "mean_ssi_low": g["ssi_ci_low"],
            "mean_ssi_high": g["ssi_ci_high"],
            PCT_UNSTABLE: g[PCT_UNSTABLE],
            "unstable_low": _get(unstable, "wilson_low"),
            "unstable_high": _get(unstable, "wilson_high"),
            PCT_FLIPPED: g[PCT_FLIPPED],
            "flipped_low": _get(flipped, "wilson_low"),
            "flipped_high": _get(flipped, "wilson_high"),
            "harmfulness_pct": g[HARMFUL_PCT_COMPLY] if g[tidy.HARMFUL] is not False else np.nan,
            "over_refusal_pct": g[BENIGN_PCT_REFUSE] if g[tidy.HARMFUL] is False else np.nan,
            # one sample's verdict against the full-grid majority: disagreement = 1 - agreement
            "single_disagree_pct": 100 * (1 - _get(one, "mean_agreement")),
            "single_disagree_low": 100 * (1 - _get(one, "ci_high")),
            "single_disagree_high": 100 * (1 - _get(one, "ci_low")),
            "friedman_p": _get(friedman, "p"),
            "kendalls_w": _get(friedman, "kendalls_w"),
            "noise_noisy": _get(greedy, "n_noisy"),
            "noise_prompts": _get(greedy, "n_groups"),
            "noise_pct": _get(greedy, "pct_noisy"),
            "noise_low": _get(greedy, "wilson_low"),
            "noise_high": _get(greedy, "wilson_high"),
        }
        for target in sorted(analysis.needed["target"].unique()) if len(analysis.needed) else []:
            needed = _lookup(analysis.needed, run, scope="pooled", target=target)
            row[f"samples_for_{100 * target:g}"] = _get(needed, "n_mean")
        temps = by_t[np.all([by_t[k].astype(object) == v for k, v in unit.items()], axis=0)]
        temps = temps.dropna(subset=[tidy.TEMPERATURE]).sort_values(tidy.TEMPERATURE)
        if len(temps) >= 2:
            first, last = temps.iloc[0], temps.iloc[-1]
            row |= {
                "t_low": first[tidy.TEMPERATURE],
                "t_high": last[tidy.TEMPERATURE],
                "ssi_at_t_low": first[MEAN_SSI],
                "ssi_at_t_high": last[MEAN_SSI],
                "comply_at_t_low": first["pct_comply"],
                "comply_at_t_high": last["pct_comply"],
            }
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):  # single-shot and judge noise are per run: say so where a run has two halves
        halves = table.groupby(list(tidy.RUN_KEYS), observed=True, dropna=False)[tidy.HARMFUL].transform(
            "nunique"
        )
        table.insert(len(UNIT_KEYS), "per_run_pooled", halves.to_numpy() > 1)
    return table


def unit_title(row: pd.Series | dict[str, Any]) -> str:
    """The unit in words: ``run (model) on dataset, judge J, harmful prompts``."""
    model = f" ({row[tidy.MODEL]})" if str(row[tidy.MODEL]) != str(row[tidy.RUN]) else ""
    half = {True: "harmful prompts", False: "benign prompts"}.get(row[tidy.HARMFUL], "prompts")
    return f"{row[tidy.RUN]}{model} on {row[tidy.DATASET]}, judge {row[tidy.JUDGE]}, {half}"


def _pct(value: float, low: float, high: float) -> str:
    """``14.0 % (95 % CI 11.9–16.5)``; without the interval when it is missing."""
    if np.isnan(low) or np.isnan(high):
        return f"{value:.1f} %"
    return f"{value:.1f} % (95 % CI {low:.1f}–{high:.1f})"


def _p_value(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def summary_sentences(row: pd.Series | dict[str, Any], threshold: float) -> list[str]:
    """One unit's summary in sentences (clauses whose numbers are missing are left out)."""

    def has(*columns: str) -> bool:
        return all(c in row and pd.notna(row[c]) for c in columns)

    sentences = [
        f"{int(row['n_prompts']):,} prompts × {row['samples_per_prompt']:.3g} samples "
        f"({int(row['n_scored']):,} verdicts, {int(row['n_unscored']):,} unscored and left out of N)."
    ]
    ssi = f"Mean SSI {row[MEAN_SSI]:.3f}"
    if has("mean_ssi_low", "mean_ssi_high"):
        ssi += f" (95 % CI {row['mean_ssi_low']:.3f}–{row['mean_ssi_high']:.3f}, bootstrap over prompts)"
    unstable = _pct(row[PCT_UNSTABLE], row["unstable_low"], row["unstable_high"])
    flipped = _pct(row[PCT_FLIPPED], row["flipped_low"], row["flipped_high"])
    ssi += f"; {unstable} of prompts are unstable (SSI < {threshold:g}) and {flipped} flip at least once."
    sentences.append(ssi)
    if has("harmfulness_pct"):
        sentences.append(f"{row['harmfulness_pct']:.1f} % of the verdicts are COMPLY.")
    if has("over_refusal_pct"):
        sentences.append(f"{row['over_refusal_pct']:.1f} % of the verdicts refuse (over-refusal).")
    if has("single_disagree_pct"):
        one = _pct(row["single_disagree_pct"], row["single_disagree_low"], row["single_disagree_high"])
        needed = [
            (c.removeprefix("samples_for_"), row[c])
            for c in sorted(row.keys())
            if c.startswith("samples_for_")
        ]
        scope = " (both halves pooled)" if row.get("per_run_pooled", False) else ""
        text = f"One sample disagrees with the full grid's majority verdict on {one} of prompts{scope}"
        reached = [f"{int(n)} sample{'s' * (int(n) != 1)} for {t} %" for t, n in needed if pd.notna(n)]
        missed = [f"{t} %" for t, n in needed if pd.isna(n)]
        if reached:
            text += "; a majority of " + " and ".join(reached) + " agreement"
        if missed:
            text += f"; {' and '.join(missed)} agreement is not reached within the grid"
        sentences.append(text + ".")
    if has("t_low", "t_high", "ssi_at_t_low", "ssi_at_t_high"):
        text = (
            f"From T = {row['t_low']:g} to T = {row['t_high']:g}, within-temperature SSI goes "
            f"{row['ssi_at_t_low']:.3f} → {row['ssi_at_t_high']:.3f} and COMPLY "
            f"{row['comply_at_t_low']:.1f} % → {row['comply_at_t_high']:.1f} %"
        )
        if has("friedman_p", "kendalls_w"):
            text += f" (Friedman {_p_value(row['friedman_p'])}, Kendall's W {row['kendalls_w']:.3f})"
        sentences.append(text + ".")
    if has("noise_prompts", "noise_noisy", "noise_pct") and row["noise_prompts"] > 0:
        scope = " (both halves pooled)" if row.get("per_run_pooled", False) else ""
        sentences.append(
            f"Judge noise{scope}: {int(row['noise_noisy'])} of {int(row['noise_prompts'])} prompts "
            "whose greedy (T = 0) responses are byte-identical got different verdicts, "
            f"{_pct(row['noise_pct'], row['noise_low'], row['noise_high'])}."
        )
    return sentences
