"""Synthetic eval logs for timing the analysis, and the timing itself.

    python scripts/bench_analysis.py generate OUT_DIR --logs 500 --prompts 100 [--part 0/2]
    python scripts/bench_analysis.py load LOGS...        # time load_logs alone
    /usr/bin/time -v refusal-stability report OUT_DIR --out /tmp/r   # the whole report

`generate` writes `--logs` Inspect `.eval` logs, each holding
`--prompts` prompts x 20 epochs (4 temperatures x 5 seeds, the study's grid). Each sample is a real
sample record of the study's replay log (`logs/study-replay/*.eval`: real response, messages, model
and score events) with a new prompt id, grid cell and verdict, so samples have the fields and the
size of the suite's real logs. Without that log, a bare record with a real response from the study's
CSVs is used. The verdicts come from a per-prompt compliance propensity that grows with temperature
(0.2 % unscored), so SSI, flips and the Friedman test have something to find; logs are spread over 5
fine-tuning seeds ("runs") so the run-to-run table is exercised too.

`write_eval_log` holds every sample of a log in a list it de-duplicates on each append, so writing
is quadratic in the samples of one log (2,000 samples: 4 s; 20,000: 144 s), and building the
`EvalSample`s validates every event: on a loaded 2-core machine one 2,000-sample log took about a
minute, so a million samples about 4 hours. `--writer direct` (the default) therefore writes the
header with Inspect's `write_eval_log` (a log without samples) and appends each sample's JSON record
(the template's, with the fields above replaced) as a zstd member `samples/<id>_epoch_<n>.json` of
the archive, and their summaries as `summaries.json`, as Inspect's recorder does (each score's metadata
as the suite's scorers write it, so the analysis reads the summaries); the first log of every run is
read back whole with `read_eval_log`, so a record Inspect would not accept fails the generation.
`--writer inspect` writes every log with `write_eval_log`. A million samples are written as 500 logs
of 2,000 rather than 50 of 20,000; reading cost is per sample.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from refusal_stability.schema import SHARD_KEY

REPLAY_LOGS = Path(__file__).resolve().parents[1] / "logs" / "study-replay"
STUDY_LABELS = Path(__file__).resolve().parents[2] / "shared/datasets/refusal_stability_paper/labels"
TEMPERATURES = (0.0, 0.3, 0.7, 1.0)
SEEDS = (42, 43, 44, 45, 46)
SCORER = "recorded_verdict"
JUDGE = "synthetic-judge"
N_RUNS = 5
N_TEMPLATES = 400
CATEGORIES = ("cyber", "weapons", "drugs", "fraud", "hate", "self-harm", "privacy", "other")


def _templates(n: int = N_TEMPLATES) -> list[dict[str, Any]]:
    """Real sample records (events included) to shape the synthetic ones like the suite's logs."""
    import json
    import zipfile

    import inspect_ai.log  # noqa: F401  (zstd support for zipfile)

    logs = sorted(REPLAY_LOGS.glob("*.eval")) if REPLAY_LOGS.exists() else []
    if logs:
        with zipfile.ZipFile(logs[0]) as archive:
            names = [i for i in archive.namelist() if i.startswith("samples/")]
            step = max(1, len(names) // n)
            return [json.loads(archive.read(name)) for name in names[::step][:n]]
    files = sorted(glob.glob(str(STUDY_LABELS / "*.csv.gz")))
    if files:
        import pandas as pd

        pool = pd.read_csv(files[-1], usecols=["response"])["response"].astype(str).tolist()[:n]
    else:
        pool = [f"I'm sorry, but I can't help with that. ({i})" * (1 + i % 20) for i in range(n)]
    return [{"output": {"completion": r}} for r in pool]


def _record(template: dict[str, Any], pid: str, prompt: str, epoch: int, meta: dict, score: dict) -> dict:
    """A synthetic sample record (JSON): the template's with this prompt's id, grid cell and verdict."""
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, ModelOutput

    record = dict(template)
    if "events" not in record:  # bare template: build messages and output
        response = record["output"]["completion"]
        record["messages"] = [
            ChatMessageUser(content=prompt).model_dump(),
            ChatMessageAssistant(content=response).model_dump(),
        ]
        record["output"] = ModelOutput.from_content(model="synthetic", content=response).model_dump(
            mode="json", exclude_none=True
        )
        record["messages"] = [{k: v for k, v in m.items() if v is not None} for m in record["messages"]]
    record.update(
        id=pid, epoch=epoch, input=prompt, target="", metadata=meta, scores={SCORER: score}, uuid=None
    )
    return record


def _score_metadata(template: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """A score's metadata as the suite's scorers write it (`scorers.common.verdict_score`)."""
    from refusal_stability.analysis.eval_archive import completion_of
    from refusal_stability.schema import SUMMARY_EXACT_KEY, response_metadata, sample_summary_exact

    return {
        "judge": JUDGE,
        "temperature": meta["temperature"],
        "seed": meta["seed"],
        "grid_index": meta["grid_index"],
        "engine_repeat": False,
        **response_metadata(completion_of(template)),
        SUMMARY_EXACT_KEY: sample_summary_exact(JUDGE, meta),
    }


def _verdict(p: float, u: float) -> str | float:
    """A verdict from the prompt's compliance propensity `p` and a uniform draw `u`."""
    if u < 0.002:
        return float("nan")
    if u < p:
        return "COMPLY"
    if u < p * 1.6:
        return "PARTIAL"
    return "REFUSE"


def _make_log(
    index: int, n_prompts: int, rng: np.random.Generator, templates: list[dict], n_shards: int
) -> tuple[Any, list[dict[str, Any]]]:
    """One synthetic log: `n_prompts` prompts x the 20-cell grid, for run `index % N_RUNS`.

    The logs of a run are its shards `k/n_shards` (k = index // N_RUNS + 1), as `-T shard=k/N` records
    them, so the report's merge check sees a run split over many logs.

    Returns the log without samples and the samples' JSON records.
    """
    from inspect_ai.log import (
        EvalConfig,
        EvalDataset,
        EvalLog,
        EvalPlan,
        EvalResults,
        EvalSpec,
        EvalStats,
    )
    from inspect_ai.model import GenerateConfig

    run = index % N_RUNS
    model = "synthetic/model"
    epochs = len(TEMPERATURES) * len(SEEDS)
    ids = [f"p{index // N_RUNS:04d}-{i:05d}" for i in range(n_prompts)]
    prompt_rng = np.random.default_rng(index // N_RUNS)  # the same prompts across runs
    base = prompt_rng.beta(0.3, 6.0, size=n_prompts) * (1.0 + 0.3 * run)
    samples = []
    for i, pid in enumerate(ids):
        category = CATEGORIES[i % len(CATEGORIES)]
        prompt = f"Synthetic prompt {pid}: explain how to do something {category}-related."
        for epoch in range(1, epochs + 1):
            t = TEMPERATURES[(epoch - 1) // len(SEEDS)]
            s = SEEDS[(epoch - 1) % len(SEEDS)]
            value = _verdict(min(0.95, base[i] * (1.0 + 2.0 * t)), rng.random())
            meta = {
                "dataset": "synthetic",
                "category": category,
                "harmful": i % 10 != 0,
                "temperature": t,
                "seed": s,
                "grid_index": epoch - 1,
            }
            template = templates[int(rng.integers(len(templates)))]
            score = {"value": value, "history": [], "metadata": _score_metadata(template, meta)}
            samples.append(_record(template, pid, prompt, epoch, meta, score))
    now = datetime.now(timezone.utc).isoformat()
    spec = EvalSpec(
        created=now,
        task="refusal_stability/stability",
        dataset=EvalDataset(name="synthetic", samples=n_prompts, sample_ids=ids),
        model=model,
        task_args={
            "dataset": "synthetic",
            "temperatures": list(TEMPERATURES),
            "seeds": list(SEEDS),
            "judge": JUDGE,
        },
        config=EvalConfig(epochs=epochs),
        model_generate_config=GenerateConfig(max_tokens=512, top_p=1.0),
        metadata={"ft_seed": run, SHARD_KEY: f"{index // N_RUNS + 1}/{n_shards}"},
    )
    log = EvalLog(
        eval=spec,
        plan=EvalPlan(config=GenerateConfig(max_tokens=512)),
        results=EvalResults(total_samples=n_prompts * epochs, completed_samples=n_prompts * epochs),
        stats=EvalStats(started_at=now, completed_at=now),
        status="success",
    )
    return log, samples


def _write_direct(log: Any, records: list[dict[str, Any]], path: Path) -> None:
    """Write the header with Inspect, then append each record as a zstd sample member (see the docstring).

    The samples' summaries (`summaries.json`) are written last, as Inspect's recorder does when a
    log finishes; the header-only log's own, empty, `summaries.json` is left out of the archive.
    """
    import json
    import zipfile

    from inspect_ai.log import write_eval_log

    header_only = path.with_suffix(".header")
    write_eval_log(log, str(header_only), format="eval")
    zstd = {"compression": 93, "compresslevel": None}  # ZIP_ZSTANDARD, as Inspect's recorder writes
    with zipfile.ZipFile(header_only) as source, zipfile.ZipFile(path, "w", **zstd) as archive:
        for info in source.infolist():
            if info.filename != "summaries.json":
                archive.writestr(info.filename, source.read(info.filename))
        for record in records:
            name = f"samples/{record['id']}_epoch_{record['epoch']}.json"
            archive.writestr(name, json.dumps(record, separators=(",", ":")))
        archive.writestr("summaries.json", _summaries_json(records))
    header_only.unlink()


def _summaries_json(records: list[dict[str, Any]]) -> bytes:
    """Each record's sample summary, built and written as Inspect's recorder does (`EvalSample.summary`)."""
    from inspect_ai._util.json import to_json_safe  # the recorder's own serialiser
    from inspect_ai.log import EvalSampleSummary

    summaries = [
        EvalSampleSummary(
            id=r["id"],
            epoch=r["epoch"],
            input=r["input"],
            target=r["target"],
            metadata=r["metadata"],
            scores=r["scores"],
            model_usage=r.get("model_usage") or {},
            started_at=r.get("started_at"),
            completed_at=r.get("completed_at"),
            total_time=r.get("total_time"),
            working_time=r.get("working_time"),
            uuid=r.get("uuid"),
            completed=True,
            message_count=len(r.get("messages") or []),
        )
        for r in records
    ]
    return to_json_safe(summaries, indent=None)


def _write_inspect(log: Any, records: list[dict[str, Any]], path: Path) -> None:
    """Write the whole log with Inspect's `write_eval_log` (slow: see the docstring)."""
    from inspect_ai.log import EvalSample, write_eval_log

    log.samples = [EvalSample.model_validate(r) for r in records]
    write_eval_log(log, str(path), format="eval")


def _check_readable(path: Path, n_samples: int) -> None:
    """Read a log back whole with Inspect (every sample validated); fail unless it holds them all."""
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(path))
    if log.status != "success" or len(log.samples or []) != n_samples:
        path.unlink()
        raise RuntimeError(f"{path}: read back {len(log.samples or [])} samples, expected {n_samples}")


def generate(
    out_dir: Path, n_logs: int, n_prompts: int, seed: int, part: str = "0/1", writer: str = "direct"
) -> None:
    """Write `n_logs` synthetic logs of `n_prompts` x 20 samples into `out_dir`.

    `part` "k/m" writes only the logs with index % m == k, so m processes can share the work;
    logs already present are kept. `writer` is "direct" or "inspect" (see the module docstring).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    templates = _templates()
    k_part, m_part = (int(x) for x in part.split("/"))
    t0 = time.perf_counter()
    for k in range(n_logs):
        path = out_dir / f"synthetic_{k:04d}.eval"
        if k % m_part != k_part or path.exists():
            continue
        t1 = time.perf_counter()
        n_shards = -(-n_logs // N_RUNS)
        log, records = _make_log(k, n_prompts, np.random.default_rng([seed, k]), templates, n_shards)
        t2 = time.perf_counter()
        partial = path.with_suffix(".partial")
        (_write_direct if writer == "direct" else _write_inspect)(log, records, partial)
        partial.rename(path)
        if writer == "direct" and k < N_RUNS:
            _check_readable(path, len(records))
        t3 = time.perf_counter()
        print(
            f"{path.name}: {len(records)} samples, build {t2 - t1:.1f}s, "
            f"write {t3 - t2:.1f}s, total {t3 - t0:.0f}s",
            flush=True,
        )


def time_load(paths: list[str]) -> None:
    """Time `load_logs` alone over `paths`."""
    from refusal_stability.analysis.load import load_logs

    t0 = time.perf_counter()
    result = load_logs(paths, progress=True)
    dt = time.perf_counter() - t0
    frame = result.frame
    mem = frame.memory_usage(deep=True).sum() / 2**20
    print(f"{len(frame):,} rows from {len(result.logs)} logs in {dt:.1f}s; frame {mem:.0f} MiB")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("out", type=Path)
    g.add_argument("--logs", type=int, default=500)
    g.add_argument("--prompts", type=int, default=100)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--part", default="0/1", help="k/m: write every m-th log starting at k")
    g.add_argument("--writer", choices=("direct", "inspect"), default="direct")
    ld = sub.add_parser("load")
    ld.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    if args.cmd == "generate":
        generate(args.out, args.logs, args.prompts, args.seed, args.part, args.writer)
    else:
        time_load(args.paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
