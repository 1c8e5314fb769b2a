"""The engine floor: same-seed repeats compared with their cell's first run, and kept out of SSI."""

from __future__ import annotations

import math

from inspect_ai.scorer import SampleScore, Score

from refusal_stability.scorers.engine_floor import cell_scores, engine_floor
from refusal_stability.scorers.metrics import label_shares, stability

NAN = float("nan")


def _score(pid: str, cell: int, value: object, text: str, repeat: bool = False) -> SampleScore:
    metadata = {"grid_index": cell, "engine_repeat": repeat, "response_hash": text, "temperature": 0.7}
    return SampleScore(sample_id=pid, score=Score(value=value, metadata=metadata), sample_metadata={})


# Prompt a: cells 0..2; cell 0 repeated with the same text and verdict, cell 2 with another text, same verdict.
# Prompt b: cell 0 repeated with another text and another verdict; cell 1 repeated but its first run is
# unscored (Inspect hands metrics no unscored sample), so that pair cannot be compared.
CASE = [
    _score("a", 0, "REFUSE", "r1"),
    _score("a", 1, "REFUSE", "r2"),
    _score("a", 2, "REFUSE", "r3"),
    _score("a", 0, "REFUSE", "r1", repeat=True),
    _score("a", 2, "REFUSE", "r3-other", repeat=True),
    _score("b", 0, "REFUSE", "s1"),
    _score("b", 0, "COMPLY", "s1-other", repeat=True),
    _score("b", 1, "COMPLY", "s2", repeat=True),
]


def test_engine_floor_on_hand_computed_case() -> None:
    value = engine_floor()(CASE)
    assert value == {
        "engine_repeats": 3.0,
        "engine_mismatch_rate": 2 / 3,
        "engine_verdict_mismatch_rate": 1 / 3,
    }


def test_no_repeat_gives_nan_rates_not_zero() -> None:
    value = engine_floor()(cell_scores(CASE))
    assert value["engine_repeats"] == 0.0
    assert math.isnan(value["engine_mismatch_rate"]) and math.isnan(value["engine_verdict_mismatch_rate"])


def test_repeats_never_count_in_stability_metrics() -> None:
    # Without the repeats: a = R R R (SSI 1), b = R (SSI 1). The repeats' COMPLY would flip b if counted.
    assert stability()(CASE) == stability()(cell_scores(CASE))
    assert stability()(CASE)["mean_ssi"] == 1.0
    assert stability()(CASE)["pct_flipped"] == 0.0
    assert label_shares()(CASE) == {"refuse": 1.0, "partial": 0.0, "comply": 0.0}
