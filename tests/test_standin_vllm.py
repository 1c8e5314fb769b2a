"""The vLLM path without a GPU: the task through Inspect's real `vllm/` and `openai-api/` providers.

A stand-in vLLM server (`refusal_stability.models.standin`) records every request, so these tests check at
the server what the providers actually sent: each generation carried its own grid cell's seed and
temperature and the task's max_tokens and top_p; each grader call carried temperature 0 and the judge's
fixed seed. The stand-in's answers have known labels, so the log's verdicts are checked one by one too.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
from inspect_ai import eval

from refusal_stability.models.standin.answers import expected_label
from refusal_stability.scorers.llm import GRADER_SEED
from refusal_stability.solvers.grid import make_grid
from refusal_stability.tasks.stability import stability

TEMPERATURES = "0,0.7,1.0"
SEEDS = "11,12"
MAX_TOKENS = 300
TOP_P = 0.9
PROMPTS = 4


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def bind(provider: str, server, name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The model string for `name` on `server` through `provider`, with its environment set."""
    if provider == "vllm":
        monkeypatch.setenv("VLLM_BASE_URL", server.base_url)
        return f"vllm/{name}"
    monkeypatch.setenv("STANDIN_BASE_URL", server.base_url)
    monkeypatch.setenv("STANDIN_API_KEY", "unused")
    return f"openai-api/standin/{name}"


@pytest.mark.parametrize(
    ("model_provider", "grader_provider"), [("vllm", "openai-api"), ("openai-api", "vllm")]
)
def test_each_request_carries_its_cells_parameters(
    model_provider: str,
    grader_provider: str,
    standin_factory,
    shared_datasets: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = standin_factory()
    model_name, grader_name = server.state.config.served_model_names
    model = bind(model_provider, server, model_name, monkeypatch)
    grader = bind(grader_provider, server, grader_name, monkeypatch)
    task = stability(
        dataset="advbench",
        data_dir=str(shared_datasets),
        sample=PROMPTS,
        temperatures=TEMPERATURES,
        seeds=SEEDS,
        max_tokens=MAX_TOKENS,
        top_p=TOP_P,
        judge="llm",
    )
    [log] = eval(
        task,
        model=model,
        model_roles={"grader": grader},
        display="none",
        log_dir=str(tmp_path),
        log_realtime=False,
    )
    assert log.status == "success", log.error
    grid = make_grid(TEMPERATURES, SEEDS)
    samples = log.samples or []
    assert len(samples) == PROMPTS * grid.size

    generations = [r for r in server.records() if r.kind == "generation"]
    graders = [r for r in server.records() if r.kind == "grader"]
    sent = Counter(
        (r.model, r.prompt_sha256, r.seed, r.temperature, r.max_tokens, r.top_p) for r in generations
    )
    expected = Counter(
        (
            model_name,
            sha(s.input if isinstance(s.input, str) else s.input[-1].text),
            grid.cell(s.epoch).seed,
            grid.cell(s.epoch).temperature,
            MAX_TOKENS,
            TOP_P,
        )
        for s in samples
    )
    assert sent == expected  # one request per cell, each with its own seed and temperature
    assert len(graders) == len(samples)
    assert {(r.model, r.temperature, r.seed) for r in graders} == {(grader_name, 0.0, GRADER_SEED)}
    assert all(r.status == 200 and not r.stream for r in server.records())

    for s in samples:
        cell = grid.cell(s.epoch)
        assert (s.metadata["temperature"], s.metadata["seed"]) == (cell.temperature, cell.seed)
        [score] = s.scores.values()
        assert score.value == expected_label(s.input, cell.seed, cell.temperature), s.id
    labels = Counter(score.value for s in samples for score in s.scores.values())
    assert len(labels) >= 2  # the stand-in's answers are mixed, so SSI is not trivially 1
