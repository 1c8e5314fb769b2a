"""Any prompt file a user brings: CSV, CSV.GZ, JSONL(.GZ), JSON, Parquet, a folder holding one, or a hub file.

`path` is one of:
- a local file (a relative path is tried against the working folder, the folder the command was
  started from, then the data folder);
- a local folder holding exactly one file of a supported type;
- a Hugging Face dataset file, `hf://<owner>/<name>[@<revision>]/<path in the repo>`, e.g.
  `hf://LibrAI/do-not-answer@74e74f2e.../data_en.csv`. Without `@<revision>` the file follows the
  repository's main branch, with a warning. With a local data folder set, the file is read from
  `<data_dir>/<owner>/<name>/<path in the repo>` instead of downloaded.

Columns: `prompt_column` (default: the first of `PROMPT_COLUMN_GUESSES` the file has), `id_column`
(default: the 1-based row number), `category_column` (default: none) and `label_column` (default:
none, and every prompt is marked harmful). Label values are read as harmful (`HARMFUL_LABELS`, or
true / 1) or benign (`BENIGN_LABELS`, or false / 0); anything else is an error naming the row.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from inspect_ai.dataset import Sample

from refusal_stability.tasks.datasets.common import Loaded, LoadOptions, make_sample, samples_from
from refusal_stability.tasks.datasets.errors import DatasetError
from refusal_stability.tasks.datasets.fetch import RemoteFile, hub_file, locate, resolve_user_path
from refusal_stability.tasks.datasets.readers import (
    SUPPORTED_SUFFIXES,
    Record,
    Table,
    read_table,
    suffix_of,
)

logger = logging.getLogger("refusal_stability.tasks.datasets")

DATASET = "file"
HUB_SCHEME = "hf://"
HUB_PATH = re.compile(r"^hf://(?P<repo>[^/@\s]+/[^/@\s]+)(?:@(?P<revision>[^/\s]+))?/(?P<file>\S+)$")
BARE_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
PROMPT_COLUMN_GUESSES = (
    "prompt",
    "goal",
    "Goal",
    "Behavior",
    "behavior",
    "forbidden_prompt",
    "question",
    "instruction",
    "text",
    "input",
)
HARMFUL_LABELS = frozenset({"harmful", "unsafe", "harm", "true", "yes", "1"})
BENIGN_LABELS = frozenset({"benign", "safe", "harmless", "false", "no", "0"})


@dataclass(frozen=True)
class FileColumns:
    """Which column of a user's file plays which role (None: the role's default)."""

    prompt: str
    id: str | None = None
    category: str | None = None
    label: str | None = None


def load(options: LoadOptions) -> Loaded:
    """Load prompts from the user's file with the user's column mapping."""
    if not options.path or not str(options.path).strip():
        raise DatasetError(
            "dataset 'file' needs path: a CSV, CSV.GZ, JSONL, JSON or Parquet file, a folder "
            "holding one, or hf://<owner>/<name>@<revision>/<file>"
        )
    source, table = read_source(str(options.path).strip(), options.data_dir)
    columns = FileColumns(
        prompt=options.prompt_column or guess_prompt_column(table),
        id=options.id_column,
        category=options.category_column,
        label=options.label_column,
    )
    roles = {"prompt": columns.prompt, "id": columns.id}
    roles |= {"category": columns.category, "label": columns.label}
    return samples_from(
        table,
        partial(record_to_sample, columns=columns, source=source),
        columns={role: column for role, column in roles.items() if column},
        ids=f"column {columns.id!r}" if columns.id else None,  # else row numbers
        notes=[] if columns.label else ["no label_column: every prompt is marked harmful"],
    )


def record_to_sample(record: Record, columns: FileColumns, source: str) -> Sample:
    """Map one row of a user's file through the column mapping."""
    return make_sample(
        sample_id=record.required(columns.id) if columns.id else str(record.number),
        prompt=record.prompt(columns.prompt),
        dataset=DATASET,
        category=record.text(columns.category),
        harmful=harmful_label(record, columns.label),
        source=source,
        extra={"row": record.number},
    )


def read_source(path: str, data_dir: Path | None) -> tuple[str, Table]:
    """Read the table `path` names; return it with the name it goes by in metadata `source`."""
    if path.startswith(HUB_SCHEME):
        remote = hub_remote(path)
        return path, read_table(locate(remote, data_dir))
    local = resolve_local(path, data_dir)
    if local.is_dir():
        local = single_data_file(local)
    return local.name, read_table(local)


def hub_remote(path: str) -> RemoteFile:
    """Turn `hf://owner/name[@revision]/file` into a remote file (unpinned without a revision).

    Raises:
        DatasetError: If the path does not have that form.
    """
    match = HUB_PATH.match(path)
    if match is None:
        raise DatasetError(
            f"{path}: a hub file is hf://<owner>/<name>@<revision>/<path in the repository>, "
            "e.g. hf://LibrAI/do-not-answer@<commit>/data_en.csv"
        )
    repo, revision, file = match["repo"], match["revision"], match["file"]
    return hub_file(repo, file, f"{repo}/{file}", revision=revision)


def resolve_local(path: str, data_dir: Path | None) -> Path:
    """Return the local file or folder a path names (working folder first, then the data folder).

    Raises:
        DatasetError: If it exists in neither; a bare "owner/name" gets a hint about hub paths.
    """
    candidate = resolve_user_path(path)
    if candidate.exists():
        return candidate
    if data_dir is not None and not candidate.is_absolute() and (data_dir / candidate).exists():
        return data_dir / candidate
    hint = ""
    if BARE_HUB_ID.match(path):
        hint = f"; for a Hugging Face dataset give one file: hf://{path}@<revision>/<file>"
    where = f" (nor in the data folder {data_dir})" if data_dir is not None else ""
    raise DatasetError(f"{path}: file not found{where}{hint}")


def single_data_file(folder: Path) -> Path:
    """Return the one supported data file in a folder.

    Raises:
        DatasetError: If the folder holds none, or more than one.
    """
    files = sorted(
        child for child in folder.iterdir() if child.is_file() and suffix_of(child) in SUPPORTED_SUFFIXES
    )
    if len(files) != 1:
        found = ", ".join(child.name for child in files) or "none"
        raise DatasetError(
            f"{folder}: a folder must hold exactly one data file "
            f"({', '.join(SUPPORTED_SUFFIXES)}); found {found}; give the file as path"
        )
    return files[0]


def guess_prompt_column(table: Table) -> str:
    """Return the first conventional prompt column the table has.

    Raises:
        DatasetError: If it has none, listing its columns.
    """
    for column in PROMPT_COLUMN_GUESSES:
        if column in table.columns:
            logger.info("%s: using column %r as the prompt", table.path, column)
            return column
    available = ", ".join(repr(name) for name in table.columns) or "(none)"
    raise DatasetError(
        f"{table.path}: no prompt column found (looked for {', '.join(PROMPT_COLUMN_GUESSES)}); "
        f"pass prompt_column; available columns: {available}"
    )


def harmful_label(record: Record, column: str | None) -> bool:
    """Return whether a row is harmful: by its label, or True when there is no label column.

    Raises:
        DatasetError: If the label is empty or not a recognised harmful/benign value.
    """
    if column is None:
        return True
    value: Any = record.values.get(column)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = record.required(column).lower()
    if text in HARMFUL_LABELS:
        return True
    if text in BENIGN_LABELS:
        return False
    raise record.error(
        f"label {text!r} in column {column!r} is neither harmful "
        f"({', '.join(sorted(HARMFUL_LABELS))}) nor benign ({', '.join(sorted(BENIGN_LABELS))})"
    )
