"""Prompt datasets of the suite: the study's set, the widely used harmful-prompt benchmarks, or a user's file.

`load_prompts(dataset, ...)` returns an Inspect dataset of Samples whose metadata follows
`refusal_stability.schema`: `dataset`, `category` (str or None), `harmful` (bool; False marks a benign
control, where refusing is the failure), `source` (where the prompt text came from), plus
dataset-specific keys.

A dataset is one module here: its pinned source file(s) at the top (`fetch.github_file` /
`fetch.hub_file`, with the SHA-256 where known), a `record_to_sample(record) -> Sample`, and a short
`load(options)` that reads the file and hands both to `common.samples_from`. Register it with one
line in `DATASETS`, add its test and its row in the README's Datasets table; nothing else names it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from refusal_stability.tasks.datasets import (
    advbench,
    beavertails,
    do_not_answer,
    file,
    harmbench,
    jailbreakbench,
    paper,
    sorry_bench,
    strongreject,
    xstest,
)
from refusal_stability.tasks.datasets.common import Loaded, LoadOptions
from refusal_stability.tasks.datasets.errors import DatasetError
from refusal_stability.tasks.datasets.fetch import resolve_data_dir
from refusal_stability.tasks.datasets.selection import filter_categories, sample_subset
from refusal_stability.tasks.datasets.summary import LoadSummary, PromptDataset, count_labels

__all__ = ["DATASETS", "DatasetError", "LoadSummary", "PromptDataset", "load_prompts"]

logger = logging.getLogger("refusal_stability.tasks.datasets")

DEFAULT_DATASET = "paper"
DATASETS: dict[str, Callable[[LoadOptions], Loaded]] = {
    "paper": paper.load,
    "advbench": advbench.load,
    "harmbench": harmbench.load,
    "strongreject": strongreject.load,
    "xstest": xstest.load,
    "jailbreakbench": jailbreakbench.load,
    "beavertails": beavertails.load,
    "sorry_bench": sorry_bench.load,
    "do_not_answer": do_not_answer.load,
    "file": file.load,
}
"""Dataset name -> loader. Names are matched case-insensitively, with "-" read as "_"."""
FILE_DATASET = "file"


def load_prompts(
    dataset: str = DEFAULT_DATASET,
    *,
    data_dir: str | None = None,
    path: str | None = None,
    prompt_column: str | None = None,
    id_column: str | None = None,
    category_column: str | None = None,
    label_column: str | None = None,
    categories: Sequence[str] | str | None = None,
    subset: str | None = None,
    sample: int | None = None,
    sample_seed: int = 0,
) -> PromptDataset:
    """Load a prompt set as an Inspect dataset (a MemoryDataset of Samples, in upstream order).

    Args:
        dataset: A name in `DATASETS` (default paper: the study's 876 AdvBench + HarmBench
            prompts); the README's Datasets table describes each.
        data_dir: Local folder laid out like ../shared/datasets that replaces every download
            (default: env REFUSAL_STABILITY_DATA_DIR; unset: download pinned files and cache them).
        path: For dataset="file": a CSV, CSV.GZ, JSONL, JSON or Parquet file, a folder holding one,
            or a hub file `hf://<owner>/<name>@<revision>/<file>`.
        prompt_column: For dataset="file": the prompt column (default: a conventional name).
        id_column: For dataset="file": the id column (default: the row number).
        category_column: For dataset="file": the category column (default: none).
        label_column: For dataset="file": the harmful/benign label column (default: all harmful).
        categories: Keep only these categories (a list, or a comma-separated string as
            `-T categories=a,b` gives; names that contain commas are recognised whole);
            compared case-insensitively.
        subset: Dataset-specific variant (e.g. harmbench "standard,contextual", paper "published");
            each dataset module's docstring and the README's Datasets table list them.
        sample: Keep a seeded random subset of this many prompts (after the category filter).
        sample_seed: Seed of that subset; the same seed gives the same prompts, in dataset order.

    Returns:
        A PromptDataset (a MemoryDataset) whose `summary` counts rows read, skipped (by reason),
        filtered and returned; the summary is also logged.

    Raises:
        DatasetError: For an unknown dataset, subset or category, a missing or malformed file, a
            missing prompt column, an empty prompt or a duplicate id; the message names the file,
            row and column, and the valid choices where there is a fixed set.
    """
    name = canonical_name(dataset)
    column_options = {
        "path": path,
        "prompt_column": prompt_column,
        "id_column": id_column,
        "category_column": category_column,
        "label_column": label_column,
    }
    given = [option for option, value in column_options.items() if value not in (None, "")]
    if name != FILE_DATASET and given:
        raise DatasetError(
            f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to dataset 'file' only; "
            f"dataset {name!r} has a fixed schema"
        )
    options = LoadOptions(
        dataset=name,
        data_dir=resolve_data_dir(data_dir),
        subset=subset if subset not in (None, "") else None,
        path=path,
        prompt_column=prompt_column or None,
        id_column=id_column or None,
        category_column=category_column or None,
        label_column=label_column or None,
    )
    loaded = DATASETS[name](options)
    kept = filter_categories(loaded.samples, categories, name)
    chosen = sample_subset(kept, sample, sample_seed)
    harmful, benign, per_category = count_labels(chosen)
    summary = LoadSummary(
        dataset=name,
        subset=options.subset,
        files=tuple(loaded.files),
        rows_read=loaded.rows_read,
        skipped=dict(loaded.skipped),
        loaded=len(loaded.samples),
        filtered_out=len(loaded.samples) - len(kept),
        not_sampled=len(kept) - len(chosen),
        returned=len(chosen),
        harmful=harmful,
        benign=benign,
        categories=per_category,
        notes=tuple(loaded.notes),
    )
    logger.info(summary.describe())
    label = name if options.subset is None else f"{name}:{options.subset}"
    return PromptDataset(chosen, summary, name=label, location=";".join(loaded.files) or None)


def canonical_name(dataset: str) -> str:
    """Return the registered name for a dataset name ("Sorry-Bench" -> "sorry_bench").

    Raises:
        DatasetError: If no dataset has that name, listing the known ones.
    """
    name = str(dataset or DEFAULT_DATASET).strip().lower().replace("-", "_")
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {dataset!r}; known datasets: {', '.join(DATASETS)}")
    return name
