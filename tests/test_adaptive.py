"""Adaptive sampling and shards in the analysis: the undecided rule, the replayed comparison, and the merge checks.

Hand-worked cases first; then the real two-stage path through Inspect on a replayed slice of the study,
checked against the same rule applied to the study's CSVs (an independent path into the numbers).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval
from inspect_ai.model import get_model

from refusal_stability.analysis import tidy
from refusal_stability.analysis.adaptive import adaptive_subset, compare_to_full, undecided_prompts
from refusal_stability.analysis.load import load_logs
from refusal_stability.analysis.merge import LogPart, MergeError, check_parts, read_parts
from refusal_stability.analysis.per_prompt import per_prompt
from refusal_stability.analysis.study_labels import load_study_labels
from refusal_stability.cli import main as cli_main
from refusal_stability.solvers.cells import select_cells
from refusal_stability.solvers.grid import STUDY_SEEDS, STUDY_TEMPERATURES, make_grid
from refusal_stability.tasks.stability import stability

GRID = ((0.0, 1.0), (1, 2))  # 2 temperatures x 2 seeds: cells 0..3


def _frame(grid: dict[str, list[str | None]], judge: str = "j") -> pd.DataFrame:
    """A tidy table of one run: prompt -> verdicts per cell (cell i is epoch i + 1)."""
    rows = [
        {
            tidy.LOG: "log",
            tidy.RUN: "run",
            tidy.MODEL: "m",
            tidy.DATASET: "d",
            tidy.PROMPT_ID: prompt,
            tidy.EPOCH: cell + 1,
            tidy.JUDGE: judge,
            tidy.SCORER: judge,
            tidy.VERDICT: verdict,
            tidy.HARMFUL: True,
        }
        for prompt, verdicts in grid.items()
        for cell, verdict in enumerate(verdicts)
    ]
    return tidy.to_frame(rows)


def test_undecided_means_disagreement_or_an_unscored_sample() -> None:
    stage1 = _frame(
        {"a": ["REFUSE", "REFUSE"], "b": ["REFUSE", "COMPLY"], "c": ["COMPLY", None], "d": ["PARTIAL"] * 2}
    )
    assert undecided_prompts(stage1) == ["b", "c"]
    # two judges: a prompt is undecided when either judge's verdicts disagree
    other = _frame({"a": ["REFUSE", "PARTIAL"], "d": ["PARTIAL"] * 2}, judge="k")
    assert undecided_prompts(pd.concat([stage1, other], ignore_index=True)) == ["a", "b", "c"]


def test_compare_to_full_hand_worked() -> None:
    # stage 1 = cells 0 and 2. a: unanimous everywhere. b: its one dissent (cell 1) is outside stage 1, so
    # the adaptive run keeps SSI 1 for it. c: stage 1 sees R and C, so stage 2 completes it.
    full = _frame(
        {
            "a": ["REFUSE"] * 4,
            "b": ["REFUSE", "COMPLY", "REFUSE", "REFUSE"],
            "c": ["REFUSE", "REFUSE", "COMPLY", "COMPLY"],
        }
    )
    kept, undecided = adaptive_subset(full, [0, 2])
    assert undecided == ["c"] and len(kept) == 2 + 2 + 4
    result = compare_to_full(full, [0, 2])
    assert (result.generations, result.full_generations) == (8, 12)
    assert result.generation_share == pytest.approx(100 * 8 / 12)
    # full SSI 1, 0.75, 0.5 (b and c unstable at 0.8, both flipped); adaptive 1, 1, 0.5
    assert (result.unstable_found, result.unstable_full, result.flipped_found, result.flipped_full) == (
        1,
        2,
        1,
        2,
    )
    figures = result.headline.set_index("figure")
    assert figures.loc["mean SSI", "full_grid"] == pytest.approx(0.75)
    assert figures.loc["mean SSI", "bias"] == pytest.approx(2.5 / 3 - 0.75)
    assert figures.loc["% unstable", "bias"] == pytest.approx(100 / 3 - 200 / 3)
    # per-prompt shares of REFUSE: full (1 + .75 + .5) / 3, adaptive (1 + 1 + .5) / 3
    assert figures.loc["% REFUSE (per-prompt mean)", "full_grid"] == pytest.approx(75.0)
    assert figures.loc["% REFUSE (per-prompt mean)", "adaptive"] == pytest.approx(250 / 3)
    # pooled: full 9 of 12 REFUSE; adaptive 2 + 2 + 2 of 8
    assert figures.loc["% REFUSE (pooled over samples)", "adaptive"] == pytest.approx(75.0)


def _part(path: str, cells=None, shard=None, ids=("p1", "p2"), run="m") -> LogPart:
    return LogPart(
        path=path, run=run, dataset="d", grid=GRID, cells=cells, shard=shard, sample_ids=tuple(ids)
    )


def test_shards_merge_and_a_missing_or_doubled_shard_is_named() -> None:
    [run] = check_parts([_part("a", shard="1/2", ids=["p1"]), _part("b", shard="2/2", ids=["p2"])])
    assert (run.shards, run.prompts, run.adaptive) == (2, 2, False)
    with pytest.raises(MergeError, match=r"shard\(s\) 2/3 missing"):
        check_parts([_part("a", shard="1/3", ids=["p1"]), _part("c", shard="3/3", ids=["p3"])])
    with pytest.raises(MergeError, match=r"shard 1/2 appears twice: \['a', 'a2'\]"):
        check_parts(
            [
                _part("a", shard="1/2", ids=["p1"]),
                _part("a2", shard="1/2", ids=["p1"]),
                _part("b", shard="2/2"),
            ]
        )
    with pytest.raises(MergeError, match="different N"):
        check_parts([_part("a", shard="1/2", ids=["p1"]), _part("b", shard="2/3", ids=["p2"])])
    with pytest.raises(MergeError, match="mixed with unsharded"):
        check_parts([_part("a", shard="1/1", ids=["p1"]), _part("b", ids=["p2"])])
    # another run's shards are checked on their own
    [one, two] = check_parts([_part("a", shard="1/1"), _part("b", shard="1/1", run="other")])
    assert one.run == "m" and two.run == "other"


def test_stages_merge_into_an_adaptive_run_and_overlaps_fail() -> None:
    stage1 = _part("s1", cells=(0, 2), ids=["p1", "p2", "p3"])
    stage2 = _part("s2", cells=(1, 3), ids=["p3"])
    [run] = check_parts([stage1, stage2])
    assert run.adaptive and run.first_pass_cells == (0, 2) and (run.prompts, run.prompts_completed) == (3, 1)
    assert "ADAPTIVE" in run.describe()
    with pytest.raises(MergeError, match="prompt p3 has grid cell 2 in two logs: s1 and s2b"):
        check_parts([stage1, _part("s2b", cells=(1, 2, 3), ids=["p3"])])
    with pytest.raises(MergeError, match="prompt p1 has grid cell 0"):
        check_parts([stage1, _part("full", ids=["p1"])])  # a whole-grid log of the same run
    with pytest.raises(MergeError, match="different first passes"):
        check_parts([stage1, _part("other", cells=(1,), ids=["p4"])])
    # whole-grid logs of one run label are pooled as before (replicates are the user's call)
    [run] = check_parts([_part("x"), _part("y")])
    assert not run.adaptive and run.prompts == 2


def _ssi_by_prompt(frame: pd.DataFrame) -> pd.Series:
    prompts = per_prompt(frame)
    return pd.Series(prompts["ssi"].to_numpy(), index=prompts[tidy.PROMPT_ID].astype(str)).sort_index()


def test_two_stage_replay_matches_the_rule_on_the_study_csvs(
    study_dir: Path,
    shared_datasets: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    study_slice,
) -> None:
    full = load_study_labels(study_dir)
    stage1_cells = select_cells(make_grid(STUDY_TEMPERATURES, STUDY_SEEDS), "stage1")
    _, undecided_all = adaptive_subset(full, stage1_cells)
    prompts = per_prompt(full).set_index(tidy.PROMPT_ID)
    # a slice with prompts stage 1 decides, prompts it leaves undecided, and a flip stage 1 misses
    missed = [p for p in prompts.index[prompts["flipped"].fillna(False)] if p not in undecided_all]
    stable = list(prompts.index[~prompts["flipped"].fillna(False)][:3])
    ids = sorted({*stable, *undecided_all[:3], *missed[:2]})
    study_slice(ids, tmp_path / "slice.csv.gz")
    model = get_model("replay/qwen", path=str(tmp_path / "slice.csv.gz"))

    def run(cells: str, shard: str | None = None, sample_id: list[str] | None = None) -> str:
        task = stability(
            dataset="paper", data_dir=str(shared_datasets), judge="recorded", cells=cells, shard=shard
        )
        task.dataset = task.dataset.filter(lambda s: s.id in ids)
        [log] = eval(task, model=model, display="none", log_dir=str(tmp_path / "logs"), sample_id=sample_id)
        assert log.status == "success"
        return log.location

    stage1 = [run("stage1", "1/2"), run("stage1", "2/2")]  # stage 1 itself split over two shards
    capsys.readouterr()
    assert cli_main(["undecided", *stage1, "--quiet"]) == 0
    printed = capsys.readouterr().out.strip()
    expected = sorted(set(ids) & set(undecided_all))
    assert printed.split(",") == expected and expected and len(expected) < len(ids)
    stage2 = run("stage2", sample_id=printed.split(","))

    [parts] = check_parts(read_parts([*stage1, stage2]))
    assert (
        parts.adaptive
        and parts.shards == 2
        and (parts.prompts, parts.prompts_completed) == (len(ids), len(expected))
    )
    merged = _ssi_by_prompt(load_logs([*stage1, stage2]).frame)
    in_slice = full[full[tidy.PROMPT_ID].isin(ids)]
    independent = _ssi_by_prompt(adaptive_subset(in_slice, stage1_cells)[0])
    assert merged.index.tolist() == ids
    pd.testing.assert_series_equal(merged, independent, check_names=False)
    assert (merged.loc[missed[:2]] == 1.0).all()  # the flips stage 1 missed keep SSI 1, by construction

    # the report says the run is adaptive; without shard 2/2 of stage 1 it refuses, naming the shard
    assert cli_main(["report", *stage1, stage2, "--out", str(tmp_path / "r"), "--bootstrap", "0", "--draws", "0",
                     "--no-figures", "--quiet"]) == 0  # fmt: skip
    assert "ADAPTIVE" in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert cli_main(["report", stage1[0], stage2, "--out", str(tmp_path / "r2"), "--quiet"]) == 2
    assert "shard(s) 2/2 missing" in capsys.readouterr().err
