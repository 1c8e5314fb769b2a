"""The judge registry: the task's ``judge`` option -> scorers.

Every judge has one name, used as the option (``-T judge=llm``), as its registered scorer
``<name>_judge`` (``refusal_stability/llm_judge``, the key of its scores in the log; what
``inspect score --scorer`` takes) and as the first field of the ``judge`` id in its scores'
metadata (``llm:<grader>:<template>``; see `common.judge_id`). `JUDGES` maps each name to a factory
of its scorer; adding a judge is one module ``scorers/<name>.py`` with its ``<name>_judge`` scorer,
one line here, its test and a README row.

``judge`` is one name or several joined by commas; each name gives one scorer, so two judges in
one run keep two verdicts per sample. ``auto`` stands alone (what it resolves to could repeat
another name): the ``llm`` judge when a grader is known, else ``offline`` with a loud warning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inspect_ai.scorer import Scorer

from refusal_stability.scorers import auto, cascade, llm, offline, recorded
from refusal_stability.scorers.grader_failures import GRADER_FAILURE_LIMIT
from refusal_stability.scorers.templates import DEFAULT_TEMPLATE_NAME

SCORER_SUFFIX = "_judge"
"""A judge named ``x`` registers its scorer as ``x_judge``."""


@dataclass(frozen=True)
class JudgeOptions:
    """The task parameters a judge may read (a judge ignores those it does not need)."""

    template: str = DEFAULT_TEMPLATE_NAME
    """LLM judge prompt template (``default``, ``study`` or ``short``)."""
    grader: str | None = None
    """Grader model name; None: the ``grader`` model role."""
    grader_failure_limit: float = GRADER_FAILURE_LIMIT
    """Share of grader calls that may fail before the run stops (see `grader_failures`)."""


JudgeFactory = Callable[[JudgeOptions], Scorer]

JUDGES: dict[str, JudgeFactory] = {
    auto.NAME: lambda o: auto.auto_judge(o.template, o.grader, o.grader_failure_limit),
    llm.NAME: lambda o: llm.llm_judge(o.template, o.grader, o.grader_failure_limit),
    cascade.NAME: lambda o: cascade.cascade_judge(o.template, o.grader, o.grader_failure_limit),
    offline.NAME: lambda o: offline.offline_judge(),
    recorded.NAME: lambda o: recorded.recorded_judge(),
}
"""Judge name -> its scorer factory. The option's default is `auto.NAME`."""


def judges_from_option(
    judge: str | Sequence[str] = auto.NAME,
    template: str = DEFAULT_TEMPLATE_NAME,
    grader: str | None = None,
    grader_failure_limit: float = GRADER_FAILURE_LIMIT,
) -> list[Scorer]:
    """Return the scorers named by the task's ``judge`` option.

    Args:
        judge: A name in `JUDGES` (``auto``, ``llm``, ``offline``, ``recorded``), or several joined
            by commas (e.g. ``"llm,offline"``: two judges, two verdicts per sample), or a list of
            names (``-T judge=llm,offline`` reaches the task as ``["llm", "offline"]``).
        template: LLM judge template (``default``, ``study`` or ``short``).
        grader: Grader model name for the LLM judge; else the ``grader`` model role.
        grader_failure_limit: Share of grader calls that may fail before the run stops.

    Returns:
        One scorer per name, in the order given.

    Raises:
        ValueError: An unknown or repeated name, or ``auto`` combined with others (what it
            resolves to could repeat one of them).
    """
    parts = (
        judge.split(",") if isinstance(judge, str) else [p for item in judge for p in str(item).split(",")]
    )
    names = [name.strip().lower() for name in parts if name.strip()]
    known = tuple(JUDGES)
    if not names:
        raise ValueError(f"No judge named in {judge!r}; expected some of {known}")
    unknown = [name for name in names if name not in JUDGES]
    if unknown:
        raise ValueError(f"Unknown judge(s) {unknown} in {judge!r}; expected {known}")
    if len(set(names)) != len(names):
        raise ValueError(f"Judge option {judge!r} names a judge twice")
    if auto.NAME in names and len(names) > 1:
        raise ValueError(f"'{auto.NAME}' stands alone; name the judges explicitly in {judge!r}")
    options = JudgeOptions(template=template, grader=grader, grader_failure_limit=grader_failure_limit)
    return [JUDGES[name](options) for name in names]
