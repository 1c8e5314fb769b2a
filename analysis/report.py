"""The whole analysis of a set of logs, written to one folder: CSVs, JSON, figures, report.md/.html.

`build_report` runs every step (per prompt -> per group -> statistics -> single-shot -> runs ->
figures) and writes:

    summary.csv                  the opening summary's numbers, one row per run / dataset / judge / half
    per_prompt.csv               one row per prompt (run, model, dataset, judge): SSI, flip, rates
    per_prompt_temperature.csv   the same within each temperature
    groups.csv                   per run / model / dataset / judge / harmful: overall, by category,
                                 by temperature
    determinism.csv              greedy (T = 0) exact-match check
    engine_floor.csv             same-seed engine repeats: response / verdict mismatch rates
    statistics.csv, .json        Friedman + Kendall's W, Wilcoxon post-hoc, Spearman, single-shot,
                                 judge agreement (+ confusion matrices), run-to-run spread
    single_shot.csv              agreement curves, pooled and per temperature
    runs.csv, run_spread.csv     each run's figures and the spread across runs
    judge_agreement.csv          kappa / % agreement per judge pair
    logs.csv                     every log read or skipped, with the reason
    unscored_prompts.csv         prompts without any scored sample (NaN SSI)
    error_bars.csv, share_intervals.csv, compare_runs.csv, detectable.csv, prompts_needed.csv,
    prompt_model.csv, tail_risk.csv, judge_noise.csv, judge_disagreement.csv, corrected_rates.csv
                                 the statistics to publish (`publishable.py`; tables with nothing
                                 to show, e.g. comparisons of a single run, are not written)
    figures/*.png, *.pdf
    report.md, report.html       self-contained (the HTML embeds the figures as base64)

An existing, non-empty output folder is never overwritten silently (`report_folder.py`). This module
is the pipeline (load -> compute -> write); each of its other concerns has its own module:

    report_folder.py   the output-folder policy (`prepare_out_dir`, `OutputExistsError`)
    report_files.py    the CSVs and statistics.json
    study_check.py     the published figures beside runs on dataset `paper` judged `recorded`
    report_summary.py  the opening summary: each unit's numbers (summary.csv), then in sentences
    report_blocks.py   the report's sections and tables as (kind, content) blocks
    report_render.py   the blocks as Markdown and as self-contained HTML

The names other code imports from here (`build_report`, `ReportOptions`, `OutputExistsError`,
`prepare_out_dir`, `render_markdown`, `render_html`, `rules_caveat`, `is_study_run`,
`PUBLISHED_STUDY`, `STUDY_RULE`) stay importable from this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from refusal_stability.analysis import (
    bootstrap,
    figures,
    groups,
    per_prompt,
    publishable,
    runs,
    single_shot,
    stats,
    tidy,
)
from refusal_stability.analysis.agreement import judge_agreement
from refusal_stability.analysis.engine_floor import engine_floor
from refusal_stability.analysis.load import LoadResult
from refusal_stability.analysis.merge import RunParts
from refusal_stability.analysis.report_blocks import assembly_blocks, report_blocks, rules_caveat
from refusal_stability.analysis.report_files import write_statistics, write_tables
from refusal_stability.analysis.report_folder import OutputExistsError, prepare_out_dir
from refusal_stability.analysis.report_render import render_html, render_markdown
from refusal_stability.analysis.report_summary import summary_table
from refusal_stability.analysis.study_check import PUBLISHED_STUDY, STUDY_RULE, is_study_run
from refusal_stability.analysis.workers import cpu_workers
from refusal_stability.schema import UNSTABLE_THRESHOLD

PARALLEL_MIN_ROWS = 200_000
"""From this many rows (and with 2+ CPUs) the single-shot curves run in worker processes beside the
other steps (`analyse`)."""

__all__ = [
    "PUBLISHED_STUDY",
    "STUDY_RULE",
    "Analysis",
    "OutputExistsError",
    "ReportOptions",
    "analyse",
    "build_report",
    "is_study_run",
    "prepare_out_dir",
    "render_html",
    "render_markdown",
    "rules_caveat",
]


@dataclass
class ReportOptions:
    """Everything that changes the numbers, recorded in the report."""

    threshold: float = UNSTABLE_THRESHOLD
    n_boot: int = bootstrap.N_BOOTSTRAP
    draws: int = single_shot.DRAWS
    seed: int = 0
    tie_break: str = "random"
    targets: tuple[float, ...] = single_shot.TARGETS
    judges: tuple[str, ...] = ()
    figures: bool = True
    title: str = "Refusal stability report"


@dataclass
class Analysis:
    """Every table of the report."""

    prompts: pd.DataFrame
    prompts_by_temperature: pd.DataFrame
    groups: pd.DataFrame
    determinism: pd.DataFrame
    friedman: pd.DataFrame
    posthoc: pd.DataFrame
    spearman: pd.DataFrame
    curves: pd.DataFrame
    needed: pd.DataFrame
    agreement: pd.DataFrame
    confusion: dict[str, pd.DataFrame]
    runs: pd.DataFrame
    spread: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    engine: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The engine's non-determinism floor (empty when the logs hold no engine repeat)."""
    publishable: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The statistics to publish (`publishable.publishable_tables`), by table name."""
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The opening summary's numbers, one row per unit (`report_summary.summary_table`)."""


def analyse(frame: pd.DataFrame, options: ReportOptions) -> Analysis:
    """Run every analysis step over a tidy table."""
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[name] = time.perf_counter() - start
        return result

    if options.judges:
        known = sorted(frame[tidy.JUDGE].dropna().unique())
        frame = frame[frame[tidy.JUDGE].isin(options.judges)]
        if frame.empty:
            raise ValueError(f"no verdicts from judge(s) {list(options.judges)}; the logs have {known}")
    # The single-shot curves are the costliest step (a few hundred million (draw, prompt) majorities
    # at a million samples) and need nothing the other steps compute: on a big table each run's
    # curves go to worker processes while this one computes the rest, so the report uses every core
    # here too. Each run's own seeded generators make where it runs change no digit.
    single = _single_shot_in_workers(frame, options) if _parallel(frame) else None
    prompts = timed("per_prompt", per_prompt.per_prompt, frame, options.threshold)
    by_t = timed("per_prompt_temperature", per_prompt.per_prompt_temperature, frame, options.threshold)
    table = timed(
        "groups", groups.all_group_tables, prompts, by_t, options.threshold, options.n_boot, options.seed
    )
    determinism = timed("determinism", groups.greedy_determinism, frame)
    friedman, posthoc = timed("friedman", stats.temperature_tests, by_t)
    spearman = timed("spearman", stats.comply_ssi_correlation, prompts, options.n_boot, options.seed)
    if single is None:
        curves, needed = timed(
            "single_shot",
            single_shot.single_shot,
            frame,
            options.draws,
            options.seed,
            options.tie_break,
            options.targets,
        )
    agreement, confusion = timed("agreement", judge_agreement, frame)
    overall = table[table["level"] == "overall"]
    run_rows = runs.run_table(overall)
    spread = runs.run_spread(run_rows)
    to_publish = timed(
        "publishable",
        publishable.publishable_tables,
        frame,
        prompts,
        by_t,
        options.threshold,
        options.n_boot,
        options.seed,
    )
    if single is not None:
        (curves, needed), timings["single_shot"] = single()
    return Analysis(
        prompts,
        by_t,
        table,
        determinism,
        friedman,
        posthoc,
        spearman,
        curves,
        needed,
        agreement,
        confusion,
        run_rows,
        spread,
        timings,
        publishable=to_publish,
    )


def _parallel(frame: pd.DataFrame) -> bool:
    """Whether `analyse` runs the single-shot curves in a worker process."""
    return len(frame) >= PARALLEL_MIN_ROWS and cpu_workers() >= 2


def _workers(frame: pd.DataFrame) -> int:
    """Worker processes for the report's parallel steps: one per CPU (`cpu_workers`) on a big table."""
    return cpu_workers() if _parallel(frame) else 1


SINGLE_SHOT_COLUMNS: tuple[str, ...] = (
    *tidy.PROMPT_KEYS,
    tidy.TEMPERATURE,
    tidy.SEED,
    tidy.EPOCH,
    tidy.LOG,
    tidy.VERDICT,
)
"""The columns `single_shot.single_shot` reads (the rest is not sent to the worker)."""


def _single_shot_in_workers(
    frame: pd.DataFrame, options: ReportOptions
) -> Callable[[], tuple[tuple[pd.DataFrame, pd.DataFrame], float]]:
    """Start each run's single-shot curves (`single_shot.group_curves`) in worker processes.

    Returns the call that waits for them and gives `single_shot.single_shot`'s result and the seconds
    since the start. The pool has as many processes as CPUs (at most `workers.MAX_WORKERS`): this
    process computes the other steps meanwhile, and once it is done the groups still queued keep both
    cores busy.
    """
    start = time.perf_counter()
    pool = ProcessPoolExecutor(max_workers=_workers(frame))
    futures = [
        pool.submit(
            single_shot.group_curves, key, g, options.draws, options.seed, options.tie_break, options.targets
        )
        for key, g in single_shot.run_groups(frame[list(SINGLE_SHOT_COLUMNS)])
    ]
    pool.shutdown(wait=False)  # the submitted calls still run; the workers exit after them

    def collect() -> tuple[tuple[pd.DataFrame, pd.DataFrame], float]:
        result = single_shot.assemble([f.result() for f in futures])
        return result, time.perf_counter() - start

    return collect


def build_report(
    loaded: LoadResult,
    out: str | Path,
    options: ReportOptions | None = None,
    overwrite: bool = False,
    numbered: bool = False,
    sources: Sequence[str] = (),
    parts: Sequence[RunParts] = (),
) -> tuple[Path, Analysis]:
    """Analyse a loaded log set and write the report folder.

    Args:
        loaded: The tidy table and the per-log reports (from `load_logs`, or built for CSV input).
        out: The report folder.
        options: Analysis options.
        overwrite: Write into an existing non-empty folder (same-named files are replaced).
        numbered: If `out` holds files, write to the first free `<out>-2`, `<out>-3`, ... instead.
        sources: The inputs as given (recorded in the report).
        parts: How each run was assembled from stages and shards (`merge.check_parts`); adaptive runs
            get a section saying their estimates are adaptive.

    Returns:
        The folder written and the analysis.
    """
    options = options or ReportOptions()
    out_dir = prepare_out_dir(out, overwrite, numbered)
    analysis = analyse(loaded.frame, options)
    analysis.engine = engine_floor(_judges_kept(loaded.frame, options), _judges_kept(loaded.repeats, options))
    workers = _workers(loaded.frame)
    # on a big report the figures draw in worker processes while this one writes the tables
    drawn = _start_figures(analysis, options, out_dir / "figures", workers) if options.figures else None
    analysis.summary = summary_table(analysis)
    write_tables(analysis, loaded, out_dir)
    figure_paths: list[tuple[str, str, Path]] = []
    if drawn is not None:
        figure_paths, analysis.timings["figures"] = drawn()
    write_statistics(analysis, out_dir)  # last: it records the timings
    blocks = report_blocks(
        analysis, loaded, options, figure_paths, sources, assembly_blocks(parts, loaded.frame)
    )
    (out_dir / "report.md").write_text(render_markdown(blocks, out_dir), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(blocks, options.title), encoding="utf-8")
    return out_dir, analysis


def _judges_kept(frame: pd.DataFrame, options: ReportOptions) -> pd.DataFrame:
    """The rows of the judges the report is restricted to (all when none is named)."""
    return frame[frame[tidy.JUDGE].isin(options.judges)] if options.judges else frame


def _start_figures(
    analysis: Analysis, options: ReportOptions, out: Path, workers: int = 1
) -> Callable[[], tuple[list[tuple[str, str, Path]], float]]:
    """Start drawing every figure of `figures.REPORT_FIGURES`.

    With `workers` > 1 the figures are drawn in that many processes (matplotlib draws in one thread,
    and on a big report the figures take seconds each) and this process is free meanwhile; with one
    they are drawn here, now. The files are the same either way.

    Returns:
        The call that waits for them and gives (section, caption, PNG path) of each figure drawn,
        and the seconds from the start until the last figure was drawn (or collected).
    """
    start = time.perf_counter()
    jobs = [(f.draw, f.arguments(analysis, options)) for f in figures.REPORT_FIGURES]
    seconds: float | None = None
    if workers > 1:
        pool = ProcessPoolExecutor(max_workers=workers)
        pending = pool.map(_draw, jobs, [out] * len(jobs))
        pool.shutdown(wait=False)  # the submitted figures still draw; the workers exit after them
    else:
        pending = iter([_draw(job, out) for job in jobs])
        seconds = time.perf_counter() - start

    def collect() -> tuple[list[tuple[str, str, Path]], float]:
        made = zip(figures.REPORT_FIGURES, list(pending), strict=True)
        listed = [(f.section, f.caption, files[0]) for f, files in made if files]
        return listed, seconds if seconds is not None else time.perf_counter() - start

    return collect


def _draw(job: tuple[Callable[..., list[Path]], tuple], out: Path) -> list[Path]:
    """One figure: `draw(*arguments, out)`."""
    draw, arguments = job
    return draw(*arguments, out)
