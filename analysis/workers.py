"""How many worker processes the analysis starts: one per CPU, at most `MAX_WORKERS`.

Reading logs (`load.py`), the prompt model's bootstrap fits (`prompt_model.py`), and the report's single-shot
curves and figures (`report.py`) each spread their work over worker processes. Each worker holds its own copy
of its inputs and pays its own start-up, so past a handful of processes a report gains little and costs
memory.
"""

from __future__ import annotations

import os

MAX_WORKERS = 8
"""At most this many worker processes for any step of the analysis."""


def cpu_workers(limit: int | None = None) -> int:
    """Worker processes for a step: one per CPU, at most `MAX_WORKERS` and at most `limit` (at least 1)."""
    count = min(os.cpu_count() or 1, MAX_WORKERS)
    return max(1, min(count, limit) if limit is not None else count)
