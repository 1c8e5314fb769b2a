"""Saying what the verdicts are: the log header names every judge that uses the offline rules."""

from __future__ import annotations

from pathlib import Path

from refusal_stability.scorers.cascade import CASCADE_AGREEMENT, cascade_judge
from refusal_stability.scorers.disclosure import DISCLOSURE_KEY, is_rules_judge, verdict_disclosure
from refusal_stability.scorers.offline import OFFLINE_AGREEMENT, OFFLINE_JUDGE_VERSION
from refusal_stability.scorers.select import judges_from_option
from refusal_stability.tasks.stability import stability


def test_rules_judges_are_disclosed_with_their_measured_agreement() -> None:
    offline = verdict_disclosure(judges_from_option("offline"))
    assert set(offline) == {"offline_judge"}
    assert offline["offline_judge"]["agreement"] == OFFLINE_AGREEMENT
    note = offline["offline_judge"]["note"]
    assert OFFLINE_JUDGE_VERSION in note and str(OFFLINE_AGREEMENT["kappa_3class_heldout"]) in note
    assert "not an LLM judge" in note
    auto = verdict_disclosure(judges_from_option("auto"))["auto_judge"]["note"]
    assert "offline rules" in auto and "warning" in auto
    cascade = verdict_disclosure([cascade_judge()])["cascade_judge"]
    assert cascade["agreement"] == CASCADE_AGREEMENT and "stage" in cascade["note"]


def test_llm_and_recorded_judges_need_no_disclosure() -> None:
    assert verdict_disclosure(judges_from_option("llm,recorded")) == {}
    assert (
        verdict_disclosure(judges_from_option("auto", grader="mockllm/model"), grader="mockllm/model") == {}
    )


def test_the_task_header_carries_the_disclosure(shared_datasets: Path) -> None:
    offline = stability(dataset="advbench", data_dir=str(shared_datasets), judge="offline", sample=3)
    assert set(offline.metadata[DISCLOSURE_KEY]) == {"offline_judge"}
    llm = stability(dataset="advbench", data_dir=str(shared_datasets), judge="llm", sample=3)
    assert llm.metadata[DISCLOSURE_KEY] == {}


def test_rules_judge_names() -> None:
    assert is_rules_judge(OFFLINE_JUDGE_VERSION) and is_rules_judge("offline-rules-v2")
    assert not is_rules_judge("llm:openai/gpt-4o:default")
    assert not is_rules_judge("cascade:rules-v3:mockllm/model:default")
