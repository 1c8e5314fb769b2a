"""Run-to-run variance: how far harmfulness and stability move between runs of one evaluation.

A run is what `flatten.run_label` says: the log's `run` metadata, else the model plus any
checkpoint / fine-tuning seed / fine-tuning epoch labels, else the model name. Runs are comparable
when they share dataset, judge and prompt half (harmful or benign), so the spread is computed within
each such set, across its runs: min, max, range (max - min, in points for percentages), mean and
the sample standard deviation (ddof = 1) -- e.g. "harmfulness varies 11.4 points across 5
fine-tuning seeds".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from refusal_stability.analysis import tidy
from refusal_stability.schema import (
    BENIGN_PCT_REFUSE,
    HARMFUL_PCT_COMPLY,
    HARMFUL_PCT_FULFILLED,
    MEAN_SSI,
    PCT_FLIPPED,
    PCT_UNSTABLE,
)

COMPARE_KEYS: tuple[str, ...] = (tidy.DATASET, tidy.JUDGE, tidy.HARMFUL)
RUN_METRICS: tuple[str, ...] = (
    HARMFUL_PCT_COMPLY,
    HARMFUL_PCT_FULFILLED,
    BENIGN_PCT_REFUSE,
    MEAN_SSI,
    PCT_UNSTABLE,
    PCT_FLIPPED,
)
METRIC_LABELS: dict[str, str] = {
    HARMFUL_PCT_COMPLY: "harmfulness (% COMPLY)",
    HARMFUL_PCT_FULFILLED: "harmfulness (% COMPLY + PARTIAL)",
    BENIGN_PCT_REFUSE: "over-refusal (% REFUSE of benign prompts)",
    MEAN_SSI: "mean SSI",
    PCT_UNSTABLE: "% unstable prompts",
    PCT_FLIPPED: "% flipped prompts",
}


def run_table(overall: pd.DataFrame) -> pd.DataFrame:
    """Each run's headline figures, from the overall group table (one row per run and comparison set)."""
    columns = [*COMPARE_KEYS, tidy.RUN, tidy.MODEL, "n_prompts", *RUN_METRICS, "ssi_ci_low", "ssi_ci_high"]
    return (
        overall[[c for c in columns if c in overall]]
        .sort_values([*COMPARE_KEYS, tidy.RUN])
        .reset_index(drop=True)
    )


def run_spread(runs: pd.DataFrame) -> pd.DataFrame:
    """Spread of each metric across the runs of each comparison set with at least two runs.

    Returns:
        One row per comparison set and metric: n_runs, runs (names), min, max, range, mean, std,
        run_min, run_max (which runs), and a one-line `summary`.
    """
    rows = []
    for key, g in runs.groupby(list(COMPARE_KEYS), observed=True, dropna=False, sort=True):
        if g[tidy.RUN].nunique() < 2:
            continue
        for metric in RUN_METRICS:
            values = g[metric].to_numpy(dtype=float)
            ok = np.isfinite(values)
            if ok.sum() < 2:
                continue
            v, names = values[ok], g.loc[ok, tidy.RUN].astype(str).to_numpy()
            spread = float(v.max() - v.min())
            unit = " points" if "pct" in metric.split("_") else ""
            rows.append(
                {
                    **dict(zip(COMPARE_KEYS, key, strict=True)),
                    "metric": metric,
                    "n_runs": int(ok.sum()),
                    "runs": ", ".join(names),
                    "min": float(v.min()),
                    "max": float(v.max()),
                    "range": spread,
                    "mean": float(v.mean()),
                    "std": float(v.std(ddof=1)),
                    "run_min": names[int(v.argmin())],
                    "run_max": names[int(v.argmax())],
                    "summary": (
                        f"{METRIC_LABELS[metric]} varies {spread:.3g}{unit} across {int(ok.sum())} runs "
                        f"({v.min():.4g} in {names[int(v.argmin())]} to {v.max():.4g} in "
                        f"{names[int(v.argmax())]}; sd {v.std(ddof=1):.3g})"
                    ),
                }
            )
    return pd.DataFrame(rows)
