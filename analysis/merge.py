"""Logs that together make one run: adaptive stages and shards, checked before they are pooled.

The analysis pools every log of a run (same run label and dataset, see `flatten.run_label`). A run may be
split two ways, each recorded in the log header by the task (`schema.GRID_CELLS_KEY`, `schema.SHARD_KEY`):
- shards (`-T shard=k/N`): disjoint parts of the prompts. Among the logs of a run that sample the same
  cells, shards 1..N of one N must each appear exactly once: a missing shard would silently shrink the
  run, a doubled one would count its prompts twice. Either is an error naming the shard and the logs.
- stages (`-T cells=...`): disjoint cells of the grid. A prompt may appear in several logs only if their
  cells do not overlap (a cell sampled twice is an error), and the run is *adaptive* when some prompts
  hold fewer cells than others: then every prompt must hold at least the cells of the first pass
  (the cells every prompt has), and the report says its estimates are adaptive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from inspect_ai.log import EvalLog, read_eval_log

from refusal_stability.analysis.flatten import run_label
from refusal_stability.schema import DATASET_KEY, GRID_CELLS_KEY, SHARD_KEY
from refusal_stability.tasks.shard import parse_shard


class MergeError(ValueError):
    """Logs of one run that do not fit together (a shard missing or doubled, a cell sampled twice)."""


@dataclass(frozen=True)
class LogPart:
    """What one log holds of its run: which prompts, which cells, which shard."""

    path: str
    run: str
    dataset: str
    grid: tuple[tuple[float, ...], tuple[int, ...]] | None
    cells: tuple[int, ...] | None
    shard: str | None
    sample_ids: tuple[str, ...]


@dataclass(frozen=True)
class RunParts:
    """How one run was assembled from its logs."""

    run: str
    dataset: str
    logs: int
    shards: int
    adaptive: bool
    first_pass_cells: tuple[int, ...]
    grid_size: int | None
    prompts: int
    prompts_completed: int
    """Prompts holding more than the first pass (a later stage ran on them); all prompts when not adaptive."""

    def describe(self) -> str:
        """One sentence for the report."""
        parts = f"{self.logs} log(s)" + (f", {self.shards} shards" if self.shards > 1 else "")
        if not self.adaptive:
            return f"{self.run} | {self.dataset}: {parts}, {self.prompts} prompts on the whole grid."
        return (
            f"{self.run} | {self.dataset}: {parts}; ADAPTIVE: every prompt sampled on the first pass "
            f"(cells {list(self.first_pass_cells)} of {self.grid_size}), {self.prompts_completed} of the "
            f"{self.prompts} prompts on more cells (later stages). A prompt that stopped early keeps the SSI "
            "of the cells it has (1 when they agree): mean SSI is biased up and % flipped down."
        )


def read_parts(paths: Iterable[str | Path]) -> list[LogPart]:
    """Read each log's header: its run, grid, cells, shard and sample ids."""
    return [part_from_header(read_eval_log(str(path), header_only=True), path) for path in paths]


def part_from_header(header: EvalLog, path: str | Path) -> LogPart:
    """What one log holds of its run, from its header (`load.load_log` keeps it: no header read twice)."""
    spec = header.eval
    metadata = spec.metadata or {}
    cells = metadata.get(GRID_CELLS_KEY)
    grid = None
    if metadata.get("temperatures") is not None and metadata.get("seeds") is not None:
        grid = (
            tuple(float(t) for t in metadata["temperatures"]),
            tuple(int(s) for s in metadata["seeds"]),
        )
    dataset = (spec.task_args or {}).get(DATASET_KEY) or spec.dataset.name or spec.task
    return LogPart(
        path=str(path),
        run=run_label(spec.model, metadata),
        dataset=str(dataset),
        grid=grid,
        cells=tuple(int(c) for c in cells) if cells is not None else None,
        shard=metadata.get(SHARD_KEY),
        sample_ids=tuple(str(i) for i in (spec.dataset.sample_ids or [])),
    )


def check_parts(parts: Sequence[LogPart]) -> list[RunParts]:
    """Check that each run's logs fit together, and say how each run was assembled.

    Logs without our cells metadata (older logs, other suites) are taken as whole-grid logs.

    Raises:
        MergeError: A shard missing or doubled, two grids in one run, a cell of a prompt sampled twice,
            or a prompt lacking the first pass.
    """
    runs: dict[tuple[str, str], list[LogPart]] = defaultdict(list)
    for part in parts:
        runs[(part.run, part.dataset)].append(part)
    return [_check_run(run, dataset, logs) for (run, dataset), logs in runs.items()]


def _check_run(run: str, dataset: str, logs: list[LogPart]) -> RunParts:
    grids = {p.grid for p in logs if p.grid is not None}
    if len(grids) > 1:
        raise MergeError(f"run {run!r} ({dataset}) mixes grids {sorted(grids)}: {[p.path for p in logs]}")
    grid = next(iter(grids), None)
    grid_size = len(grid[0]) * len(grid[1]) if grid else None
    shard_counts = _check_shards(run, dataset, logs)
    whole = tuple(range(grid_size)) if grid_size else ()
    cells_of: dict[str, list[tuple[LogPart, tuple[int, ...]]]] = defaultdict(list)
    for part in logs:
        for sample_id in part.sample_ids:
            cells_of[sample_id].append((part, part.cells if part.cells is not None else whole))
    union = {sample_id: _union_disjoint(run, sample_id, held) for sample_id, held in cells_of.items()}
    known = [u for u in union.values() if u]
    first = frozenset.intersection(*known) if known else frozenset()
    adaptive = len(set(known)) > 1
    if adaptive:
        smallest = min(known, key=len)
        if smallest != first:
            lacking = sorted(i for i, u in union.items() if u == smallest)
            raise MergeError(
                f"run {run!r} ({dataset}): prompts hold different first passes "
                f"(e.g. {lacking[:3]} hold cells "
                f"{sorted(smallest)}); every prompt needs the same stage-1 cells before stage 2 adds others."
            )
    completed = sum(1 for u in known if u != first) if adaptive else len(union)
    return RunParts(
        run=run,
        dataset=dataset,
        logs=len(logs),
        shards=shard_counts,
        adaptive=adaptive,
        first_pass_cells=tuple(sorted(first)),
        grid_size=grid_size,
        prompts=len(union),
        prompts_completed=completed,
    )


def _check_shards(run: str, dataset: str, logs: list[LogPart]) -> int:
    """Among logs of one run sampling the same cells, shards 1..N must each appear once; returns max N."""
    by_cells: dict[tuple[int, ...] | None, list[LogPart]] = defaultdict(list)
    for part in logs:
        by_cells[part.cells].append(part)
    most = 1
    for cells, group in by_cells.items():
        sharded = [p for p in group if p.shard]
        if not sharded:
            continue
        where = f"run {run!r} ({dataset}), cells {list(cells) if cells is not None else 'all'}"
        whole = [p.path for p in group if not p.shard]
        if whole:
            raise MergeError(
                f"{where}: sharded logs mixed with unsharded {whole}: their prompts would count twice."
            )
        shards = {p.path: parse_shard(p.shard) for p in sharded}
        counts = {s.count for s in shards.values() if s}
        if len(counts) > 1:
            raise MergeError(f"{where}: shards of different N {sorted(counts)}: {sorted(shards)}")
        n = counts.pop()
        paths_of: dict[int, list[str]] = defaultdict(list)
        for path, shard in shards.items():
            paths_of[shard.index].append(path)  # type: ignore[union-attr]
        for k in range(1, n + 1):
            if len(paths_of.get(k, [])) > 1:
                raise MergeError(f"{where}: shard {k}/{n} appears twice: {paths_of[k]}")
        missing = [f"{k}/{n}" for k in range(1, n + 1) if k not in paths_of]
        if missing:
            raise MergeError(
                f"{where}: shard(s) {', '.join(missing)} missing; "
                f"found {sorted(f'{k}/{n}' for k in paths_of)}."
            )
        most = max(most, n)
    return most


def _union_disjoint(run: str, sample_id: str, held: list[tuple[LogPart, tuple[int, ...]]]) -> frozenset[int]:
    """The cells a prompt holds across logs; an error if a split log and another hold the same cell of it.

    Prompts held only by whole-grid, unsharded logs are pooled as before (several such logs of one run
    label are the user's call, e.g. replicate runs); the check concerns logs that split a run.
    """
    if not any(_is_split(part, cells) for part, cells in held):
        return frozenset(c for _, cells in held for c in cells)
    seen: dict[int, str] = {}
    for part, cells in held:
        for cell in cells:
            if cell in seen:
                raise MergeError(
                    f"run {run!r}: prompt {sample_id} has grid cell {cell} in two logs: {seen[cell]} and "
                    f"{part.path} (a stage or shard run twice?)."
                )
            seen[cell] = part.path
    return frozenset(seen)


def _is_split(part: LogPart, cells: tuple[int, ...]) -> bool:
    """A log that holds part of a run: one shard, or fewer cells than its grid."""
    if part.shard:
        return True
    return part.grid is not None and len(cells) < len(part.grid[0]) * len(part.grid[1])
