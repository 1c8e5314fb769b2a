"""A bare Inspect task over the study's grid: the least a grid run through Inspect can cost.

The same prompts file and the same 20 cells (temperatures 0.0/0.3/0.7/1.0 x seeds 42-46, one epoch each, the
cell's temperature and seed on the `generate` call, as replay needs), then a scorer that always says "C".
No dataset loader, no judge, no metrics beyond accuracy, no header metadata: `throughput.py replay` runs it
beside the stability task to show what our code adds to Inspect's own per-sample cost.
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import FieldSpec, csv_dataset
from inspect_ai.scorer import CORRECT, Score, Target, accuracy, scorer
from inspect_ai.solver import Generate, TaskState, solver

TEMPERATURES = (0.0, 0.3, 0.7, 1.0)
SEEDS = (42, 43, 44, 45, 46)
PROMPTS_FILE = Path("refusal_stability_paper") / "prompts.csv"


@solver
def cell_generate():  # noqa: ANN201 - Inspect's solver decorator types the return
    """Generate once with the epoch's cell: temperature by block of seeds, seed cycling."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        cell = state.epoch - 1
        temperature = TEMPERATURES[cell // len(SEEDS)]
        return await generate(state, temperature=temperature, seed=SEEDS[cell % len(SEEDS)])

    return solve


@scorer(metrics=[accuracy()])
def constant():  # noqa: ANN201 - Inspect's scorer decorator types the return
    """Score every sample correct: the cheapest scorer there is."""

    async def score(state: TaskState, target: Target) -> Score:
        return Score(value=CORRECT)

    return score


@task
def bare(data_dir: str) -> Task:
    """The study's prompts x 20 cells with nothing of ours in the way."""
    dataset = csv_dataset(str(Path(data_dir) / PROMPTS_FILE), FieldSpec(input="prompt", id="id"))
    return Task(
        dataset=dataset,
        solver=cell_generate(),
        scorer=constant(),
        epochs=len(TEMPERATURES) * len(SEEDS),
    )
