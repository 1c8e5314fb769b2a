"""The seed x temperature grid: which temperature and seed each epoch uses, and the solver that applies it.

Inspect's `--seed` / `GenerateConfig(seed=...)` is one value for the whole run, so every epoch would get the
same seed and a seed-honouring server (vLLM, OpenAI-compatible) would return identical samples. The grid
therefore maps each epoch to its own (temperature, seed) and passes both to `generate()` per call, where
the provider receives them with the request.

Engine repeats: `repeats` extra epochs run chosen cells a second time with the identical temperature and
seed. A seed-honouring, deterministic engine returns the same bytes; any difference is engine noise (vLLM's
batching changes the numerics), measured apart from the model's own instability and never counted in SSI.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from inspect_ai.event import ModelEvent
from inspect_ai.log import transcript
from inspect_ai.model import GenerateConfig
from inspect_ai.solver import Generate, Solver, TaskState, solver

from refusal_stability.schema import (
    ENGINE_REPEAT_KEY,
    GRID_INDEX_KEY,
    SEED_KEY,
    TEMPERATURE_KEY,
    UNREADABLE_RETRIES_KEY,
)
from refusal_stability.solvers.cells import select_cells

logger = logging.getLogger(__name__)

UNREADABLE_REPLY_RETRIES = 3
"""How many times a reply that is not valid JSON is asked for again before the sample fails.

Inspect retries HTTP errors (429, 5xx), dropped connections and attempt timeouts inside the model call,
but a 200 reply whose body is not JSON (a broken proxy) raises `JSONDecodeError` out of the sample, and
with Inspect's defaults one such reply fails the whole eval. Inspect's own remedy, `retry_on_error`, is
an eval option (`--retry-on-error`), not a task option, so it cannot be this task's default; the solver
therefore sends the same request again (same prompt, temperature and seed: the same grid cell), and
records how often on the sample. Three absorbs a burst of bad replies; a fourth failure in a row is a
problem a retry will not fix, and the sample fails (see `FAIL_ON_ERROR` in the task).
"""

STUDY_TEMPERATURES: tuple[float, ...] = (0.0, 0.3, 0.7, 1.0)
STUDY_SEEDS: tuple[int, ...] = (42, 43, 44, 45, 46)
STUDY_MAX_TOKENS = 512
STUDY_TOP_P = 1.0


@dataclass(frozen=True)
class GridCell:
    """One sampling configuration of the grid (`repeat`: an engine repeat of cell `index`)."""

    index: int
    temperature: float
    seed: int
    repeat: bool = False


@dataclass(frozen=True)
class SamplingGrid:
    """Temperatures x seeds, temperature-major: epoch e uses cell e - 1; then `repeats` engine repeats."""

    temperatures: tuple[float, ...]
    seeds: tuple[int, ...]
    repeats: int = 0

    def __post_init__(self) -> None:
        if not self.temperatures:
            raise ValueError("The grid needs at least one temperature.")
        if not self.seeds:
            raise ValueError("The grid needs at least one seed.")
        for t in self.temperatures:
            if t < 0:
                raise ValueError(f"Temperature {t} is negative; temperatures must be >= 0.")
        for label, values in (("temperature", self.temperatures), ("seed", self.seeds)):
            if len(set(values)) != len(values):
                raise ValueError(f"Each {label} may appear once in the grid; got {list(values)}.")
        if not 0 <= self.repeats <= self.size:
            raise ValueError(
                f"engine_repeats={self.repeats}: repeat between 0 and the grid's {self.size} cells."
            )

    @property
    def size(self) -> int:
        """Number of cells (temperatures x seeds)."""
        return len(self.temperatures) * len(self.seeds)

    @property
    def epochs(self) -> int:
        """Number of epochs the task runs: every cell once, then the engine repeats."""
        return self.size + self.repeats

    @property
    def repeated_cells(self) -> tuple[int, ...]:
        """Indices of the cells run a second time, spread evenly over the grid (so over temperatures)."""
        return tuple((j * self.size) // self.repeats for j in range(self.repeats)) if self.repeats else ()

    def cell(self, epoch: int) -> GridCell:
        """The cell for a 1-based Inspect epoch (epochs past the grid are engine repeats)."""
        if not 1 <= epoch <= self.epochs:
            raise ValueError(
                f"Epoch {epoch} is outside the {len(self.temperatures)} temperatures x "
                f"{len(self.seeds)} seeds grid ({self.size} epochs + {self.repeats} engine repeats). "
                "Set the grid with -T temperatures=... -T seeds=... rather than --epochs."
            )
        repeat = epoch > self.size
        index = self.repeated_cells[epoch - self.size - 1] if repeat else epoch - 1
        return GridCell(
            index=index,
            temperature=self.temperatures[index // len(self.seeds)],
            seed=self.seeds[index % len(self.seeds)],
            repeat=repeat,
        )

    def cells(self) -> list[GridCell]:
        """Every cell, in epoch order (engine repeats last)."""
        return [self.cell(e) for e in range(1, self.epochs + 1)]


def make_grid(
    temperatures: Sequence[float] | float | str, seeds: Sequence[int] | int | str, repeats: int = 0
) -> SamplingGrid:
    """Build a grid from task parameters, which may arrive from `-T` as a scalar, a list or "a,b,c"."""
    return SamplingGrid(
        temperatures=tuple(float(t) for t in _as_list(temperatures, "temperatures")),
        seeds=tuple(_as_int(s) for s in _as_list(seeds, "seeds")),
        repeats=_as_int(repeats),
    )


def _sent_config() -> GenerateConfig | None:
    """The generation config of the last model call in this sample's transcript: what the provider received.

    Recording it (rather than what the grid asked for) keeps the log honest should anything between the
    solver and the provider change the temperature or seed.
    """
    for event in reversed(transcript().events):
        if isinstance(event, ModelEvent):
            return event.config
    return None


def _as_list(value: Sequence[float] | Sequence[int] | float | int | str, name: str) -> list:
    if isinstance(value, str):
        parts = [p.strip() for p in value.strip("[]").split(",") if p.strip()]
        if not parts:
            raise ValueError(f"-T {name}= is empty.")
        return parts
    if isinstance(value, int | float):
        return [value]
    return list(value)


def _as_int(value: object) -> int:
    number = float(value)  # type: ignore[arg-type]
    if number != int(number):
        raise ValueError(f"Seeds must be whole numbers; got {value!r}.")
    return int(number)


async def _generate_reading_retries(state: TaskState, generate: Generate, cell: GridCell) -> TaskState:
    """Generate for `cell`, asking again when the reply is unreadable (see `UNREADABLE_REPLY_RETRIES`)."""
    for attempt in range(UNREADABLE_REPLY_RETRIES + 1):
        try:
            state = await generate(state, temperature=cell.temperature, seed=cell.seed)
        except json.JSONDecodeError as ex:
            if attempt == UNREADABLE_REPLY_RETRIES:
                raise
            again = f"asking again ({attempt + 1}/{UNREADABLE_REPLY_RETRIES})"
            message = f"Unreadable reply (not JSON: {ex}); {again}"
            logger.warning("Sample %s epoch %s: %s", state.sample_id, state.epoch, message)
            transcript().info(message)
            continue
        state.metadata[UNREADABLE_RETRIES_KEY] = attempt
        return state
    raise AssertionError("unreachable")  # the loop returns or raises


@solver
def grid_generate(
    temperatures: Sequence[float],
    seeds: Sequence[int],
    repeats: int = 0,
    cells: Sequence[int] | str | None = None,
) -> Solver:
    """Generate with the epoch's own temperature and seed, and record both on the sample.

    The temperature and seed are written to the sample's metadata (shown per sample in `inspect view`,
    stored in the log) and passed to `generate()`, so the provider receives them on this very request.
    An engine repeat records the cell it repeats (`grid_index`) and `engine_repeat: true`.

    Args:
        temperatures: The grid's temperatures.
        seeds: The grid's seeds.
        repeats: Engine repeats, run after the chosen cells (epochs past `len(cells)`).
        cells: The cells this run samples, one per epoch, as the task's `cells` parameter takes them
            (`cells.select_cells`): 0-based grid indices (epoch e samples `cells[e - 1]`), an adaptive
            stage's name (epoch e samples the e-th of the prompt's own stage cells), or None for the whole
            grid (epoch e samples cell e - 1).
    """
    grid = make_grid(temperatures, seeds, repeats)
    chosen = select_cells(grid, cells)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if not 1 <= state.epoch <= chosen.size + grid.repeats:
            raise ValueError(
                f"Epoch {state.epoch} is outside the {chosen.size} grid cells (+ {grid.repeats} engine "
                "repeats) this run samples. Choose "
                "cells with -T cells=... (and the grid with -T temperatures=... -T seeds=...), not --epochs."
            )
        # the chosen cells first, then the engine repeats (grid epochs past the grid's size)
        after = state.epoch - chosen.size
        own = chosen.for_sample(state.sample_id) if after <= 0 else ()
        cell = grid.cell(own[state.epoch - 1] + 1 if after <= 0 else grid.size + after)
        state.metadata[GRID_INDEX_KEY] = cell.index
        state.metadata[ENGINE_REPEAT_KEY] = cell.repeat
        state = await _generate_reading_retries(state, generate, cell)
        sent = _sent_config()
        state.metadata[TEMPERATURE_KEY] = sent.temperature if sent else cell.temperature
        state.metadata[SEED_KEY] = sent.seed if sent else cell.seed
        return state

    return solve
