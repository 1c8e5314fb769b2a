"""Kill a run half-way, resume it with `inspect eval-retry`, and count what was generated twice.

Against a stand-in vLLM server (so every request is counted at the server):

1. an uninterrupted run of the grid (its wall time and metrics are the reference);
2. the same run, SIGKILLed once the server has answered `--kill-at` of the grid, then `inspect eval-retry`
   on its log until it finishes.

It reports how many requests the server had answered before the kill, how many of those were sent again
after resuming (finished work lost with the killed process), whether the resumed run's metrics equal the
uninterrupted run's, and both wall times. Extra `inspect eval` options (e.g. ``--no-log-realtime
--log-buffer 10``) apply to every run:

    python scripts/kill_resume.py --prompts 100 --delay 0.02 -- --no-log-realtime --log-buffer 10

Runs `inspect eval` exactly as a user would, in a subprocess, with ``VLLM_BASE_URL`` pointing at the
stand-in and the `vllm/` provider.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from inspect_ai.log import list_eval_logs, read_eval_log

from refusal_stability.models.standin.pacing import make_pacer
from refusal_stability.models.standin.runner import RunningStandin, running_standin
from refusal_stability.models.standin.server import StandinConfig

REPO = Path(__file__).resolve().parents[1]
POLL_S = 0.05
RUN_TIMEOUT_S = 1800


def parse_args() -> argparse.Namespace:
    """The command line; everything after ``--`` goes to `inspect eval`."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=100, help="prompts (x 20 grid cells)")
    parser.add_argument("--dataset", default="advbench")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds each stand-in reply takes")
    parser.add_argument(
        "--kill-at", type=float, default=0.5, help="share of the grid answered before SIGKILL"
    )
    parser.add_argument("--skip-reference", action="store_true", help="only the killed and resumed run")
    parser.add_argument("--work-dir", type=Path, default=None, help="where logs go (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument("inspect_args", nargs="*", help="extra `inspect eval` options (after --)")
    return parser.parse_args()


def eval_command(args: argparse.Namespace, model: str, log_dir: Path) -> list[str]:
    """The `inspect eval` command line of one run."""
    return [
        "inspect",
        "eval",
        "tasks/stability.py",
        "--model",
        f"vllm/{model}",
        "-T",
        f"dataset={args.dataset}",
        "-T",
        f"sample={args.prompts}",
        "-T",
        "judge=offline",
        "--log-dir",
        str(log_dir),
        "--display",
        "none",
        *args.inspect_args,
    ]


def environment(server: RunningStandin) -> dict[str, str]:
    """The subprocess environment: the stand-in as the vLLM server."""
    return {**os.environ, "VLLM_BASE_URL": server.base_url}


def metrics_of(log_path: str) -> dict[str, Any]:
    """Status, sample count and every metric of a finished log."""
    log = read_eval_log(log_path, header_only=True)
    metrics = {
        f"{score.name}/{name}": metric.value
        for score in (log.results.scores if log.results else [])
        for name, metric in score.metrics.items()
    }
    return {"status": log.status, "samples": log.results.completed_samples if log.results else 0, **metrics}


def only_log(log_dir: Path) -> str:
    """The newest log in a folder."""
    logs = list_eval_logs(str(log_dir))
    if not logs:
        raise RuntimeError(f"no log was written in {log_dir}")
    return logs[0].name


def reference_run(args: argparse.Namespace, server: RunningStandin, work: Path) -> dict[str, Any]:
    """An uninterrupted run: wall time, speed and metrics."""
    log_dir = work / "reference"
    start = time.perf_counter()
    subprocess.run(
        eval_command(args, server.model, log_dir),
        env=environment(server),
        cwd=REPO,
        check=True,
        timeout=RUN_TIMEOUT_S,
    )
    wall = time.perf_counter() - start
    result = metrics_of(only_log(log_dir))
    return {"wall_s": round(wall, 1), "samples_per_s": round(result["samples"] / wall, 1), "metrics": result}


def killed_and_resumed(
    args: argparse.Namespace, server: RunningStandin, work: Path, grid: int
) -> dict[str, Any]:
    """Run, SIGKILL at `kill_at` of the grid answered, then eval-retry until the log finishes."""
    log_dir = work / "killed"
    first = len(server.records())
    start = time.perf_counter()
    process = subprocess.Popen(
        eval_command(args, server.model, log_dir), env=environment(server), cwd=REPO, start_new_session=True
    )
    target = int(args.kill_at * grid)
    while sum(r.answered and r.kind == "generation" for r in server.records()[first:]) < target:
        if process.poll() is not None:
            raise RuntimeError(f"the run ended (exit {process.returncode}) before {target} answers")
        time.sleep(POLL_S)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = len(server.records())
    before = [r for r in server.records()[first:killed_at] if r.kind == "generation"]
    answered_before = {r.key for r in before if r.answered}
    log_path = only_log(log_dir)
    retries = 0
    while read_eval_log(log_path, header_only=True).status != "success":
        retries += 1
        if retries > 3:
            raise RuntimeError(f"{log_path} is still not finished after 3 eval-retry runs")
        subprocess.run(
            [
                "inspect",
                "eval-retry",
                log_path,
                "--log-dir",
                str(log_dir),
                "--display",
                "none",
                *args.inspect_args,
            ],
            env=environment(server),
            cwd=REPO,
            check=True,
            timeout=RUN_TIMEOUT_S,
        )
        log_path = only_log(log_dir)
    wall = time.perf_counter() - start
    after = [r for r in server.records()[killed_at:] if r.kind == "generation"]
    resent = [r for r in after if r.key in answered_before]
    return {
        "wall_s": round(wall, 1),
        "answered_before_kill": len(answered_before),
        "in_flight_at_kill": sum(not r.answered for r in before),
        "requests_after_kill": len(after),
        "resent_after_resume": len(resent),
        "resent_pct_of_grid": round(100 * len(resent) / grid, 2),
        "resent_pct_of_answered": round(100 * len(resent) / max(1, len(answered_before)), 2),
        "eval_retry_runs": retries,
        "metrics": metrics_of(log_path),
    }


def main() -> int:
    """Run the reference and the killed-and-resumed run; print (and optionally save) the numbers."""
    args = parse_args()
    grid = args.prompts * 20
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="kill-resume-"))
    config = StandinConfig(
        served_model_names=(f"standin-{uuid.uuid4().hex[:8]}/model",), pacer=make_pacer(args.delay)
    )
    out: dict[str, Any] = {
        "prompts": args.prompts,
        "grid": grid,
        "delay_s": args.delay,
        "inspect_args": args.inspect_args,
        "work_dir": str(work),
    }
    with running_standin(config) as server:
        if not args.skip_reference:
            out["reference"] = reference_run(args, server, work)
        out["killed"] = killed_and_resumed(args, server, work, grid)
    if "reference" in out:
        reference = {k: v for k, v in out["reference"]["metrics"].items() if k != "status"}
        resumed = {k: v for k, v in out["killed"]["metrics"].items() if k != "status"}
        out["metrics_equal"] = reference == resumed
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    ok = out["killed"]["metrics"]["status"] == "success" and out.get("metrics_equal", True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
