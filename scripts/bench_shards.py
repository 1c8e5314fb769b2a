"""Speed-up of N shard processes against one process on the same grid, replaying the study.

    python scripts/bench_shards.py [--prompts 200] [--shards 2] [--out DIR]

Runs `inspect eval tasks/stability.py` over a seeded subset of the study's prompts (`-T sample=`) on the
full 20-cell grid, replaying the study's responses with its recorded labels (`--model replay/qwen
-T judge=recorded --no-log-realtime`): once as one process, then as `--shards` processes at once
(`-T shard=k/N`). Prints wall time, samples/s, CPU seconds per sample (user + system of the `inspect`
processes, from `resource.getrusage(RUSAGE_CHILDREN)`) and the load average, which says how much of
the machine the runs had. Every log must end with status success, and the shards must merge into the
same prompts as the single run (`analysis.merge`), or the script fails.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inspect_ai.log import read_eval_log

from refusal_stability.analysis.merge import check_parts, read_parts

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO.parent / "shared" / "datasets" / "refusal_stability_paper"
INSPECT = Path(sys.executable).with_name("inspect")


def _command(prompts: int, log_dir: Path, shard: str | None) -> list[str]:
    command = [
        str(INSPECT), "eval", "tasks/stability.py",
        "--model", "replay/qwen", "-M", f"path={STUDY / 'labels'}",
        "-T", "judge=recorded", "-T", f"data_dir={STUDY.parent}", "-T", f"sample={prompts}",
        "--no-log-realtime", "--display", "none", "--log-dir", str(log_dir),
    ]  # fmt: skip
    return [*command, "-T", f"shard={shard}"] if shard else command


def _run(commands: list[list[str]]) -> tuple[float, float]:
    """Run the commands at once; return (wall seconds, CPU seconds of the children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    processes = [
        subprocess.Popen(c, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for c in commands
    ]
    for p in processes:
        output, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"inspect eval failed ({p.returncode}):\n{output.decode()[-3000:]}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _samples(log_dir: Path) -> int:
    total = 0
    for path in log_dir.glob("*.eval"):
        header = read_eval_log(str(path), header_only=True)
        if header.status != "success":
            raise SystemExit(f"{path}: status {header.status}")
        total += header.results.total_samples if header.results else 0
    return total


def main() -> None:
    """Time one process, then N shard processes, and print the comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--out", default=None, help="keep the logs here (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="bench-shards-"))
    rows = []
    for label, shards in (("1 process", None), (f"{args.shards} shard processes", args.shards)):
        log_dir = root / label.replace(" ", "-")
        load_before = os.getloadavg()[0]
        commands = (
            [_command(args.prompts, log_dir, None)]
            if shards is None
            else [_command(args.prompts, log_dir, f"{k}/{shards}") for k in range(1, shards + 1)]
        )
        wall, cpu = _run(commands)
        samples = _samples(log_dir)
        [run] = check_parts(read_parts(sorted(log_dir.glob("*.eval"))))
        rows.append((label, wall, samples, cpu, run.prompts, load_before, os.getloadavg()[0]))
    single = rows[0][1]
    columns = ["run", "wall s", "samples", "samples/s", "CPU s / 1000 samples", "prompts merged", "speed-up"]
    print("| " + " | ".join([*columns, "load avg before/after"]) + " |")
    print("|" + "---|" * (len(columns) + 1))
    for label, wall, samples, cpu, prompts, before, after in rows:
        print(
            f"| {label} | {wall:.1f} | {samples} | {samples / wall:.1f} | {1000 * cpu / samples:.2f} "
            f"| {prompts} | {single / wall:.2f}x | {before:.1f} / {after:.1f} |"
        )
    print(f"cores: {os.cpu_count()}; logs under {root}")


if __name__ == "__main__":
    main()
