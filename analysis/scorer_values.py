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

from refusal_stability.schema import VERDICTS, verdict_of
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
    """The user's ``--label-map`` options: ``SPEC`` (every scorer without verdicts) or ``SCORER@SPEC``."""

    def __init__(self, specs: Sequence[str] = ()) -> None:
        self.targeted: dict[str, VerdictMap] = {}
        self.general: list[VerdictMap] = []
        for option in specs:
            scorer, spec = split_target(option)
            mapping = parse_verdict_map(spec)
            if scorer is None:
                self.general.append(mapping)
            elif scorer in self.targeted:
                raise ValueError(f"--label-map names scorer {scorer!r} twice")
            else:
                self.targeted[scorer] = mapping

    def __bool__(self) -> bool:
        return bool(self.targeted or self.general)

    def verdict(self, scorer: str, value: Any) -> tuple[str | None, str | None]:
        """(verdict, map spec used) for one score value; a verdict value needs no map (spec None)."""
        label = verdict_of(value)
        if label is not None:
            return label, None
        maps = [self.targeted[scorer]] if scorer in self.targeted else self.general
        for mapping in maps:
            label = mapping(value)
            if label is not None:
                return label, mapping.spec
        return None, None


@dataclass
class ScorerValues:
    """What one scorer of one log gave: verdicts, unscored samples, and every other value, counted."""

    scorer: str
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

    def message(self, mapped: bool = False) -> str:
        """Say which scorer, which values it gave, and how to map them."""
        total = sum(self.others.values()) + self.unscored
        seen = ", ".join(f"{v} x{n}" for v, n in self.others.most_common(MAX_VALUES_SHOWN))
        more = len(self.others) - MAX_VALUES_SHOWN
        if more > 0:
            seen += f", and {more} other value(s)"
        what = "no value matched the --label-map given" if mapped else "its scores are not verdicts"
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
