"""Adaptive sampling: the prompts each later stage samples; an adaptive run replayed against the full grid.

The rule (README, "Adaptive sampling"), in three stages, each an ordinary eval (`-T cells=stage1|2|3`):

1. Every prompt on one seed of every temperature (4 of the study's 20 cells).
2. One more seed of every temperature (4 more cells) for the prompts stage 1 left *at risk*, and for every
   prompt of a *risky group*.
3. The remaining cells (12) for the prompts still at risk after stages 1 and 2.

Which seeds a prompt gets in which stage is drawn per prompt from its sample id (`solvers/cells.py`), so a
*plan* gives each prompt its own stages' cells (`StagePlan`); `fixed_plan` gives every prompt the same
stages (as the earlier rule did, and as `stratified_stages` draws them to show the spread over seed orders).

A prompt is at risk when any of its responses so far is not a *clear refusal*: a REFUSE verdict (under
every judge) on a response whose offline-rules cell (the rule that fired and the words delivered after the
refusal, `scorers/sure_cells.py`) is one of the cascade's sure cells. That covers disagreeing verdicts, an
unscored sample, a PARTIAL or COMPLY, and a refusal the rules are not sure of (a refusal opening followed
by 300 words, a caveat, a list). Why more than the verdicts: on the study's grid no prompt whose responses
were all clear refusals flipped (473 such prompts), while 36 of its 211 flipped prompts have one dissenting
verdict in 20, which a rule that stops on unanimous verdicts finds only if it samples that one cell; their
other responses are mostly unclear refusals, which a first pass does see.

A group (the prompt's category; prompts without one form one group) is risky when its share of at-risk
prompts after stage 1 exceeds the whole run's: there the prompts that look safe on 4 cells are the likeliest
to dissent on the other 16, so they get a second look. The comparison has no threshold to tune (the
empirical-Bayes estimate of a group's share, shrunk towards the run's, lies above the run's exactly when
the raw share does).

The decision is computed by the analysis from the earlier stages' logs (`next_stage`, the CLI's
`undecided`); tasks never compute statistics. What the rule costs in bias, by construction: a prompt that
stops early keeps the SSI of the cells it has (1 when they agree), so mean SSI is biased up and % flipped
down by the prompts whose dissent was never sampled. Label shares are weighted per prompt
(`prompt_label_shares`): pooled over samples they would over-weight the prompts sampled more.

`compare_to_full` replays the rule on a full grid's tidy table (e.g. the study's label CSVs) and gives the
generations used, the recall of the full grid's unstable and flipped prompts, and the bias of every
headline figure, so the rule can be judged on any model's complete responses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from refusal_stability.analysis import tidy
from refusal_stability.analysis.per_prompt import UNSTABLE_THRESHOLD, per_prompt
from refusal_stability.schema import VERDICTS, Verdict
from refusal_stability.scorers.cascade import SURE_CELLS
from refusal_stability.scorers.evidence import gather_evidence
from refusal_stability.scorers.offline import decide
from refusal_stability.scorers.sure_cells import sure_cell
from refusal_stability.solvers.cells import SEED_ORDER_SALT, STAGES, prompt_stage_cells
from refusal_stability.solvers.grid import SamplingGrid

REFUSE = Verdict.REFUSE.value
CELL = "cell"
RULES_VERDICT = "rules_verdict"
BLANK_CELL = "blank"
"""The cell of an empty response (never a clear refusal)."""
NO_CATEGORY = "(no category)"
"""The group of prompts without a category (e.g. AdvBench's): one group."""
Stages = Sequence[Sequence[int]]
"""The grid cells (0-based) of each stage, in order."""
StagePlan = Callable[[str], Stages]
"""A prompt id -> the grid cells of each of its stages."""


def grid_cells(frame: pd.DataFrame, grid: SamplingGrid) -> np.ndarray:
    """Each row's 0-based grid cell, from its temperature and seed (a stage log's epochs count its own cells).

    Raises:
        ValueError: A row's (temperature, seed) is not on the grid, naming the first such row.
    """
    index = {
        (round(t, 6), s): i * len(grid.seeds) + j
        for i, t in enumerate(grid.temperatures)
        for j, s in enumerate(grid.seeds)
    }
    keys = zip(frame[tidy.TEMPERATURE].round(6), frame[tidy.SEED], strict=True)
    cells = np.array([index.get((t, int(s)) if pd.notna(s) else None, -1) for t, s in keys], dtype=int)
    off = np.flatnonzero(cells < 0)
    if len(off):
        row = frame.iloc[off[0]]
        raise ValueError(
            f"{len(off)} row(s) are not on the grid {grid.temperatures} x {grid.seeds}: e.g. prompt "
            f"{row[tidy.PROMPT_ID]} of {row[tidy.LOG]}, temperature {row[tidy.TEMPERATURE]}, "
            f"seed {row[tidy.SEED]}."
        )
    return cells


def default_plan(grid: SamplingGrid, salt: str = SEED_ORDER_SALT) -> StagePlan:
    """The stages `-T cells=stage1|stage2|stage3` sample on this grid, per prompt (`prompt_stage_cells`).

    Another `salt` gives another draw of the per-prompt seed orders (`scripts/adaptive_on_study.py` shows
    the spread over draws).
    """

    @cache
    def plan(prompt_id: str) -> Stages:
        return [prompt_stage_cells(grid, stage, prompt_id, salt) for stage in STAGES]

    return plan


def fixed_plan(stages: Stages) -> StagePlan:
    """The same stages for every prompt (e.g. one of `stratified_stages`)."""
    return lambda prompt_id: stages


def response_cells(frame: pd.DataFrame) -> pd.Series:
    """Each row's offline-rules cell (``<rule>:<words bucket>``; `BLANK_CELL` for an empty response)."""
    return rules_verdicts(frame)[CELL]


def rules_verdicts(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row's offline-rules cell and verdict, computed once per distinct response (row-aligned).

    Raises:
        ValueError: The table holds no response text (load the logs with ``keep_responses=True``).
    """
    if tidy.RESPONSE not in frame.columns:
        raise ValueError(
            "adaptive sampling reads the responses: load the stage logs with keep_responses=True "
            f"(the table has no {tidy.RESPONSE!r} column)."
        )
    texts = frame[tidy.RESPONSE].fillna("").astype(str)
    unique = {text: _rules(text) for text in texts.unique()}
    return pd.DataFrame([unique[text] for text in texts], columns=[CELL, RULES_VERDICT], index=frame.index)


def _rules(text: str) -> tuple[str, str | None]:
    if not text.strip():
        return BLANK_CELL, None
    evidence = gather_evidence(text)
    verdict = decide(evidence)
    return sure_cell(verdict.rule, evidence.words_after), verdict.label


def clear_refusals(
    frame: pd.DataFrame, cells: pd.Series | None = None, sure_cells: Sequence[str] = SURE_CELLS
) -> pd.Series:
    """Whether each row is a clear refusal: verdict REFUSE on a response in one of `sure_cells`.

    Args:
        frame: The tidy table (with responses unless `cells` is given).
        cells: Each row's offline-rules cell (`response_cells`), when already computed.
        sure_cells: The cells that count as clear (default: the cascade's).
    """
    cells = response_cells(frame) if cells is None else cells
    return (frame[tidy.VERDICT] == REFUSE).fillna(False).astype(bool) & cells.isin(list(sure_cells))


def at_risk_prompts(frame: pd.DataFrame, clear: pd.Series) -> set[str]:
    """Prompt ids with a response that is not a clear refusal (under any judge).

    This includes prompts whose verdicts disagree or hold an unscored sample: those have a row whose
    verdict is not REFUSE.
    """
    return set(frame.loc[~clear.to_numpy(), tidy.PROMPT_ID].astype(str))


def risky_group_prompts(frame: pd.DataFrame, at_risk: set[str]) -> set[str]:
    """Prompt ids of the groups (categories) whose share of at-risk prompts exceeds the whole run's."""
    prompts = frame.drop_duplicates(tidy.PROMPT_ID)[[tidy.PROMPT_ID, tidy.CATEGORY]]
    ids = prompts[tidy.PROMPT_ID].astype(str)
    group = prompts[tidy.CATEGORY].astype(object).where(prompts[tidy.CATEGORY].notna(), NO_CATEGORY)
    risky = pd.Series(ids.isin(at_risk).to_numpy(), index=group.to_numpy())
    share = risky.groupby(level=0).mean()
    above = set(share.index[share > risky.mean()])
    return set(ids[group.isin(above).to_numpy()])


@dataclass(frozen=True)
class NextStage:
    """What the stages run so far say about the next one."""

    stage: int | None
    """The next stage's number (2 or 3), or None when every stage has run."""
    prompt_ids: list[str]
    """The prompts the next stage samples (sorted); empty when it has nothing to do."""
    prompts: int
    at_risk: int
    """Prompts at risk after the stages run so far."""
    by_group: int
    """Prompts the next stage samples only because their group is risky (stage 2)."""


def next_stage(
    frame: pd.DataFrame, grid: SamplingGrid, clear: pd.Series | None = None, plan: StagePlan | None = None
) -> NextStage:
    """The prompts the next adaptive stage samples, from the tidy table of the stages run so far.

    The stages run so far are read from the grid cells the prompts hold (their temperature and seed):
    after stage 1 every prompt holds its stage-1 cells; stage 2 then samples the at-risk prompts and the
    risky groups' prompts; after stage 2, stage 3 samples the prompts that are at risk and hold their
    stage-2 cells.

    Args:
        frame: The tidy table of the stage logs so far (one run), with responses unless `clear` is given.
        grid: The run's grid.
        clear: Each row's clear-refusal flag (`clear_refusals`), when already computed.
        plan: Each prompt's stages (default: `-T cells=stage1|2|3`, `default_plan`).

    Raises:
        ValueError: The table is empty, or a prompt lacks its stage-1 cells (stage 1 must be complete).
    """
    if frame.empty:
        raise ValueError("no samples: run stage 1 first (-T cells=stage1).")
    clear = clear_refusals(frame) if clear is None else clear
    plan = default_plan(grid) if plan is None else plan
    cells = pd.Series(grid_cells(frame, grid), index=frame[tidy.PROMPT_ID].astype(str).to_numpy())
    held = cells.groupby(level=0).agg(frozenset)
    lacking = [p for p, h in held.items() if not frozenset(plan(p)[0]) <= h]
    if lacking:
        example = lacking[0]
        raise ValueError(
            f"{len(lacking)} prompt(s) lack their stage-1 cells (e.g. {example} holds "
            f"{sorted(held[example])}, its stage 1 is {sorted(plan(example)[0])}): every prompt needs a "
            "complete stage 1 before the next stage is chosen."
        )
    n_stages = len(plan(str(held.index[0])))
    done = max(_stages_held(h, plan(p)) for p, h in held.items())
    at_risk = at_risk_prompts(frame, clear)
    if done >= n_stages:
        return NextStage(None, [], len(held), len(at_risk), 0)
    if done == 1:
        by_group = risky_group_prompts(frame, at_risk) - at_risk
        chosen = at_risk | by_group
    else:
        chosen = {p for p in at_risk if frozenset(plan(p)[done - 1]) <= held[p]}
        by_group = set()
    return NextStage(done + 1, sorted(chosen), len(held), len(at_risk), len(by_group))


def _stages_held(cells: frozenset[int], stages: Stages) -> int:
    """How many leading stages a prompt holds entirely."""
    count = 0
    for stage in stages:
        if not stage or not frozenset(stage) <= cells:
            break
        count += 1
    return count


def prompt_label_shares(frame: pd.DataFrame) -> dict[str, float]:
    """Each label's share (%) of a prompt's scored samples, averaged over prompts (one judge, one run).

    With every prompt on the same number of cells this is the pooled share (up to unscored samples);
    in an adaptive run it keeps the prompts sampled more from weighing more.
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
    stage_prompts: tuple[int, ...]
    """Prompts sampled in each stage (stage 1: all)."""
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


def adaptive_subset(
    full: pd.DataFrame, grid: SamplingGrid, clear: pd.Series | None = None, plan: StagePlan | None = None
) -> tuple[pd.DataFrame, list[list[str]]]:
    """The rows an adaptive run would have produced from a full grid, stage by stage (`next_stage`).

    Args:
        full: The full grid's tidy table (one run), with responses unless `clear` is given.
        grid: The run's grid (rows are put on it by temperature and seed).
        clear: Each row's clear-refusal flag (`clear_refusals` on `full`), when already computed.
        plan: Each prompt's stages (default: `default_plan`).

    Returns:
        The adaptive rows and the prompt ids each stage sampled.
    """
    clear = clear_refusals(full) if clear is None else clear
    plan = default_plan(grid) if plan is None else plan
    ids = full[tidy.PROMPT_ID].astype(str).to_numpy()
    stage_of = _row_stages(ids, grid_cells(full, grid), plan, grid.size)
    kept = stage_of == 0
    sampled = [sorted(set(ids[kept]))]
    for number in range(2, len(plan(str(ids[0]))) + 1):
        step = next_stage(full[kept], grid, clear[kept], plan)
        chosen = step.prompt_ids if step.stage == number else []  # an empty stage 2 leaves stage 3 empty
        sampled.append(chosen)
        kept |= (stage_of == number - 1) & np.isin(ids, chosen)
    return full[kept], sampled


def _row_stages(ids: np.ndarray, cells: np.ndarray, plan: StagePlan, grid_size: int) -> np.ndarray:
    """Each row's stage (0-based) in its prompt's plan; -1 for a cell no stage samples."""
    prompts, code = np.unique(ids, return_inverse=True)
    table = np.full((len(prompts), grid_size), -1, dtype=int)  # prompt x cell -> stage
    for row, prompt in enumerate(prompts):
        for number, stage in enumerate(plan(str(prompt))):
            table[row, list(stage)] = number
    return table[code, cells]


def compare_to_full(
    full: pd.DataFrame,
    grid: SamplingGrid,
    clear: pd.Series | None = None,
    plan: StagePlan | None = None,
    threshold: float = UNSTABLE_THRESHOLD,
) -> AdaptiveComparison:
    """Replay the adaptive rule on a full grid (one run, one judge) and measure what it finds and costs.

    Args:
        full: The full grid's tidy table, with responses unless `clear` is given.
        grid: The run's grid.
        clear: Each row's clear-refusal flag (`clear_refusals` on `full`), when already computed.
        plan: Each prompt's stages (default: `default_plan`).
        threshold: Unstable when SSI is below this.

    Raises:
        ValueError: The table holds more than one run or judge (compare them one at a time).
    """
    for column in (tidy.RUN, tidy.JUDGE):
        if full[column].nunique() > 1:
            raise ValueError(f"compare_to_full takes one {column}; got {sorted(full[column].unique())}.")
    adaptive, sampled = adaptive_subset(full, grid, clear, plan)
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
        stage_prompts=tuple(len(s) for s in sampled),
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


def stratified_stages(
    n_temperatures: int, n_seeds: int, per_stage: Sequence[int], draws: int, seed: int = 0
) -> list[list[tuple[int, ...]]]:
    """Random stage cell sets: stage k takes `per_stage[k]` random seeds per temperature; the last, the rest.

    They show what one seed order for the whole run costs: the rule's results spread over which seeds the
    early stages happen to use (`fixed_plan` runs them; the default draws the order per prompt).
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        orders = [rng.permutation(n_seeds) for _ in range(n_temperatures)]
        bounds = np.cumsum([0, *per_stage, n_seeds - sum(per_stage)])
        out.append(
            [
                tuple(sorted(t * n_seeds + int(s) for t in range(n_temperatures) for s in orders[t][lo:hi]))
                for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
            ]
        )
    return out
