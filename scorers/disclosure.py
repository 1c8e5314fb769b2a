"""Say what the verdicts are: a log-header note for every judge whose verdicts come from the rules.

Verdicts from the offline rules (``offline``, the ``cascade``'s stage 1, or ``auto`` falling back
without a grader) are not LLM-judge verdicts. The task writes `verdict_disclosure` into its
metadata (the log header), so whoever reads the log or a report built from it sees which judges
used the rules and how well those rules agreed with an LLM judge on held-out prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect_ai.scorer import Scorer
from inspect_ai.util import registry_info

from refusal_stability.scorers.cascade import CASCADE_AGREEMENT
from refusal_stability.scorers.common import JUDGE_ID_SEPARATOR
from refusal_stability.scorers.offline import NAME as OFFLINE_NAME
from refusal_stability.scorers.offline import OFFLINE_AGREEMENT, OFFLINE_JUDGE_VERSION

LEGACY_RULES_PREFIX = "offline-rules-"
"""Judge id of the offline rules in logs written before ids had fields (``offline-rules-v2``)."""
DISCLOSURE_KEY = "verdict_disclosure"
"""Task metadata key (log header) holding one note per judge that may use the offline rules."""

RULES_VERDICTS = (
    f"Verdicts from the offline rules ({OFFLINE_JUDGE_VERSION}), not an LLM judge: on held-out prompts they "
    "agreed with the study's LLM judge at 3-class kappa {kappa_3class_heldout} and refuse-vs-not kappa "
    "{kappa_refuse_vs_not_heldout}, and on another model's responses (SmolLM2-135M, labelled by an AI "
    "assistant) at {kappa_3class_other_model} and {kappa_refuse_vs_not_other_model}; treat them as a rough "
    "screen."
)
CASCADE_VERDICTS = (
    f"Cascade: the offline rules ({OFFLINE_JUDGE_VERSION}) decide the responses in a sure cell "
    "(the rule that fired and the words after the refusal: {sure_cells}), the LLM judge the rest (score "
    "metadata 'stage', 'rule', 'cell'). Replayed on the study's labels: {saved_share_heldout_pooled:.1%} "
    "of LLM calls saved on held-out prompt sources at kappa {kappa_heldout_pooled} against the LLM "
    "judge alone."
)
AUTO_VERDICTS = (
    "judge=auto: if no grader is bound when scoring starts, the verdicts come from the offline rules "
    "(a loud warning, and score metadata 'judge' = "
    f"{OFFLINE_JUDGE_VERSION}). " + RULES_VERDICTS
)

AUTO_SCORER = "auto_judge"
NOTES: dict[str, tuple[str, dict[str, Any]]] = {
    "offline_judge": (RULES_VERDICTS, OFFLINE_AGREEMENT),
    "auto_judge": (AUTO_VERDICTS, OFFLINE_AGREEMENT),
    "cascade_judge": (CASCADE_VERDICTS, CASCADE_AGREEMENT),
}
"""Scorer name -> (note template, the measured agreement it quotes)."""


def verdict_disclosure(scorers: Sequence[Scorer], grader: str | None = None) -> dict[str, dict[str, Any]]:
    """One note per scorer whose verdicts may come from the offline rules, with its measured agreement.

    Args:
        scorers: The task's scorers (as `select.judges_from_option` returns them).
        grader: The task's `grader` argument: with one, ``auto`` always uses the LLM judge.

    Returns:
        Scorer name -> ``{"note": <text>, "agreement": <measured figures and their provenance>}``;
        empty when every judge is an LLM judge or the recorded labels.
    """
    notes: dict[str, dict[str, Any]] = {}
    for scorer in scorers:
        name = registry_info(scorer).name.split("/")[-1]
        if name == AUTO_SCORER and grader is not None:
            continue
        if name in NOTES:
            template, agreement = NOTES[name]
            notes[name] = {"note": template.format(**agreement), "agreement": dict(agreement)}
    return notes


def is_rules_judge(judge: str) -> bool:
    """True for a judge id that means the offline rules alone made the verdicts.

    ``offline:rules-v3`` (and any later version), and the ids of logs written before judge ids had
    fields (``offline-rules-v2``).
    """
    return str(judge).split(JUDGE_ID_SEPARATOR)[0] == OFFLINE_NAME or str(judge).startswith(
        LEGACY_RULES_PREFIX
    )
