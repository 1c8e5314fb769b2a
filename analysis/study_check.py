"""The study checks: a run on the study's prompts judged by recorded verdicts, beside its published figures.

`is_study_run` decides which runs are set beside `PUBLISHED_STUDY` (dataset `paper`, judge `recorded`,
whatever the model is called); `published_rows` makes the table of measured against published.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from refusal_stability.analysis import tidy
from refusal_stability.analysis.study_labels import STUDY_DATASET, STUDY_JUDGE
from refusal_stability.schema import MEAN_SSI, PCT_FLIPPED, PCT_UNSTABLE

if TYPE_CHECKING:
    from refusal_stability.analysis.report import Analysis

PUBLISHED_STUDY: dict[str, float] = {
    MEAN_SSI: 0.9293,
    PCT_UNSTABLE: 14.04,
    PCT_FLIPPED: 24.09,
    "exact_match_pct": 17.6,
}
"""The study's published figures for Qwen2.5-7B-Instruct on its 876 prompts (UNKNOWN dropped from N)."""
STUDY_RULE = (
    f"Shown for every run on the study's prompt set (dataset `{STUDY_DATASET}`) judged by recorded "
    f"verdicts (judge `{STUDY_JUDGE}`): the study's own Qwen2.5-7B-Instruct responses and labels, "
    "replayed through the task or read from its CSVs. A subset of the prompts, or another model's "
    "recorded verdicts, matches the rule too: compare n_prompts with 876 before reading the differences."
)
"""Which runs are set beside the published figures, and why (printed with the table)."""


def published_rows(analysis: Analysis) -> pd.DataFrame:
    """Measured beside published figures, for the runs `is_study_run` accepts (see `STUDY_RULE`)."""
    overall = analysis.groups[analysis.groups["level"] == "overall"]
    rows = []
    for _, g in overall.iterrows():
        if not is_study_run(g):
            continue
        det = analysis.determinism
        if len(det):
            det = det[(det[tidy.RUN] == g[tidy.RUN]) & (det[tidy.JUDGE] == g[tidy.JUDGE])]
        measured = {
            MEAN_SSI: g[MEAN_SSI],
            PCT_UNSTABLE: g[PCT_UNSTABLE],
            PCT_FLIPPED: g[PCT_FLIPPED],
            "exact_match_pct": det["exact_match_pct"].iloc[0] if len(det) else np.nan,
        }
        for metric, published in PUBLISHED_STUDY.items():
            rows.append(
                {
                    "run": g[tidy.RUN],
                    "judge": g[tidy.JUDGE],
                    "n_prompts": g["n_prompts"],
                    "figure": metric,
                    "published": published,
                    "measured": measured[metric],
                    "difference": measured[metric] - published,
                }
            )
    return pd.DataFrame(rows)


def is_study_run(group: pd.Series) -> bool:
    """Whether a row of the overall group table is the study's run: its prompt set, recorded verdicts."""
    return str(group[tidy.DATASET]) == STUDY_DATASET and str(group[tidy.JUDGE]) == STUDY_JUDGE
