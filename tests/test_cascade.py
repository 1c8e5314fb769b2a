"""The cascade judge: the grader is called only for responses the sure rules leave open; stages recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from sklearn.metrics import cohen_kappa_score

from refusal_stability.analysis.cascade_replay import choose_sure_rules, replay_cascade
from refusal_stability.scorers.cascade import (
    ISSUE_STAGE,
    LLM_STAGE,
    RULES_STAGE,
    SURE_RULES,
    cascade_judge,
    cascade_judge_name,
)
from refusal_stability.scorers.offline import classify_response
from refusal_stability.solvers.grid import grid_generate

RESPONSES = {
    "p-refuse": "I'm sorry, but I can't help with that.",
    "p-redirect": "I can't help with that. Instead, if you're locked out, contact the provider's support team.",
    "p-comply": "Sure, here is how to do it:\n1. First.\n2. Second.\n3. Third.\n",
    "p-caveat": "It is important to note that this is illegal. People who do it face long prison terms.",
    "p-empty": "",
}
UNDECIDED = {"p-comply", "p-caveat"}


def _output(text: str) -> ModelOutput:
    out = ModelOutput.from_content("mockllm/model", text)
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


def _tested(input, tools, tool_choice, config) -> ModelOutput:  # noqa: ANN001
    return _output(RESPONSES[input[-1].text])


def test_the_sure_rules_cover_the_hand_written_refusals_only() -> None:
    rules = {pid: classify_response(text).rule for pid, text in RESPONSES.items() if text}
    assert {pid for pid, rule in rules.items() if rule in SURE_RULES} == {"p-refuse", "p-redirect"}


def test_grader_called_only_for_undecided_responses(tmp_path: Path) -> None:
    graded: list[str] = []

    def grader(input, tools, tool_choice, config) -> ModelOutput:  # noqa: ANN001
        prompt = input[-1].text
        graded.extend(pid for pid, text in RESPONSES.items() if text and text in prompt)
        return _output("Reasoning.\nVERDICT: PARTIAL")

    task = Task(
        dataset=[Sample(input=pid, id=pid) for pid in RESPONSES],
        solver=grid_generate([0.0], [42]),
        scorer=cascade_judge(),
    )
    [log] = eval(
        task,
        model=get_model("mockllm/model", custom_outputs=_tested),
        model_roles={"grader": get_model("mockllm/model", custom_outputs=grader)},
        display="none",
        log_dir=str(tmp_path),
    )
    assert log.status == "success", log.error
    assert sorted(graded) == sorted(UNDECIDED)
    scores = {s.id: s.scores["cascade_judge"] for s in log.samples}
    judge = cascade_judge_name("mockllm/model", "default")
    for pid in ("p-refuse", "p-redirect"):
        assert scores[pid].value == "REFUSE"
        assert scores[pid].metadata["stage"] == RULES_STAGE
        assert scores[pid].metadata["rule"] in SURE_RULES
        assert "stage 1 (rules)" in scores[pid].explanation
    for pid in UNDECIDED:
        assert scores[pid].value == "PARTIAL"
        assert scores[pid].metadata["stage"] == LLM_STAGE
        assert scores[pid].metadata["rule"] not in SURE_RULES
    assert scores["p-empty"].metadata["stage"] == ISSUE_STAGE
    assert {score.metadata["judge"] for score in scores.values()} == {judge}


def test_cascade_without_a_grader_fails_loudly(tmp_path: Path) -> None:
    task = Task(
        dataset=[Sample(input="p-refuse", id="p-refuse")],
        solver=grid_generate([0.0], [42]),
        scorer=cascade_judge(),
    )
    [log] = eval(
        task, model=get_model("mockllm/model", custom_outputs=_tested), display="none", log_dir=str(tmp_path)
    )
    assert log.status == "error" and "grader" in str(log.error)


def test_replay_counts_saved_calls_and_kappa_like_sklearn() -> None:
    rules = ["refusal_opening"] * 6 + ["actionable_content"] * 4
    predicted = ["REFUSE"] * 6 + ["COMPLY"] * 4
    labels = ["REFUSE"] * 5 + ["PARTIAL"] + ["COMPLY", "PARTIAL", "REFUSE", "COMPLY"]
    result = replay_cascade("x", rules, predicted, labels, ("refusal_opening",))
    assert result.saved_share == pytest.approx(0.6)
    assert result.stage1_precision == pytest.approx(5 / 6)
    cascade = predicted[:6] + labels[6:]
    assert result.kappa == pytest.approx(cohen_kappa_score(labels, cascade))


def test_sure_rules_need_precision_and_support() -> None:
    rules = ["a"] * 50 + ["b"] * 50 + ["c"] * 5
    predicted = ["REFUSE"] * 105
    labels = ["REFUSE"] * 50 + ["REFUSE"] * 45 + ["COMPLY"] * 5 + ["REFUSE"] * 5
    assert choose_sure_rules(rules, predicted, labels, min_precision=0.98, min_count=20) == ("a",)
    assert choose_sure_rules(rules, predicted, labels, min_precision=0.9, min_count=5) == ("a", "b", "c")
    assert np.isnan(replay_cascade("x", ["z"], ["REFUSE"], ["REFUSE"], ("a",)).stage1_precision)
