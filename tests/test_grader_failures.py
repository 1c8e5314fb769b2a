"""A grader that fails is loud: a few failures are unscored samples, a failing grader stops the run.

End to end against a stand-in vLLM server: a wrong API key (401) and an unknown model name (404) stop the
run with status error within the first graded samples, keep every finished generation in the log, and
that log is then judged with Inspect's `score` (what `inspect score` runs) without generating again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai._eval.score import score as inspect_score
from inspect_ai.log import read_eval_log, write_eval_log

from refusal_stability.models.standin.answers import expected_label
from refusal_stability.models.standin.faults import FaultKind, FaultRule
from refusal_stability.scorers.common import NO_OUTPUT
from refusal_stability.scorers.grader_failures import MIN_GRADER_FAILURES, GraderFailureError, GraderFailures
from refusal_stability.scorers.llm import GRADER_ERROR, llm_judge
from refusal_stability.solvers.grid import make_grid
from refusal_stability.tasks.stability import stability

TEMPERATURES, SEEDS = "0,1", "1,2,3"
PROMPTS = 8
GRID = make_grid(TEMPERATURES, SEEDS)


def test_failures_below_the_limit_pass_and_past_it_raise() -> None:
    failures = GraderFailures(limit=0.05)
    for _ in range(MIN_GRADER_FAILURES - 1):
        failures.record("401 Unauthorized")
        failures.check("g")  # all failed, but fewer than the minimum: not yet
    failures.record("401 Unauthorized")
    with pytest.raises(
        GraderFailureError, match=r"failed on 10 of 10 calls.*401 Unauthorized.*inspect score"
    ):
        failures.check("g")

    healthy = GraderFailures(limit=0.05)
    for i in range(1000):
        healthy.record("400 policy" if i % 50 == 0 else None)  # 2 % fail
        healthy.check("g")
    assert (healthy.failures, healthy.calls) == (20, 1000)
    with pytest.raises(ValueError, match="grader_failure_limit"):
        GraderFailures(limit=1.5)


def run_grid(server, grader: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **task_options):
    monkeypatch.setenv("VLLM_BASE_URL", server.base_url)
    monkeypatch.setenv("VLLM_API_KEY", "right-key")
    task = stability(
        dataset="advbench",
        data_dir=str(task_options.pop("data_dir")),
        sample=PROMPTS,
        temperatures=TEMPERATURES,
        seeds=SEEDS,
        judge="llm",
        **task_options,
    )
    [log] = eval(
        task,
        model=f"vllm/{server.model}",
        model_roles={"grader": grader},
        display="none",
        log_dir=str(tmp_path),
        log_realtime=False,
        max_connections=4,
    )
    return log


def grader_requests(server) -> int:
    return sum(r.kind == "grader" for r in server.records())


@pytest.mark.parametrize("mistake", ["wrong_key", "unknown_model"])
def test_a_misconfigured_grader_stops_the_run_and_keeps_the_generations(
    mistake, standin_factory, shared_datasets, tmp_path, monkeypatch
) -> None:
    server = standin_factory(api_key="right-key")
    model_name, grader_name = server.state.config.served_model_names
    if mistake == "wrong_key":
        monkeypatch.setenv("BADKEY_BASE_URL", server.base_url)
        monkeypatch.setenv("BADKEY_API_KEY", "wrong-key")
        grader, status = f"openai-api/badkey/{grader_name}", 401
    else:
        grader, status = f"vllm/{grader_name}-misspelt", 404
    log = run_grid(server, grader, tmp_path, monkeypatch, data_dir=shared_datasets)

    assert log.status == "error"
    # every call failed (concurrent calls may add a few past the minimum before the stop)
    failed = re.search(r"GraderFailureError.*failed on (\d+) of (\d+) calls", log.error.message)
    assert failed and failed[1] == failed[2] and int(failed[1]) >= MIN_GRADER_FAILURES
    # stopped within the first graded samples, not after the whole grid
    assert MIN_GRADER_FAILURES <= grader_requests(server) < PROMPTS * GRID.size
    assert {r.status for r in server.records() if r.kind == "grader"} == {status}
    # every sample in the log kept its generation (only those cut off by the stop have none); the ones
    # that finished are unscored grader_error, the ones that raised say why
    samples = read_eval_log(log.location).samples
    generated = [s for s in samples if not (s.error and s.error.message.startswith("CancelledError"))]
    assert len(generated) >= MIN_GRADER_FAILURES
    for sample in generated:
        assert sample.output.completion
        if sample.error is None:
            [score] = sample.scores.values()
            assert score.reason == GRADER_ERROR
        else:
            assert sample.error.message.startswith("GraderFailureError")


def test_the_stopped_log_is_judged_later_without_generating_again(
    standin_factory, shared_datasets, tmp_path, monkeypatch
) -> None:
    server = standin_factory(api_key="right-key")
    model_name, grader_name = server.state.config.served_model_names
    log = run_grid(server, f"vllm/{grader_name}-misspelt", tmp_path, monkeypatch, data_dir=shared_datasets)
    assert log.status == "error"
    original = read_eval_log(log.location)
    generations = sum(r.kind == "generation" for r in server.records())

    rejudged = inspect_score(
        original,
        [llm_judge()],
        action="overwrite",
        model_roles={"grader": f"vllm/{grader_name}"},
        display="none",
    )
    out = tmp_path / "rejudged.eval"
    write_eval_log(rejudged, str(out))

    assert sum(r.kind == "generation" for r in server.records()) == generations  # nothing generated again
    again = read_eval_log(str(out))
    assert len(again.samples) == len(original.samples)
    judged = 0
    for sample in again.samples:
        [score] = sample.scores.values()
        cell = GRID.cell(sample.epoch)
        if sample.output.completion:
            assert score.value == expected_label(sample.input, cell.seed, cell.temperature)
            judged += 1
        else:  # cut off by the stop before its model answered: said so, never a verdict
            assert score.reason == NO_OUTPUT
    assert judged >= MIN_GRADER_FAILURES
    assert read_eval_log(log.location).samples[0].scores == original.samples[0].scores  # original untouched


def test_a_few_rejected_grader_calls_are_unscored_and_counted(
    standin_factory, shared_datasets, tmp_path, monkeypatch
) -> None:
    server = standin_factory(faults=(FaultRule(FaultKind.BAD_REQUEST, every=16, scope="grader"),))
    log = run_grid(
        server,
        f"vllm/{server.state.config.served_model_names[1]}",
        tmp_path,
        monkeypatch,
        data_dir=shared_datasets,
        grader_failure_limit=0.1,
    )
    assert log.status == "success", log.error
    rejected = server.stats()["faults"]["400"]
    reasons = [s.reason for smp in log.samples for s in smp.scores.values()]
    assert reasons.count(GRADER_ERROR) == rejected >= 2
    assert log.results.scores[0].unscored_samples == rejected
