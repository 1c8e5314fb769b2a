"""Logs that together make one run: adaptive stages and shards, checked before they are pooled.

The analysis pools every log of a run (same run label and dataset, see `flatten.run_label`). A run may be
split two ways, each recorded in the log header by the task (`schema.GRID_CELLS_KEY`, `schema.SHARD_KEY`):
- shards (`-T shard=k/N`): disjoint parts of the prompts. Among the logs of a run that sample the same
  cells, shards 1..N of one N must each appear exactly once: a missing shard would silently shrink the
  run, a doubled one would count its prompts twice. Either is an error naming the shard and the logs.
- stages (`-T cells=...`): disjoint cells of the grid. A prompt may appear in several logs only if their
  cells do not overlap (a cell sampled twice is an error), and the run is *adaptive* when some prompts
  hold fewer cells than others: then every prompt must hold at least the cells of the first pass, and the
  report says its estimates are adaptive. An adaptive stage's log records the stage's name, and each
  prompt's cells of it are recomputed from its sample id (`solvers/cells.py`: the seeds of a stage are drawn
  per prompt), so the first pass is each prompt's own stage-1 cells; logs of explicit cells
  (`-T cells=0,5`) give every prompt the same cells, and the first pass is the cells every prompt has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from inspect_ai.log import EvalLog, read_eval_log

from refusal_stability.analysis.flatten import run_label
from refusal_stability.schema import DATASET_KEY, GRID_CELLS_KEY, SHARD_KEY
from refusal_stability.solvers.cells import STAGE1, STAGES, prompt_stage_cells
from refusal_stability.solvers.grid import SamplingGrid
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
    """The cells every prompt of the log holds; None for the whole grid or an adaptive stage."""
    shard: str | None
    sample_ids: tuple[str, ...]
    stage: str | None = None
    """The adaptive stage (`-T cells=stage1|2|3`) the log ran, whose cells differ per prompt."""

    @property
    def split_key(self) -> tuple[int, ...] | str | None:
        """What the log samples of each prompt: its stage, its cells, or None (the whole grid)."""
        return self.stage if self.stage is not None else self.cells

    def cells_of(self, sample_id: str) -> tuple[int, ...]:
        """The grid cells this log holds of one prompt."""
        if self.stage is not None and self.grid is not None:
            return prompt_stage_cells(SamplingGrid(*self.grid), self.stage, sample_id)
        if self.cells is not None:
            return self.cells
        return tuple(range(len(self.grid[0]) * len(self.grid[1]))) if self.grid else ()


@dataclass(frozen=True)
class RunParts:
    """How one run was assembled from its logs."""

    run: str
    dataset: str
    logs: int
    shards: int
    adaptive: bool
    first_pass_cells: tuple[int, ...]
    """The cells of the first pass when every prompt has the same; empty when drawn per prompt."""
    first_pass_size: int
    """Cells of each prompt's first pass."""
    grid_size: int | None
    prompts: int
    prompts_completed: int
    """Prompts holding more than the first pass (a later stage ran on them); all prompts when not adaptive."""

    def describe(self) -> str:
        """One sentence for the report."""
        parts = f"{self.logs} log(s)" + (f", {self.shards} shards" if self.shards > 1 else "")
        if not self.adaptive:
            return f"{self.run} | {self.dataset}: {parts}, {self.prompts} prompts on the whole grid."
        first = (
            f"cells {list(self.first_pass_cells)} of {self.grid_size}"
            if self.first_pass_cells
            else f"{self.first_pass_size} of {self.grid_size} cells: one seed of each temperature, "
            "drawn per prompt"
        )
        return (
            f"{self.run} | {self.dataset}: {parts}; ADAPTIVE: every prompt sampled on the first pass "
            f"({first}), {self.prompts_completed} of the "
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
    stage = cells if isinstance(cells, str) and cells in STAGES else None
    if stage is not None and grid is None:
        raise MergeError(f"{path}: an adaptive stage log ({stage}) without the grid in its header.")
    return LogPart(
        path=str(path),
        run=run_label(spec.model, metadata),
        dataset=str(dataset),
        grid=grid,
        cells=tuple(int(c) for c in cells) if cells is not None and stage is None else None,
        shard=metadata.get(SHARD_KEY),
        sample_ids=tuple(str(i) for i in (spec.dataset.sample_ids or [])),
        stage=stage,
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
    cells_of: dict[str, list[tuple[LogPart, tuple[int, ...]]]] = defaultdict(list)
    for part in logs:
        for sample_id in part.sample_ids:
            cells_of[sample_id].append((part, part.cells_of(sample_id)))
    union = {sample_id: _union_disjoint(run, sample_id, held) for sample_id, held in cells_of.items()}
    if any(part.stage is not None for part in logs) and grid is not None:
        firsts = _own_first_passes(run, dataset, SamplingGrid(*grid), union)
        first_pass: tuple[int, ...] = ()
    else:
        known = [u for u in union.values() if u]
        first = frozenset.intersection(*known) if known else frozenset()
        _check_same_first_pass(run, dataset, union, first)
        firsts = {sample_id: first for sample_id in union}
        first_pass = tuple(sorted(first))
    adaptive = len({len(u) for u in union.values() if u}) > 1
    completed = sum(1 for i, u in union.items() if u and u != firsts[i]) if adaptive else len(union)
    return RunParts(
        run=run,
        dataset=dataset,
        logs=len(logs),
        shards=shard_counts,
        adaptive=adaptive,
        first_pass_cells=first_pass,
        first_pass_size=max((len(f) for f in firsts.values()), default=0),
        grid_size=grid_size,
        prompts=len(union),
        prompts_completed=completed,
    )


def _own_first_passes(
    run: str, dataset: str, grid: SamplingGrid, union: dict[str, frozenset[int]]
) -> dict[str, frozenset[int]]:
    """Each prompt's own stage-1 cells, checked held: a later stage needs the prompt's complete first pass."""
    firsts = {i: frozenset(prompt_stage_cells(grid, STAGE1, i)) for i in union}
    lacking = sorted(i for i, u in union.items() if u and not firsts[i] <= u)
    if lacking:
        raise MergeError(
            f"run {run!r} ({dataset}): {len(lacking)} prompt(s) lack their stage-1 cells (e.g. {lacking[0]} "
            f"holds {sorted(union[lacking[0]])}, its stage 1 is {sorted(firsts[lacking[0]])}); every prompt "
            "needs its stage 1 (-T cells=stage1) before the later stages add others."
        )
    return firsts


def _check_same_first_pass(
    run: str, dataset: str, union: dict[str, frozenset[int]], first: frozenset[int]
) -> None:
    """Logs of explicit cells: when prompts hold different cells, the smallest set must be the common one."""
    known = [u for u in union.values() if u]
    if len(set(known)) <= 1:
        return
    smallest = min(known, key=len)
    if smallest != first:
        lacking = sorted(i for i, u in union.items() if u == smallest)
        raise MergeError(
            f"run {run!r} ({dataset}): prompts hold different first passes "
            f"(e.g. {lacking[:3]} hold cells "
            f"{sorted(smallest)}); every prompt needs the same stage-1 cells before stage 2 adds others."
        )


def _check_shards(run: str, dataset: str, logs: list[LogPart]) -> int:
    """Among logs of one run sampling the same cells, shards 1..N must each appear once; returns max N."""
    by_cells: dict[tuple[int, ...] | str | None, list[LogPart]] = defaultdict(list)
    for part in logs:
        by_cells[part.split_key].append(part)
    most = 1
    for cells, group in by_cells.items():
        sharded = [p for p in group if p.shard]
        if not sharded:
            continue
        named = cells if isinstance(cells, str) else list(cells) if cells is not None else "all"
        where = f"run {run!r} ({dataset}), cells {named}"
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
    if part.shard or part.stage is not None:
        return True
    return part.grid is not None and len(cells) < len(part.grid[0]) * len(part.grid[1])
