"""The log header's engine record: provider, seed honouring, concurrency, a vLLM server's /version."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.model import GenerateConfig, get_model

from refusal_stability.models import engine_info as engine_info_module
from refusal_stability.models.engine_info import engine_info, server_version
from refusal_stability.tasks.stability import stability

VERSION = {"version": "0.9.2"}


class _VersionHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps(VERSION).encode() if self.path == "/version" else b""
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def version_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _VersionHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_vllm_server_version_is_recorded(version_server: str) -> None:
    model = get_model("vllm/Qwen/Qwen2.5-7B-Instruct", base_url=version_server)
    info = engine_info(model, GenerateConfig(max_connections=64))
    assert info["provider"] == "vllm" and info["model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert info["base_url"] == version_server
    assert info["seeds_per_request"] is True
    assert info["max_connections"] == 64
    assert info["version"] == VERSION


def test_unreachable_server_is_reported_not_raised() -> None:
    assert server_version("http://127.0.0.1:9/v1").startswith("unreachable (http://127.0.0.1:9/version)")


def test_seedless_providers_warn_once_loudly(caplog: pytest.LogCaptureFixture, monkeypatch) -> None:
    monkeypatch.setattr(engine_info_module, "_warned", set())
    model = get_model("anthropic/claude-3-5-haiku-latest", api_key="not-used")
    with caplog.at_level(logging.WARNING):
        first = engine_info(model)
        engine_info(model)
    assert first["seeds_per_request"] is False
    warnings = [r.getMessage() for r in caplog.records if "SEEDS ARE NOT CONTROLLED" in r.getMessage()]
    assert len(warnings) == 1 and "anthropic/" in warnings[0]


def test_task_header_records_the_model_under_test(shared_datasets: Path, tmp_path: Path) -> None:
    [log] = eval(
        stability,
        task_args={
            "dataset": "advbench",
            "data_dir": str(shared_datasets),
            "temperatures": "0",
            "seeds": "1",
        },
        model="mockllm/model",
        limit=1,
        max_connections=3,
        display="none",
        log_dir=str(tmp_path),
    )
    assert log.status == "success"
    engine = log.eval.metadata["engine"]
    assert engine["provider"] == "mockllm" and engine["model"] == "model"
    assert engine["seeds_per_request"] is None  # unknown, and said so
    assert engine["max_connections"] == 3
    assert log.eval.metadata["engine_repeats"] == []


def test_task_built_before_a_model_says_so(shared_datasets: Path) -> None:
    task = stability(dataset="advbench", data_dir=str(shared_datasets), temperatures="0", seeds="1")
    assert task.metadata["engine"]["provider"] is None
