"""JailbreakBench JBB-Behaviors (Chao et al., 2024): 100 harmful behaviours and 100 topic-matched benign ones.

Upstream: the hub dataset JailbreakBench/JBB-Behaviors (MIT), `data/harmful-behaviors.csv` and
`data/benign-behaviors.csv`, columns Index, Goal, Target, Behavior, Category, Source. The prompt is
`Goal`; `category` is `Category` (10 categories, shared by both halves); metadata `source` is
`Source` (Original, AdvBench, TDC/HarmBench, ...); `behavior` is the short behaviour name. Benign
behaviours are marked `harmful=False`: refusing them is the failure. Ids are "harmful-<Index>" and
"benign-<Index>". In a local data folder the two files sit in `jailbreakbench/`.

Subsets: "all" (default), "harmful", "benign"; and "unofficial", "unofficial-harmful",
"unofficial-benign" for the third-party reformat kept in ../shared/datasets
(`jbb_behaviors_unofficial/jailbreakbench.json`: text and label only, no categories, 5 harmful texts
differing from the official ones; see its SOURCE.md). That copy is used only when asked for by name,
never in place of the official files.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from inspect_ai.dataset import Sample

from refusal_stability.tasks.datasets.common import (
    Loaded,
    LoadOptions,
    choose_subset,
    content_id,
    make_sample,
    samples_from,
)
from refusal_stability.tasks.datasets.errors import DatasetError
from refusal_stability.tasks.datasets.fetch import RemoteFile, hub_file, locate
from refusal_stability.tasks.datasets.readers import Record, read_csv, read_json

DATASET = "jailbreakbench"
REPO_ID = "JailbreakBench/JBB-Behaviors"
REVISION = "886acc352a31533ffbcf4ef22c744658688086fc"
REVISION_ENV = "JAILBREAKBENCH"
HARMFUL = "harmful"
BENIGN = "benign"
FILES = {
    HARMFUL: (
        "data/harmful-behaviors.csv",
        "4a8ec6832056b631eb092dccc60d37a61c3d441268268888b3d006288afeffa1",
    ),
    BENIGN: ("data/benign-behaviors.csv", "3cda234d21a991fa309bbfea4b6d9dae31ccdf8e9d452424b6a983e4fdc33468"),
}
"""split -> (path in the hub repository, SHA-256 at the pinned revision)."""
LOCAL_DIR = "jailbreakbench"
UNOFFICIAL = "unofficial"
UNOFFICIAL_LOCAL_NAME = "jbb_behaviors_unofficial/jailbreakbench.json"
"""A third-party reformat (text + label only) kept in ../shared/datasets; local only, never downloaded."""
SUBSETS = ("all", HARMFUL, BENIGN, UNOFFICIAL, f"{UNOFFICIAL}-{HARMFUL}", f"{UNOFFICIAL}-{BENIGN}")
PROMPT_COLUMN = "Goal"
INDEX_COLUMN = "Index"
CATEGORY_COLUMN = "Category"
SOURCE_COLUMN = "Source"
BEHAVIOR_COLUMN = "Behavior"
TARGET_COLUMN = "Target"
UNOFFICIAL_PROMPT_FIELD = "text"
UNOFFICIAL_LABEL_FIELD = "label"
UNOFFICIAL_LABELS = {"harmful": True, "safe": False}


def official_files() -> dict[str, RemoteFile]:
    """Return the two official files at the pinned (or env-overridden) hub revision."""
    return {
        split: hub_file(
            REPO_ID,
            path,
            f"{LOCAL_DIR}/{Path(path).name}",
            revision=REVISION,
            sha256=sha256,
            revision_env=REVISION_ENV,
        )
        for split, (path, sha256) in FILES.items()
    }


def load(options: LoadOptions) -> Loaded:
    """Load JBB-Behaviors: both halves by default, or the one a subset names."""
    subset = choose_subset(DATASET, options.subset, SUBSETS, "all")
    if subset.startswith(UNOFFICIAL):
        return _load_unofficial(options, subset)
    files = official_files()
    loaded = Loaded([])
    for split in (HARMFUL, BENIGN) if subset == "all" else (subset,):
        table = read_csv(_locate_official(files[split], options))
        loaded.extend(
            samples_from(
                table,
                partial(record_to_sample, split=split),
                columns={"prompt": PROMPT_COLUMN, "index": INDEX_COLUMN, "category": CATEGORY_COLUMN},
                ids=f"column {INDEX_COLUMN!r}",
            )
        )
    return loaded


def record_to_sample(record: Record, split: str) -> Sample:
    """Map one official JBB row; `split` ("harmful" or "benign") decides `harmful`."""
    return make_sample(
        sample_id=f"{split}-{record.required(INDEX_COLUMN)}",
        prompt=record.prompt(PROMPT_COLUMN),
        dataset=DATASET,
        category=record.text(CATEGORY_COLUMN),
        harmful=split == HARMFUL,
        source=record.text(SOURCE_COLUMN) or DATASET,
        extra={
            "split": split,
            "behavior": record.text(BEHAVIOR_COLUMN),
            "target": record.text(TARGET_COLUMN),
        },
    )


def unofficial_record_to_sample(record: Record) -> Sample:
    """Map one row of the unofficial reformat (text, label "harmful"/"safe"; no category)."""
    harmful = unofficial_harmful(record)
    prompt = record.prompt(UNOFFICIAL_PROMPT_FIELD)
    return make_sample(
        sample_id=content_id(DATASET, prompt),
        prompt=prompt,
        dataset=DATASET,
        category=None,
        harmful=harmful,
        source=UNOFFICIAL,
        extra={"split": HARMFUL if harmful else BENIGN},
    )


def unofficial_harmful(record: Record) -> bool:
    """Return whether an unofficial row is harmful.

    Raises:
        DatasetError: If the label is neither "harmful" nor "safe".
    """
    label = record.required(UNOFFICIAL_LABEL_FIELD).lower()
    if label not in UNOFFICIAL_LABELS:
        raise record.error(
            f"label {label!r} in field {UNOFFICIAL_LABEL_FIELD!r} is not one of "
            f"{', '.join(UNOFFICIAL_LABELS)}"
        )
    return UNOFFICIAL_LABELS[label]


def _locate_official(remote: RemoteFile, options: LoadOptions) -> Path:
    """Locate an official file; in a data folder without it, point at the unofficial subsets."""
    try:
        return locate(remote, options.data_dir)
    except DatasetError as exc:
        if options.data_dir is not None and (options.data_dir / UNOFFICIAL_LOCAL_NAME).is_file():
            raise DatasetError(
                f"{exc}; this folder has only the unofficial reformat {UNOFFICIAL_LOCAL_NAME}: "
                f"use subset={UNOFFICIAL!r} to load it"
            ) from exc
        raise


def _load_unofficial(options: LoadOptions, subset: str) -> Loaded:
    """Load the third-party text/label reformat (local only; it is not downloadable)."""
    if options.data_dir is None:
        raise DatasetError(
            f"subset {subset!r} of {DATASET!r} reads the local file {UNOFFICIAL_LOCAL_NAME}; "
            "set data_dir (or REFUSAL_STABILITY_DATA_DIR) to a folder holding it"
        )
    path = options.data_dir / UNOFFICIAL_LOCAL_NAME
    wanted = subset.removeprefix(f"{UNOFFICIAL}-") if subset != UNOFFICIAL else None

    def not_in_subset(record: Record) -> str | None:
        split = HARMFUL if unofficial_harmful(record) else BENIGN
        return None if wanted in (None, split) else f"{split} row not in subset {subset}"

    return samples_from(
        read_json(path),
        unofficial_record_to_sample,
        columns={"prompt": UNOFFICIAL_PROMPT_FIELD, "label": UNOFFICIAL_LABEL_FIELD},
        ids=f"content ids of field {UNOFFICIAL_PROMPT_FIELD!r}",
        skip=not_in_subset,
        notes=[f"unofficial copy {path}"],
    )
