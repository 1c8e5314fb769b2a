"""Which cells of the grid a run samples: all of them, an explicit subset, or one stage of adaptive sampling.

Adaptive sampling (README, "Adaptive sampling") runs the grid in three ordinary evals. Stage 1 samples every
prompt on one seed of every temperature (4 of the study's 20 cells); stage 2 samples one more seed of every
temperature for the prompts stage 1 left at risk; stage 3 samples the remaining cells for the prompts still
at risk after stages 1 and 2 (`refusal-stability undecided` names the prompts of the next stage, then
`inspect eval ... --sample-id`).

Which seed of a temperature a prompt gets in which stage is drawn *per prompt*: each prompt orders the
grid's seeds at each temperature by a stable hash of its sample id (`seed_order`), stage 1 takes the first
seed of that order, stage 2 the second, stage 3 the rest. With one seed order for the whole run, every
prompt's first pass would land on the same seed, and whatever that seed happens to do (on the study's
Qwen2.5 grid, seed 42 gives a third more unclear refusals at T = 1 than seeds 43-45) would decide the cost
and the recall of the whole run; drawn per prompt, it averages out over the prompts (README, "Adaptive
sampling": 49.5 % of the generations with the shipped order against 52.3 % with seed 42 first for all, and
the spread over seed orders shrinks). SHA-256, not Python's salted `hash`, so every process, machine and
re-run agrees, as for shards (`tasks/shard.py`); the salt keeps the order independent of the shard hash.

Each stage has the same number of cells for every prompt, so a stage run's epoch e samples the e-th of the
prompt's own stage cells in grid order; the grid solver records the cell's index on the sample
(`grid_index`), and the log header records the stage's name (`schema.GRID_CELLS_KEY`), from which the
analysis recomputes each prompt's cells to merge the stages (`analysis/merge.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the grid solver imports this module to choose each sample's cells
    from refusal_stability.solvers.grid import SamplingGrid

ALL_CELLS = "all"
STAGE1 = "stage1"
STAGE2 = "stage2"
STAGE3 = "stage3"
STAGES: tuple[str, ...] = (STAGE1, STAGE2, STAGE3)
CELL_SETS: tuple[str, ...] = (ALL_CELLS, *STAGES)
"""Named cell sets the `cells` task parameter takes besides explicit indices."""
STAGE_SEEDS_PER_TEMPERATURE: tuple[int, ...] = (1, 1)
"""Stages 1 and 2 each sample this many more seeds of every temperature (in the prompt's seed order); stage
3 samples the rest. One seed per temperature keeps the first pass stratified over temperature (the study's
dissent is spread evenly over its temperatures, README) at a fifth of the grid."""
SEED_ORDER_SALT = "refusal-stability/stage-seeds"
"""Hashed with the sample id, temperature and seed positions to give each prompt its own seed order."""


def seed_order(
    sample_id: object, temperature_index: int, n_seeds: int, salt: str = SEED_ORDER_SALT
) -> list[int]:
    """A prompt's order of the grid's seed positions (0-based) at one temperature.

    The positions sorted by SHA-256 of ``"<salt>|<sample id>|<temperature index>|<seed index>"`` (an int id
    hashes as its text, as Inspect's `--sample-id` reads it).
    """

    def key(seed_index: int) -> str:
        text = f"{salt}|{sample_id}|{temperature_index}|{seed_index}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    return sorted(range(n_seeds), key=key)


def stage_positions(grid: SamplingGrid, stage: str) -> tuple[int, int]:
    """The slice [first, last) of a prompt's seed order (at every temperature) that one stage samples.

    Raises:
        ValueError: An unknown stage name.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown adaptive stage {stage!r}; one of {STAGES}.")
    n_seeds = len(grid.seeds)
    bounds = [0]
    for per_temperature in STAGE_SEEDS_PER_TEMPERATURE:
        bounds.append(min(bounds[-1] + per_temperature, n_seeds))
    bounds.append(n_seeds)
    index = STAGES.index(stage)
    return bounds[index], bounds[index + 1]


def prompt_stage_cells(
    grid: SamplingGrid, stage: str, sample_id: object, salt: str = SEED_ORDER_SALT
) -> tuple[int, ...]:
    """One prompt's grid cells (0-based, grid order) in one adaptive stage: its own seeds of each temperature.

    Raises:
        ValueError: An unknown stage name.
    """
    n_seeds = len(grid.seeds)
    orders = [seed_order(sample_id, t, n_seeds, salt) for t in range(len(grid.temperatures))]
    return ordered_stage_cells(grid, stage, orders)


def ordered_stage_cells(grid: SamplingGrid, stage: str, orders: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """A stage's grid cells (0-based, grid order), given the order of the seed positions at each temperature.

    Raises:
        ValueError: An unknown stage name.
    """
    first, last = stage_positions(grid, stage)
    n_seeds = len(grid.seeds)
    return tuple(sorted(t * n_seeds + s for t, order in enumerate(orders) for s in order[first:last]))


@dataclass(frozen=True)
class CellSelection:
    """The cells a run samples, one epoch each: the same cells for every prompt, or one adaptive stage's."""

    grid: SamplingGrid
    cells: tuple[int, ...] = ()
    """The cells every prompt samples (sorted); empty for a stage."""
    stage: str | None = None
    """The adaptive stage whose cells each prompt samples (`prompt_stage_cells`), or None."""

    @property
    def size(self) -> int:
        """Cells per prompt: the run's epochs before engine repeats."""
        if self.stage is None:
            return len(self.cells)
        first, last = stage_positions(self.grid, self.stage)
        return len(self.grid.temperatures) * (last - first)

    def for_sample(self, sample_id: object) -> tuple[int, ...]:
        """The cells one prompt samples, in epoch order."""
        return self.cells if self.stage is None else prompt_stage_cells(self.grid, self.stage, sample_id)

    def header(self) -> list[int] | str:
        """What the log header records (`schema.GRID_CELLS_KEY`): the cells, or the stage's name."""
        return self.stage if self.stage is not None else list(self.cells)


def select_cells(grid: SamplingGrid, cells: Sequence[int] | int | str | None) -> CellSelection:
    """Resolve the `cells` task parameter into the cells the run samples.

    Args:
        grid: The run's grid.
        cells: None or "all" (every cell), "stage1", "stage2", "stage3" (adaptive sampling's stages, cells
            per prompt), or grid indices as a list, one int or "0,1,5" (0-based, temperature-major as in
            `SamplingGrid.cell`), sampled by every prompt.

    Raises:
        ValueError: An index outside the grid, a repeated index, a non-integer, an empty selection, or a
            stage the earlier stages leave nothing to.
    """
    if cells is None or (isinstance(cells, str) and cells.strip().lower() == ALL_CELLS):
        return CellSelection(grid, tuple(range(grid.size)))
    if isinstance(cells, str) and cells.strip().lower() in STAGES:
        chosen = CellSelection(grid, stage=cells.strip().lower())
        if not chosen.size:
            raise ValueError(
                f"-T cells={chosen.stage} is empty: the earlier stages already cover this "
                f"{len(grid.temperatures)} temperatures x {len(grid.seeds)} seeds grid."
            )
        return chosen
    indices = _indices(cells)
    if not indices:
        raise ValueError(f"-T cells= selects no cell; give indices 0-{grid.size - 1} or one of {CELL_SETS}.")
    if len(set(indices)) != len(indices):
        raise ValueError(f"-T cells= repeats a cell: {indices}. Each cell may be sampled once per run.")
    outside = [i for i in indices if not 0 <= i < grid.size]
    if outside:
        raise ValueError(
            f"-T cells= has {outside} outside the {len(grid.temperatures)} temperatures x "
            f"{len(grid.seeds)} seeds grid (indices 0-{grid.size - 1})."
        )
    return CellSelection(grid, tuple(sorted(indices)))


def _indices(cells: Sequence[int] | int | str) -> list[int]:
    if isinstance(cells, int):
        return [cells]
    parts = [p.strip() for p in cells.strip("[]").split(",")] if isinstance(cells, str) else list(cells)
    out = []
    for part in parts:
        if part == "":
            continue
        try:
            out.append(int(part))
        except (TypeError, ValueError):
            raise ValueError(
                f"-T cells= takes grid indices (0-based integers) or one of {CELL_SETS}; got {part!r}."
            ) from None
    return out
