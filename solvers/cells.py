"""Which cells of the grid a run samples: all of them, an explicit subset, or one stage of adaptive sampling.

Adaptive sampling (README, "Adaptive sampling") runs the grid in three ordinary evals. Stage 1 samples every
prompt on one seed of every temperature (the first in the grid's seed order: 4 of the study's 20 cells);
stage 2 samples the next seed of every temperature for the prompts stage 1 left at risk; stage 3 samples
the remaining cells for the prompts still at risk after stages 1 and 2 (`refusal-stability undecided` names
the prompts of the next stage, then `inspect eval ... --sample-id`). Each run's epochs are its cells in grid
order, so epoch e samples `cells[e - 1]`; the grid solver records the cell's own index on the sample
(`grid_index`), which is how the analysis puts the stages back on one grid.
"""

from __future__ import annotations

from collections.abc import Sequence

from refusal_stability.solvers.grid import SamplingGrid

ALL_CELLS = "all"
STAGE1 = "stage1"
STAGE2 = "stage2"
STAGE3 = "stage3"
STAGES: tuple[str, ...] = (STAGE1, STAGE2, STAGE3)
CELL_SETS: tuple[str, ...] = (ALL_CELLS, *STAGES)
"""Named cell sets the `cells` task parameter takes besides explicit indices."""
STAGE_SEEDS_PER_TEMPERATURE: tuple[int, ...] = (1, 1)
"""Stages 1 and 2 each sample this many more seeds of every temperature (in the grid's seed order); stage 3
samples the rest. One seed per temperature keeps the first pass stratified over temperature (the study's
dissent is spread evenly over its temperatures, README) at a fifth of the grid."""


def stage_cells(grid: SamplingGrid, stage: str) -> tuple[int, ...]:
    """The grid cells (0-based, grid order) of one adaptive stage: ``stage1``, ``stage2`` or ``stage3``.

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
    first, last = bounds[index], bounds[index + 1]
    return tuple(t * n_seeds + s for t in range(len(grid.temperatures)) for s in range(first, last))


def stage1_cells(grid: SamplingGrid) -> tuple[int, ...]:
    """The first pass: the first seed of each temperature, in grid order."""
    return stage_cells(grid, STAGE1)


def select_cells(grid: SamplingGrid, cells: Sequence[int] | int | str | None) -> tuple[int, ...]:
    """Resolve the `cells` task parameter into sorted, unique 0-based grid indices.

    Args:
        grid: The run's grid.
        cells: None or "all" (every cell), "stage1", "stage2", "stage3" (adaptive sampling's stages), or
            grid indices as a list, one int or "0,1,5" (0-based, temperature-major as in `SamplingGrid.cell`).

    Raises:
        ValueError: An index outside the grid, a repeated index, a non-integer or an empty selection.
    """
    if cells is None or (isinstance(cells, str) and cells.strip().lower() == ALL_CELLS):
        return tuple(range(grid.size))
    if isinstance(cells, str) and cells.strip().lower() in STAGES:
        chosen = stage_cells(grid, cells.strip().lower())
        if not chosen:
            raise ValueError(
                f"-T cells={cells.strip().lower()} is empty: the earlier stages already cover this "
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
    return tuple(sorted(indices))


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
