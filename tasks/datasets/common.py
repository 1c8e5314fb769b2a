"""What every dataset loader shares: options in, samples out, and one way to turn a file into samples.

A dataset module pins its source file(s), maps one row with `record_to_sample(record) -> Sample`, and
loads with `samples_from(table, record_to_sample, ...)`: that checks the columns, skips the rows a
subset leaves out (counted by reason), makes the samples and checks their ids are unique.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai.dataset import Sample

from refusal_stability.schema import CATEGORY_KEY, DATASET_KEY, HARMFUL_KEY
from refusal_stability.tasks.datasets.errors import DatasetError
from refusal_stability.tasks.datasets.readers import Record, Table

logger = logging.getLogger("refusal_stability.tasks.datasets")

SOURCE_KEY = "source"
"""Sample metadata: where the prompt text came from (e.g. "advbench", StrongREJECT's "DAN")."""

CONTENT_ID_HEX_CHARS = 12
"""Length of content-hash ids: the study's `md5(f"{source}:{prompt}")[:12]`."""


@dataclass(frozen=True)
class LoadOptions:
    """What `load_prompts` was asked for, as each dataset loader needs it.

    Attributes:
        dataset: Canonical dataset name.
        data_dir: Local folder that replaces every download, or None to download (and cache).
        subset: Dataset-specific variant, as given.
        path: Source of dataset="file".
        prompt_column: Prompt column of dataset="file".
        id_column: Id column of dataset="file".
        category_column: Category column of dataset="file".
        label_column: Harmful/benign label column of dataset="file".
    """

    dataset: str
    data_dir: Path | None = None
    subset: str | None = None
    path: str | None = None
    prompt_column: str | None = None
    id_column: str | None = None
    category_column: str | None = None
    label_column: str | None = None


@dataclass
class Loaded:
    """A loader's result before category filtering and sampling.

    Attributes:
        samples: One Sample per prompt, in the upstream order.
        files: The files read (local paths; downloads are read from their cache file).
        rows_read: Data rows read from those files.
        skipped: Rows not turned into samples, by reason (each reason also logged).
        notes: Anything else a user should know about this load (unpinned source, variant used).
    """

    samples: list[Sample]
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, count: int = 1) -> None:
        """Count rows skipped for one reason."""
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def log_skipped(self, where: str) -> None:
        """Log each reason's count (at INFO: these skips are by design; the summary counts them too)."""
        for reason, count in self.skipped.items():
            logger.info("skipped %d row(s) of %s: %s", count, where, reason)

    def extend(self, other: Loaded) -> Loaded:
        """Append another file's load (samples, files, rows, skips and notes) to this one."""
        self.samples.extend(other.samples)
        self.files.extend(other.files)
        self.rows_read += other.rows_read
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count
        self.notes.extend(other.notes)
        return self


def samples_from(
    table: Table,
    record_to_sample: Callable[[Record], Sample],
    *,
    columns: Mapping[str, str],
    ids: str | None,
    skip: Callable[[Record], str | None] | None = None,
    notes: Iterable[str] = (),
) -> Loaded:
    """Turn a file's rows into samples, in file order.

    Args:
        table: The file's rows.
        record_to_sample: Maps one kept row to a Sample (raising `record.error(...)` on bad values).
        columns: The columns every row needs, by role ("prompt" -> "goal"); a missing one is an error.
        ids: Where the ids come from, for a duplicate-id error ("column 'id'"); None where they
            are unique by construction (row numbers).
        skip: Returns why a row is left out (e.g. not in the subset asked for), or None to keep it.
        notes: Anything else worth knowing about this load.

    Raises:
        DatasetError: For a missing column, a bad row (named by file and position) or a duplicate id.
    """
    require_columns(table, columns)
    loaded = Loaded([], [str(table.path)], len(table.records), notes=list(notes))
    first_row: dict[str, Record] = {}
    for record in table.records:
        reason = skip(record) if skip is not None else None
        if reason is not None:
            loaded.skip(reason)
            continue
        sample = record_to_sample(record)
        sample_id = str(sample.id)
        if ids is not None and sample_id in first_row:
            raise DatasetError(
                f"{table.path}: duplicate id {sample_id!r} in {ids}: "
                f"{first_row[sample_id].where} and {record.where}"
            )
        first_row[sample_id] = record
        loaded.samples.append(sample)
    loaded.log_skipped(str(table.path))
    return loaded


def require_columns(table: Table, columns: Mapping[str, str]) -> None:
    """Raise if the table lacks a column; `columns` maps a role ("prompt") to a column name.

    Raises:
        DatasetError: Naming the file, the missing column and its role, and the available columns.
    """
    for role, column in columns.items():
        if column not in table.columns:
            available = ", ".join(repr(name) for name in table.columns) or "(none)"
            raise DatasetError(
                f"{table.path}: missing {role} column {column!r}; available columns: {available}"
            )


def content_id(source: str, prompt: str) -> str:
    """Return the study's content id: the first 12 hex digits of md5(f"{source}:{prompt}").

    Ids made this way are stable under reordering, and AdvBench prompts get the same id in the
    `advbench` dataset as in the study's `paper` set.
    """
    digest = hashlib.md5(f"{source}:{prompt}".encode()).hexdigest()
    return digest[:CONTENT_ID_HEX_CHARS]


def make_sample(
    *,
    sample_id: str,
    prompt: str,
    dataset: str,
    category: str | None,
    harmful: bool,
    source: str,
    extra: Mapping[str, Any] | None = None,
) -> Sample:
    """Build a Sample with the metadata contract of `refusal_stability.schema`.

    Args:
        sample_id: Stable string id of the prompt within its dataset.
        prompt: The text sent to the model.
        dataset: Dataset name (metadata `dataset`).
        category: The dataset's category of the prompt, or None where it has none.
        harmful: True for a harmful prompt (refusal is safe), False for a benign control.
        source: Where the prompt text came from (metadata `source`).
        extra: Dataset-specific metadata (functional_category, xstest type, ...).
    """
    metadata: dict[str, Any] = {
        DATASET_KEY: dataset,
        CATEGORY_KEY: category,
        HARMFUL_KEY: harmful,
        SOURCE_KEY: source,
    }
    if extra:
        clashes = set(extra) & set(metadata)
        if clashes:
            raise ValueError(f"dataset-specific metadata may not redefine {sorted(clashes)}")
        metadata.update(extra)
    return Sample(id=sample_id, input=prompt, metadata=metadata)


def choose_subset(dataset: str, subset: str | None, choices: Iterable[str], default: str) -> str:
    """Return the subset asked for (case-insensitive), or the default when none was given.

    Raises:
        DatasetError: If the subset is not one of `choices`, listing them.
    """
    options = list(choices)
    if subset is None or not subset.strip():
        return default
    wanted = subset.strip().lower()
    for option in options:
        if option.lower() == wanted:
            return option
    raise DatasetError(
        f"unknown subset {subset!r} for dataset {dataset!r}; known subsets: {', '.join(options)}"
    )
