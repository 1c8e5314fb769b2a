"""Choosing judges from the task option: combos, auto fallback, and re-judging a finished log."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai._util.registry import registry_unqualified_name
from inspect_ai.dataset import Sample
from inspect_ai.log import EvalLog, read_eval_log
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import Scorer

from refusal_stability.scorers.offline import OFFLINE_JUDGE_VERSION
from refusal_stability.scorers.select import JUDGES, SCORER_SUFFIX, judges_from_option
from refusal_stability.solvers.grid import grid_generate

RESPONSES = {
    "p-refuse": "I'm sorry, but I can't help with that.",
    "p-comply": "Sure, here is how to do it:\n1. First.\n2. Second.\n3. Third.\n",
}


def _output(text: str) -> ModelOutput:
    out = ModelOutput.from_content("mockllm/model", text)
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


def _tested(input, tools, tool_choice, config) -> ModelOutput:  # noqa: ANN001
    return _output(RESPONSES[input[-1].text])


def _grader_says(label: str):  # noqa: ANN202
    def grader(input, tools, tool_choice, config) -> ModelOutput:  # noqa: ANN001
        return _output(f"Reasoning.\nVERDICT: {label}")

    return grader


def _run(scorers: list[Scorer], tmp_path: Path, grader_label: str | None = None) -> EvalLog:
    task = Task(
        dataset=[Sample(input=prompt, id=prompt) for prompt in RESPONSES],
        solver=grid_generate([0.0], [42]),
        scorer=scorers,
    )
    roles = (
        {"grader": get_model("mockllm/model", custom_outputs=_grader_says(grader_label))}
        if grader_label
        else None
    )
    [log] = eval(
        task,
        model=get_model("mockllm/model", custom_outputs=_tested),
        model_roles=roles,
        display="none",
        log_dir=str(tmp_path),
    )
    assert log.status == "success", log.error
    return log


def _names(scorers: list[Scorer]) -> list[str]:
    return [registry_unqualified_name(s) for s in scorers]


def test_option_names_map_to_distinct_scorers() -> None:
    assert _names(judges_from_option("offline")) == ["offline_judge"]
    assert _names(judges_from_option("llm")) == ["llm_judge"]
    assert _names(judges_from_option("recorded")) == ["recorded_judge"]
    assert _names(judges_from_option(" LLM , offline ")) == ["llm_judge", "offline_judge"]
    assert _names(judges_from_option("offline,recorded,llm")) == [
        "offline_judge",
        "recorded_judge",
        "llm_judge",
    ]


def test_a_list_option_from_the_cli_is_accepted() -> None:
    # `-T judge=llm,offline` reaches the task as a list
    assert _names(judges_from_option(["llm", "offline"])) == ["llm_judge", "offline_judge"]


@pytest.mark.parametrize("option", ["", "gpt", "llm,llm", "auto,offline", "offline,,offline", ["llm", "llm"]])
def test_bad_options_fail_early(option: str) -> None:
    with pytest.raises(ValueError):
        judges_from_option(option)


def test_auto_with_a_grader_argument_is_the_llm_judge(tmp_path: Path) -> None:
    assert _names(judges_from_option("auto", grader="mockllm/model")) == ["auto_judge"]
    log = _run(judges_from_option("auto", grader="mockllm/model"), tmp_path)
    assert {s.scores["auto_judge"].metadata["judge"] for s in log.samples} == {"llm:mockllm/model:default"}


def test_auto_without_a_visible_grader_decides_when_scoring() -> None:
    assert _names(judges_from_option("auto")) == ["auto_judge"]


@pytest.mark.parametrize("name", sorted(set(JUDGES) - {"auto"}))
def test_one_name_per_judge_option_scorer_and_metadata(name: str, tmp_path: Path) -> None:
    [judge] = judges_from_option(name)
    assert _names([judge]) == [name + SCORER_SUFFIX]
    log = _run([judge], tmp_path, grader_label="REFUSE")
    ids = {s.scores[name + SCORER_SUFFIX].metadata["judge"] for s in log.samples}
    assert len(ids) == 1 and next(iter(ids)).split(":")[0] == name, ids


def test_two_judges_in_one_run_keep_two_verdicts_per_sample(tmp_path: Path) -> None:
    log = _run(judges_from_option("llm,offline"), tmp_path, grader_label="PARTIAL")
    assert log.samples
    for sample in log.samples:
        assert set(sample.scores or {}) == {"llm_judge", "offline_judge"}
        llm, offline = sample.scores["llm_judge"], sample.scores["offline_judge"]
        assert llm.value == "PARTIAL" and llm.metadata["judge"] == "llm:mockllm/model:default"
        assert offline.metadata["judge"] == OFFLINE_JUDGE_VERSION
    by_id = {s.id: s.scores["offline_judge"].value for s in log.samples}
    assert by_id == {"p-refuse": "REFUSE", "p-comply": "COMPLY"}
    assert {s.name for s in log.results.scores} == {"llm_judge", "offline_judge"}


def test_auto_falls_back_to_offline_loudly(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="OFFLINE RULES judge"):
        log = _run(judges_from_option("auto"), tmp_path)
    scores = {s.id: s.scores["auto_judge"] for s in log.samples}
    assert {score.metadata["judge"] for score in scores.values()} == {OFFLINE_JUDGE_VERSION}
    assert scores["p-refuse"].value == "REFUSE"


def test_auto_uses_the_grader_role_bound_at_run_time(tmp_path: Path) -> None:
    log = _run(judges_from_option("auto"), tmp_path, grader_label="COMPLY")
    scores = [s.scores["auto_judge"] for s in log.samples]
    assert {score.value for score in scores} == {"COMPLY"}
    assert {score.metadata["judge"] for score in scores} == {"llm:mockllm/model:default"}


def test_rejudge_a_log_with_the_cli_into_a_new_file(tmp_path: Path) -> None:
    log = _run(judges_from_option("llm"), tmp_path, grader_label="PARTIAL")
    original = Path(log.location)
    before = original.read_bytes()
    rejudged = tmp_path / "rejudged.eval"
    inspect = shutil.which("inspect", path=str(Path(sys.executable).parent))
    assert inspect is not None
    result = subprocess.run(
        [
            inspect,
            "score",
            str(original),
            "--scorer",
            "refusal_stability/offline_judge",
            "--action",
            "append",
            "--output-file",
            str(rejudged),
            "--display",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert original.read_bytes() == before, "the original log is left as it was"
    new = read_eval_log(str(rejudged))
    assert new.samples
    for sample in new.samples:
        assert sample.scores["llm_judge"].value == "PARTIAL"  # the first judge's verdicts are kept
        offline = sample.scores["offline_judge"]
        assert offline.metadata["judge"] == OFFLINE_JUDGE_VERSION
        assert not (isinstance(offline.value, float) and math.isnan(offline.value))
