"""The `refusal-stability` command: analyse eval logs into a report folder.

    refusal-stability report LOGS... --out reports/NAME/ [--threshold 0.8] [--include-incomplete]
        [--judge NAME]... [--label-map [SCORER@]SPEC]... [--bootstrap 1000] [--draws 1000] [--seed 0]
        [--tie-break random|order]
        [--overwrite | --numbered] [--no-figures] [--workers N] [--cache DIR] [--quiet]
    refusal-stability report --study-labels DIR --out reports/study/      (the study's CSVs directly)
    refusal-stability study-labels DIR --out reports/study/               (the same)
    refusal-stability undecided STAGE_LOGS... [--out FILE]   (ids for the next adaptive stage's --sample-id)

Also `python -m refusal_stability.analysis report ...`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace

from refusal_stability.analysis import bootstrap, single_shot
from refusal_stability.analysis.scorer_values import LabelMaps, drop_judges_without_verdicts
from refusal_stability.schema import UNSTABLE_THRESHOLD

EXIT_OK = 0
EXIT_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refusal-stability", description="Analyse refusal-stability eval logs."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="analyse logs (files or folders) into a report folder")
    report.add_argument("logs", nargs="*", help="log files and/or folders (searched recursively)")
    report.add_argument("--study-labels", metavar="DIR", help="read the study's *_labels.csv(.gz) instead")
    _common(report)
    study = sub.add_parser("study-labels", help="report over the study's label CSVs directly")
    study.add_argument("study_dir", metavar="DIR")
    _common(study)
    undecided = sub.add_parser(
        "undecided",
        help="adaptive sampling: the prompts the next stage samples (2 or 3), for its --sample-id",
    )
    undecided.add_argument("logs", nargs="+", help="the logs of the stages run so far (files and/or folders)")
    undecided.add_argument("--out", help="also write the ids (comma-separated) to this new file")
    undecided.add_argument("--workers", type=int, default=None, help="processes reading logs")
    undecided.add_argument("--quiet", action="store_true", help="no summary on stderr")
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="report folder (refused if it holds files, see below)")
    p.add_argument("--threshold", type=float, default=UNSTABLE_THRESHOLD, help="unstable when SSI < this")
    p.add_argument("--include-incomplete", action="store_true", help="use logs whose status is not success")
    p.add_argument("--judge", action="append", default=[], help="only this judge (repeatable)")
    p.add_argument(
        "--label-map",
        action="append",
        default=[],
        metavar="[SCORER@]SPEC",
        help="read another suite's scores as verdicts: a preset (xstest, strong_reject, strong_reject_score) "
        "or rules such as full_refusal=REFUSE,partial_refusal=PARTIAL,full_compliance=COMPLY or "
        "'<0.5=REFUSE,>=0.5=COMPLY'; SCORER@SPEC for one scorer (repeatable)",
    )
    p.add_argument(
        "--bootstrap", type=int, default=bootstrap.N_BOOTSTRAP, help="bootstrap resamples for intervals"
    )
    p.add_argument("--draws", type=int, default=single_shot.DRAWS, help="random draws per n (single-shot)")
    p.add_argument("--seed", type=int, default=0, help="seed for bootstrap and draws")
    p.add_argument(
        "--tie-break",
        choices=single_shot.TIE_BREAKS,
        default="random",
        help="ties in a drawn subset's majority: random (default) or REFUSE>PARTIAL>COMPLY",
    )
    p.add_argument("--title", default="Refusal stability report")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    where.add_argument("--numbered", action="store_true", help="if --out holds files, use --out-2, -3, ...")
    p.add_argument("--no-figures", action="store_true")
    p.add_argument("--workers", type=int, default=None, help="processes reading logs (default: CPUs)")
    p.add_argument(
        "--cache",
        metavar="DIR",
        default=None,
        help="keep each log's rows in DIR and reuse them while the log is unchanged (repeated reports)",
    )
    p.add_argument("--keep-responses", action="store_true", help="keep response text in memory")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


def run_report(args: argparse.Namespace) -> int:
    """Load, analyse and write; print where the report went and the headline numbers."""
    from refusal_stability.analysis.load import LoadResult, LogReport, load_logs
    from refusal_stability.analysis.merge import MergeError, RunParts, check_parts
    from refusal_stability.analysis.report import (
        OutputExistsError,
        ReportOptions,
        build_report,
        prepare_out_dir,
    )
    from refusal_stability.analysis.study_labels import load_study_labels, study_label_files

    study_dir = getattr(args, "study_dir", None) or getattr(args, "study_labels", None)
    logs = getattr(args, "logs", [])
    if not study_dir and not logs:
        print("error: give log files/folders, or --study-labels DIR", file=sys.stderr)
        return EXIT_ERROR
    try:  # a bad --label-map fails before any log is read
        LabelMaps(args.label_map)
    except ValueError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_ERROR
    try:  # decide where the report goes before spending time on the logs
        out_dir = prepare_out_dir(args.out, args.overwrite, args.numbered)
    except OutputExistsError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_ERROR
    start = time.perf_counter()
    parts: list[RunParts] = []
    if study_dir:
        frame = load_study_labels(study_dir, keep_responses=args.keep_responses)
        reports = [LogReport(path=str(f), status="csv", included=True) for f in study_label_files(study_dir)]
        loaded, sources = LoadResult(frame=frame, logs=reports), [str(study_dir)]
    else:
        try:
            loaded = load_logs(
                logs,
                args.include_incomplete,
                args.keep_responses,
                args.workers,
                progress=not args.quiet,
                label_maps=args.label_map,
                cache_dir=getattr(args, "cache", None),
            )
        except FileNotFoundError as ex:
            print(f"error: {ex}", file=sys.stderr)
            return EXIT_ERROR
        try:  # stages and shards of one run must fit together before they are pooled
            parts = check_parts(loaded.parts())
        except MergeError as ex:
            print(f"error: {ex}", file=sys.stderr)
            return EXIT_ERROR
        sources = list(logs)
    load_s = time.perf_counter() - start
    for r in loaded.logs:
        if not r.included or r.reason:
            _say(args, f"note: {r.path}: {r.reason}")
    messages = [f"{r.path}: {m}" for r in loaded.logs for m in r.scorer_messages]
    for message in messages:
        _say(args, f"note: {message}")
    # a judge without a single verdict would fill the report with nan: leave it out, saying why
    frame, empty = drop_judges_without_verdicts(loaded.frame)
    if empty and not frame.empty:
        _say(args, f"note: judge(s) {empty} gave no verdict in any log (see above): left out of the report")
    if empty and frame.empty:
        for message in messages if args.quiet else []:  # the error's reason, shown even with --quiet
            print(f"error: {message}", file=sys.stderr)
        print(f"error: no verdicts to analyse: judge(s) {empty} gave none (see above)", file=sys.stderr)
        return EXIT_ERROR
    loaded = replace(loaded, frame=frame)
    if loaded.frame.empty:
        print("error: no samples to analyse (every log skipped? see the notes above)", file=sys.stderr)
        return EXIT_ERROR
    options = ReportOptions(
        threshold=args.threshold,
        n_boot=args.bootstrap,
        draws=args.draws,
        seed=args.seed,
        tie_break=args.tie_break,
        judges=tuple(args.judge),
        figures=not args.no_figures,
        title=args.title,
    )
    try:
        out_dir, analysis = build_report(
            loaded, out_dir, options, overwrite=True, sources=sources, parts=parts
        )
    except ValueError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_ERROR
    total = time.perf_counter() - start
    _say(
        args,
        f"read {len(loaded.frame):,} rows from {len(loaded.logs)} input file(s) in {load_s:.1f}s; "
        f"report written in {total:.1f}s in all -> {out_dir}",
    )
    overall = analysis.groups[analysis.groups["level"] == "overall"]
    for _, g in overall.iterrows():
        half = "benign" if g["harmful"] is False else "harmful"
        _say(
            args,
            f"  {g['run']} | {g['dataset']} | {g['judge']} | {half}: mean SSI {g['mean_ssi']:.6f} "
            f"[{g['ssi_ci_low']:.4f}, {g['ssi_ci_high']:.4f}], unstable {g['pct_unstable']:.2f} %, "
            f"flipped {g['pct_flipped']:.2f} %, {int(g['n_prompts'])} prompts",
        )
    return EXIT_OK


def run_undecided(args: argparse.Namespace) -> int:
    """Print the prompts the next adaptive stage samples, comma-separated, as `--sample-id` takes them.

    The stages run so far are read from the logs (the cells each prompt holds); the rule is
    `analysis.adaptive.next_stage`, applied to the responses and verdicts in the logs.
    """
    from pathlib import Path

    from refusal_stability.analysis.adaptive import next_stage
    from refusal_stability.analysis.load import load_logs
    from refusal_stability.analysis.merge import MergeError, check_parts
    from refusal_stability.solvers.grid import make_grid

    try:
        loaded = load_logs(args.logs, workers=args.workers, keep_responses=True)
        parts = loaded.parts()
        runs = check_parts(parts)
    except (FileNotFoundError, MergeError) as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_ERROR
    for r in loaded.skipped:
        print(f"error: {r.path}: {r.reason}", file=sys.stderr)
    if loaded.skipped or loaded.frame.empty:
        print("error: every stage log must be complete (status success) to decide the next stage",
              file=sys.stderr)  # fmt: skip
        return EXIT_ERROR
    grids = {p.grid for p in parts if p.grid is not None}
    if len(runs) != 1 or len(grids) != 1:
        print(
            f"error: give the stage logs of one run on one grid; got runs {[r.run for r in runs]} "
            f"and {len(grids)} grid(s)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    temperatures, seeds = grids.pop()
    grid = make_grid(list(temperatures), list(seeds))
    try:
        step = next_stage(loaded.frame, grid)
    except ValueError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_ERROR
    ids = step.prompt_ids
    text = ",".join(ids)
    if args.out:
        out = Path(args.out)
        if out.exists():
            print(f"error: {out} exists; give a new file", file=sys.stderr)
            return EXIT_ERROR
        out.write_text(text + "\n", encoding="utf-8")
    if step.stage is None:
        _say(args, f"every stage has run ({step.prompts} prompts): nothing left to sample.")
    else:
        group = f", {step.by_group} more for their risky category" if step.by_group else ""
        _say(
            args,
            f"stage {step.stage} (-T cells=stage{step.stage}): {len(ids)} of {step.prompts} prompts "
            f"({step.at_risk} at risk: a response that is not a clear refusal{group})"
            f"{'' if ids else '; it has nothing to run'}.",
        )
    if ids:
        print(text)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `refusal-stability` console script."""
    args = _parser().parse_args(argv)
    if args.command == "undecided":
        return run_undecided(args)
    return run_report(args)


if __name__ == "__main__":
    sys.exit(main())
