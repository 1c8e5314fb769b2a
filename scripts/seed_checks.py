"""Do seeds reach the engine? The same grid run twice, in two separate processes, on a real model.

Runs `inspect eval tasks/stability.py` twice as a user would (two processes, so two freshly loaded engines;
the second run takes the samples in another order) and counts, from the two logs:

- same cell (prompt, temperature, seed) in the two runs: byte-identical responses;
- two seeds at the same temperature > 0: different responses (seeds are honoured);
- temperature 0: identical responses across seeds;
- the engine floor: same-seed repeats inside one run (`-T engine_repeats=`) whose response differs.

    python scripts/seed_checks.py --model local/smollm2 --prompts 20 --log-dir logs/seed-checks

Works with any engine Inspect can reach (e.g. `--model vllm/<model>` on a GPU), where the counts measure that
engine's reproducibility. Exits non-zero when a run fails or a check finds a same-seed mismatch.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from pathlib import Path

from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log

TASK = "tasks/stability.py"
Cell = tuple[str, float, int]


def run_grid(args: argparse.Namespace, log_dir: Path, shuffle: int | None) -> EvalLog:
    """One `inspect eval` process over the grid; returns its log (status checked)."""
    if log_dir.exists() and any(log_dir.iterdir()):
        raise SystemExit(f"{log_dir} already holds logs: give a new --log-dir (logs are never overwritten)")
    task_args = {
        "sample": args.prompts,
        "temperatures": args.temperatures,
        "seeds": args.seeds,
        "max_tokens": args.max_tokens,
        "judge": "offline",
        "engine_repeats": args.engine_repeats,
    }
    command = ["inspect", "eval", TASK, "--model", args.model, "--log-dir", str(log_dir), "--display", "none"]
    for name, value in task_args.items():
        command += ["-T", f"{name}={value}"]
    if shuffle is not None:
        command += ["--sample-shuffle", str(shuffle)]
    subprocess.run(command, check=True)
    [info] = list_eval_logs(str(log_dir))
    log = read_eval_log(info)
    if log.status != "success":  # `inspect eval` exits 0 on an errored eval: read the status
        raise SystemExit(f"{info.name}: status {log.status}: {log.error}")
    return log


def responses(log: EvalLog, repeats: bool = False) -> dict[Cell, str]:
    """(prompt id, temperature, seed) -> response, for the grid's samples or for its engine repeats."""
    return {
        (str(s.id), float(s.metadata["temperature"]), int(s.metadata["seed"])): s.output.completion
        for s in log.samples or []
        if bool(s.metadata["engine_repeat"]) == repeats
    }


def checks(first: EvalLog, second: EvalLog) -> dict[str, tuple[int, int]]:
    """Each check's (count, out of): read from the two logs only."""
    a, b = responses(first), responses(second)
    if a.keys() != b.keys():
        raise SystemExit(f"the two runs sampled different cells: {sorted(a.keys() ^ b.keys())[:5]} ...")
    prompts = sorted({cell[0] for cell in a})
    temperatures = sorted({cell[1] for cell in a})
    seeds = sorted({cell[2] for cell in a})
    pairs = list(itertools.combinations(seeds, 2))
    hot = [t for t in temperatures if t > 0]
    out = {"same seed, two runs: identical": (sum(a[c] == b[c] for c in a), len(a))}
    for t in hot:
        differ = sum(a[(p, t, s1)] != a[(p, t, s2)] for p in prompts for s1, s2 in pairs)
        out[f"T={t}, two seeds: different"] = (differ, len(prompts) * len(pairs))
    if 0.0 in temperatures:
        same = sum(a[(p, 0.0, s1)] == a[(p, 0.0, s2)] for p in prompts for s1, s2 in pairs)
        out["T=0, two seeds: identical"] = (same, len(prompts) * len(pairs))
    repeats = responses(first, repeats=True)
    floor = sum(repeats[c] != a[c] for c in repeats)
    out["engine floor: same-seed repeats that differ"] = (floor, len(repeats))
    return out


def main() -> None:
    """Run the grid twice, then print the checks and exit 1 on any same-seed mismatch."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--temperatures", default="0,0.8")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--engine-repeats", type=int, default=2)
    parser.add_argument("--log-dir", type=Path, default=Path("logs/seed-checks"))
    args = parser.parse_args()
    first = run_grid(args, args.log_dir / "run1", shuffle=None)
    second = run_grid(args, args.log_dir / "run2", shuffle=7)
    results = checks(first, second)
    print(f"model `{args.model}`, {args.prompts} prompts, T {args.temperatures}, seeds {args.seeds}\n")
    print("| check | count |\n|---|---|")
    for name, (count, total) in results.items():
        print(f"| {name} | {count} / {total} |")
    same_seed = results["same seed, two runs: identical"]
    floor = results["engine floor: same-seed repeats that differ"]
    sys.exit(0 if same_seed[0] == same_seed[1] and floor[0] == 0 else 1)


if __name__ == "__main__":
    main()
