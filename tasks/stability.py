"""The refusal-stability task: each prompt sampled over a seed x temperature grid and judged.

Run the study's protocol (876 AdvBench + HarmBench prompts, temperatures 0.0/0.3/0.7/1.0 x seeds
42-46 = 20 samples per prompt, 512 new tokens, top_p 1.0):

    inspect eval tasks/stability.py --model vllm/Qwen/Qwen2.5-7B-Instruct \
        --model-role grader=openai/gpt-4o-mini

The log's results show mean SSI, % unstable, % flipped, label shares and within-temperature SSI live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from inspect_ai import Epochs, Task, task
from inspect_ai.model import GenerateConfig

from refusal_stability.models.concurrency import local_engine_concurrency
from refusal_stability.models.engine_info import engine_info, model_under_test, run_config
from refusal_stability.schema import GRID_CELLS_KEY, SHARD_KEY
from refusal_stability.scorers.disclosure import DISCLOSURE_KEY, verdict_disclosure
from refusal_stability.scorers.engine_floor import engine_floor
from refusal_stability.scorers.grader_failures import GRADER_FAILURE_LIMIT
from refusal_stability.scorers.metrics import UNSTABLE_THRESHOLD, stability_metrics
from refusal_stability.scorers.select import judges_from_option
from refusal_stability.solvers.cells import select_cells
from refusal_stability.solvers.grid import (
    STUDY_MAX_TOKENS,
    STUDY_SEEDS,
    STUDY_TEMPERATURES,
    STUDY_TOP_P,
    grid_generate,
    make_grid,
)
from refusal_stability.tasks.datasets import load_prompts
from refusal_stability.tasks.shard import parse_shard, shard_dataset

EPOCH_REDUCER = "mode"
"""Each prompt's reduced score is its modal verdict; the stability metrics read the unreduced epochs."""

FAIL_ON_ERROR = True
"""`fail_on_error`: a sample that still fails once every retry is spent fails the eval (status "error").

Faults are retried where they happen: HTTP errors, dropped connections and attempt timeouts inside the
model call (Inspect), unreadable replies in the grid solver (`UNREADABLE_REPLY_RETRIES`), and whole
samples under `--retry-on-error N` if given. What is left is not tolerated as a share: a sample missing
from the grid would silently lower its prompt's N. The samples finished before the failure stay in the
log, and `inspect eval-retry` runs only the rest.
"""


@task
def stability(
    dataset: str = "paper",
    temperatures: Sequence[float] | str = STUDY_TEMPERATURES,
    seeds: Sequence[int] | str = STUDY_SEEDS,
    max_tokens: int = STUDY_MAX_TOKENS,
    top_p: float = STUDY_TOP_P,
    judge: str | list[str] = "auto",
    judge_template: str = "default",
    grader: str | None = None,
    grader_failure_limit: float = GRADER_FAILURE_LIMIT,
    unstable_threshold: float = UNSTABLE_THRESHOLD,
    data_dir: str | None = None,
    path: str | None = None,
    prompt_column: str | None = None,
    id_column: str | None = None,
    category_column: str | None = None,
    label_column: str | None = None,
    categories: list[str] | str | None = None,
    subset: str | None = None,
    sample: int | None = None,
    sample_seed: int = 0,
    engine_repeats: int = 0,
    cells: list[int] | str | None = None,
    shard: str | None = None,
) -> Task:
    """Sample each prompt once per grid cell and judge every response REFUSE / PARTIAL / COMPLY.

    Args:
        dataset: Prompt set: a name in `tasks.datasets.DATASETS`, listed in the README's Datasets
            table (default paper, the study's 876; file reads `path`).
        temperatures: Sampling temperatures of the grid (`-T temperatures=0,0.7`).
        seeds: Sampling seeds of the grid; each response is generated with its own seed.
        max_tokens: Maximum new tokens per response.
        top_p: Nucleus-sampling mass.
        judge: Which judge(s) give the verdict: auto (the LLM judge when a `grader` model role or
            `grader` is given, else the offline rules judge), llm, offline, recorded (labels stored with
            replayed generations), or several joined by commas (e.g. "llm,offline").
        judge_template: LLM judge prompt: default, study or short.
        grader: Model for the LLM judge when no `grader` model role is set.
        grader_failure_limit: Largest share of grader calls that may fail, each leaving its sample
            unscored; past it (once 10 calls have failed) the run stops with status error, so a
            misconfigured grader fails loudly within its first calls.
        unstable_threshold: A prompt whose SSI is below this counts as unstable.
        data_dir: Local folder of dataset files that replaces every download
            (default: env REFUSAL_STABILITY_DATA_DIR).
        path: Prompt file or Hugging Face dataset id for dataset=file.
        prompt_column: Prompt column of a dataset=file source.
        id_column: Id column of a dataset=file source.
        category_column: Category column of a dataset=file source.
        label_column: Harmful/benign label column of a dataset=file source.
        categories: Keep only prompts of these categories.
        subset: Dataset-specific variant (e.g. a HarmBench functional category, StrongREJECT "small").
        sample: Run a seeded random subset of this many prompts.
        sample_seed: Seed of that subset.
        engine_repeats: Run this many cells of each prompt twice with the same seed, to measure the
            engine's non-determinism floor (`engine_mismatch_rate`); repeats never count in SSI.
        cells: Which grid cells to sample (one epoch each): all (default), adaptive sampling's stages
            stage1 (the first pass: one seed per temperature, which one drawn per prompt by a hash of
            its id), stage2 (the prompt's next seed per temperature) and stage3 (its other cells), each
            later stage run on the prompts `refusal-stability undecided` names; or 0-based grid
            indices such as "0,1,5", the same for every prompt.
        shard: Run only the k-th of N disjoint parts of the prompts ("k/N", k from 1), so N
            processes or machines share one grid; the analysis merges the N logs.
    """
    grid = make_grid(temperatures, seeds, engine_repeats)
    chosen = select_cells(grid, cells)
    if grid.repeats and chosen.size < grid.size:
        raise ValueError("engine_repeats repeats cells of the whole grid: run it with cells=all.")
    part = parse_shard(shard)
    prompts = load_prompts(
        dataset,
        data_dir=data_dir,
        path=path,
        prompt_column=prompt_column,
        id_column=id_column,
        category_column=category_column,
        label_column=label_column,
        categories=categories,
        subset=subset,
        sample=sample,
        sample_seed=sample_seed,
    )
    model = model_under_test()
    if model is not None:  # a local vLLM / SGLang engine gets enough connections to stay busy
        local_engine_concurrency(model, run_config())
    metrics = stability_metrics(unstable_threshold)
    if grid.repeats:
        metrics.append(engine_floor())
    judges = judges_from_option(
        judge, template=judge_template, grader=grader, grader_failure_limit=grader_failure_limit
    )
    return Task(
        dataset=shard_dataset(prompts, part),
        solver=grid_generate(grid.temperatures, grid.seeds, grid.repeats, chosen.header()),
        scorer=judges,
        metrics=metrics,
        epochs=Epochs(chosen.size + grid.repeats, EPOCH_REDUCER),
        config=GenerateConfig(max_tokens=max_tokens, top_p=top_p),
        fail_on_error=FAIL_ON_ERROR,
        metadata={
            "temperatures": list(grid.temperatures),
            "seeds": list(grid.seeds),
            "grid_size": grid.size,
            "engine_repeats": list(grid.repeated_cells),
            # provider, seed honouring, concurrency and engine version of the model under test
            "engine": engine_info(model),
            # which cells and which part of the prompts this log holds: the analysis merges stages
            # and shards into one run and checks them (analysis/merge.py)
            GRID_CELLS_KEY: chosen.header(),
            SHARD_KEY: str(part) if part else None,
            # what the loader read, skipped (and why), filtered and sampled: in the log header
            "dataset_summary": asdict(prompts.summary),
            # judges whose verdicts come from the offline rules, with their measured agreement
            DISCLOSURE_KEY: verdict_disclosure(judges, grader),
        },
    )
