"""The ``auto`` judge: the ``llm`` judge when a grader is bound, else the ``offline`` rules judge, loudly.

Model roles are bound only once the eval runs (Inspect's `model_roles()` is not available while a task
is built), so the choice is made inside `score()`; each score's ``judge`` metadata names the judge that
was actually used (``llm:<grader>:<template>`` or ``offline:<rules>``), so the analysis never pools
LLM and rules verdicts under one name.
"""

from __future__ import annotations

import logging
import warnings

from inspect_ai.model import model_roles
from inspect_ai.scorer import Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState

from refusal_stability.scorers.grader_failures import GRADER_FAILURE_LIMIT
from refusal_stability.scorers.llm import GRADER_ROLE, llm_judge
from refusal_stability.scorers.metrics import stability_metrics
from refusal_stability.scorers.offline import OFFLINE_JUDGE_VERSION, offline_judge
from refusal_stability.scorers.templates import DEFAULT_TEMPLATE_NAME

logger = logging.getLogger(__name__)

NAME = "auto"
"""The option's one name: ``-T judge=auto``, scorer ``auto_judge``; its scores name the judge used."""

OFFLINE_FALLBACK_WARNING = (
    "judge=auto found no grader model (no 'grader' model role and no `grader` argument): "
    f"verdicts come from the OFFLINE RULES judge ({OFFLINE_JUDGE_VERSION}), not an LLM judge. "
    "Bind a grader (`--model-role grader=<model>`) for LLM verdicts, or pass `-T judge=offline` "
    "to choose the rules judge explicitly."
)


def grader_available(grader: str | None = None) -> bool:
    """True when the LLM judge has a grader: a `grader` name or a bound ``grader`` role."""
    return grader is not None or GRADER_ROLE in model_roles()


@scorer(metrics=stability_metrics())
def auto_judge(
    template: str = DEFAULT_TEMPLATE_NAME,
    grader: str | None = None,
    failure_limit: float = GRADER_FAILURE_LIMIT,
) -> Scorer:
    """The LLM judge if a grader is known when scoring, else the offline rules judge.

    The choice is made at each score (a dictionary look-up), so a task object evaluated once
    with and once without a grader judges each run correctly. The fallback is announced loudly,
    once per scorer (a `UserWarning` and a log warning), because offline verdicts are not
    LLM-judge verdicts.

    Args:
        template: LLM judge template, if the LLM judge is used.
        grader: Grader model name; when given the LLM judge is always used.
        failure_limit: The LLM judge's grader failure limit (see `llm.llm_judge`).
    """
    llm = llm_judge(template=template, grader=grader, failure_limit=failure_limit)
    rules = offline_judge()
    warned: list[bool] = []

    async def score(state: TaskState, target: Target) -> Score:
        if grader_available(grader):
            return await llm(state, target)
        if not warned:
            warned.append(True)
            warnings.warn(OFFLINE_FALLBACK_WARNING, UserWarning, stacklevel=2)
            logger.warning(OFFLINE_FALLBACK_WARNING)
        return await rules(state, target)

    return score
