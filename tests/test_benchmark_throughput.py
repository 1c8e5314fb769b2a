"""The throughput benchmark end to end on a few prompts at a fast rate: its numbers must be sane."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from inspect_ai.log import read_eval_log

REPO = Path(__file__).resolve().parents[1]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("throughput", REPO / "benchmarks" / "throughput.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_engine_benchmark_on_three_prompts(shared_datasets: Path, tmp_path: Path) -> None:
    bench = load_benchmark()
    out = tmp_path / "engine.json"
    result = bench.main(
        ["engine", "--prompts", "3", "--token-rate", "50000", "--sequence-rate", "5000", "--ttft", "0",
         "--out", str(out), "--log-dir", str(tmp_path / "logs")]
    )  # fmt: skip
    [run] = result["runs"]
    assert run.samples == 60 and run.setting == "default" and run.flags == []
    # the engine served every generation and every judgement, at the study's lengths
    assert 60 * 14 <= run.generation_tokens <= 60 * 512
    assert 60 * 20 <= run.grader_tokens <= 60 * 200
    assert run.floor_s == round((run.generation_tokens + run.grader_tokens) / 50_000, 2)
    assert run.wall_s >= run.eval_wall_s > run.floor_s and run.wall_over_floor > 1
    # samples/s is rounded from the unrounded wall time: within a rounding step of the rounded one's
    assert run.samples_per_s == pytest.approx(60 / run.wall_s, abs=0.011)
    assert 0 < run.cpu_s_per_sample < run.wall_s and run.peak_rss_mb > 50
    assert 1 <= run.peak_in_flight <= 120  # one sequence per sample at most (generation, then judge)
    # what the stand-in counted is what Inspect recorded as output tokens
    log = read_eval_log(run.log, header_only=True)
    usage = {name: u.output_tokens for name, u in log.stats.model_usage.items()}
    assert usage == {"vllm/bench/model": run.generation_tokens, "vllm/bench/grader": run.grader_tokens}
    assert log.eval.metadata["engine"]["max_connections"] == 256
    assert json.loads(out.read_text())["runs"][0]["samples"] == 60


def test_engine_benchmark_as_two_shard_processes(shared_datasets: Path, tmp_path: Path) -> None:
    bench = load_benchmark()
    result = bench.main(
        ["engine", "--prompts", "4", "--shards", "2", "--no-log-realtime", "--token-rate", "50000",
         "--sequence-rate", "5000", "--ttft", "0", "--out", str(tmp_path / "engine.json"),
         "--log-dir", str(tmp_path / "logs")]
    )  # fmt: skip
    [run] = result["runs"]
    assert run.shards == 2 and run.samples == 80 and run.flags == ["--no-log-realtime"]
    logs = [read_eval_log(str(p), header_only=True) for p in sorted(Path(run.log).glob("*.eval"))]
    assert len(logs) == 2
    # the two processes ran disjoint shards that together hold the grid, and the engine served them all
    assert sorted(log.eval.task_args["shard"] for log in logs) == ["1/2", "2/2"]
    assert sum(log.results.completed_samples for log in logs) == 80
    served = sum(u.output_tokens for log in logs for u in log.stats.model_usage.values())
    assert served == run.generation_tokens + run.grader_tokens
    assert run.wall_s >= run.eval_wall_s > run.floor_s
    assert "(2 processes)" in bench.engine_table([run])


def test_replay_summary_compares_our_cost_per_sample_with_the_bare_tasks() -> None:
    bench = load_benchmark()

    def run(task: str, per_s: float, cpu: float):
        return bench.ReplayRun(task, 2000, 2000 / per_s, per_s, cpu, per_s * 1.5, 300.0, 1.0, 1.0)

    runs = [run("bare", 100.0, 0.010), run("ours", 95.0, 0.011), run("bare", 110.0, 0.012), run("ours", 105.0, 0.012)]
    summary = bench.replay_summary(runs)
    assert summary["ours_samples_per_s"] == pytest.approx(100.0)
    assert summary["bare_samples_per_s"] == pytest.approx(105.0)
    assert summary["cpu_ratio"] == pytest.approx(0.0115 / 0.011)
    assert summary["wall_ratio"] == pytest.approx(1.05)
    assert summary["ours_eval_samples_per_s"] == pytest.approx(150.0)
    table = bench.replay_table(runs)
    assert table.count("\n| ours |") == 2 and f"**{0.0115 / 0.011:.3f}**" in table
