"""Measure the fault table: each fault the stand-in can inject -> retries -> outcome, read from the log.

For every fault kind, a grid of `--prompts` AdvBench prompts x 2 temperatures x 2 seeds runs through
Inspect's real `vllm/` provider (with the LLM judge on the same stand-in) while the stand-in injects that
fault into a share `--rate` of the tested model's requests. Each row gives what the server injected, what
the log records (`run_health`: retries inside calls, failed attempts, unreadable replies asked for again,
sample errors, unscored reasons, stop reasons) and the eval's status:

    python scripts/fault_table.py --prompts 20 --rate 0.1
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from pathlib import Path

from inspect_ai import eval

from refusal_stability.analysis.run_health import run_health
from refusal_stability.models.standin.faults import FaultKind, FaultRule
from refusal_stability.models.standin.runner import running_standin
from refusal_stability.models.standin.server import StandinConfig
from refusal_stability.tasks.stability import stability

REPO = Path(__file__).resolve().parents[1]
ATTEMPT_TIMEOUT_S = 10
SLOW_S = 60.0


def run_one(kind: FaultKind, args: argparse.Namespace, log_dir: Path) -> str:
    """One fault's row of the table (markdown)."""
    prefix = f"standin-{uuid.uuid4().hex[:8]}"
    config = StandinConfig(
        served_model_names=(f"{prefix}/model", f"{prefix}/grader"),
        faults=(FaultRule(kind, rate=args.rate),),
        slow_s=SLOW_S,
    )
    with running_standin(config) as server:
        os.environ["VLLM_BASE_URL"] = server.base_url
        task = stability(
            dataset="advbench", sample=args.prompts, temperatures="0,1", seeds="1,2", judge="llm"
        )
        start = time.perf_counter()
        [log] = eval(
            task,
            model=f"vllm/{prefix}/model",
            model_roles={"grader": f"vllm/{prefix}/grader"},
            model_args={"retry_delay": 1},
            attempt_timeout=ATTEMPT_TIMEOUT_S,
            display="none",
            log_dir=str(log_dir),
            log_realtime=False,
        )
        wall = time.perf_counter() - start
        injected = server.stats()["faults"].get(kind.value, 0)
    health = run_health(log.location)
    model = health.models.get(f"vllm/{prefix}/model")
    unscored = "; ".join(f"{k} {v}" for r in health.unscored.values() for k, v in r.items()) or "0"
    stops = "; ".join(f"{k} {v}" for k, v in health.stop_reasons.items()) or "-"
    retries, failed = (model.retries, model.failed_attempts) if model else (0, 0)
    return (
        f"| `{kind.value}` | {injected} | {retries} | {failed} "
        f"| {health.unreadable_retries} | {health.sample_errors} | {log.status} | {health.samples} "
        f"| {unscored} | {stops} | {wall:.0f} |"
    )


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.1, help="share of generation requests hit")
    parser.add_argument("--log-dir", type=Path, default=REPO / "logs" / "fault-table")
    args = parser.parse_args()
    print(
        "| fault | injected | retries in call | failed attempts | unreadable re-asked | sample errors "
        "| status | samples | unscored (reason n) | stop reasons | wall s |"
    )
    print("|" + "---|" * 11)
    for kind in FaultKind:
        print(run_one(kind, args, args.log_dir), flush=True)


if __name__ == "__main__":
    main()
