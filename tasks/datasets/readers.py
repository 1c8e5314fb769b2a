"""Read prompt files (CSV, CSV.GZ, JSONL, JSON, Parquet) into rows that know where they came from.

Every row carries its file and a human-readable position ("row 5 (line 6)", "line 7", "item 3"), so
that an error about an empty prompt, a bad label or a duplicate id names the exact place in the file.
Reading never drops a row: malformed input raises `DatasetError` instead.

Why not Inspect's `csv_dataset` / `json_dataset`: they hand `record_to_sample` a bare dict, with no
row or line to name in an error; `csv_dataset` drops all-blank rows without a count and opens the
file without `newline=""`, which turns the CRLFs inside two quoted HarmBench context strings into LF
(prompt text changes); the JSON Lines reader fails on a blank line. Fetching (pinning, checksums,
the local data folder) is ours too (`fetch.py`); `hf_dataset` would add the `datasets` package and
bypass both. The dataset modules keep Inspect's shape all the same: a source constant and a
`record_to_sample(record) -> Sample`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from refusal_stability.tasks.datasets.errors import DatasetError

CSV_SUFFIXES = (".csv", ".csv.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
JSON_SUFFIXES = (".json", ".json.gz")
PARQUET_SUFFIXES = (".parquet",)
SUPPORTED_SUFFIXES = CSV_SUFFIXES + JSONL_SUFFIXES + JSON_SUFFIXES + PARQUET_SUFFIXES
TEXT_ENCODING = "utf-8-sig"
"""UTF-8, tolerating the byte-order mark that spreadsheet programs put in front of CSV exports."""
NEWLINE = b"\n"


@dataclass(frozen=True)
class Record:
    """One data row of a file, with checked access to its fields.

    Attributes:
        path: The file the row was read from (named in messages).
        values: Column name to value, as read (strings for CSV; JSON types for JSON/JSONL).
        number: 1-based position among the file's data rows (the header is not counted).
        where: Where the row sits, for messages: "row 5 (line 6)", "line 7" or "item 3".
    """

    path: Path
    values: Mapping[str, Any]
    number: int
    where: str

    def error(self, message: str) -> DatasetError:
        """Return an error naming this row's file and position before `message`."""
        return DatasetError(f"{self.path}: {self.where}: {message}")

    def prompt(self, column: str) -> str:
        """Return the prompt in `column`, unchanged; it must be a non-empty string.

        The text is kept verbatim (no stripping): the benchmarks' own harnesses send it that way.

        Raises:
            DatasetError: If the prompt is missing, not text, or only whitespace.
        """
        value = self.values.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise self.error(f"empty prompt in column {column!r}")
        if not isinstance(value, str):
            raise self.error(f"prompt in column {column!r} is {type(value).__name__}, not text")
        return value

    def text(self, column: str | None) -> str | None:
        """Return the stripped value in a text column, or None where the column is absent or blank."""
        value = None if column is None else self.values.get(column)
        if value is None or (isinstance(value, float) and value != value):  # NaN from Parquet
            return None
        return str(value).strip() or None

    def required(self, column: str) -> str:
        """Return the non-blank value in a column every row must fill (ids, labels).

        Raises:
            DatasetError: If the value is missing or blank.
        """
        text = self.text(column)
        if text is None:
            raise self.error(f"empty value in column {column!r}")
        return text


@dataclass(frozen=True)
class Table:
    """The rows of one file, with the file's columns in their order of first appearance."""

    path: Path
    columns: tuple[str, ...]
    records: tuple[Record, ...]


def suffix_of(path: Path) -> str:
    """Return the file type suffix that decides the reader, e.g. ".csv.gz" or ".jsonl"."""
    name = path.name.lower()
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def read_table(path: Path) -> Table:
    """Read a CSV, CSV.GZ, JSONL(.GZ), JSON(.GZ) or Parquet file, chosen by its name.

    Raises:
        DatasetError: If the file is missing, unreadable, of an unsupported type or malformed.
    """
    suffix = suffix_of(path)
    if suffix in CSV_SUFFIXES:
        return read_csv(path)
    if suffix in JSONL_SUFFIXES:
        return read_jsonl(path)
    if suffix in JSON_SUFFIXES:
        return read_json(path)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(path)
    raise DatasetError(
        f"{path}: unsupported file type {suffix or '(none)'!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}"
    )


def read_csv(path: Path) -> Table:
    """Read a CSV file with a header row; every data row must have as many fields as the header.

    The file is opened with `newline=''`, so quoted fields that span lines and mixed CRLF/LF line
    endings (as in HarmBench's CSV) are read as the csv module intends.
    """
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise DatasetError(f"{path}: the file is empty (no header row)")
            columns = tuple(header)
            _check_header(path, columns)
            records = []
            start_line = reader.line_num + 1
            for number, fields in enumerate(reader, start=1):
                where = f"row {number} (line {start_line})"
                if len(fields) != len(columns):
                    raise DatasetError(
                        f"{path}: {where}: has {len(fields)} fields, the header has {len(columns)}"
                    )
                records.append(Record(path, dict(zip(columns, fields, strict=True)), number, where))
                start_line = reader.line_num + 1
        except csv.Error as exc:
            raise DatasetError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from exc
    return Table(path, columns, tuple(records))


def read_jsonl(path: Path) -> Table:
    """Read a JSON Lines file: one JSON object per line; blank lines are not rows."""
    records = []
    with _open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"line {line_number}"
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}: {where}: invalid JSON ({exc.msg})") from exc
            if not isinstance(value, dict):
                raise DatasetError(f"{path}: {where}: expected a JSON object, got {type(value).__name__}")
            records.append(Record(path, value, len(records) + 1, where))
    return Table(path, _columns_of(records), tuple(records))


def read_json(path: Path) -> Table:
    """Read a JSON file holding a list of objects (or an object with exactly one such list)."""
    with _open_text(path) as handle:
        try:
            value = json.load(handle)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from exc
    items = _records_list(path, value)
    records = []
    for number, item in enumerate(items, start=1):
        where = f"item {number}"
        if not isinstance(item, dict):
            raise DatasetError(f"{path}: {where}: expected a JSON object, got {type(item).__name__}")
        records.append(Record(path, item, number, where))
    return Table(path, _columns_of(records), tuple(records))


def read_parquet(path: Path) -> Table:
    """Read a Parquet file (through pandas and pyarrow)."""
    import pandas as pd

    _check_readable(path)
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise DatasetError(f"{path}: reading Parquet needs pyarrow ({exc})") from exc
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DatasetError(f"{path}: not a readable Parquet file ({exc})") from exc
    columns = tuple(str(column) for column in frame.columns)
    records = tuple(
        Record(path, dict(zip(columns, values, strict=True)), number, f"row {number}")
        for number, values in enumerate(frame.itertuples(index=False, name=None), start=1)
    )
    return Table(path, columns, records)


def _records_list(path: Path, value: Any) -> list[Any]:
    """Return the list of records a JSON document holds, or raise naming what it holds instead."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        lists = [key for key, item in value.items() if isinstance(item, list)]
        if len(lists) == 1:
            return value[lists[0]]
        raise DatasetError(
            f"{path}: expected a JSON list of objects, or an object holding exactly one list; "
            f"got an object with keys {', '.join(map(str, value)) or '(none)'}"
        )
    raise DatasetError(f"{path}: expected a JSON list of objects, got {type(value).__name__}")


def _columns_of(records: list[Record]) -> tuple[str, ...]:
    """Return every key used by any record, in order of first appearance."""
    seen: dict[str, None] = {}
    for record in records:
        for key in record.values:
            seen.setdefault(key, None)
    return tuple(seen)


def _check_header(path: Path, columns: tuple[str, ...]) -> None:
    """Reject a CSV header with blank or repeated column names (a later column would win silently)."""
    seen: dict[str, int] = {}
    for position, column in enumerate(columns, start=1):
        if not column.strip():
            raise DatasetError(f"{path}: header: column {position} has no name")
        if column in seen:
            raise DatasetError(
                f"{path}: header: column {column!r} appears twice (columns {seen[column]} and {position})"
            )
        seen[column] = position


def _check_readable(path: Path) -> None:
    """Raise a DatasetError naming the file if it is missing or is a folder."""
    if not path.exists():
        raise DatasetError(f"{path}: file not found")
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder, not a file")


class _open_text:
    """Open a (possibly gzip-compressed) UTF-8 text file; turn every read failure into DatasetError.

    Used as a context manager; decoding errors raised while the body reads the file are caught
    on exit and re-raised as DatasetError naming the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: TextIO | None = None

    def __enter__(self) -> TextIO:
        _check_readable(self.path)
        try:
            if self.path.name.lower().endswith(".gz"):
                raw = gzip.open(self.path, "rb")
                self.handle = io.TextIOWrapper(raw, encoding=TEXT_ENCODING, newline="")
            else:
                self.handle = open(self.path, encoding=TEXT_ENCODING, newline="")
        except OSError as exc:
            raise DatasetError(f"{self.path}: cannot open file ({exc.strerror or exc})") from exc
        return self.handle

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if self.handle is not None:
            self.handle.close()
        if isinstance(exc, UnicodeDecodeError):
            raise DatasetError(f"{self.path}: {_undecodable_line(self.path)}: not UTF-8 text") from exc
        if isinstance(exc, gzip.BadGzipFile | EOFError):
            raise DatasetError(f"{self.path}: not a valid gzip file ({exc})") from exc
        if isinstance(exc, OSError):
            raise DatasetError(f"{self.path}: cannot read file ({exc})") from exc


def _undecodable_line(path: Path) -> str:
    """Return "line N" for the first line of a file that is not valid UTF-8."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    try:
        data.decode(TEXT_ENCODING)
    except UnicodeDecodeError as exc:
        return f"line {data.count(NEWLINE, 0, exc.start) + 1}"
    return "a line"
