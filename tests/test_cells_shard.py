"""Grid cell selection (adaptive sampling's stages) and the shard partition, checked against hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.model import ModelOutput, get_model

from refusal_stability.schema import GRID_CELLS_KEY, GRID_INDEX_KEY, SHARD_KEY
from refusal_stability.solvers.cells import STAGE2, STAGES, select_cells, stage1_cells, stage_cells
from refusal_stability.solvers.grid import STUDY_SEEDS, STUDY_TEMPERATURES, make_grid
from refusal_stability.tasks.shard import Shard, parse_shard, shard_of
from refusal_stability.tasks.stability import stability

STUDY_GRID = make_grid(STUDY_TEMPERATURES, STUDY_SEEDS)


def test_stages_one_seed_per_temperature_then_one_more_then_the_rest() -> None:
    # 4 temperatures x 5 seeds, temperature-major: temperature t starts at cell 5t; seeds 42, 43 are +0, +1
    assert stage1_cells(STUDY_GRID) == select_cells(STUDY_GRID, "stage1") == (0, 5, 10, 15)
    assert [(c.temperature, c.seed) for c in map(lambda i: STUDY_GRID.cell(i + 1), stage1_cells(STUDY_GRID))] == [
        (0.0, 42), (0.3, 42), (0.7, 42), (1.0, 42),
    ]  # fmt: skip
    assert select_cells(STUDY_GRID, "stage2") == stage_cells(STUDY_GRID, STAGE2) == (1, 6, 11, 16)
    assert select_cells(STUDY_GRID, "Stage3") == (2, 3, 4, 7, 8, 9, 12, 13, 14, 17, 18, 19)
    stages = [set(stage_cells(STUDY_GRID, s)) for s in STAGES]
    assert set.union(*stages) == set(range(20)) and sum(map(len, stages)) == 20  # a partition of the grid


def test_short_grids_leave_later_stages_empty_and_all_is_everything() -> None:
    assert select_cells(STUDY_GRID, "all") == select_cells(STUDY_GRID, None) == tuple(range(20))
    # a one-seed grid: stage 1 takes the only seed of each temperature, so stage 2 has nothing left
    one_seed = make_grid("0,1", "7")
    assert select_cells(one_seed, "stage1") == (0, 1)
    with pytest.raises(ValueError, match="empty"):
        select_cells(one_seed, "stage2")
    two_seeds = make_grid("0,1", "7,8")
    assert select_cells(two_seeds, "stage2") == (1, 3)
    with pytest.raises(ValueError, match="stage3 is empty"):
        select_cells(two_seeds, "stage3")
    with pytest.raises(ValueError, match="unknown adaptive stage"):
        stage_cells(two_seeds, "stage4")


@pytest.mark.parametrize(
    ("cells", "expected"), [("5,0,19", (0, 5, 19)), ([3], (3,)), (7, (7,)), ("[1, 2]", (1, 2))]
)
def test_explicit_cells_parse_from_cli_forms(cells, expected) -> None:
    assert select_cells(STUDY_GRID, cells) == expected


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
    assert log.status == "success" and log.eval.metadata[GRID_CELLS_KEY] == [
        2,
        3,
        4,
        7,
        8,
        9,
        12,
        13,
        14,
        17,
        18,
        19,
    ]
    assert log.eval.metadata[SHARD_KEY] == "1/1" and len(log.samples) == 2 * 12
    by_epoch = {s.epoch: s.metadata[GRID_INDEX_KEY] for s in log.samples}
    assert by_epoch == dict(zip(range(1, 13), log.eval.metadata[GRID_CELLS_KEY], strict=True))
    cells = [STUDY_GRID.cell(i + 1) for i in log.eval.metadata[GRID_CELLS_KEY]]
    assert sorted(seen) == sorted([(c.temperature, c.seed) for c in cells] * 2)
