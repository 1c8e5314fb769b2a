"""Default concurrency: a local batching engine (vLLM, SGLang) gets enough connections to stay busy; rate-
limited APIs keep Inspect's adaptive default; anything the user chose wins."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.model import GenerateConfig, get_model

from refusal_stability.models.concurrency import LOCAL_ENGINE_MAX_CONNECTIONS, local_engine_concurrency
from refusal_stability.models.standin.pacing import TokenPaced
from refusal_stability.tasks.stability import stability


class FixedLengths:
    """Every reply the same length, so every request takes the same time."""

    def generation_tokens(self, prompt: str, seed: int | None, temperature: float) -> int:
        return 30

    def grader_tokens(self, judge_prompt: str) -> int:
        return 30


def test_a_vllm_model_gets_the_local_engine_default() -> None:
    model = get_model("vllm/some/model", base_url="http://127.0.0.1:9/v1", memoize=False)
    assert local_engine_concurrency(model) == LOCAL_ENGINE_MAX_CONNECTIONS
    assert model.config.max_connections == LOCAL_ENGINE_MAX_CONNECTIONS
    assert local_engine_concurrency(model) is None  # already set: left alone


def test_rate_limited_apis_keep_inspects_adaptive_default() -> None:
    model = get_model("openai/gpt-4o-mini", api_key="not-used", memoize=False)
    assert local_engine_concurrency(model) is None
    assert model.config.max_connections is None and model.config.adaptive_connections is None


@pytest.mark.parametrize(
    "run", [GenerateConfig(max_connections=32), GenerateConfig(adaptive_connections="10-20-100")]
)
def test_the_users_choice_wins(run: GenerateConfig) -> None:
    model = get_model("vllm/some/model", base_url="http://127.0.0.1:9/v1", memoize=False)
    assert local_engine_concurrency(model, run) is None
    assert model.config.max_connections is None
    own = get_model(
        "vllm/some/model", base_url="http://127.0.0.1:9/v1", config=GenerateConfig(max_connections=8), memoize=False
    )
    assert local_engine_concurrency(own) is None and own.config.max_connections == 8


def test_a_local_engine_sees_more_than_inspects_default_100_requests_at_once(
    standin_factory, shared_datasets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 8 prompts x 20 cells = 160 samples; every reply is 30 tokens at 3 tokens/s (10 s), so every sample the
    # concurrency lets start is decoding at once. Inspect's adaptive default would allow at most 100.
    # The task is built inside eval() (as `inspect eval` does), where the model under test is known.
    pacer = TokenPaced(aggregate_rate=100_000, sequence_rate=3)
    server = standin_factory(pacer=pacer, lengths=FixedLengths())
    model_name, grader_name = server.state.config.served_model_names
    monkeypatch.setenv("VLLM_BASE_URL", server.base_url)
    [log] = eval(
        stability,
        task_args={"dataset": "advbench", "data_dir": str(shared_datasets), "sample": 8, "judge": "llm"},
        model=f"vllm/{model_name}",
        model_roles={"grader": f"vllm/{grader_name}"},
        display="none",
        log_dir=str(tmp_path),
        log_realtime=False,
    )
    assert log.status == "success", log.error
    assert len(log.samples or []) == 160
    assert pacer.peak_in_flight > 100
    engine = log.eval.metadata["engine"]
    assert engine["max_connections"] == LOCAL_ENGINE_MAX_CONNECTIONS
    assert engine["concurrency"].startswith(f"static {LOCAL_ENGINE_MAX_CONNECTIONS} (model config")
