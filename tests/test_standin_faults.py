"""Every fault a server can throw at the task, survived: the grid finishes, and the log says what happened.

Each case runs a small grid through Inspect's real `vllm/` provider against a stand-in that injects one
fault into every third request, then checks the three things that matter: the eval succeeded; every
sample is either the verdict the stand-in meant or unscored/flagged for a stated reason (nothing silently
wrong); and the log's retry and failure counts (`run_health`) match what the server injected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval

from refusal_stability.analysis.run_health import run_health
from refusal_stability.models.standin.answers import expected_label
from refusal_stability.models.standin.faults import FaultKind, FaultRule
from refusal_stability.solvers.grid import UNREADABLE_REPLY_RETRIES, make_grid
from refusal_stability.tasks.stability import stability

EVERY = 3
TEMPERATURES, SEEDS = "0.7", "1,2"
ATTEMPT_TIMEOUT_S = 10
"""Generous: on a busy machine a normal reply must not time out (if one does, it is retried, not wrong)."""
SLOW_S = 60.0

RETRIED_IN_CALL = [
    FaultKind.RATE_LIMIT,
    FaultKind.RATE_LIMIT_RETRY_AFTER,
    FaultKind.SERVER_ERROR,
    FaultKind.UNAVAILABLE,
    FaultKind.RESET,
]


def run_faulted(
    standin_factory, shared_datasets: Path, tmp_path: Path, monkeypatch, rule: FaultRule, **eval_options
):
    server = standin_factory(faults=(rule,), slow_s=SLOW_S)
    model_name, grader_name = server.state.config.served_model_names
    monkeypatch.setenv("VLLM_BASE_URL", server.base_url)
    task = stability(
        dataset="advbench",
        data_dir=str(shared_datasets),
        sample=3,
        temperatures=TEMPERATURES,
        seeds=SEEDS,
        judge="llm",
    )
    [log] = eval(
        task,
        model=f"vllm/{model_name}",
        model_roles={"grader": f"vllm/{grader_name}"},
        model_args={"retry_delay": 1},
        **eval_options,
        display="none",
        log_dir=str(tmp_path),
        log_realtime=False,
    )
    return server, log, run_health(log.location)


def hit_cells(server, kind: str = "generation") -> set[tuple[str, int, float]]:
    """(prompt sha, seed, temperature) of the requests that got a fault."""
    return {(r.prompt_sha256, r.seed, r.temperature) for r in server.records() if r.fault and r.kind == kind}


def cell_of(sample) -> tuple[str, int, float]:
    import hashlib

    cell = make_grid(TEMPERATURES, SEEDS).cell(sample.epoch)
    return hashlib.sha256(sample.input.encode()).hexdigest(), cell.seed, cell.temperature


@pytest.mark.parametrize("kind", RETRIED_IN_CALL, ids=lambda k: k.value)
def test_http_faults_are_retried_inside_the_call(
    kind, standin_factory, shared_datasets, tmp_path, monkeypatch
):
    server, log, health = run_faulted(
        standin_factory, shared_datasets, tmp_path, monkeypatch, FaultRule(kind, every=EVERY)
    )
    assert log.status == "success", log.error
    injected = server.stats()["faults"][kind.value]
    assert injected >= 2
    model = health.models[f"vllm/{server.model}"]
    # each injected fault was sent again once, and the log counts it: as a retry inside the call, or (when
    # Inspect records the retry as a new attempt) as a failed attempt followed by a good one
    assert model.retries + model.failed_attempts == injected
    assert model.calls == health.samples == 6 and health.sample_errors == 0
    for sample in log.samples:
        [score] = sample.scores.values()
        assert score.value == expected_label(sample.input, *cell_of(sample)[1:]), sample.id


def test_a_reply_past_the_attempt_timeout_is_abandoned_and_retried(
    standin_factory, shared_datasets, tmp_path, monkeypatch
):
    server, log, health = run_faulted(
        standin_factory,
        shared_datasets,
        tmp_path,
        monkeypatch,
        FaultRule(FaultKind.SLOW, first=1),
        attempt_timeout=ATTEMPT_TIMEOUT_S,
    )
    assert log.status == "success", log.error
    model = health.models[f"vllm/{server.model}"]
    assert model.failed_attempts >= 1 and set(model.errors) == {"AttemptTimeoutError"}
    assert model.calls == 6 and health.sample_errors == 0
    for sample in log.samples:
        [score] = sample.scores.values()
        assert score.value == expected_label(sample.input, *cell_of(sample)[1:])


def test_a_malformed_json_reply_is_asked_for_again(standin_factory, shared_datasets, tmp_path, monkeypatch):
    server, log, health = run_faulted(
        standin_factory,
        shared_datasets,
        tmp_path,
        monkeypatch,
        FaultRule(FaultKind.MALFORMED_JSON, every=EVERY),
    )
    assert log.status == "success", log.error
    injected = server.stats()["faults"]["malformed-json"]
    assert injected >= 2
    assert health.unreadable_retries == injected
    assert health.models[f"vllm/{server.model}"].errors == {"JSONDecodeError": injected}
    assert health.sample_errors == health.sample_retries == 0
    for sample in log.samples:
        [score] = sample.scores.values()
        assert score.value == expected_label(sample.input, *cell_of(sample)[1:])


@pytest.mark.parametrize(
    "kind", [FaultKind.EMPTY, FaultKind.CONTENT_FILTER, FaultKind.LENGTH], ids=lambda k: k.value
)
def test_bad_content_is_unscored_or_flagged_with_its_reason(
    kind, standin_factory, shared_datasets, tmp_path, monkeypatch
):
    server, log, health = run_faulted(
        standin_factory, shared_datasets, tmp_path, monkeypatch, FaultRule(kind, every=EVERY)
    )
    assert log.status == "success", log.error
    hit = hit_cells(server)
    assert len(hit) == server.stats()["faults"][kind.value] >= 2
    for sample in log.samples:
        [score] = sample.scores.values()
        if cell_of(sample) not in hit:
            assert score.value == expected_label(sample.input, *cell_of(sample)[1:])
        elif kind == FaultKind.EMPTY:
            assert score.reason == "empty_response"
        elif kind == FaultKind.CONTENT_FILTER:
            assert score.value == "REFUSE" and score.metadata["reason"] == "content_filter"
        else:
            assert sample.output.stop_reason == "max_tokens" and score.metadata["truncated"] is True
    judge = next(iter(log.samples[0].scores))
    expected_unscored = {"empty_response": len(hit)} if kind == FaultKind.EMPTY else {}
    assert dict(health.unscored.get(judge, {})) == expected_unscored
    expected_stops = {FaultKind.CONTENT_FILTER: "content_filter", FaultKind.LENGTH: "max_tokens"}.get(kind)
    assert dict(health.stop_reasons) == ({expected_stops: len(hit)} if expected_stops else {})


def test_grader_http_faults_are_retried_too(standin_factory, shared_datasets, tmp_path, monkeypatch):
    server, log, health = run_faulted(
        standin_factory,
        shared_datasets,
        tmp_path,
        monkeypatch,
        FaultRule(FaultKind.UNAVAILABLE, every=2, scope="grader"),
    )
    assert log.status == "success", log.error
    grader = health.models[f"vllm/{server.state.config.served_model_names[1]}"]
    assert grader.retries + grader.failed_attempts == server.stats()["faults"]["503"] >= 3
    assert not hit_cells(server, "generation")
    assert all(not (isinstance(s.value, float)) for smp in log.samples for s in smp.scores.values())


def test_a_reply_that_stays_unreadable_fails_the_sample_and_the_eval(
    standin_factory, shared_datasets, tmp_path, monkeypatch
):
    server = standin_factory(faults=(FaultRule(FaultKind.MALFORMED_JSON, rate=1.0, attempts=99),))
    monkeypatch.setenv("VLLM_BASE_URL", server.base_url)
    task = stability(
        dataset="advbench",
        data_dir=str(shared_datasets),
        sample=1,
        temperatures="0",
        seeds="1",
        judge="offline",
    )
    [log] = eval(
        task, model=f"vllm/{server.model}", display="none", log_dir=str(tmp_path), log_realtime=False
    )
    assert log.status == "error" and "JSONDecodeError" in log.error.message
    assert server.stats()["faults"]["malformed-json"] == 1 + UNREADABLE_REPLY_RETRIES
