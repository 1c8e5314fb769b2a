"""Which cells of the grid a run samples: all of them, an explicit subset, or one stage of adaptive sampling.

Adaptive sampling (README, "Adaptive sampling") runs the grid in two ordinary evals. Stage 1 samples every
prompt on a first pass stratified over temperature (the first `STAGE1_SEEDS_PER_TEMPERATURE` seeds of each
temperature: 8 of the study's 20 cells); stage 2 samples the other cells, for the prompts stage 1 left
undecided only (`refusal-stability undecided`, then `inspect eval ... --sample-id`). Each run's epochs are its
cells in grid order, so epoch e samples `cells[e - 1]`; the grid solver records the cell's own index on the
sample (`grid_index`), which is how the analysis puts the two stages back on one grid.
"""

from __future__ import annotations

from collections.abc import Sequence

from refusal_stability.solvers.grid import SamplingGrid

ALL_CELLS = "all"
STAGE1 = "stage1"
STAGE2 = "stage2"
CELL_SETS: tuple[str, ...] = (ALL_CELLS, STAGE1, STAGE2)
"""Named cell sets the `cells` task parameter takes besides explicit indices."""
STAGE1_SEEDS_PER_TEMPERATURE = 2
"""Stage 1 samples this many seeds of every temperature (the first ones in the grid's seed order)."""


def stage1_cells(grid: SamplingGrid) -> tuple[int, ...]:
    """The first pass: the first `STAGE1_SEEDS_PER_TEMPERATURE` seeds of each temperature, in grid order."""
    per_temperature = min(STAGE1_SEEDS_PER_TEMPERATURE, len(grid.seeds))
    return tuple(
        t * len(grid.seeds) + s for t in range(len(grid.temperatures)) for s in range(per_temperature)
    )


def select_cells(grid: SamplingGrid, cells: Sequence[int] | int | str | None) -> tuple[int, ...]:
    """Resolve the `cells` task parameter into sorted, unique 0-based grid indices.

    Args:
        grid: The run's grid.
        cells: None or "all" (every cell), "stage1", "stage2" (the cells stage 1 leaves out), or grid
            indices as a list, one int or "0,1,5" (0-based, temperature-major as in `SamplingGrid.cell`).

    Raises:
        ValueError: An index outside the grid, a repeated index, a non-integer or an empty selection.
    """
    if cells is None or (isinstance(cells, str) and cells.strip().lower() == ALL_CELLS):
        return tuple(range(grid.size))
    if isinstance(cells, str) and cells.strip().lower() in (STAGE1, STAGE2):
        first = stage1_cells(grid)
        if cells.strip().lower() == STAGE1:
            return first
        rest = tuple(i for i in range(grid.size) if i not in first)
        if not rest:
            raise ValueError(f"-T cells=stage2 is empty: stage 1 already covers this {grid.size}-cell grid.")
        return rest
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
