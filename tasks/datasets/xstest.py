"""XSTest v2 (Röttger et al., NAACL 2024): 250 safe prompts that a model should answer, 200 unsafe contrasts.

Upstream: paul-rottger/xstest `xstest_prompts.csv` (CC-BY-4.0; formerly paul-rottger/exaggerated-safety,
see ../shared/datasets/xstest/SOURCE.md), columns id, prompt, type, label, focus, note. `label` is
"safe" for the 250 benign controls (`harmful=False`: here a refusal is the failure, an
exaggerated-safety error) and "unsafe" for the 200 harmful contrasts (`harmful=True`). `category` is
the prompt `type` (18 types of 25 prompts, e.g. homonyms, contrast_homonyms); `focus` (the trigger
word) and `note` are kept in metadata. Ids are upstream's `id`.

`subset="safe"` or `"unsafe"` keeps one label; the other rows are counted as skipped.
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
from refusal_stability.tasks.datasets.fetch import github_file, locate
from refusal_stability.tasks.datasets.readers import Record, read_csv

DATASET = "xstest"
REPO = "paul-rottger/xstest"
COMMIT = "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d"
SOURCE = github_file(
    REPO,
    COMMIT,
    "xstest_prompts.csv",
    "xstest/xstest_prompts.csv",
    "11783fb294ed017473ee53c207d71f2161c7672c8d0b037501e78387f801cb5a",
)
ID_COLUMN = "id"
PROMPT_COLUMN = "prompt"
TYPE_COLUMN = "type"
LABEL_COLUMN = "label"
FOCUS_COLUMN = "focus"
NOTE_COLUMN = "note"
SAFE_LABEL = "safe"
UNSAFE_LABEL = "unsafe"
SUBSETS = ("all", SAFE_LABEL, UNSAFE_LABEL)


def load(options: LoadOptions) -> Loaded:
    """Load XSTest's 450 prompts (or one label), marking safe prompts benign and unsafe ones harmful."""
    subset = choose_subset(DATASET, options.subset, SUBSETS, "all")

    def not_in_subset(record: Record) -> str | None:
        label = xstest_label(record)
        return None if subset in ("all", label) else f"label {label} not in subset {subset}"

    return samples_from(
        read_csv(locate(SOURCE, options.data_dir)),
        record_to_sample,
        columns={"prompt": PROMPT_COLUMN, "id": ID_COLUMN, "label": LABEL_COLUMN, "type": TYPE_COLUMN},
        ids=f"column {ID_COLUMN!r}",
        skip=not_in_subset,
    )


def record_to_sample(record: Record) -> Sample:
    """Map one XSTest row: harmful exactly when labelled unsafe; category = type."""
    label = xstest_label(record)
    prompt_type = record.required(TYPE_COLUMN)
    return make_sample(
        sample_id=record.required(ID_COLUMN),
        prompt=record.prompt(PROMPT_COLUMN),
        dataset=DATASET,
        category=prompt_type,
        harmful=label == UNSAFE_LABEL,
        source=DATASET,
        extra={
            "type": prompt_type,
            "label": label,
            "focus": record.text(FOCUS_COLUMN),
            "note": record.text(NOTE_COLUMN),
        },
    )


def xstest_label(record: Record) -> str:
    """Return a row's label, "safe" or "unsafe".

    Raises:
        DatasetError: For any other value, naming file, row and column.
    """
    label = record.required(LABEL_COLUMN).lower()
    if label not in (SAFE_LABEL, UNSAFE_LABEL):
        raise record.error(
            f"label {label!r} in column {LABEL_COLUMN!r} is neither {SAFE_LABEL!r} nor {UNSAFE_LABEL!r}"
        )
    return label
