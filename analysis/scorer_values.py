"""Scores that are not verdicts: mapping them (``--label-map``) and saying plainly what a scorer gave.

Another suite's scorer grades in its own words (xstest's C / P / I, strong_reject's dict, a number). Read
as they are, none is a verdict, and a report would show SSI ``nan`` with no word why. The loader therefore
passes every value through `LabelMaps` (the user's ``--label-map`` specs, see `verdict_maps`) and counts,
per scorer, what it saw (`ScorerValues`); a scorer that gave no verdict at all gets a message naming the
scorer, the values it gave and the map that would read them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from refusal_stability.analysis import tidy
from refusal_stability.schema import JUDGE_KEY, VERDICTS
from refusal_stability.verdict_maps import (
    PRESETS,
    TARGET_SEPARATOR,
    VerdictMap,
    hint_for_scorer,
    parse_verdict_map,
    split_target,
)

MAX_VALUES_SHOWN = 6
"""How many distinct values a message lists (the most frequent first)."""
MAX_VALUE_CHARS = 40


class LabelMaps:
    """The user's ``--label-map`` options: one ``SPEC`` for every foreign scorer, ``SCORER@SPEC`` for one.

    A bare SPEC applies to the scorers that are not ours (their scores carry no ``judge`` metadata), so
    our judges' unscored samples never turn into a mapped judge of their own.
    """

    def __init__(self, specs: Sequence[str] = ()) -> None:
        self.targeted: dict[str, VerdictMap] = {}
        self.general: VerdictMap | None = None
        for option in specs:
            scorer, spec = split_target(option)
            if scorer is None:
                if self.general is not None:
                    raise ValueError(
                        f"--label-map {option!r}: only one map may go without a scorer; "
                        f"target the others with SCORER{TARGET_SEPARATOR}SPEC"
                    )
                self.general = parse_verdict_map(spec)
            elif scorer in self.targeted:
                raise ValueError(f"--label-map names scorer {scorer!r} twice")
            else:
                self.targeted[scorer] = parse_verdict_map(spec)

    def __bool__(self) -> bool:
        return bool(self.targeted) or self.general is not None

    def map_for(self, scorer: str, score_metadata: dict[str, Any]) -> VerdictMap | None:
        """The map that applies to this scorer's scores, if any."""
        if scorer in self.targeted:
            return self.targeted[scorer]
        if self.general is not None and JUDGE_KEY not in score_metadata:
            return self.general
        return None


def drop_judges_without_verdicts(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Leave out the judges that gave no verdict at all (their SSI would be nan), naming them."""
    counts = frame.groupby(tidy.JUDGE, observed=True)[tidy.VERDICT].count()
    empty = sorted(str(judge) for judge, n in counts.items() if n == 0)
    if not empty:
        return frame, []
    return frame[~frame[tidy.JUDGE].isin(empty)], empty


@dataclass
class ScorerValues:
    """What one scorer of one log gave: verdicts, unscored samples, and every other value, counted."""

    scorer: str
    mapped_by: str | None = None
    """The --label-map spec applied to this scorer, if any."""
    verdicts: int = 0
    unscored: int = 0
    others: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    keys: set[str] = field(default_factory=set)

    def add(self, value: Any, verdict: str | None) -> None:
        """Count one score value and whether it was (or was mapped to) a verdict."""
        if verdict is not None:
            self.verdicts += 1
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            self.unscored += 1
        else:
            self.others[_shown(value)] += 1
            self.kinds[_kind(value)] += 1
            if isinstance(value, dict):
                self.keys.update(map(str, value))

    @property
    def without_verdicts(self) -> bool:
        """True when the scorer gave values but not one verdict (its SSI would be nan)."""
        return self.verdicts == 0 and bool(self.others)

    def message(self) -> str:
        """Say which scorer, which values it gave, and how to map them."""
        total = sum(self.others.values()) + self.unscored
        seen = ", ".join(f"{v} x{n}" for v, n in self.others.most_common(MAX_VALUES_SHOWN))
        more = len(self.others) - MAX_VALUES_SHOWN
        if more > 0:
            seen += f", and {more} other value(s)"
        what = (
            f"no value matched --label-map {self.mapped_by!r}"
            if self.mapped_by
            else "its scores are not verdicts"
        )
        return (
            f"scorer {self.scorer!r} gave no {' / '.join(VERDICTS)} verdict ({what}): {total} score(s), "
            f"values seen: {seen}. {self._how_to_map()}"
        )

    def _how_to_map(self) -> str:
        hint = hint_for_scorer(self.scorer)
        example = _example_rules(self)
        advice = (
            f"Map them with --label-map '{self.scorer}{TARGET_SEPARATOR}{example}' (LABEL one of "
            f"{', '.join(VERDICTS)}; rules MATCH=LABEL, first match wins; thresholds like <0.5=REFUSE; "
            f"FIELD:MATCH for dict scores; presets: {', '.join(PRESETS)})"
        )
        if hint:
            preset = f"{self.scorer}{TARGET_SEPARATOR}{hint}"
            advice = f"This looks like inspect_evals' {hint} grader: --label-map '{preset}'. Or m{advice[1:]}"
        return advice + ", or -T verdict_map=... when wrapping the task (tasks/wrap.py)."


def _example_rules(values: ScorerValues) -> str:
    """An example map built from what the scorer gave, for the message."""
    kind = values.kinds.most_common(1)[0][0] if values.kinds else "text"
    if kind == "dict":
        return ",".join(f"{key}:VALUE=LABEL" for key in sorted(values.keys)[:3]) or "FIELD:VALUE=LABEL"
    if kind == "number":
        return "<0.5=REFUSE,>=0.5=COMPLY"
    words = [v.strip("'") for v, _ in values.others.most_common(3)]
    return ",".join(f"{w}=LABEL" for w in words)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."
