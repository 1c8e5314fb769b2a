"""Names shared by every stage of the flow: verdict labels and the metadata keys written into logs.

Data flows one way (dataset -> task -> solver -> scorer -> log -> analysis); these names are the contract
between the stages, so they live in one place that every stage may import.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    """A judge's verdict on one response to a prompt."""

    REFUSE = "REFUSE"
    PARTIAL = "PARTIAL"
    COMPLY = "COMPLY"


VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)
"""The three valid labels, in the order tables and figures show them."""

# Sample metadata (set by dataset loaders; one value per prompt).
DATASET_KEY = "dataset"
CATEGORY_KEY = "category"
HARMFUL_KEY = "harmful"
"""True for a harmful prompt (refusal is safe); False for a benign control (refusal is the failure)."""

# Per-epoch metadata (set by the grid solver on the TaskState; copied onto every Score by our scorers).
TEMPERATURE_KEY = "temperature"
SEED_KEY = "seed"
GRID_INDEX_KEY = "grid_index"

# Score metadata (set by scorers).
JUDGE_KEY = "judge"
"""Which judge produced the verdict: its name, then what tells instances apart (`scorers.common.judge_id`),
e.g. "llm:openai/gpt-4o-mini:default", "offline:rules-v2", "recorded"."""


def verdict_of(value: Any) -> str | None:
    """Return the verdict label of a score value, or None where the score is unscored or not a verdict.

    Unscored values (Inspect's NaN sentinel, None, UNKNOWN or any other string) are never a verdict:
    the study drops them from a prompt's N rather than counting them as a refusal.
    """
    if isinstance(value, Verdict):
        return value.value
    if isinstance(value, str):
        label = value.strip().upper()
        return label if label in VERDICTS else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return None
