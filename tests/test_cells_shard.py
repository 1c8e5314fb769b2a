"""Grid cell selection (adaptive sampling's stages) and the shard partition, checked against hand-worked cases."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.model import ModelOutput, get_model

from refusal_stability.schema import GRID_CELLS_KEY, GRID_INDEX_KEY, SHARD_KEY
from refusal_stability.solvers.cells import (
    STAGE1,
    STAGES,
    prompt_stage_cells,
    seed_order,
    select_cells,
    stage_positions,
)
from refusal_stability.solvers.grid import STUDY_SEEDS, STUDY_TEMPERATURES, make_grid
from refusal_stability.tasks.shard import Shard, parse_shard, shard_of
from refusal_stability.tasks.stability import stability

STUDY_GRID = make_grid(STUDY_TEMPERATURES, STUDY_SEEDS)


def _hand_order(sample_id: str, t: int, n_seeds: int = 5) -> list[int]:
    """The documented seed order, written again: positions sorted by SHA-256 of salt|id|t|s."""
    digest = {
        s: hashlib.sha256(f"refusal-stability/stage-seeds|{sample_id}|{t}|{s}".encode()).hexdigest()
        for s in range(n_seeds)
    }
    return sorted(digest, key=digest.get)


def test_each_prompt_gets_one_seed_per_temperature_then_one_more_then_the_rest() -> None:
    for sample_id in ("p1", "42", "harmbench_17"):
        orders = [_hand_order(sample_id, t) for t in range(4)]
        assert [seed_order(sample_id, t, 5) for t in range(4)] == orders
        # 4 temperatures x 5 seeds, temperature-major: temperature t's seed position s is cell 5t + s
        expected = [
            tuple(sorted(5 * t + s for t in range(4) for s in orders[t][lo:hi]))
            for lo, hi in ((0, 1), (1, 2), (2, 5))
        ]
        assert [prompt_stage_cells(STUDY_GRID, stage, sample_id) for stage in STAGES] == expected
        assert [select_cells(STUDY_GRID, stage).for_sample(sample_id) for stage in STAGES] == expected
        assert sorted(c for cells in expected for c in cells) == list(range(20))  # a partition of the grid
        assert [sorted(c // 5 for c in cells) for cells in expected[:2]] == [[0, 1, 2, 3]] * 2
    assert prompt_stage_cells(STUDY_GRID, STAGE1, 42) == prompt_stage_cells(STUDY_GRID, STAGE1, "42")
    chosen = select_cells(STUDY_GRID, "Stage3")
    assert (chosen.size, chosen.header(), chosen.cells) == (12, "stage3", ())


def test_the_first_seed_is_drawn_per_prompt_not_for_the_run() -> None:
    ids = [f"p{i}" for i in range(500)]
    first = Counter(seed_order(i, 3, 5)[0] for i in ids)
    assert sorted(first) == [0, 1, 2, 3, 4] and all(70 < n < 130 for n in first.values())  # about 100 each
    # and independently per temperature: a prompt's first seeds at T index 0 and 3 agree about 1 time in 5
    same = sum(seed_order(i, 0, 5)[0] == seed_order(i, 3, 5)[0] for i in ids)
    assert 60 < same < 140
    assert seed_order("p1", 0, 5, salt="other") != seed_order("p1", 0, 5) or seed_order(
        "p2", 0, 5, salt="other"
    ) != seed_order("p2", 0, 5)


def test_short_grids_leave_later_stages_empty_and_all_is_everything() -> None:
    assert select_cells(STUDY_GRID, "all").cells == select_cells(STUDY_GRID, None).cells == tuple(range(20))
    assert select_cells(STUDY_GRID, None).header() == list(range(20))
    # a one-seed grid: stage 1 takes the only seed of each temperature, so stage 2 has nothing left
    one_seed = make_grid("0,1", "7")
    assert select_cells(one_seed, "stage1").for_sample("p") == (0, 1)
    with pytest.raises(ValueError, match="empty"):
        select_cells(one_seed, "stage2")
    two_seeds = make_grid("0,1", "7,8")
    stage1, stage2 = (select_cells(two_seeds, s).for_sample("p") for s in ("stage1", "stage2"))
    assert len(stage1) == len(stage2) == 2 and sorted(stage1 + stage2) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="stage3 is empty"):
        select_cells(two_seeds, "stage3")
    with pytest.raises(ValueError, match="unknown adaptive stage"):
        stage_positions(two_seeds, "stage4")


@pytest.mark.parametrize(
    ("cells", "expected"), [("5,0,19", (0, 5, 19)), ([3], (3,)), (7, (7,)), ("[1, 2]", (1, 2))]
)
def test_explicit_cells_parse_from_cli_forms(cells, expected) -> None:
    chosen = select_cells(STUDY_GRID, cells)
    assert chosen.cells == chosen.for_sample("any") == expected and chosen.header() == list(expected)


@pytest.mark.parametrize(
    ("cells", "message"),
    [("20", "outside"), ("-1", "outside"), ("1,1", "repeats"), ("x", "grid indices"), ("", "no cell")],
)
def test_bad_cells_fail_clearly(cells, message) -> None:
    with pytest.raises(ValueError, match=message):
        select_cells(STUDY_GRID, cells)


def test_shard_of_is_sha256_modulo_n() -> None:
    # sha256("a") begins ca978112ca1bbdca (the well-known test vector); its last hex digit a is even,
    # so it is 0 mod 2 -> shard 1; 16 = 1 mod 3, so mod 3 is the digit sum 12+10+9+7+8+1+1+2+12+10+1+11+11+13+12+10
    # = 130 = 1 mod 3 -> shard 2.  sha256("42") begins 73475cb40a568e8d: d is odd -> shard 2 of 2;
    # digit sum 117 = 0 mod 3 -> shard 1 of 3.
    assert (shard_of("a", 2), shard_of("a", 3)) == (1, 2)
    assert (shard_of("42", 2), shard_of("42", 3)) == (2, 1)
    assert shard_of(42, 2) == shard_of(
        "42", 2
    )  # an int id hashes as its text, as Inspect's --sample-id reads it


def test_shards_partition_the_ids() -> None:
    ids = [f"p{i}" for i in range(300)]
    parts = [[i for i in ids if Shard(k, 3).holds(i)] for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(ids)
    assert all(60 < len(p) < 140 for p in parts)  # a hash, not a block split: roughly even


@pytest.mark.parametrize("value", ["0/2", "3/2", "1/0", "1-2", "a/b"])
def test_bad_shard_fails_clearly(value: str) -> None:
    with pytest.raises(ValueError, match="shard"):
        parse_shard(value)


def test_task_runs_only_its_cells_and_its_shard(shared_datasets: Path, tmp_path: Path) -> None:
    full = stability(dataset="advbench", data_dir=str(shared_datasets), judge="offline", sample=12)
    halves = [
        stability(
            dataset="advbench", data_dir=str(shared_datasets), judge="offline", sample=12, shard=f"{k}/2"
        )
        for k in (1, 2)
    ]
    ids = sorted(s.id for s in full.dataset)
    assert sorted(s.id for h in halves for s in h.dataset) == ids
    assert all(shard_of(s.id, 2) == k for k, h in zip((1, 2), halves, strict=True) for s in h.dataset)

    task = stability(
        dataset="advbench",
        data_dir=str(shared_datasets),
        judge="offline",
        sample=2,
        cells="stage3",
        shard="1/1",
    )
    seen: list[tuple[float, int]] = []

    def answer(input, tools, tool_choice, config) -> ModelOutput:
        seen.append((config.temperature, config.seed))
        return ModelOutput.from_content("mockllm/model", "I can't help with that.")

    [log] = eval(
        task, model=get_model("mockllm/model", custom_outputs=answer), display="none", log_dir=str(tmp_path)
    )
    assert log.status == "success" and log.eval.metadata[GRID_CELLS_KEY] == "stage3"
    assert log.eval.metadata[SHARD_KEY] == "1/1" and len(log.samples) == 2 * 12
    expected = []
    for sample_id in {s.id for s in log.samples}:
        own = prompt_stage_cells(STUDY_GRID, "stage3", sample_id)  # this prompt's 12 cells, in epoch order
        by_epoch = {s.epoch: s.metadata[GRID_INDEX_KEY] for s in log.samples if s.id == sample_id}
        assert by_epoch == dict(zip(range(1, 13), own, strict=True))
        expected += [(STUDY_GRID.cell(i + 1).temperature, STUDY_GRID.cell(i + 1).seed) for i in own]
    assert sorted(seen) == sorted(expected)
