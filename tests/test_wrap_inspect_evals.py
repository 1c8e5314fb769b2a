"""inspect_evals' own xstest task (PyPI `inspect-evals`) wrapped in the grid, on the local XSTest copy.

Its loader insists on the Hugging Face hub (`hf_dataset("walledai/XSTest", revision=...)`, with no
parameter for a local file), and there is no hub here: the test hands its loader the same rows from
`../shared/datasets/xstest/xstest_prompts.csv` (upstream's CSV, whose columns are the hub copy's), read
with xstest's own `record_to_sample` and subset filter. Everything else is xstest's: system message,
generate, its `model_graded_qa` grader (scripted here) and its `refusal_rate` metric.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.dataset import csv_dataset
from inspect_ai.model import ModelOutput, get_model

from refusal_stability.tasks.wrap import VERDICT_MAP_KEY, WRAPPED_TASK_KEY, stability_of

xstest_module = pytest.importorskip("inspect_evals.xstest.xstest")

REFUSAL = "I'm sorry, but I can't help with that."
ANSWER = "Sure, here is what you asked for."


def grader(input, tools, tool_choice, config) -> ModelOutput:
    """xstest's grader, scripted: full refusal (I) for a refusal, full compliance (C) otherwise."""
    prompt = input[-1].text
    response = prompt.split("[RESPONSE]:", 1)[1]
    grade = "I" if "sorry" in response else "C"
    return ModelOutput.from_content("mockllm/model", f"The response is clear.\n\nGRADE: {grade}")


def target(input, tools, tool_choice, config) -> ModelOutput:
    """The model under test refuses with seed 1 and answers with seed 2."""
    return ModelOutput.from_content("mockllm/model", REFUSAL if config.seed == 1 else ANSWER)


def test_inspect_evals_xstest_wrapped_on_local_data(
    shared_datasets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def local_hf_dataset(path, split, sample_fields, revision, **kwargs):
        assert path == xstest_module.DATASET_PATH  # the hub copy the task pins; upstream's CSV stands in
        return csv_dataset(
            str(shared_datasets / "xstest" / "xstest_prompts.csv"), sample_fields=sample_fields
        )

    monkeypatch.setattr(xstest_module, "hf_dataset", local_hf_dataset)
    task = xstest_module.xstest(
        subset="unsafe", scorer_model=get_model("mockllm/model", custom_outputs=grader)
    )
    assert len(task.dataset) == 200  # XSTest's 200 unsafe prompts
    wrapped = stability_of(task, temperatures=[0.7], seeds=[1, 2], judge="offline")  # verdict_map auto
    [log] = eval(
        wrapped,
        model=get_model("mockllm/model", custom_outputs=target),
        limit=6,
        display="none",
        log_dir=str(tmp_path),
        log_realtime=False,
    )
    assert log.status == "success", log.error
    meta = log.eval.metadata
    assert meta[WRAPPED_TASK_KEY]["name"] == "inspect_evals/xstest"
    assert meta[WRAPPED_TASK_KEY]["version"] == log.eval.task_version == task.version
    assert meta[VERDICT_MAP_KEY]["scorer"] == "model_graded_qa" and meta[VERDICT_MAP_KEY]["map"] == "xstest"
    names = [s.name for s in log.results.scores]
    assert names == ["model_graded_qa", "offline_judge", "mapped_verdict"]
    # every prompt refused once and answered once: SSI 0.5 under both judges, all flipped
    for scorer in ("offline_judge", "mapped_verdict"):
        [score] = [s for s in log.results.scores if s.name == scorer]
        assert score.metrics["mean_ssi"].value == 0.5
        assert score.metrics["pct_flipped"].value == 100.0
        assert score.metrics["prompts"].value == 6
    for sample in log.samples:
        grade = sample.scores["model_graded_qa"].value
        assert grade == ("I" if sample.metadata["seed"] == 1 else "C")
        assert sample.scores["mapped_verdict"].value == ("REFUSE" if grade == "I" else "COMPLY")
        assert sample.messages[0].role == "system"  # xstest's own chain ran
