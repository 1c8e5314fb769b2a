"""Inspect eval logs -> the tidy table (one row per prompt x sample x judge): finding, choosing, reading.

Reads a log file, a folder of logs (recursively) or any mix of them: ours, or another suite's logs
with epochs. Every log is opened once (`eval_archive.LogArchive`): its header, validated by Inspect's
`EvalLog` model, gives its status, run and what it holds of its run (`merge.LogPart`, kept for the
merge check, so no header is read twice), then its samples are read; the status
decides whether the log is used: a log whose status is not "success" (or that is invalidated) is
skipped and reported, unless `include_incomplete=True`, in which case the samples it holds are used
and it is still reported as incomplete. The same eval given twice (a copy, or a failed log and its
retry) is read once. Nothing is dropped silently: every log gets a `LogReport`, and unscored samples
stay in the table (verdict NA, with a `note` saying why).

The samples are read by `eval_archive.py` (a fast reader of the `.eval` archive; from the log's
sample summaries where those hold everything the rows need: `LogReport.read_from`) and flattened into
rows by `flatten.py`; the rows become columns with the tidy dtypes in the worker (`tidy.to_frame`), so
what comes back from a worker process is a compact frame, not a million Python objects.

Engine repeats (samples whose metadata says `engine_repeat: true`, same-seed reruns of a grid cell that
measure the engine) are set apart in `LoadResult.repeats`, so no prompt-level figure counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.log import EvalLog

from refusal_stability.analysis import log_cache, tidy
from refusal_stability.analysis.eval_archive import LogArchive
from refusal_stability.analysis.flatten import ENGINE_REPEAT_COLUMN, LogContext, sample_rows
from refusal_stability.analysis.merge import LogPart, part_from_header, read_parts
from refusal_stability.analysis.scorer_values import LabelMaps, ScorerValues
from refusal_stability.analysis.workers import cpu_workers

LOG_SUFFIXES: tuple[str, ...] = (".eval", ".json")
SUCCESS = "success"
PARALLEL_MIN_LOGS = 4
"""Read logs in worker processes only when there are at least this many (process start-up costs)."""


@dataclass
class LogReport:
    """What happened to one log file: read or skipped, and why."""

    path: str
    status: str | None = None
    eval_id: str | None = None
    task: str | None = None
    model: str | None = None
    run: str | None = None
    included: bool = False
    reason: str | None = None
    samples: int = 0
    rows: int = 0
    unscored: int = 0
    engine_repeat_rows: int = 0
    notes: dict[str, int] = field(default_factory=dict)
    scorer_messages: list[str] = field(default_factory=list)
    """Scorers that gave no verdict: which values they gave and how to map them."""
    read_from: str | None = None
    """"summaries" when the rows come from the log's sample summaries, "samples" when from its samples."""
    part: LogPart | None = None
    """What the log holds of its run (from its header, for `merge.check_parts`); not in logs.csv."""


@dataclass
class LoadResult:
    """The tidy table, a report for every log considered, and the engine repeats set apart."""

    frame: pd.DataFrame
    logs: list[LogReport]
    repeats: pd.DataFrame = field(default_factory=lambda: tidy.to_frame({c: [] for c in tidy.COLUMNS}))
    """Rows of engine repeats (same-seed reruns of a cell), in the tidy table's columns."""

    @property
    def skipped(self) -> list[LogReport]:
        """Logs that contributed no rows (incomplete without `include_incomplete`, or unreadable)."""
        return [r for r in self.logs if not r.included]

    @property
    def incomplete_included(self) -> list[LogReport]:
        """Logs used although their status is not success (only with `include_incomplete`)."""
        return [r for r in self.logs if r.included and r.status != SUCCESS]

    def parts(self) -> list[LogPart]:
        """What each log used holds of its run (`merge.check_parts` checks they fit together).

        Taken from the headers `load_log` read; a report built elsewhere without them has its logs'
        headers read now.
        """
        used = [r for r in self.logs if r.included]
        if all(r.part is not None for r in used):
            return [r.part for r in used if r.part is not None]
        return read_parts(r.path for r in used)

    def report_frame(self) -> pd.DataFrame:
        """One row per log: path, status, included, reason, counts (for the report's CSV)."""
        rows = []
        for r in self.logs:
            row = {f.name: getattr(r, f.name) for f in fields(r) if f.name != "part"}
            notes = row.pop("notes")
            row.update({f"rows_{k.replace(' ', '_')}": v for k, v in notes.items()})
            rows.append(row)
        return pd.DataFrame(rows)


def find_logs(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into the list of log files (`*.eval`, `*.json`), sorted, unique.

    Raises:
        FileNotFoundError: A path does not exist.
    """
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*") if q.suffix in LOG_SUFFIXES and q.is_file()))
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such log file or folder: {p}")
    unique = dict.fromkeys(q.resolve() for q in found)
    return list(unique)


def load_logs(
    paths: str | Path | Sequence[str | Path],
    include_incomplete: bool = False,
    keep_responses: bool = False,
    workers: int | None = None,
    label_maps: Sequence[str] = (),
    progress: bool = False,
    cache_dir: str | Path | None = None,
) -> LoadResult:
    """Read logs into the tidy table.

    Args:
        paths: A log file, a folder (searched recursively), or several of either.
        include_incomplete: Use the samples of logs whose status is not "success" (they are still
            reported as incomplete); by default such logs are skipped and reported.
        keep_responses: Keep the response text in a `response` column (memory heavy on big grids).
        workers: Worker processes; default: one per CPU (at most 8) for 4+ logs to read (cached
            logs are read in this process), else in-process.
        label_maps: ``--label-map`` specs for scores that are not verdicts (``SPEC`` or ``SCORER@SPEC``).
        progress: Show a progress bar over the logs.
        cache_dir: Keep each log's rows in this folder and reuse them while the log is unchanged
            (`log_cache`); None (the default) reads every log.

    Returns:
        The tidy table and a `LogReport` per log.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = find_logs(paths)
    results: dict[int, tuple[pd.DataFrame | None, LogReport]] = {}
    with _progress(progress, len(files)) as advance:
        if cache_dir is not None:
            # Cached logs are read here: in a worker process an entry would be unpickled, pickled
            # again to come back and unpickled here, so the pool would only add its start-up and a
            # copy (a million cached samples: 3.9 s -> 2.8 s).
            for i, f in enumerate(files):
                entry = log_cache.entry_path(cache_dir, f, include_incomplete, keep_responses, label_maps)
                cached = _cached_log(entry, f)
                if cached is not None:
                    results[i] = cached
                    advance()
        to_read = [i for i in range(len(files)) if i not in results]
        options = (include_incomplete, keep_responses, label_maps, cache_dir)
        if workers is None:
            workers = cpu_workers() if len(to_read) >= PARALLEL_MIN_LOGS else 1
        if workers <= 1 or len(to_read) <= 1:
            for i in to_read:
                results[i] = load_log(files[i], *options)
                advance()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(load_log, files[i], *options): i for i in to_read}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    advance()
    ordered = _drop_duplicate_evals([results[i] for i in range(len(files))])
    frame = tidy.concat([f for f, _ in ordered if f is not None])
    frame, repeats = split_engine_repeats(frame)
    return LoadResult(frame=frame, logs=[r for _, r in ordered], repeats=repeats)


def split_engine_repeats(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a loaded table into the grid's rows and the engine repeats' rows (flag column dropped)."""
    if ENGINE_REPEAT_COLUMN not in frame:
        return frame, frame.iloc[0:0]
    mask = frame[ENGINE_REPEAT_COLUMN].fillna(False).to_numpy(dtype=bool)
    frame = frame.drop(columns=ENGINE_REPEAT_COLUMN)
    cells, repeats = frame[~mask], frame[mask]
    return cells.reset_index(drop=True), repeats.reset_index(drop=True)


def _drop_duplicate_evals(
    loaded: list[tuple[pd.DataFrame | None, LogReport]],
) -> list[tuple[pd.DataFrame | None, LogReport]]:
    """Keep one log per eval id: the same eval given twice (a copy, or a failed log and its retry).

    The complete log wins over incomplete ones, then the one with more samples; the others are
    reported as skipped duplicates.
    """
    best: dict[str, int] = {}
    for i, (frame, report) in enumerate(loaded):
        if frame is None or not report.eval_id:
            continue
        j = best.get(report.eval_id)
        if j is None or _preference(report) > _preference(loaded[j][1]):
            best[report.eval_id] = i
    out = []
    for i, (frame, report) in enumerate(loaded):
        keep = best.get(report.eval_id or "", i)
        if frame is not None and keep != i:
            report.included = False
            report.reason = f"same eval_id as {loaded[keep][1].path} (a copy or a retry): skipped"
            frame = None
        out.append((frame, report))
    return out


def _preference(report: LogReport) -> tuple[bool, int]:
    return (report.status == SUCCESS, report.samples)


def load_log(
    path: str | Path,
    include_incomplete: bool = False,
    keep_responses: bool = False,
    label_maps: Sequence[str] = (),
    cache_dir: str | Path | None = None,
) -> tuple[pd.DataFrame | None, LogReport]:
    """Read one log: its tidy rows (None when skipped) and its report.

    `label_maps` are ``--label-map`` specs (see `scorer_values.LabelMaps`) for scores that are not verdicts.
    With `cache_dir`, a log unchanged since it was last read there is not read again (`log_cache`).
    """
    if cache_dir is None:
        return _load_log(Path(path), include_incomplete, keep_responses, label_maps)
    entry = log_cache.entry_path(cache_dir, path, include_incomplete, keep_responses, label_maps)
    cached = _cached_log(entry, path)
    if cached is not None:
        return cached
    frame, report = _load_log(Path(path), include_incomplete, keep_responses, label_maps)
    if report.included:  # a skipped or unreadable log is looked at again next time
        log_cache.put(entry, (frame, report))
    return frame, report


def _cached_log(entry: Path, path: str | Path) -> tuple[pd.DataFrame | None, LogReport] | None:
    """The rows and report cached at `entry` for the log at `path`, or None (`log_cache.get`)."""
    cached = log_cache.get(entry)
    if cached is None:
        return None
    frame, report = cached
    report.path = str(path)  # as given this time (relative or absolute)
    if report.part is not None:
        report.part = replace(report.part, path=str(path))
    return frame, report


def _load_log(
    path: Path, include_incomplete: bool, keep_responses: bool, label_maps: Sequence[str]
) -> tuple[pd.DataFrame | None, LogReport]:
    """`load_log` without the cache."""
    report = LogReport(path=str(path))
    try:
        archive = LogArchive(path)
    except Exception as ex:  # noqa: BLE001  (any unreadable file is reported, not fatal)
        report.reason = f"not a readable eval log: {type(ex).__name__}: {ex}"
        return None, report
    with archive:
        try:
            header = archive.header()
        except Exception as ex:  # noqa: BLE001
            report.reason = f"not a readable eval log: {type(ex).__name__}: {ex}"
            return None, report
        return _read_samples(archive, header, report, include_incomplete, keep_responses, label_maps)


def _read_samples(
    archive: LogArchive,
    header: EvalLog,
    report: LogReport,
    include_incomplete: bool,
    keep_responses: bool,
    label_maps: Sequence[str],
) -> tuple[pd.DataFrame | None, LogReport]:
    """The tidy rows of one opened log whose header has been read (see `load_log`)."""
    path = archive.path
    context = LogContext.from_header(header, path)
    report.status = header.status + (" (invalidated)" if header.invalidated else "")
    report.task, report.model, report.run = header.eval.task, context.model, context.run
    report.eval_id = header.eval.eval_id or None
    complete = header.status == SUCCESS and not header.invalidated
    if not complete and not include_incomplete:
        report.reason = f"status is {report.status!r}: skipped (use include_incomplete to read it)"
        return None, report
    counter = _Counter()
    try:
        values: dict[str, ScorerValues] = {}
        # the summaries hold no response text and no score metadata a label map could need
        summaries = None if keep_responses or label_maps else archive.summary_samples()
        report.read_from = "samples" if summaries is None else "summaries"
        samples = counter.count(archive.samples() if summaries is None else summaries)
        rows = sample_rows(samples, context, keep_responses, LabelMaps(label_maps), values)
    except Exception as ex:  # noqa: BLE001
        report.reason = f"samples unreadable: {type(ex).__name__}: {ex}"
        return None, report
    repeat = rows.pop(ENGINE_REPEAT_COLUMN)
    frame = tidy.to_frame(rows, keep_responses=keep_responses)
    frame[ENGINE_REPEAT_COLUMN] = pd.array(repeat, dtype="boolean")
    report.engine_repeat_rows = int(sum(repeat))
    report.included = True
    report.part = part_from_header(header, path)
    if not complete:
        report.reason = f"status is {report.status!r}: used because include_incomplete is set"
    report.samples = counter.n
    report.rows = len(frame)
    report.notes = {k: int(v) for k, v in frame[tidy.NOTE].value_counts().items() if v}
    report.unscored = int(frame[tidy.VERDICT].isna().sum())
    report.scorer_messages = [v.message() for v in values.values() if v.without_verdicts]
    return frame, report


class _Counter:
    """Counts the items passing through an iterator."""

    def __init__(self) -> None:
        self.n = 0

    def count(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            self.n += 1
            yield item


class _progress:
    """A rich progress bar over logs (a no-op when disabled or for a single log)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled and total > 1
        self.total = total

    def __enter__(self) -> Callable[[], None]:
        if not self.enabled:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._bar = Progress(
            "reading logs", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
        )
        self._bar.start()
        task = self._bar.add_task("logs", total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.stop()
