"""A wrapped task's own scorer, read as a verdict: its score value passed through a verdict map.

Runs after the wrapped task's scorer and reads that scorer's Score from `state.scores` (Inspect fills it
scorer by scorer), so the suite's grader (often an LLM) is called once, not twice. Its verdicts carry the
stability metrics, so the log shows the SSI by the suite's own grades beside the SSI by our judge.
"""

from __future__ import annotations

from inspect_ai.scorer import Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState

from refusal_stability.scorers.common import answer_preview, verdict_score
from refusal_stability.scorers.metrics import stability_metrics
from refusal_stability.verdict_maps import mapped_judge_name, parse_verdict_map

SOURCE_VALUE_KEY = "source_value"
"""Score metadata: the wrapped scorer's value the verdict was mapped from."""
NO_SOURCE_SCORE = "no_source_score"
UNMAPPED = "unmapped_value"


@scorer(metrics=stability_metrics())
def mapped_verdict(source: str, verdict_map: str) -> Scorer:
    """The verdict of scorer `source`'s value under `verdict_map` (a preset or rules, see verdict_maps).

    A value the map does not cover, or a sample the source scorer left without a score, is unscored
    with the reason (and the value) kept: dropped from the prompt's N, never guessed.

    Args:
        source: Name of the scorer to read, as it appears in the sample's scores.
        verdict_map: A preset (``xstest``, ``strong_reject``, ``strong_reject_score``) or rules such as
            ``full_refusal=REFUSE,partial_refusal=PARTIAL,full_compliance=COMPLY``, ``<0.5=REFUSE,*=COMPLY``.
    """
    mapping = parse_verdict_map(verdict_map)
    judge = mapped_judge_name(source, mapping.spec)

    async def score(state: TaskState, target: Target) -> Score:
        found = (state.scores or {}).get(source)
        if found is None:
            return verdict_score(None, state, judge=judge, reason=f"{NO_SOURCE_SCORE}: {source}")
        label = mapping(found.value)
        reason = None if label is not None else f"{UNMAPPED}: {found.value!r}"
        return verdict_score(
            label,
            state,
            judge=judge,
            reason=reason,
            # the suite's own answer when it gives one (e.g. a choice), else the response's first words
            answer=answer_preview(found.answer) if found.answer else None,
            explanation=found.explanation,
            extra={SOURCE_VALUE_KEY: found.value},
        )

    return score
