"""Throughput of the stability task: GPU-bound against a batching engine, and the replay path's own cost.

    python benchmarks/throughput.py engine [--prompts N] [--connections default,inspect,64,256] [--shards N]
    python benchmarks/throughput.py replay [--prompts N] [--repeats R]

``engine``: the study's grid (``--prompts`` prompts x 20 cells; all 876 = 17,520 samples by default) with the
LLM judge, run by ``inspect eval`` through Inspect's real ``vllm/`` provider (``VLLM_BASE_URL``) against the
repository's stand-in for ``vllm serve`` in token-paced mode: replies as long as the study's recorded
responses and judge outputs, decoded at an aggregate token rate shared by the requests in flight with a
per-sequence cap (`models/standin/pacing.TokenPaced`). The grader role points at the same server. For each
concurrency setting it reports wall time, the *token floor* (every generated token, judge included, divided
by the aggregate rate: the least time the engine needs), wall / floor, samples/s, Inspect's CPU seconds per
sample, Inspect's peak memory and the most sequences the engine decoded at once. ``default`` runs with no
concurrency flag at all (what a user gets), ``inspect`` with Inspect's own default spelled out
(``--adaptive-connections 10-20-100``, which our local-engine default leaves alone), a number with
``--max-connections N``; ``--no-log-realtime`` adds that Inspect flag. ``--shards N`` runs the grid as N
``inspect eval`` processes at once (``-T shard=k/N``, one engine serving all of them, each process with
the setting's flags): wall time is the first start to the last end, CPU the sum over the processes, peak
RSS the largest one's.

``replay``: the README's main job (``--model replay/...``, ``-T judge=recorded``, ``--no-log-realtime``) and
a bare Inspect task over the same prompts and cells (`bare_task.py`), alternated in the same invocation:
samples/s of each and our CPU cost per sample over the bare task's.

Every run must end with log status ``success`` and every sample scored (``inspect eval`` exits 0 on an
error, so the log is read), or the benchmark stops. Both print a markdown table with the load average
beside each number (timings on a busy machine are only indicative) and write JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("REFUSAL_STABILITY_DATA_DIR", REPO.parent / "shared" / "datasets"))
STUDY_LABELS = Path("refusal_stability_paper") / "labels"
INSPECT = Path(sys.executable).with_name("inspect")
DEFAULT_OUT = REPO / "benchmarks" / "results"

STUDY_PROMPTS = 876
GRID_CELLS = 20
TOKEN_RATE = 12_500.0
"""Output tokens/s of an 8B model under vLLM on one H100 (the low end of 12.5k-25k)."""
SEQUENCE_RATE = 100.0
"""Tokens/s one sequence decodes at most: the engine reaches its aggregate rate from 125 sequences on."""
TTFT_S = 0.05
"""Seconds to first token (prefill and scheduling) of every request."""
MODEL_NAME = "bench/model"
GRADER_NAME = "bench/grader"
INSPECT_DEFAULT_ADAPTIVE = "10-20-100"
"""Inspect's own default concurrency (adaptive, min-start-max), spelled out so ours does not replace it."""
STANDIN_START_S = 120.0
MB = 1024 * 1024


@dataclass
class ProcessCost:
    """What one finished process used: wall seconds, CPU seconds (user + system), peak RSS."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    output: str


@dataclass
class EngineRun:
    """One ``engine`` run: settings, what the engine served, and what Inspect cost."""

    setting: str
    prompts: int
    samples: int
    wall_s: float
    eval_wall_s: float
    generation_tokens: int
    grader_tokens: int
    floor_s: float
    wall_over_floor: float
    samples_per_s: float
    cpu_s_per_sample: float
    peak_rss_mb: float
    peak_in_flight: int
    standin_cpu_s: float
    load_before: float
    load_after: float
    token_rate: float
    sequence_rate: float
    ttft_s: float
    flags: list[str] = field(default_factory=list)
    shards: int = 1
    log: str = ""


@dataclass
class ReplayRun:
    """One ``replay`` run of our task or the bare task."""

    task: str
    samples: int
    wall_s: float
    samples_per_s: float
    cpu_s_per_sample: float
    eval_samples_per_s: float
    """Samples over the eval's own time in the log (no process start-up, no reading of the replay files)."""
    peak_rss_mb: float
    load_before: float
    load_after: float
    log: str = ""


def load_average() -> float:
    """The 1-minute load average (2 cores: above 2 means the runs shared the machine)."""
    return os.getloadavg()[0]


def run_process(command: Sequence[str], env: dict[str, str] | None = None) -> ProcessCost:
    """Run `command` to its end; its own CPU time and peak RSS come from `os.wait4`."""
    return run_processes([command], env)


def run_processes(commands: Sequence[Sequence[str]], env: dict[str, str] | None = None) -> ProcessCost:
    """Run `commands` at once, each to its end (one command: `run_process`).

    Wall time from the first start to the last end, CPU summed over the processes (each one's own,
    from `os.wait4`), peak RSS the largest one's.
    """
    start = time.perf_counter()
    with ExitStack() as stack:
        running = []
        for command in commands:
            out = stack.enter_context(tempfile.TemporaryFile())
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            running.append((command, process, out))
        cpu, peak_kb, outputs, failed = 0.0, 0, [], []
        for command, process, out in running:
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            output = out.read().decode(errors="replace")
            outputs.append(output)
            cpu += usage.ru_utime + usage.ru_stime
            peak_kb = max(peak_kb, usage.ru_maxrss)  # kilobytes on Linux
            if process.returncode != 0:
                failed.append(f"{' '.join(command[:3])} ... failed ({process.returncode}):\n{output[-3000:]}")
        wall = time.perf_counter() - start
    if failed:
        raise SystemExit("\n".join(failed))
    return ProcessCost(wall, cpu, peak_kb / 1024, "\n".join(outputs))


def finished_log(log_dir: Path, samples: int) -> EvalLog:
    """The one log in `log_dir`, checked: status success, every sample there, and every one scored."""
    [log] = finished_logs(log_dir, samples, expected_logs=1)
    return log


def finished_logs(log_dir: Path, samples: int, expected_logs: int) -> list[EvalLog]:
    """The `expected_logs` logs in `log_dir` (one per shard), checked.

    Each one's status must be success and every sample scored, and `samples` completed over all of them.
    """
    logs = list_eval_logs(str(log_dir))
    if len(logs) != expected_logs:
        raise SystemExit(f"{log_dir}: expected {expected_logs} eval log(s), found {len(logs)}.")
    headers, done = [], 0
    for info in logs:
        log = read_eval_log(info, header_only=True)
        name = Path(info.name).name
        if log.status != "success":
            raise SystemExit(f"{name}: status {log.status}: {log.error.message if log.error else ''}")
        results = log.results
        done += results.completed_samples if results else 0
        unscored = sum(s.unscored_samples or 0 for s in results.scores) if results else 0
        if unscored:
            raise SystemExit(f"{name}: {unscored} samples unscored (did the grader's replies parse?).")
        headers.append(log)
    if done != samples:
        raise SystemExit(f"{log_dir}: {done} samples completed, {samples} expected.")
    return headers


def eval_wall(log: EvalLog) -> float:
    """Seconds from the eval's start to its end as the log records them (no process start-up)."""
    started = datetime.fromisoformat(log.stats.started_at)
    completed = datetime.fromisoformat(log.stats.completed_at)
    return (completed - started).total_seconds()


@contextmanager
def token_paced_standin(token_rate: float, sequence_rate: float, ttft_s: float) -> Iterator[Any]:
    """A token-paced stand-in in its own process (its CPU is not Inspect's); yields (base URL, cost)."""
    command = [
        sys.executable, "-m", "refusal_stability.models.standin", "--port", "0",
        "--served-model-name", MODEL_NAME, GRADER_NAME,
        "--token-rate", str(token_rate), "--sequence-rate", str(sequence_rate), "--ttft", str(ttft_s),
        "--reply-lengths", str(DATA_DIR / STUDY_LABELS),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cost: dict[str, float] = {}
    try:
        url = _listening_url(process)
        yield url, cost
    finally:
        process.send_signal(signal.SIGTERM)
        _, _, usage = os.wait4(process.pid, 0)
        process.returncode = 0
        cost["cpu_s"] = usage.ru_utime + usage.ru_stime


def _listening_url(process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + STANDIN_START_S
    assert process.stdout is not None
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if found := re.search(r"listening: (http://\S+)", line):
            return found.group(1)
    raise SystemExit("The stand-in did not start:\n" + "".join(lines[-30:]))


def standin_stats(base_url: str) -> dict[str, Any]:
    """``GET /standin/stats``: requests, tokens answered by kind, the pacer's peak batch."""
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/standin/stats", timeout=30) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def concurrency_flags(setting: str) -> list[str]:
    """The flags of a setting: ``default`` none, ``inspect`` Inspect's default spelled out, N a count."""
    if setting == "default":
        return []
    if setting == "inspect":
        return ["--adaptive-connections", INSPECT_DEFAULT_ADAPTIVE]
    if not setting.isdigit():
        raise SystemExit(f"--connections: {setting!r} is not default, inspect or a number.")
    return ["--max-connections", setting]


def engine_command(prompts: int, log_dir: Path, flags: Sequence[str]) -> list[str]:
    """``inspect eval`` of the study's grid with the LLM judge through ``vllm/`` (user-level options only)."""
    sample = [] if prompts >= STUDY_PROMPTS else ["-T", f"sample={prompts}"]
    return [
        str(INSPECT), "eval", "tasks/stability.py",
        "--model", f"vllm/{MODEL_NAME}", "--model-role", f"grader=vllm/{GRADER_NAME}",
        "-T", "judge=llm", "-T", f"data_dir={DATA_DIR}", *sample,
        "--display", "none", "--log-dir", str(log_dir), *flags,
    ]  # fmt: skip


def run_engine(
    setting: str,
    prompts: int,
    token_rate: float,
    sequence_rate: float,
    ttft_s: float,
    out: Path,
    shards: int = 1,
    log_realtime: bool = True,
) -> EngineRun:
    """One ``engine`` run at one concurrency setting, on a fresh stand-in, as `shards` processes."""
    samples = prompts * GRID_CELLS
    flags = concurrency_flags(setting) + ([] if log_realtime else ["--no-log-realtime"])
    log_dir = out / f"engine-{prompts}p-{setting}-{shards}shards-{int(time.time())}"
    parts = [[]] if shards == 1 else [["-T", f"shard={k}/{shards}"] for k in range(1, shards + 1)]
    with token_paced_standin(token_rate, sequence_rate, ttft_s) as (url, standin_cost):
        env = {**os.environ, "VLLM_BASE_URL": url}
        load_before = load_average()
        cost = run_processes([engine_command(prompts, log_dir, [*flags, *part]) for part in parts], env)
        load_after = load_average()
        stats = standin_stats(url)
    logs = finished_logs(log_dir, samples, expected_logs=shards)
    tokens = stats["completion_tokens"]
    total = tokens.get("generation", 0) + tokens.get("grader", 0)
    floor = total / token_rate
    return EngineRun(
        setting=setting,
        prompts=prompts,
        samples=samples,
        wall_s=round(cost.wall_s, 2),
        eval_wall_s=round(max(eval_wall(log) for log in logs), 2),
        generation_tokens=tokens.get("generation", 0),
        grader_tokens=tokens.get("grader", 0),
        floor_s=round(floor, 2),
        wall_over_floor=round(cost.wall_s / floor, 3),
        samples_per_s=round(samples / cost.wall_s, 2),
        cpu_s_per_sample=round(cost.cpu_s / samples, 5),
        peak_rss_mb=round(cost.peak_rss_mb, 1),
        peak_in_flight=stats.get("pacer", {}).get("peak_in_flight", 0),
        standin_cpu_s=round(standin_cost["cpu_s"], 1),
        load_before=round(load_before, 2),
        load_after=round(load_after, 2),
        token_rate=token_rate,
        sequence_rate=sequence_rate,
        ttft_s=ttft_s,
        flags=flags,
        shards=shards,
        log=str(logs[0].location) if shards == 1 else str(log_dir),
    )


def replay_command(task: str, prompts: int, log_dir: Path) -> list[str]:
    """Our task as the README's main job runs it, or the bare task, over the first `prompts` prompts."""
    common = [
        "--model", "replay/qwen2.5-7b-instruct", "-M", f"path={DATA_DIR / STUDY_LABELS}",
        "--limit", str(prompts), "--no-log-realtime", "--display", "none", "--log-dir", str(log_dir),
    ]  # fmt: skip
    if task == "ours":
        ours = ["tasks/stability.py", "-T", "judge=recorded", "-T", f"data_dir={DATA_DIR}"]
        return [str(INSPECT), "eval", *ours, *common]
    return [str(INSPECT), "eval", "benchmarks/bare_task.py", "-T", f"data_dir={DATA_DIR}", *common]


def run_replay(task: str, prompts: int, out: Path) -> ReplayRun:
    """One replay run of `task` ("ours" or "bare")."""
    samples = prompts * GRID_CELLS
    log_dir = out / f"replay-{task}-{prompts}p-{time.time_ns()}"
    load_before = load_average()
    cost = run_process(replay_command(task, prompts, log_dir))
    load_after = load_average()
    log = finished_log(log_dir, samples)
    return ReplayRun(
        task=task,
        samples=samples,
        wall_s=round(cost.wall_s, 2),
        samples_per_s=round(samples / cost.wall_s, 1),
        cpu_s_per_sample=round(cost.cpu_s / samples, 5),
        eval_samples_per_s=round(samples / eval_wall(log), 1),
        peak_rss_mb=round(cost.peak_rss_mb, 1),
        load_before=round(load_before, 2),
        load_after=round(load_after, 2),
        log=str(log.location),
    )


def engine_table(runs: Sequence[EngineRun]) -> str:
    """The ``engine`` runs as a markdown table."""
    rows = [
        "| setting | samples | wall s | floor s | wall / floor | samples/s | Inspect CPU s/sample "
        "| peak RSS MB | peak batch | tokens (gen + judge) | load avg before / after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        processes = f" ({r.shards} processes)" if r.shards > 1 else ""
        rows.append(
            f"| {r.setting} {' '.join(r.flags)}{processes} | {r.samples} | {r.wall_s:.1f} | {r.floor_s:.1f} "
            f"| **{r.wall_over_floor:.3f}** | {r.samples_per_s:.1f} | {r.cpu_s_per_sample:.4f} "
            f"| {r.peak_rss_mb:.0f} | {r.peak_in_flight} | {r.generation_tokens:,} + {r.grader_tokens:,} "
            f"| {r.load_before:.2f} / {r.load_after:.2f} |"
        )
    return "\n".join(rows)


def replay_row(r: ReplayRun) -> str:
    """One ``replay`` run as a markdown table row."""
    return (
        f"| {r.task} | {r.samples} | {r.wall_s:.1f} | {r.samples_per_s:.1f} | {r.eval_samples_per_s:.1f} "
        f"| {r.cpu_s_per_sample:.5f} "
        f"| {r.peak_rss_mb:.0f} | {r.load_before:.2f} / {r.load_after:.2f} |"
    )


def replay_table(runs: Sequence[ReplayRun]) -> str:
    """The ``replay`` runs as a markdown table, with our CPU per sample over the bare task's."""
    rows = [
        "| task | samples | wall s | samples/s | samples/s in the eval | CPU s/sample | peak RSS MB "
        "| load avg before / after |",
        "|---|---|---|---|---|---|---|---|",
        *(replay_row(r) for r in runs),
    ]
    summary = replay_summary(runs)
    rows.append("")
    rows.append(
        f"ours: {summary['ours_samples_per_s']:.1f} samples/s (mean; "
        f"{summary['ours_eval_samples_per_s']:.1f} in the eval); our CPU per sample / bare's: "
        f"**{summary['cpu_ratio']:.3f}**; wall per sample ratio {summary['wall_ratio']:.3f}"
    )
    return "\n".join(rows)


def replay_summary(runs: Sequence[ReplayRun]) -> dict[str, float]:
    """Means over the runs of each task, and ours over bare (CPU and wall per sample)."""

    def mean(task: str, attribute: str) -> float:
        values = [getattr(r, attribute) for r in runs if r.task == task]
        return sum(values) / len(values)

    return {
        "ours_samples_per_s": mean("ours", "samples_per_s"),
        "bare_samples_per_s": mean("bare", "samples_per_s"),
        "ours_eval_samples_per_s": mean("ours", "eval_samples_per_s"),
        "cpu_ratio": mean("ours", "cpu_s_per_sample") / mean("bare", "cpu_s_per_sample"),
        "wall_ratio": mean("bare", "samples_per_s") / mean("ours", "samples_per_s"),
    }


def write_json(path: Path, kind: str, runs: Sequence[Any], extra: dict[str, Any] | None = None) -> None:
    """The runs (and the machine they ran on) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "benchmark": kind,
        "time": datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "runs": [asdict(r) for r in runs],
        **(extra or {}),
    }
    path.write_text(json.dumps(body, indent=2) + "\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="kind", required=True)
    engine = sub.add_parser("engine", help="the grid with the LLM judge against a token-paced stand-in")
    engine.add_argument("--prompts", type=int, default=STUDY_PROMPTS, help="prompts (x 20 cells; 876: all)")
    engine.add_argument(
        "--connections",
        default="default",
        help="comma-separated settings: default (no flag), inspect (Inspect's adaptive default), or N",
    )
    engine.add_argument("--token-rate", type=float, default=TOKEN_RATE)
    engine.add_argument("--sequence-rate", type=float, default=SEQUENCE_RATE)
    engine.add_argument("--ttft", type=float, default=TTFT_S)
    engine.add_argument(
        "--shards", type=int, default=1, help="inspect eval processes sharing the grid (-T shard=k/N)"
    )
    engine.add_argument(
        "--no-log-realtime", action="store_true", help="pass Inspect's --no-log-realtime to every process"
    )
    replay = sub.add_parser("replay", help="the README's replay job beside a bare Inspect task")
    replay.add_argument("--prompts", type=int, default=100, help="first N prompts (x 20 cells)")
    replay.add_argument("--repeats", type=int, default=2, help="runs of each task, alternated")
    for p in (engine, replay):
        p.add_argument("--out", type=Path, default=None, help="JSON results (default benchmarks/results/)")
        p.add_argument("--log-dir", type=Path, default=None, help="eval logs (default: a temporary folder)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark the command line asks for; print its table and write its JSON."""
    args = parse_args(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or DEFAULT_OUT / f"{args.kind}-{stamp}.json"
    with tempfile.TemporaryDirectory(prefix="rs-bench-") as temp:
        log_root = args.log_dir or Path(temp)
        if args.kind == "engine":
            runs: list[Any] = []
            for setting in args.connections.split(","):
                rates = (args.token_rate, args.sequence_rate, args.ttft)
                runs.append(
                    run_engine(
                        setting.strip(), args.prompts, *rates, log_root, args.shards, not args.no_log_realtime
                    )
                )
                print(engine_table(runs[-1:]).splitlines()[-1], flush=True)
            table, extra = engine_table(runs), {}
        else:
            runs = []
            for _ in range(args.repeats):
                for task in ("bare", "ours"):
                    runs.append(run_replay(task, args.prompts, log_root))
                    print(replay_row(runs[-1]), flush=True)
            table, extra = replay_table(runs), {"summary": replay_summary(runs)}
    print(table)
    write_json(out, args.kind, runs, extra)
    print(f"\nJSON: {out}")
    return {"runs": runs, **extra}


if __name__ == "__main__":
    main()
