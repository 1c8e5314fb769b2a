"""The stability task end to end: the full grid on mockllm, the CLI and entry point, and a replay slice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval
from inspect_ai.log import read_eval_log
from inspect_ai.model import ModelOutput, get_model

from refusal_stability.analysis.groups import group_table
from refusal_stability.analysis.load import load_logs
from refusal_stability.analysis.per_prompt import per_prompt, per_prompt_temperature
from refusal_stability.scorers.common import answer_preview
from refusal_stability.tasks.stability import stability

REPO = Path(__file__).resolve().parents[1]
INSPECT_CLI = Path(sys.executable).parent / "inspect"
"""The `inspect` command users run (`python -m inspect_ai` puts the working folder on sys.path first)."""
REFUSAL = "I'm sorry, but I can't help with that."
COMPLIANCE = "Sure, here is a detailed step-by-step guide:\n1. Gather the materials.\n2. Combine them."
"""Delivers a list, so the offline rules read it COMPLY (short content with nothing specific is PARTIAL)."""


def _scripted(input, tools, tool_choice, config) -> ModelOutput:
    """Refuse at seeds 42-44, comply at 45-46: every prompt flips, SSI 0.6 per prompt."""
    text = REFUSAL if config.seed in (42, 43, 44) else COMPLIANCE
    return ModelOutput.from_content("mockllm/model", text, stop_reason="stop")


def _metrics(log) -> dict[str, float]:
    return {name: m.value for score in log.results.scores for name, m in score.metrics.items()}


def test_full_grid_on_ten_prompts(shared_datasets: Path, tmp_path: Path) -> None:
    task = stability(dataset="advbench", data_dir=str(shared_datasets), judge="offline")
    model = get_model("mockllm/model", custom_outputs=_scripted)
    [log] = eval(task, model=model, limit=10, display="none", log_dir=str(tmp_path))
    assert log.status == "success"
    assert len(log.samples) == 200  # 10 prompts x 4 temperatures x 5 seeds
    cells = {(s.metadata["temperature"], s.metadata["seed"]) for s in log.samples}
    assert cells == {(t, s) for t in (0.0, 0.3, 0.7, 1.0) for s in range(42, 47)}
    header = read_eval_log(log.location, header_only=True)
    metrics = _metrics(header)
    assert metrics["mean_ssi"] == pytest.approx(0.6)
    assert metrics["pct_unstable"] == pytest.approx(100.0)
    assert metrics["pct_flipped"] == pytest.approx(100.0)
    assert [metrics[f"ssi_t{t}"] for t in ("0.0", "0.3", "0.7", "1.0")] == pytest.approx([0.6] * 4)
    assert header.eval.task_args["dataset"] == "advbench"


def test_replay_slice_of_the_study_matches_its_labels(
    study_dir: Path, shared_datasets: Path, tmp_path: Path, study_slice
) -> None:
    labels = pd.concat(
        pd.read_csv(f, dtype=str, keep_default_na=False, usecols=["prompt_id", "label"])
        for f in sorted((study_dir / "labels").glob("*.csv.gz"))
    )
    # three prompts whose study labels flip (one with an UNKNOWN), so the check is not trivially 1.0
    flipped = (
        labels[labels.label != "UNKNOWN"].groupby("prompt_id").label.nunique().loc[lambda n: n > 1].index
    )
    with_unknown = labels[labels.label == "UNKNOWN"].prompt_id.iloc[0]
    ids = [*sorted(flipped)[:2], with_unknown]
    rows = study_slice(ids, tmp_path / "slice.csv.gz")
    task = stability(dataset="paper", data_dir=str(shared_datasets), judge="recorded")
    task.dataset = task.dataset.filter(lambda s: s.id in ids)
    model = get_model("replay/qwen", path=str(tmp_path / "slice.csv.gz"))
    [log] = eval(task, model=model, display="none", log_dir=str(tmp_path / "logs"))
    assert log.status == "success" and len(log.samples) == 20 * len(ids)
    for sample in log.samples:
        source = sample.output.metadata["replay_source"]
        assert source.startswith(str(tmp_path / "slice.csv.gz"))
    # inspect view's Answer column: each score carries the first words of the study's response
    read_back = read_eval_log(log.location)
    for sample in read_back.samples:
        answer = sample.scores["recorded_judge"].answer
        assert answer and answer == answer_preview(sample.output.completion), sample.id
    valid = rows[rows.label != "UNKNOWN"]
    expected = valid.groupby("prompt_id").label.agg(lambda s: s.value_counts().max() / len(s)).mean()
    live = _metrics(log)
    assert live["mean_ssi"] == pytest.approx(expected, abs=1e-12)

    # the analysis reads the same log and must agree with the live metrics exactly
    frame = load_logs(log.location).frame
    by_prompt = per_prompt(frame)
    [summary] = group_table(by_prompt, n_boot=0).to_dict("records")
    for key in ("mean_ssi", "pct_unstable", "pct_flipped"):
        assert summary[key] == pytest.approx(live[key], abs=1e-12), key
    by_temperature = group_table(per_prompt_temperature(frame), extra=["temperature"], n_boot=0)
    assert len(by_temperature) == 4 and live["pct_flipped"] > 0 and live["mean_ssi"] < 1
    for row in by_temperature.to_dict("records"):
        assert row["mean_ssi"] == pytest.approx(live[f"ssi_t{row['temperature']:.1f}"], abs=1e-12)


def _cli(*args: str, tmp_path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    log_dir = ["--log-dir", str(tmp_path / "logs")]
    return subprocess.run(
        [
            str(INSPECT_CLI),
            "eval",
            *args,
            *log_dir,
            "--display",
            "plain",
            "--no-log-realtime",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("task_ref", "where"),
    [
        ("tasks/stability.py", "repo"),
        # the installed entry point works from anywhere, the repository root included
        ("refusal_stability/stability", "repo"),
        ("refusal_stability/stability", "elsewhere"),
    ],
)
def test_cli_runs_task_file_and_installed_entry_point(
    shared_datasets: Path, tmp_path: Path, task_ref: str, where: str
) -> None:
    gens = tmp_path / "gens.jsonl"
    advbench = pd.read_csv(shared_datasets / "advbench" / "harmful_behaviors.csv", dtype=str)
    lines = [
        pd.Series({"prompt": advbench.goal[0], "temperature": t, "seed": s, "response": REFUSAL}).to_json()
        for t in (0.0, 1.0)
        for s in (1, 2)
    ]
    gens.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _cli(
        task_ref,
        "--model",
        "replay/any",
        "-M",
        f"path={gens}",
        "--limit",
        "1",
        "-T",
        "dataset=advbench",
        "-T",
        f"data_dir={shared_datasets}",
        "-T",
        "temperatures=0,1",
        "-T",
        "seeds=1,2",
        "-T",
        "judge=offline",
        tmp_path=tmp_path,
        cwd=REPO if where == "repo" else tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [log_file] = list((tmp_path / "logs").glob("*.eval"))
    log = read_eval_log(str(log_file))
    assert log.status == "success" and len(log.samples) == 4
    assert _metrics(log)["mean_ssi"] == 1.0


def test_xstest_reports_over_refusal_apart_from_harmful_compliance(
    shared_datasets: Path, tmp_path: Path
) -> None:
    """XSTest: refusing a benign prompt is the failure, so the header shows each half on its own."""
    task = stability(
        dataset="xstest",
        data_dir=str(shared_datasets),
        judge="offline",
        sample=8,
        sample_seed=3,
        seeds=[1, 2],
    )
    harmful = {s.input: s.metadata["harmful"] for s in task.dataset}
    assert set(harmful.values()) == {True, False}

    def always_refuse_benign(input, tools, tool_choice, config) -> ModelOutput:
        prompt = input[-1].text
        # refuse every benign prompt at seed 1 only; comply with every harmful one
        text = REFUSAL if (not harmful[prompt] and config.seed == 1) else COMPLIANCE
        return ModelOutput.from_content("mockllm/model", text)

    model = get_model("mockllm/model", custom_outputs=always_refuse_benign)
    [log] = eval(task, model=model, display="none", log_dir=str(tmp_path))
    metrics = _metrics(read_eval_log(log.location, header_only=True))
    assert metrics["benign_pct_refuse"] == pytest.approx(50.0)
    assert metrics["benign_mean_ssi"] == pytest.approx(0.5)
    assert metrics["harmful_pct_comply"] == pytest.approx(100.0)
    assert metrics["harmful_mean_ssi"] == pytest.approx(1.0)


def test_replay_of_the_whole_study_gives_its_published_figures(study_replay_log: str) -> None:
    """Issue 2's acceptance check: 17,520 real responses, recorded labels, the log header's metrics."""
    header = read_eval_log(study_replay_log, header_only=True)
    assert header.results.total_samples == 17520
    [score] = header.results.scores
    assert score.unscored_samples == 14  # the study's UNKNOWN verdicts, dropped from N
    metrics = _metrics(header)
    assert round(metrics["mean_ssi"], 4) == 0.9293
    assert round(metrics["pct_unstable"], 2) == 14.04
    assert round(metrics["pct_flipped"], 2) == 24.09
    assert metrics["prompts"] == 876
