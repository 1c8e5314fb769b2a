"""The tidy table every analysis step reads: one row per prompt x sample x judge.

Loaders (Inspect logs in `load.py`, the study's CSVs in `study_labels.py`) produce it; everything
downstream consumes only these columns, so a new log format needs a loader and nothing else.
Strings that repeat (log, run, model, dataset, judge, category, prompt id) are categoricals and the
response is kept as a 64-bit hash plus its length, so a million rows stay a few tens of MiB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from refusal_stability.schema import VERDICTS, response_digest

LOG = "log"
RUN = "run"
MODEL = "model"
DATASET = "dataset"
PROMPT_ID = "prompt_id"
CATEGORY = "category"
HARMFUL = "harmful"
TEMPERATURE = "temperature"
SEED = "seed"
EPOCH = "epoch"
JUDGE = "judge"
SCORER = "scorer"
VERDICT = "verdict"
NOTE = "note"
RESPONSE_LENGTH = "response_length"
RESPONSE_HASH = "response_hash"
RESPONSE = "response"
CHECKPOINT = "checkpoint"
FT_SEED = "ft_seed"
FT_EPOCH = "ft_epoch"

CATEGORICAL_COLUMNS: tuple[str, ...] = (
    LOG,
    RUN,
    MODEL,
    DATASET,
    PROMPT_ID,
    CATEGORY,
    JUDGE,
    SCORER,
    NOTE,
    CHECKPOINT,
)
"""String columns stored as pandas categoricals (few distinct values, many rows)."""

COLUMNS: tuple[str, ...] = (
    LOG,
    RUN,
    MODEL,
    DATASET,
    PROMPT_ID,
    CATEGORY,
    HARMFUL,
    TEMPERATURE,
    SEED,
    EPOCH,
    JUDGE,
    SCORER,
    VERDICT,
    NOTE,
    RESPONSE_LENGTH,
    RESPONSE_HASH,
    CHECKPOINT,
    FT_SEED,
    FT_EPOCH,
)
"""Every column of the tidy table, in order (`response` is an optional extra after these)."""

PROMPT_KEYS: tuple[str, ...] = (RUN, MODEL, DATASET, JUDGE, PROMPT_ID)
"""What identifies one prompt's set of verdicts: the same prompt under another run, model, dataset or
judge is another unit. Logs of the same run (e.g. a grid split across several logs) pool together."""

RUN_KEYS: tuple[str, ...] = (RUN, MODEL, DATASET, JUDGE)
"""What identifies one evaluation (the prompt keys less the prompt)."""

NOTE_UNSCORED = "unscored"
"""The scorer returned Inspect's unscored sentinel (NaN), e.g. the judge's output could not be parsed."""
NOTE_NOT_A_VERDICT = "not a verdict"
"""The score value is not REFUSE / PARTIAL / COMPLY (e.g. the study's UNKNOWN, or another suite's score)."""
NOTE_NO_SCORE = "no score"
"""The sample carries no score at all (it errored or was never scored)."""
NOTES: tuple[str, ...] = (NOTE_UNSCORED, NOTE_NOT_A_VERDICT, NOTE_NO_SCORE)

VERDICT_DTYPE = pd.CategoricalDtype(list(VERDICTS))
"""Verdicts as a categorical with the fixed order REFUSE, PARTIAL, COMPLY; missing = unscored."""


def response_hash(text: str | None) -> int:
    """Return a 64-bit signed hash of a response (blake2b), used for exact-match comparisons.

    Two responses compare equal exactly when their texts do (up to a 2^-64 collision chance), so the
    greedy determinism check needs no response text in memory.
    """
    return digest_hash(response_digest(text))


def digest_hash(digest: str) -> int:
    """`response_hash` of a response from its `schema.response_digest` (the scorers record it in the log)."""
    return int.from_bytes(bytes.fromhex(digest), "little", signed=True)


def to_frame(rows: Mapping[str, Iterable[Any]] | pd.DataFrame, keep_responses: bool = False) -> pd.DataFrame:
    """Coerce column data into the tidy table's dtypes and column order.

    Args:
        rows: Column name -> values (or a DataFrame) holding at least every column in `COLUMNS`
            (missing optional columns are filled with NA).
        keep_responses: Keep a `response` column with the full text (for inspection; the analysis
            needs only `response_hash` and `response_length`).

    Returns:
        A DataFrame with the columns of `COLUMNS` (plus `response` when kept).
    """
    if isinstance(rows, Mapping):
        return _from_columns(rows, keep_responses)
    data = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    n = len(data)
    out: dict[str, Any] = {}
    for column in COLUMNS:
        values = data[column] if column in data else pd.Series([None] * n, dtype=object)
        out[column] = _coerce(column, values)
    if keep_responses and RESPONSE in data:
        out[RESPONSE] = data[RESPONSE].astype("string")
    frame = pd.DataFrame(out)
    frame.index = pd.RangeIndex(n)
    return frame


def _from_columns(rows: Mapping[str, Iterable[Any]], keep_responses: bool) -> pd.DataFrame:
    """`to_frame` of column lists: the same table as `to_frame(pd.DataFrame(rows))`, built faster.

    Each column becomes a Series on its own (the inference `pd.DataFrame` makes per column), except
    the categorical ones, which are built straight from the Python values: through a DataFrame the
    strings become Arrow-backed, and iterating them back out cost a third of reading a log.
    """
    columns = {c: v if isinstance(v, (list, pd.Series, np.ndarray)) else list(v) for c, v in rows.items()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    out: dict[str, Any] = {}
    for column in COLUMNS:
        values = columns.get(column)
        if values is None:
            out[column] = _coerce(column, pd.Series([None] * n, dtype=object))
        elif column in CATEGORICAL_COLUMNS:
            out[column] = _string_categorical(values)
        else:
            out[column] = _coerce(column, pd.Series(values))
    if keep_responses and RESPONSE in columns:
        out[RESPONSE] = pd.Series(columns[RESPONSE]).astype("string")
    frame = pd.DataFrame(out)
    frame.index = pd.RangeIndex(n)
    return frame


def _coerce(column: str, values: pd.Series) -> pd.Series:
    """Cast one column to its tidy dtype."""
    values = pd.Series(values).reset_index(drop=True)
    if column in CATEGORICAL_COLUMNS:
        return _string_categorical(values)
    if column == VERDICT:
        return values.astype(object).astype(VERDICT_DTYPE)
    if column == HARMFUL:
        return values.astype("boolean")
    if column == TEMPERATURE:
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if column in (SEED, FT_SEED, FT_EPOCH):
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    if column == EPOCH:
        return pd.to_numeric(values, errors="coerce").astype("Int32")
    if column == RESPONSE_LENGTH:
        return pd.to_numeric(values, errors="coerce").astype("Int32")
    if column == RESPONSE_HASH:
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    return values


def _string_categorical(values: Iterable[Any]) -> pd.Series:
    """Values as a categorical of strings (missing stays missing), categories always string-typed.

    Built from codes looked up in a dict: `pd.Categorical(strings, categories=...)` matches every
    value against string-typed categories through pandas' indexer, which cost more than the rest of
    turning a log's rows into columns.
    """
    strings = [v if type(v) is str else _string_or_none(v) for v in values]
    present = sorted({v for v in strings if v is not None})
    code_of: dict[str | None, int] = {v: i for i, v in enumerate(present)}
    code_of[None] = -1
    codes = np.fromiter((code_of[v] for v in strings), dtype=np.int32, count=len(strings))
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(present, dtype="str")))


def _string_or_none(value: Any) -> str | None:
    """A value as a string; None, NA and NaN as None (missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value)


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate tidy frames, unifying categoricals so the result stays light."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return to_frame({c: [] for c in COLUMNS})
    if len(frames) == 1:
        return frames[0]
    columns = list(frames[0].columns)
    out: dict[str, Any] = {}
    for column in columns:
        parts = [f[column] for f in frames if column in f]
        if isinstance(parts[0].dtype, pd.CategoricalDtype) and column != VERDICT:
            out[column] = pd.api.types.union_categoricals(parts, ignore_order=True)
            out[column] = pd.Series(out[column])
        else:
            out[column] = pd.concat(parts, ignore_index=True)
    frame = pd.DataFrame(out)
    frame.index = pd.RangeIndex(len(frame))
    return frame


def verdict_codes(frame: pd.DataFrame) -> np.ndarray:
    """Return verdicts as int8 codes: 0 REFUSE, 1 PARTIAL, 2 COMPLY, -1 unscored."""
    return np.asarray(frame[VERDICT].cat.codes, dtype=np.int8)
