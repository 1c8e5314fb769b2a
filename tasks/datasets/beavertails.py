"""BeaverTails-Evaluation (Ji et al., 2023): 700 harmful prompts in 14 harm categories, 50 each.

Upstream: the hub dataset PKU-Alignment/BeaverTails-Evaluation (CC-BY-NC-4.0: non-commercial use),
one JSON Lines file with fields prompt, category, category_id. Each prompt is labelled with one
category although it may touch several. All are harmful. The file has no ids, so ids are the row
numbers ("1".."700") in upstream order. In a local data folder the file is `beavertails/test.jsonl`.

The hub revision is NOT pinned: none could be verified (see `REVISION`); pin one with env
REFUSAL_STABILITY_BEAVERTAILS_REVISION, or load from a local data folder.
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
from refusal_stability.tasks.datasets.readers import Record, read_table

DATASET = "beavertails"
REPO_ID = "PKU-Alignment/BeaverTails-Evaluation"
REVISION: str | None = None
"""NOT PINNED: no revision of this hub repository could be verified from here (it was unreachable and
no public record of a commit was found). Downloads follow `main` and log a warning; pin one with env
REFUSAL_STABILITY_BEAVERTAILS_REVISION=<commit sha>, or put the file in a local data folder."""
REVISION_ENV = "BEAVERTAILS"
PATH = "test.jsonl"
"""Unverified file name (the hub's `test` split, fields prompt / category / category_id)."""
LOCAL_NAME = "beavertails/test.jsonl"
PROMPT_FIELD = "prompt"
CATEGORY_FIELD = "category"
CATEGORY_ID_FIELD = "category_id"
SUBSETS = ("all",)


def remote_file() -> RemoteFile:
    """Return the evaluation file at the env-pinned revision, else at the unpinned default."""
    return hub_file(REPO_ID, PATH, LOCAL_NAME, revision=REVISION, revision_env=REVISION_ENV)


def load(options: LoadOptions) -> Loaded:
    """Load the 700 BeaverTails evaluation prompts, all harmful."""
    choose_subset(DATASET, options.subset, SUBSETS, SUBSETS[0])
    remote = remote_file()
    return samples_from(
        read_table(locate(remote, options.data_dir)),
        record_to_sample,
        columns={"prompt": PROMPT_FIELD, "category": CATEGORY_FIELD},
        ids=None,  # row numbers
        notes=[] if remote.pinned or options.data_dir else [f"unpinned download: {remote.url}"],
    )


def record_to_sample(record: Record) -> Sample:
    """Map one BeaverTails-Evaluation line to a harmful sample; the id is its row number."""
    return make_sample(
        sample_id=str(record.number),
        prompt=record.prompt(PROMPT_FIELD),
        dataset=DATASET,
        category=record.text(CATEGORY_FIELD),
        harmful=True,
        source=DATASET,
        extra={"category_id": record.values.get(CATEGORY_ID_FIELD)},
    )
