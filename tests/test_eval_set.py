"""A suite of runs: `eval_set` over two models x two tasks (ours and a wrapped foreign one), one log folder,
an interrupted set resumed without re-running what finished, and one report across every log.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from inspect_ai import eval_set
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import GenerateConfig, ModelOutput, get_model

from refusal_stability import cli
from refusal_stability.scorers.offline import OFFLINE_JUDGE_VERSION
from refusal_stability.tasks.stability import stability
from refusal_stability.tasks.wrap import load_task, stability_of
from refusal_stability.verdict_maps import mapped_judge_name

REPO = Path(__file__).resolve().parents[1]
FOREIGN_SPEC = f"{REPO / 'tests' / 'fixtures' / 'suites' / 'foreign_suite.py'}@foreign_refusals"
USER_MAP = "full_refusal=REFUSE,partial_refusal=PARTIAL,full_compliance=COMPLY"
GRID = {"temperatures": [0.0, 1.0], "seeds": [1, 2], "judge": "offline"}


class Server:
    """A scripted model: refuses with seed 1, answers with seed 2; can be made to fail on one prompt."""

    def __init__(self) -> None:
        self.calls = 0
        self.broken_on: str | None = None

    def __call__(self, input, tools, tool_choice, config: GenerateConfig) -> ModelOutput:
        text = " ".join(m.text for m in input)
        if self.broken_on and self.broken_on in text:
            raise RuntimeError("connection reset by the test")
        self.calls += 1
        answer = "I'm sorry, but I can't help with that." if config.seed == 1 else "Sure, here it is."
        return ModelOutput.from_content("mockllm/model", answer)


def suite(data_dir: Path) -> list:
    """Our task on 3 XSTest prompts and the foreign task wrapped, both on the same grid (fresh objects per call)."""
    ours = stability(dataset="xstest", sample=3, data_dir=str(data_dir), **GRID)
    theirs = stability_of(load_task(FOREIGN_SPEC), verdict_map=USER_MAP, **GRID)
    return [ours, theirs]


def test_eval_set_over_models_and_tasks_resumes_only_what_is_missing(
    shared_datasets: Path, tmp_path: Path, capsys
) -> None:
    log_dir = tmp_path / "suite"
    alpha, beta = Server(), Server()
    models = [
        get_model("mockllm/alpha", custom_outputs=alpha),
        get_model("mockllm/beta", custom_outputs=beta),
    ]
    beta.broken_on = "ransomware"  # beta's server fails on one foreign prompt: that run is interrupted
    done, logs = eval_set(
        suite(shared_datasets), log_dir=str(log_dir), model=models, retry_attempts=0, display="none"
    )
    assert not done
    assert sorted(log.status for log in logs) == ["error", "success", "success", "success"]
    finished = {log.location: log.eval.eval_id for log in logs if log.status == "success"}
    alpha_calls, beta_calls = alpha.calls, beta.calls
    assert alpha_calls == (3 + 3) * 4 + 3 * 4  # xstest 3 prompts + foreign 3 prompts x 2 turns, 4 cells

    beta.broken_on = None  # the server is back: run the same set again
    done, logs = eval_set(suite(shared_datasets), log_dir=str(log_dir), model=models, display="none")
    assert done and all(log.status == "success" for log in logs)
    assert alpha.calls == alpha_calls  # nothing of alpha's ran again
    # beta re-ran only the interrupted foreign run, and within it only the samples that had not finished
    rerun = beta.calls - beta_calls
    assert 0 < rerun <= 3 * 4 * 2
    for location, eval_id in finished.items():
        assert read_eval_log(location, header_only=True).eval.eval_id == eval_id  # untouched
    headers = [read_eval_log(info, header_only=True) for info in list_eval_logs(str(log_dir))]
    complete = [h for h in headers if h.status == "success"]
    assert sorted((h.eval.model, h.eval.task) for h in complete) == [
        ("mockllm/alpha", "foreign_refusals_stability"),
        ("mockllm/alpha", "refusal_stability/stability"),
        ("mockllm/beta", "foreign_refusals_stability"),
        ("mockllm/beta", "refusal_stability/stability"),
    ]

    # one report across the whole folder: every model x dataset x judge, the interrupted log noted and skipped
    out = tmp_path / "report"
    args = ["report", str(log_dir), "--out", str(out), "--bootstrap", "20", "--draws", "20", "--no-figures"]
    assert cli.main(args) == 0, capsys.readouterr().err
    groups = pd.read_csv(out / "groups.csv")
    overall = groups[groups["level"] == "overall"]
    units = {(r.run, r.dataset, r.judge) for r in overall.itertuples()}
    mapped = mapped_judge_name("refusal_words", USER_MAP)
    assert units == {
        (model, dataset, judge)
        for model in ("mockllm/alpha", "mockllm/beta")
        for dataset, judge in (
            ("xstest", OFFLINE_JUDGE_VERSION),
            ("foreign", OFFLINE_JUDGE_VERSION),
            ("foreign", mapped),
        )
    }
    # seed 1 refuses, seed 2 answers: every prompt's SSI is 0.5 in every unit (lockpick included here)
    assert (overall["mean_ssi"] == 0.5).all()
