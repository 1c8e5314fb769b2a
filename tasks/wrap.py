"""The stability of any Inspect task: its dataset, solver chain and scorer over the seed x temperature grid.

From the command line, name the task to wrap by its registry name or as a file with `@name`:

    inspect eval tasks/wrap.py -T task=inspect_evals/strong_reject --model openai/gpt-4o-mini \
        --model-role grader=openai/gpt-4o-mini
    inspect eval tasks/wrap.py -T task=my_suite/tasks.py@refusals -T task_args="{subset: harmful}"

From Python, wrap a Task object: `eval(stability_of(xstest(subset="unsafe")), model=...)`.

The wrapped task keeps its dataset, its solver chain (system prompts, templates, multi-turn steps), its
generation config and its scorer with that scorer's own metrics. Added: one epoch per grid cell, every
`generate` call of the chain carrying the epoch's temperature and seed (`solvers/wrap.py`), our judge
beside the task's scorer, and, where the task's scores can be read as verdicts (a preset for inspect_evals'
xstest and strong_reject, or `-T verdict_map=...`), a `mapped_verdict` scorer giving the stability of the
task's own grades. The log's task metadata names the wrapped task, its version and arguments.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inspect_ai import Epochs, Task, list_tasks, task, task_with
from inspect_ai.scorer import Scorer, ScoreReducer
from inspect_ai.util import registry_create, registry_info

from refusal_stability.scorers.mapped import mapped_verdict
from refusal_stability.scorers.reduce import DEFAULT_FALLBACK, verdict_mode_or
from refusal_stability.scorers.select import judges_from_option
from refusal_stability.solvers.grid import STUDY_SEEDS, STUDY_TEMPERATURES, make_grid
from refusal_stability.solvers.wrap import grid_chain
from refusal_stability.tasks.datasets.fetch import resolve_user_path
from refusal_stability.verdict_maps import parse_verdict_map, preset_for_task, split_target

AUTO_MAP = "auto"
NO_MAP = "none"
TASK_NAME_SUFFIX = "_stability"
WRAPPED_TASK_KEY = "wrapped_task"
"""Task metadata: name, registry name, version, file and arguments of the wrapped task."""
VERDICT_MAP_KEY = "verdict_map"
"""Task metadata: which scorer was read as verdicts, and by which map (None when none)."""
FILE_TASK_SEPARATOR = "@"


def stability_of(
    task: Task,
    temperatures: Sequence[float] | str = STUDY_TEMPERATURES,
    seeds: Sequence[int] | str = STUDY_SEEDS,
    judge: str | list[str] = "auto",
    judge_template: str = "default",
    grader: str | None = None,
    verdict_map: str | list[str] | None = AUTO_MAP,
    task_args: dict[str, Any] | None = None,
) -> Task:
    """Put `task` on the seed x temperature grid, with our judge and the stability metrics beside its scorer.

    Built on `task_with`, so `task` itself is changed and returned: create a fresh Task per call.

    Args:
        task: The Task to wrap.
        temperatures: Temperatures of the grid.
        seeds: Seeds of the grid; each epoch's every model call carries its own.
        judge: Our judge(s), as for the stability task: auto, llm, offline, or several joined by commas.
        judge_template: LLM judge prompt: default, study or short.
        grader: Model for the LLM judge when no `grader` model role is set.
        verdict_map: Read the task's own scores as verdicts: ``auto`` (a preset when the task is
            inspect_evals' xstest or strong_reject, else none), ``none``, a preset name, or rules such as
            ``full_refusal=REFUSE,partial_refusal=PARTIAL,full_compliance=COMPLY`` (see verdict_maps);
            ``SCORER@SPEC`` picks which of several scorers (default: the first).
        task_args: The arguments the task was created with, recorded in the log's task metadata.

    Raises:
        ValueError: A verdict map for a task without a scorer, or naming a scorer the task lacks.
    """
    grid = make_grid(temperatures, seeds)
    own = list(task.scorer or [])
    own_names = scorer_names(own)
    mapped = _mapped_scorer(task.name, own_names, verdict_map)
    ours = judges_from_option(judge, template=judge_template, grader=grader)
    wrapped = {
        "name": task.name,
        "registry_name": task.registry_name,
        "version": task.version,
        "args": dict(task_args or {}),
        "scorers": own_names,
    }
    return task_with(
        task,
        solver=grid_chain(task.solver, grid.temperatures, grid.seeds),
        scorer=[*own, *ours, *([mapped[0]] if mapped else [])],
        epochs=Epochs(grid.size, _reducers(task)),
        name=f"{task.name.rsplit('/', 1)[-1]}{TASK_NAME_SUFFIX}",
        metadata={
            **(task.metadata or {}),
            WRAPPED_TASK_KEY: wrapped,
            VERDICT_MAP_KEY: mapped[1] if mapped else None,
            "temperatures": list(grid.temperatures),
            "seeds": list(grid.seeds),
            "grid_size": grid.size,
        },
    )


@task
def wrap(
    task: str,
    task_args: dict[str, Any] | None = None,
    temperatures: Sequence[float] | str = STUDY_TEMPERATURES,
    seeds: Sequence[int] | str = STUDY_SEEDS,
    judge: str | list[str] = "auto",
    judge_template: str = "default",
    grader: str | None = None,
    verdict_map: str | list[str] | None = AUTO_MAP,
) -> Task:
    """Another task, named by registry name or file, run over the seed x temperature grid.

    Args:
        task: The task to wrap: a registry name (``inspect_evals/xstest``), a file with
            ``@name`` (``suite/tasks.py@refusals``), or a file holding one task.
        task_args: Arguments for that task (``-T task_args="{subset: unsafe}"``).
        temperatures: Temperatures of the grid (``-T temperatures=0,0.7``).
        seeds: Seeds of the grid.
        judge: Our judge(s): auto, llm, offline, or several joined by commas.
        judge_template: LLM judge prompt: default, study or short.
        grader: Model for the LLM judge when no `grader` model role is set.
        verdict_map: Read the task's own scores as verdicts (see `stability_of`).
    """
    args = dict(task_args or {})
    return stability_of(
        load_task(task, args),
        temperatures=temperatures,
        seeds=seeds,
        judge=judge,
        judge_template=judge_template,
        grader=grader,
        verdict_map=verdict_map,
        task_args={"task": task, **args},
    )


def load_task(spec: str, args: dict[str, Any] | None = None) -> Task:
    """Create a task from a registry name, ``file.py@name``, or a file that holds exactly one task.

    Files are imported with importlib (Inspect's own file loader is not public API), so a task file
    must import its helpers absolutely, as any file passed to `inspect eval` by path may.

    Raises:
        ValueError: The file holds no task or several (name one with ``@``), or the spec names nothing.
    """
    args = args or {}
    path_text, sep, name = spec.rpartition(FILE_TASK_SEPARATOR)
    if not sep:
        path_text, name = spec, ""
    path = resolve_user_path(path_text)
    if path.suffix == ".py" and path.is_file():
        name = name or _only_task_in(path)
        _import_file(path)
        return registry_create("task", name, **args)
    if path.suffix == ".py":
        raise ValueError(f"task file {path_text!r} does not exist (from -T task={spec})")
    return registry_create("task", spec, **args)


def scorer_names(scorers: Sequence[Scorer]) -> list[str]:
    """The names Inspect gives these scorers' scores: unqualified registry names, repeats numbered.

    Mirrors Inspect's `unique_scorer_name` (not public API), so a mapped scorer can find its source.
    """
    names: list[str] = []
    for s in scorers:
        base = registry_info(s).name.rsplit("/", 1)[-1]
        name, count = base, 1
        while name in names:
            name, count = f"{base}{count}", count + 1
        names.append(name)
    return names


def _mapped_scorer(
    task_name: str, own_names: list[str], verdict_map: str | list[str] | None
) -> tuple[Scorer, dict] | None:
    """The mapped-verdict scorer the option asks for, with what to record about it, or None."""
    # `-T verdict_map=a=X,b=Y` arrives as a list of its comma-separated parts
    joined = ",".join(map(str, verdict_map)) if isinstance(verdict_map, list) else verdict_map
    option = (joined or NO_MAP).strip()
    if option.lower() == NO_MAP:
        return None
    scorer, spec = split_target(option)
    if spec.lower() == AUTO_MAP:
        spec = preset_for_task(task_name) or ""
        if not spec or not own_names:
            return None
    if not own_names:
        raise ValueError(f"verdict_map={option!r}: task {task_name!r} has no scorer whose scores to map")
    source = scorer or own_names[0]
    if source not in own_names:
        raise ValueError(
            f"verdict_map={option!r} names scorer {source!r}; task {task_name!r} has {own_names}"
        )
    mapping = parse_verdict_map(spec)
    return mapped_verdict(source=source, verdict_map=mapping.spec), {
        "scorer": source,
        "map": mapping.spec,
        "description": mapping.description,
    }


def _reducers(task: Task) -> list[ScoreReducer]:
    """One reducer per wrapped reducer (default mean): modal verdicts, the task's own reduction otherwise."""
    # Inspect's log name keeps a reducer's k (at_least_2); it is not public API, the registry name drops k
    from inspect_ai.scorer._reducer.registry import reducer_log_name

    names = [reducer_log_name(r) for r in task.epochs_reducer or []] or [DEFAULT_FALLBACK]
    return [verdict_mode_or(fallback=name) for name in names]


def _only_task_in(path: Path) -> str:
    names = [info.name for info in list_tasks(path.name, root_dir=path.parent.resolve())]
    if len(names) != 1:
        raise ValueError(
            f"{path} holds {len(names)} tasks ({names}); name one: -T task={path}{FILE_TASK_SEPARATOR}NAME"
        )
    return names[0]


def _import_file(path: Path) -> None:
    """Import a task file so its @task functions register (its folder on sys.path while importing)."""
    digest = hashlib.md5(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"refusal_stability_wrapped_{digest}"
    if module_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot import task file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    finally:
        sys.path.remove(str(path.parent.resolve()))
