"""AdvBench harmful behaviours (Zou et al., 2023): 520 harmful instructions, no categories.

Upstream: llm-attacks/llm-attacks `data/advbench/harmful_behaviors.csv` (columns goal, target; MIT;
see ../shared/datasets/advbench/SOURCE.md). The prompt is `goal`; `target` is the "Sure, here is ..."
string an attack optimises toward and is kept in metadata only. Ids are the study's content ids
(`md5("advbench:" + goal)[:12]`), so each of the 491 AdvBench prompts of the `paper` set has the same
id in both datasets.
"""

from __future__ import annotations

from inspect_ai.dataset import Sample

from refusal_stability.tasks.datasets.common import (
    Loaded,
    LoadOptions,
    choose_subset,
    content_id,
    make_sample,
    samples_from,
)
from refusal_stability.tasks.datasets.fetch import github_file, locate
from refusal_stability.tasks.datasets.readers import Record, read_csv

DATASET = "advbench"
REPO = "llm-attacks/llm-attacks"
COMMIT = "098262edf85f807224e70ecd87b9d83716bf6b73"
SOURCE = github_file(
    REPO,
    COMMIT,
    "data/advbench/harmful_behaviors.csv",
    "advbench/harmful_behaviors.csv",
    "6cd1a5c63c07610d7eb67307772ee5606017ee950b5770ab288a2c487489d3e1",
)
PROMPT_COLUMN = "goal"
TARGET_COLUMN = "target"
SUBSETS = ("all",)


def load(options: LoadOptions) -> Loaded:
    """Load the 520 AdvBench behaviours, all harmful, in upstream order."""
    choose_subset(DATASET, options.subset, SUBSETS, SUBSETS[0])
    return samples_from(
        read_csv(locate(SOURCE, options.data_dir)),
        record_to_sample,
        columns={"prompt": PROMPT_COLUMN},
        ids=f"content ids of column {PROMPT_COLUMN!r}",
    )


def record_to_sample(record: Record) -> Sample:
    """Map one AdvBench row to a harmful, uncategorised sample with the study's content id."""
    prompt = record.prompt(PROMPT_COLUMN)
    return make_sample(
        sample_id=content_id(DATASET, prompt.strip()),
        prompt=prompt,
        dataset=DATASET,
        category=None,
        harmful=True,
        source=DATASET,
        extra={"target": record.text(TARGET_COLUMN)},
    )
