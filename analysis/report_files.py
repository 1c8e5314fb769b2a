"""The report's tables as files: every CSV, statistics.csv (long form) and statistics.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from refusal_stability.analysis import per_prompt, tidy
from refusal_stability.analysis.load import LoadResult

if TYPE_CHECKING:
    from refusal_stability.analysis.report import Analysis


def write_tables(analysis: Analysis, loaded: LoadResult, out: Path) -> None:
    """Write every CSV (statistics.json apart: `write_statistics`, once the timings are known)."""
    tables = {
        "summary": analysis.summary,
        "per_prompt": analysis.prompts,
        "per_prompt_temperature": analysis.prompts_by_temperature,
        "groups": analysis.groups,
        "determinism": analysis.determinism,
        "engine_floor": analysis.engine,
        "single_shot": analysis.curves,
        "runs": analysis.runs,
        "run_spread": analysis.spread,
        "judge_agreement": analysis.agreement,
        "logs": loaded.report_frame(),
        "unscored_prompts": per_prompt.unscored_prompts(analysis.prompts),
        **analysis.publishable,
    }
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    long = [_long(name, table) for name, table in _statistics(analysis).items() if len(table)]
    (pd.concat(long, ignore_index=True) if long else pd.DataFrame()).to_csv(
        out / "statistics.csv", index=False
    )


def write_statistics(analysis: Analysis, out: Path) -> None:
    """Write statistics.json: the tests' tables, the confusion matrices and each step's seconds."""
    payload: dict[str, Any] = {name: _records(table) for name, table in _statistics(analysis).items()}
    payload["confusion_matrices"] = {
        name: {
            "rows": m.index.name,
            "columns": m.columns.name,
            "labels": list(m.index),
            "counts": m.to_numpy().tolist(),
        }
        for name, m in analysis.confusion.items()
    }
    payload["timings_s"] = analysis.timings
    (out / "statistics.json").write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")


def _statistics(analysis: Analysis) -> dict[str, pd.DataFrame]:
    """The statistical tests' tables, by name (statistics.csv in long form, statistics.json as records)."""
    return {
        "friedman": analysis.friedman,
        "wilcoxon_posthoc": analysis.posthoc,
        "spearman_comply_vs_ssi": analysis.spearman,
        "determinism": analysis.determinism,
        "single_shot_needed": analysis.needed,
        "single_shot_n1": analysis.curves[analysis.curves["n"] == 1]
        if len(analysis.curves)
        else analysis.curves,
        "judge_agreement": analysis.agreement,
        "run_spread": analysis.spread,
    }


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON records (NaN -> null)."""
    if table.empty:
        return []
    return json.loads(table.to_json(orient="records", default_handler=str))


def _long(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """A statistics table in long form: test, the group's label columns, statistic, value."""
    labels = (
        *tidy.RUN_KEYS,
        tidy.HARMFUL,
        tidy.TEMPERATURE,
        "scope",
        "target",
        "temperature_a",
        "temperature_b",
        "judge_a",
        "judge_b",
        "metric",
        "n",
    )
    id_columns = [c for c in table.columns if c in labels or (table[c].dtype == object and c != "summary")]
    values = [c for c in table.columns if c not in id_columns]
    long = table.astype({c: str for c in id_columns if c in table}).melt(
        id_vars=id_columns, value_vars=values, var_name="statistic", value_name="value"
    )
    long.insert(0, "test", name)
    return long
