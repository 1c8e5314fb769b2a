"""The report folder and the `refusal-stability` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inspect_ai.log import write_eval_log
from test_analysis_load import eval_log, ours

from refusal_stability import cli
from refusal_stability.analysis import load, publishable, report, study_check, study_labels, tidy, workers

EXPECTED_FILES = (
    "summary.csv",
    "per_prompt.csv",
    "per_prompt_temperature.csv",
    "groups.csv",
    "determinism.csv",
    "statistics.csv",
    "statistics.json",
    "single_shot.csv",
    "runs.csv",
    "run_spread.csv",
    "judge_agreement.csv",
    "logs.csv",
    "unscored_prompts.csv",
    *(f"{name}.csv" for name in publishable.TABLES),
    "report.md",
    "report.html",
)
FIGURES = (
    "ssi_histogram",
    "flip_rate",
    "temperature_effect",
    "stability_vs_compliance",
    "model_comparison",
    "samples_needed",
    "category_instability",
    "run_spread",
)
LABELS = np.array(["REFUSE", "PARTIAL", "COMPLY"])


def synthetic(n_prompts: int = 24, runs: int = 2, seed: int = 0) -> pd.DataFrame:
    """Two runs x two judges x a 3-temperature x 4-seed grid, categories and benign prompts."""
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(runs):
        for p in range(n_prompts):
            base = rng.beta(0.5, 4)
            for e, (t, s) in enumerate((t, s) for t in (0.0, 0.5, 1.0) for s in range(4)):
                response = f"r{p}" if t == 0 and p % 3 else f"r{p}-{e}-{run}"
                for judge in ("j1", "j2"):
                    u = rng.random()
                    label = None if u < 0.01 else LABELS[0 if u > base * (1 + t) else 2 - (u < base / 2)]
                    rows.append(
                        {
                            tidy.LOG: f"run{run}.eval",
                            tidy.RUN: f"ft{run}",
                            tidy.MODEL: "m",
                            tidy.DATASET: "d",
                            tidy.PROMPT_ID: f"p{p}",
                            tidy.CATEGORY: f"cat{p % 3}",
                            tidy.HARMFUL: p % 6 != 0,
                            tidy.TEMPERATURE: t,
                            tidy.SEED: s,
                            tidy.EPOCH: e + 1,
                            tidy.JUDGE: judge,
                            tidy.SCORER: judge,
                            tidy.VERDICT: label,
                            tidy.NOTE: None if label else "unscored",
                            tidy.RESPONSE_LENGTH: len(response),
                            tidy.RESPONSE_HASH: tidy.response_hash(response),
                        }
                    )
    return tidy.to_frame(pd.DataFrame(rows))


OPTIONS = report.ReportOptions(n_boot=50, draws=50)


def test_report_writes_every_file_and_figure(tmp_path: Path):
    loaded = load.LoadResult(frame=synthetic(), logs=[load.LogReport(path="x", included=True)])
    out, analysis = report.build_report(loaded, tmp_path / "r", OPTIONS)
    for name in EXPECTED_FILES:
        assert (out / name).is_file(), name
    for name in FIGURES:
        for fmt in ("png", "pdf"):
            assert (out / "figures" / f"{name}.{fmt}").stat().st_size > 1000, name
    page = (out / "report.html").read_text()
    assert (
        page.count("data:image/png;base64,") == len(FIGURES) and "<img" in page and 'src="figures' not in page
    )
    md = (out / "report.md").read_text()
    for heading in (
        "Headline figures",
        "Within-temperature",
        "Friedman",
        "Spearman",
        "Greedy determinism",
        "Single-shot",
        "Binary ablations",
        "By category",
        "Judge agreement",
        "Run-to-run",
        "Statistics to publish",
    ):
        assert heading in md, heading
    assert "tie_break=random" in md
    compare = pd.read_csv(out / "compare_runs.csv")
    assert set(compare["scope"]) == {"all", "category"}  # two runs, overall and per category, Holm-adjusted
    assert (compare["p_holm"].dropna() >= compare["p"].dropna()).all()
    groups = pd.read_csv(out / "groups.csv")
    assert set(groups["level"]) == {"overall", "category", "temperature"}
    assert len(analysis.agreement) == 2  # j1 vs j2 in each run
    assert len(analysis.spread) and (analysis.spread["n_runs"] == 2).all()


def test_report_refuses_to_overwrite_then_numbers_or_overwrites(tmp_path: Path):
    loaded = load.LoadResult(frame=synthetic(8, 1), logs=[])
    options = report.ReportOptions(n_boot=10, draws=10, figures=False)
    first, _ = report.build_report(loaded, tmp_path / "r", options)
    stamp = (first / "report.md").stat().st_mtime_ns
    with pytest.raises(report.OutputExistsError):
        report.build_report(loaded, tmp_path / "r", options)
    assert (first / "report.md").stat().st_mtime_ns == stamp
    second, _ = report.build_report(loaded, tmp_path / "r", options, numbered=True)
    third, _ = report.build_report(loaded, tmp_path / "r", options, numbered=True)
    assert (second.name, third.name) == ("r-2", "r-3")
    again, _ = report.build_report(loaded, tmp_path / "r", options, overwrite=True)
    assert again == first and (first / "report.md").stat().st_mtime_ns != stamp


def test_judge_filter_and_threshold_option(tmp_path: Path):
    loaded = load.LoadResult(frame=synthetic(8, 1), logs=[])
    options = report.ReportOptions(n_boot=10, draws=10, figures=False, judges=("j2",), threshold=0.95)
    _, analysis = report.build_report(loaded, tmp_path / "r", options)
    assert set(analysis.prompts["judge"]) == {"j2"} and analysis.agreement.empty
    unstable = analysis.prompts[analysis.prompts["n"] > 0]
    assert (unstable["unstable"] == (unstable["ssi"] < 0.95)).all()


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    samples = [
        ours(f"p{p}", e + 1, t, s, f"resp{p}{e % 2}", [LABELS[(p * e) % 5 // 2] if (p + e) % 7 else "REFUSE"])
        for p in range(10)
        for e, (t, s) in enumerate((t, s) for t in (0.0, 0.7, 1.0) for s in (1, 2))
    ]
    write_eval_log(eval_log(samples), str(folder / "ok.eval"))
    write_eval_log(eval_log(samples[:3], status="cancelled"), str(folder / "cancelled.eval"))
    return folder


def test_cli_report_notes_skipped_logs_and_refuses_existing_out(log_dir: Path, tmp_path: Path, capsys):
    out = tmp_path / "rep"
    args = ["report", str(log_dir), "--out", str(out), "--bootstrap", "20", "--draws", "20", "--no-figures"]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "cancelled.eval" in err and "skipped" in err and "mean SSI" in err
    logs = pd.read_csv(out / "logs.csv")
    assert sorted(zip(logs["path"].map(lambda p: Path(p).name), logs["included"], strict=True)) == [
        ("cancelled.eval", False),
        ("ok.eval", True),
    ]
    assert cli.main(args) == 2 and "already holds files" in capsys.readouterr().err
    assert cli.main([*args, "--numbered", "--quiet"]) == 0 and (tmp_path / "rep-2" / "report.html").exists()
    assert cli.main([*args, "--overwrite", "--include-incomplete", "--quiet"]) == 0
    logs = pd.read_csv(out / "logs.csv")
    assert logs["included"].all()


def test_python_dash_m_entry_point(log_dir: Path, tmp_path: Path):
    out = tmp_path / "m"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "refusal_stability.analysis",
            "report",
            str(log_dir / "ok.eval"),
            "--out",
            str(out),
            "--bootstrap",
            "10",
            "--draws",
            "10",
            "--no-figures",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "report.md").exists()


def test_cli_errors_without_input(tmp_path: Path, capsys):
    assert cli.main(["report", "--out", str(tmp_path / "x")]) == 2
    assert cli.main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "y")]) == 2


def test_published_figures_beside_the_study_run_only(tmp_path: Path):
    """The comparison applies to dataset `paper` judged by `recorded`, whatever the model is called."""
    from refusal_stability.tasks.datasets.paper import DATASET

    assert study_labels.STUDY_DATASET == DATASET  # the CSVs and the task name the study's prompts alike
    frame = synthetic(8, 1).astype({tidy.DATASET: str, tidy.JUDGE: str, tidy.RUN: str})
    study = (frame[tidy.JUDGE] == "j1") & (frame[tidy.RUN] == "ft0")
    frame.loc[study, tidy.DATASET] = study_labels.STUDY_DATASET
    frame.loc[study, tidy.JUDGE] = study_labels.STUDY_JUDGE
    frame.loc[~study, tidy.RUN] = "qwen2.5-7b-instruct"  # a model name alone is no longer enough
    loaded = load.LoadResult(frame=tidy.to_frame(frame), logs=[])
    options = report.ReportOptions(n_boot=10, draws=10, figures=False)
    _, analysis = report.build_report(loaded, tmp_path / "r", options)
    rows = study_check.published_rows(analysis)
    assert set(rows["judge"]) == {study_labels.STUDY_JUDGE} and set(rows["run"]) == {"ft0"}
    assert set(rows["figure"]) == set(report.PUBLISHED_STUDY) and set(rows["n_prompts"]) == {
        2,
        6,
    }  # two halves
    assert report.STUDY_RULE in (tmp_path / "r" / "report.md").read_text()


def test_a_report_over_rules_verdicts_carries_a_visible_caveat(tmp_path: Path):
    frame = synthetic(6, 1)
    frame[tidy.JUDGE] = frame[tidy.JUDGE].astype(str).replace({"j1": "offline:rules-v3"})
    options = report.ReportOptions(n_boot=10, draws=10, figures=False)
    out, _ = report.build_report(load.LoadResult(frame=frame, logs=[]), tmp_path / "mixed", options)
    text = (out / "report.md").read_text()
    assert "CAVEAT: The verdicts of judge(s) offline:rules-v3 come from the offline rules" in text
    only_rules = frame[frame[tidy.JUDGE] == "offline:rules-v3"]
    out, _ = report.build_report(load.LoadResult(frame=only_rules, logs=[]), tmp_path / "rules", options)
    assert (
        "CAVEAT: EVERY verdict in this report comes from the offline rules" in (out / "report.md").read_text()
    )
    assert "CAVEAT" in (out / "report.html").read_text()
    out, _ = report.build_report(load.LoadResult(frame=synthetic(6, 1), logs=[]), tmp_path / "llm", options)
    assert "CAVEAT" not in (out / "report.md").read_text()


def test_study_tie_break_is_named_in_the_report(tmp_path: Path):
    loaded = load.LoadResult(
        frame=synthetic(n_prompts=6, runs=1), logs=[load.LogReport(path="x", included=True)]
    )
    options = report.ReportOptions(n_boot=20, draws=20, tie_break="study", figures=False)
    out, analysis = report.build_report(loaded, tmp_path / "r", options)
    assert set(analysis.curves["tie_break"]) == {"study"}
    assert "Counter.most_common" in (out / "report.md").read_text()


def test_unit_labels_label_every_row_as_a_label_per_row_would():
    """`figures.unit_labels` labels each distinct unit once; every row must get its own row's label."""
    from refusal_stability.analysis import figures

    rng = np.random.default_rng(3)
    n = 400
    table = pd.DataFrame(
        {
            tidy.RUN: pd.Categorical(rng.choice(["r1", "r2", "r3"], n)),
            tidy.MODEL: "m",
            tidy.DATASET: rng.choice(["d1", "d2"], n).astype(object),
            tidy.JUDGE: "j",
            tidy.HARMFUL: pd.array(rng.choice([True, False, None], n), dtype="boolean"),
        }
    ).sample(frac=1.0, random_state=1)
    labels = figures.unit_labels(table)
    assert labels.index.equals(table.index)
    for i, row in table.iterrows():  # the label by hand: run | dataset | benign/harmful
        half = "benign" if row[tidy.HARMFUL] is False else "harmful"
        assert labels[i] == f"{row[tidy.RUN]} | {row[tidy.DATASET]} | {half}"
    assert figures.unit_labels(table.assign(**{tidy.DATASET: "d", tidy.HARMFUL: True})).eq("r1").sum() > 0
    assert figures.unit_labels(table.iloc[:0]).empty


def test_single_shot_in_a_worker_process_equals_in_process(monkeypatch: pytest.MonkeyPatch):
    """A big table's single-shot curves run beside the other steps in a worker; the numbers must not move."""
    frame = synthetic(n_prompts=12)
    options = report.ReportOptions(n_boot=20, draws=40)
    monkeypatch.setattr(report, "PARALLEL_MIN_ROWS", len(frame) + 1)
    here = report.analyse(frame, options)
    monkeypatch.setattr(report, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    assert report._parallel(frame)
    there = report.analyse(frame, options)
    pd.testing.assert_frame_equal(here.curves, there.curves)
    pd.testing.assert_frame_equal(here.needed, there.needed)
    assert len(here.curves) and "single_shot" in there.timings


def test_figures_drawn_in_worker_processes_are_the_figures_drawn_here(tmp_path: Path):
    """A big report draws its figures in worker processes: the same figures, captions and files."""
    analysis = report.analyse(synthetic(n_prompts=12), OPTIONS)
    here, _ = report._start_figures(analysis, OPTIONS, tmp_path / "here")()
    there, _ = report._start_figures(analysis, OPTIONS, tmp_path / "there", workers=2)()
    assert [(s, c, p.name) for s, c, p in here] == [(s, c, p.name) for s, c, p in there]
    assert len(here) == len(FIGURES)
    names = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "there").iterdir()) and len(names) == 2 * len(FIGURES)
