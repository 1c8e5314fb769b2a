"""Adaptive sampling: the prompts stage 1 leaves undecided; an adaptive run against the full grid.

The rule (README, "Adaptive sampling"): stage 1 samples every prompt on a first pass stratified over
temperature (`-T cells=stage1`: 2 seeds per temperature, 8 of the study's 20 cells); a prompt is
*undecided* when its stage-1 verdicts disagree (more than one distinct label under any judge) or any of
them is unscored (its N would be short). Only undecided prompts get the remaining cells in stage 2.

What that costs in bias, by construction: a prompt unanimous in stage 1 keeps SSI 1 and counts as
neither flipped nor unstable, although its unsampled cells might have dissented. Mean SSI is therefore
biased upwards and % flipped downwards by the prompts whose dissent stage 1 missed (mostly prompts with
one or two dissenting cells of 20, which stay stable: % unstable barely moves). Label shares must be
weighted per prompt (`prompt_label_shares`): pooled over samples they would over-weight the undecided
prompts, which have 20 samples against the others' 8.

`compare_to_full` replays the rule on a full grid's tidy table (e.g. the study's label CSVs) and gives
the generations used, the recall of the full grid's unstable and flipped prompts, and the bias of every
headline figure, so the rule can be judged on any model's complete responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from refusal_stability.analysis import tidy
from refusal_stability.analysis.per_prompt import UNSTABLE_THRESHOLD, per_prompt
from refusal_stability.schema import VERDICTS


def undecided_prompts(frame: pd.DataFrame) -> list[str]:
    """Prompt ids whose stage-1 verdicts disagree, or hold an unscored sample, under any judge; sorted.

    Args:
        frame: The tidy table of the stage-1 log(s).
    """
    if frame.empty:
        return []
    scored = frame[frame[tidy.VERDICT].notna()]
    distinct = scored.groupby(list(tidy.PROMPT_KEYS), observed=True)[tidy.VERDICT].nunique()
    disagree = set(distinct[distinct > 1].index.get_level_values(tidy.PROMPT_ID))
    unscored = set(frame.loc[frame[tidy.VERDICT].isna(), tidy.PROMPT_ID])
    return sorted(disagree | unscored)


def prompt_label_shares(frame: pd.DataFrame) -> dict[str, float]:
    """Each label's share (%) of a prompt's scored samples, averaged over prompts (one judge, one run).

    With every prompt on the same number of cells this is the pooled share (up to unscored samples);
    in an adaptive run it keeps the undecided prompts, sampled more, from weighing more.
    """
    prompts = per_prompt(frame)
    return {label: float(100.0 * prompts[f"{label.lower()}_rate"].mean()) for label in VERDICTS}


def pooled_label_shares(frame: pd.DataFrame) -> dict[str, float]:
    """Each label's share (%) of all scored samples pooled (the main report's label shares)."""
    counts = frame[tidy.VERDICT].dropna().value_counts()
    total = counts.sum()
    return {label: float(100.0 * counts.get(label, 0) / total) for label in VERDICTS}


@dataclass(frozen=True)
class AdaptiveComparison:
    """An adaptive run replayed on a full grid, against that full grid."""

    prompts: int
    undecided: int
    generations: int
    full_generations: int
    unstable_found: int
    unstable_full: int
    flipped_found: int
    flipped_full: int
    headline: pd.DataFrame
    """One row per headline figure: full grid, adaptive, bias (adaptive - full)."""

    @property
    def generation_share(self) -> float:
        """Generations used as a share (%) of the full grid's."""
        return 100.0 * self.generations / self.full_generations

    @property
    def unstable_recall(self) -> float:
        """Share (%) of the full grid's unstable prompts the adaptive run also finds unstable."""
        return 100.0 * self.unstable_found / self.unstable_full if self.unstable_full else float("nan")

    @property
    def flipped_recall(self) -> float:
        """Share (%) of the full grid's flipped prompts the adaptive run also finds flipped."""
        return 100.0 * self.flipped_found / self.flipped_full if self.flipped_full else float("nan")


def adaptive_subset(full: pd.DataFrame, first_cells: Sequence[int]) -> tuple[pd.DataFrame, list[str]]:
    """The rows an adaptive run would have produced from a full grid: stage 1 for all, the rest if undecided.

    Cells are read from the tidy `epoch` column (epoch = grid cell + 1, as in a full-grid log and the
    study's CSVs).

    Returns:
        The adaptive rows and the undecided prompt ids.
    """
    first = full[full[tidy.EPOCH].isin([c + 1 for c in first_cells])]
    undecided = undecided_prompts(first)
    kept = full[full[tidy.EPOCH].isin([c + 1 for c in first_cells]) | full[tidy.PROMPT_ID].isin(undecided)]
    return kept, undecided


def compare_to_full(
    full: pd.DataFrame, first_cells: Sequence[int], threshold: float = UNSTABLE_THRESHOLD
) -> AdaptiveComparison:
    """Replay the two-stage rule on a full grid (one run, one judge) and measure what it finds and costs.

    Raises:
        ValueError: The table holds more than one run or judge (compare them one at a time).
    """
    for column in (tidy.RUN, tidy.JUDGE):
        if full[column].nunique() > 1:
            raise ValueError(f"compare_to_full takes one {column}; got {sorted(full[column].unique())}.")
    adaptive, undecided = adaptive_subset(full, first_cells)
    p_full = per_prompt(full, threshold).set_index(tidy.PROMPT_ID)
    p_adapt = per_prompt(adaptive, threshold).set_index(tidy.PROMPT_ID).reindex(p_full.index)
    unstable_full = p_full["unstable"].fillna(False).astype(bool)
    flipped_full = p_full["flipped"].fillna(False).astype(bool)
    unstable_adapt = p_adapt["unstable"].fillna(False).astype(bool)
    flipped_adapt = p_adapt["flipped"].fillna(False).astype(bool)
    rows = [
        ("mean SSI", p_full["ssi"].mean(), p_adapt["ssi"].mean()),
        ("% unstable", 100.0 * p_full["unstable"].mean(), 100.0 * p_adapt["unstable"].mean()),
        ("% flipped", 100.0 * p_full["flipped"].mean(), 100.0 * p_adapt["flipped"].mean()),
    ]
    full_shares, prompt_shares = prompt_label_shares(full), prompt_label_shares(adaptive)
    pooled_full, pooled_adapt = pooled_label_shares(full), pooled_label_shares(adaptive)
    for label in VERDICTS:
        rows.append((f"% {label} (per-prompt mean)", full_shares[label], prompt_shares[label]))
    for label in VERDICTS:
        rows.append((f"% {label} (pooled over samples)", pooled_full[label], pooled_adapt[label]))
    headline = pd.DataFrame(rows, columns=["figure", "full_grid", "adaptive"])
    headline["bias"] = headline["adaptive"] - headline["full_grid"]
    return AdaptiveComparison(
        prompts=len(p_full),
        undecided=len(undecided),
        generations=_generations(adaptive),
        full_generations=_generations(full),
        unstable_found=int((unstable_full & unstable_adapt).sum()),
        unstable_full=int(unstable_full.sum()),
        flipped_found=int((flipped_full & flipped_adapt).sum()),
        flipped_full=int(flipped_full.sum()),
        headline=headline,
    )


def _generations(frame: pd.DataFrame) -> int:
    """Distinct (prompt, cell) samples: one generation each, whatever number of judges scored it."""
    return (
        int(frame[[tidy.LOG, tidy.PROMPT_ID, tidy.EPOCH]].drop_duplicates().shape[0])
        if not frame.empty
        else 0
    )


def stratified_choices(
    n_temperatures: int, n_seeds: int, per_temperature: int, draws: int, seed: int = 0
) -> list[tuple[int, ...]]:
    """Random stage-1 cell sets with `per_temperature` seeds of every temperature.

    They show the spread of the rule's results over which seeds stage 1 happens to use.
    """
    rng = np.random.default_rng(seed)
    return [
        tuple(
            sorted(
                t * n_seeds + int(s)
                for t in range(n_temperatures)
                for s in rng.choice(n_seeds, size=per_temperature, replace=False)
            )
        )
        for _ in range(draws)
    ]
