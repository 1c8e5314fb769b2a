"""Another task's solver chain on the grid: every `generate` it calls gets the epoch's temperature and seed.

The wrapped chain runs unchanged (its system prompts, templates, multi-turn steps); only the `generate`
handed to it is wrapped, so each call it makes carries the epoch's cell. The grid's values win over
any temperature or seed the chain passes itself, since sweeping them is the point of the run.

What the provider actually received is read back from the sample's model events, as `grid_generate`
does: a chain that reaches the model some other way (an agent calling `get_model().generate()`
directly) would escape the grid, and the sample then says so (`grid_bypassed`) and a warning is logged
once, rather than the log claiming a seed that was never sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from inspect_ai.event import ModelEvent
from inspect_ai.log import transcript
from inspect_ai.solver import Generate, Solver, TaskState, solver

from refusal_stability.schema import GRID_INDEX_KEY, SEED_KEY, TEMPERATURE_KEY
from refusal_stability.solvers.grid import GridCell, make_grid

logger = logging.getLogger(__name__)

GENERATE_CALLS_KEY = "generate_calls"
"""Sample metadata: how many model calls the wrapped chain made for this sample."""
GRID_BYPASSED_KEY = "grid_bypassed"
"""Sample metadata: model calls whose temperature or seed was not the epoch's (absent when none)."""

BYPASS_WARNING = (
    "{n} of {calls} model call(s) of sample {sample} (epoch {epoch}) did not carry the grid's temperature "
    "{temperature} and seed {seed}: the wrapped chain reaches the model without the `generate` it is "
    "handed (e.g. an agent calling get_model().generate()). Those calls are not on the grid; the "
    "samples say so in metadata['grid_bypassed']."
)


@solver
def grid_chain(chain: Solver, temperatures: Sequence[float], seeds: Sequence[int]) -> Solver:
    """Run `chain` with a `generate` that sends the epoch's temperature and seed on every call.

    Args:
        chain: The wrapped task's solver (a chain of solvers is one Solver).
        temperatures: Temperatures of the grid.
        seeds: Seeds of the grid.
    """
    grid = make_grid(temperatures, seeds)
    warned: list[bool] = []

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        cell = grid.cell(state.epoch)
        state.metadata[GRID_INDEX_KEY] = cell.index

        async def generate_on_grid(state: TaskState, tool_calls: Any = "loop", **config: Any) -> TaskState:
            config.update(temperature=cell.temperature, seed=cell.seed)
            return await generate(state, tool_calls=tool_calls, **config)

        first_event = len(transcript().events)
        state = await chain(state, generate_on_grid)
        sent = [e.config for e in transcript().events[first_event:] if _is_target_call(e)]
        _record(state, cell, sent, warned)
        return state

    return solve


def _is_target_call(event: object) -> bool:
    """A call to the model under evaluation (not a grader or other model role)."""
    return isinstance(event, ModelEvent) and event.role is None


def _record(state: TaskState, cell: GridCell, sent: list[Any], warned: list[bool]) -> None:
    """Write the temperature and seed the provider received (the last call's) onto the sample."""
    last = sent[-1] if sent else None
    state.metadata[TEMPERATURE_KEY] = last.temperature if last is not None else cell.temperature
    state.metadata[SEED_KEY] = last.seed if last is not None else cell.seed
    state.metadata[GENERATE_CALLS_KEY] = len(sent)
    off_grid = [c for c in sent if (c.temperature, c.seed) != (cell.temperature, cell.seed)]
    if not off_grid:
        return
    state.metadata[GRID_BYPASSED_KEY] = len(off_grid)
    if not warned:
        warned.append(True)
        logger.warning(
            BYPASS_WARNING.format(
                n=len(off_grid),
                calls=len(sent),
                sample=state.sample_id,
                epoch=state.epoch,
                temperature=cell.temperature,
                seed=cell.seed,
            )
        )
