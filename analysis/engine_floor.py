"""The engine's non-determinism floor from the logs: same-seed repeats against their cell's first run.

The live `engine_floor` metric (scorers/engine_floor.py) and this table agree exactly: a pair is an
engine repeat and the first run of the same prompt, temperature and seed under the same run and judge,
both with a verdict; the response differs when its hash does, the verdict when the labels do.
"""

from __future__ import annotations

import pandas as pd

from refusal_stability.analysis import tidy

CELL_KEYS: tuple[str, ...] = (*tidy.PROMPT_KEYS, tidy.TEMPERATURE, tidy.SEED)
"""What identifies one grid cell of one prompt (a repeat's partner shares all of it)."""

COLUMNS: tuple[str, ...] = (
    *tidy.RUN_KEYS,
    "engine_repeats",
    "response_mismatches",
    "engine_mismatch_rate",
    "verdict_mismatches",
    "engine_verdict_mismatch_rate",
)


def engine_floor(frame: pd.DataFrame, repeats: pd.DataFrame) -> pd.DataFrame:
    """One row per run and judge: compared repeat pairs and how often the response / verdict differed.

    Args:
        frame: The tidy table of grid cells (engine repeats already set apart).
        repeats: The tidy rows of the engine repeats (`LoadResult.repeats`).

    Returns:
        A table with `COLUMNS`; empty when there is no repeat. Rates are fractions (0-1).
    """
    keys = list(CELL_KEYS)
    scored_repeats = repeats[repeats[tidy.VERDICT].notna()]
    if scored_repeats.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    firsts = _plain(frame[frame[tidy.VERDICT].notna()], keys).drop_duplicates(keys)
    pairs = _plain(scored_repeats, keys).merge(firsts, on=keys, suffixes=("_repeat", ""))
    pairs["response_mismatches"] = pairs[f"{tidy.RESPONSE_HASH}_repeat"] != pairs[tidy.RESPONSE_HASH]
    pairs["verdict_mismatches"] = pairs[f"{tidy.VERDICT}_repeat"] != pairs[tidy.VERDICT]
    table = (
        pairs.groupby(list(tidy.RUN_KEYS), dropna=False, sort=True)
        .agg(
            engine_repeats=("response_mismatches", "size"),
            response_mismatches=("response_mismatches", "sum"),
            verdict_mismatches=("verdict_mismatches", "sum"),
        )
        .reset_index()
    )
    table["engine_mismatch_rate"] = table["response_mismatches"] / table["engine_repeats"]
    table["engine_verdict_mismatch_rate"] = table["verdict_mismatches"] / table["engine_repeats"]
    return table[list(COLUMNS)]


def _plain(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The keys, hash and verdict with categoricals as plain strings, so frames from other logs merge."""
    out = frame[[*keys, tidy.RESPONSE_HASH, tidy.VERDICT]].copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return out
