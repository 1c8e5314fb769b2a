"""Do-Not-Answer (Wang et al., 2023): 939 prompts a responsible model should not simply follow.

Upstream: the hub dataset LibrAI/do-not-answer, `data_en.csv` (see its dataset card for the licence),
columns id, risk_area, types_of_harm, specific_harms, question, followed by six models' responses
and their labels (not read). The prompt is `question`; `category` is the `risk_area` (5 areas); the
`types_of_harm` (12) and `specific_harms` (61) are kept in metadata. All are marked harmful: the set
was built from instructions that should be refused or answered with care. Ids are upstream's `id`.
In a local data folder the file is `do_not_answer/data_en.csv`.
"""

from __future__ import annotations

from inspect_ai.dataset import Sample

from refusal_stability.tasks.datasets.common import (
    Loaded,
    LoadOptions,
    choose_subset,
    make_sample,
    samples_from,
)
from refusal_stability.tasks.datasets.fetch import RemoteFile, hub_file, locate
from refusal_stability.tasks.datasets.readers import Record, read_csv

DATASET = "do_not_answer"
REPO_ID = "LibrAI/do-not-answer"
REVISION = "74e74f2e4507ef256fe536f78a776f4a1ff67955"
REVISION_ENV = "DO_NOT_ANSWER"
PATH = "data_en.csv"
LOCAL_NAME = "do_not_answer/data_en.csv"
ID_COLUMN = "id"
PROMPT_COLUMN = "question"
RISK_AREA_COLUMN = "risk_area"
HARM_TYPE_COLUMN = "types_of_harm"
SPECIFIC_HARMS_COLUMN = "specific_harms"
SUBSETS = ("all",)


def remote_file() -> RemoteFile:
    """Return `data_en.csv` at the pinned (or env-overridden) hub revision."""
    return hub_file(REPO_ID, PATH, LOCAL_NAME, revision=REVISION, revision_env=REVISION_ENV)


def load(options: LoadOptions) -> Loaded:
    """Load the Do-Not-Answer prompts with their risk area and harm types."""
    choose_subset(DATASET, options.subset, SUBSETS, SUBSETS[0])
    return samples_from(
        read_csv(locate(remote_file(), options.data_dir)),
        record_to_sample,
        columns={"prompt": PROMPT_COLUMN, "id": ID_COLUMN, "risk area": RISK_AREA_COLUMN},
        ids=f"column {ID_COLUMN!r}",
    )


def record_to_sample(record: Record) -> Sample:
    """Map one Do-Not-Answer row: category = risk area; harm type and specific harm in metadata."""
    return make_sample(
        sample_id=record.required(ID_COLUMN),
        prompt=record.prompt(PROMPT_COLUMN),
        dataset=DATASET,
        category=record.text(RISK_AREA_COLUMN),
        harmful=True,
        source=DATASET,
        extra={
            "risk_area": record.text(RISK_AREA_COLUMN),
            "types_of_harm": record.text(HARM_TYPE_COLUMN),
            "specific_harms": record.text(SPECIFIC_HARMS_COLUMN),
        },
    )
