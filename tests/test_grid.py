"""The seed x temperature grid: epoch mapping, parameter parsing, and each call carrying its seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import Epochs, Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig, ModelOutput, get_model

from refusal_stability.solvers.grid import STUDY_SEEDS, STUDY_TEMPERATURES, GridCell, grid_generate, make_grid


def test_study_grid_maps_epochs_temperature_major() -> None:
    grid = make_grid(STUDY_TEMPERATURES, STUDY_SEEDS)
    assert grid.size == 20
    cells = grid.cells()
    assert [(c.temperature, c.seed) for c in cells[:6]] == [
        (0.0, 42),
        (0.0, 43),
        (0.0, 44),
        (0.0, 45),
        (0.0, 46),
        (0.3, 42),
    ]
    assert (cells[-1].temperature, cells[-1].seed, cells[-1].index) == (1.0, 46, 19)
    # every (temperature, seed) pair appears exactly once
    assert len({(c.temperature, c.seed) for c in cells}) == 20


@pytest.mark.parametrize(
    ("temperatures", "seeds", "expected"),
    [
        ("0,0.7", "1,2,3", ((0.0, 0.7), (1, 2, 3))),
        ("[0.5]", 7, ((0.5,), (7,))),
        (0.2, [5, 6], ((0.2,), (5, 6))),
    ],
)
def test_grid_parameters_parse_from_cli_forms(temperatures, seeds, expected) -> None:
    grid = make_grid(temperatures, seeds)
    assert (grid.temperatures, grid.seeds) == expected


@pytest.mark.parametrize(
    ("temperatures", "seeds", "message"),
    [
        ("", "1", "empty"),
        ("0.1", "1.5", "whole numbers"),
        ("-0.1", "1", "negative"),
        ("0.1,0.1", "1", "once"),
    ],
)
def test_bad_grid_parameters_fail_clearly(temperatures, seeds, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_grid(temperatures, seeds)


def test_epoch_outside_grid_names_the_fix() -> None:
    grid = make_grid([0.0], [1, 2])
    with pytest.raises(ValueError, match="rather than --epochs"):
        grid.cell(3)


def test_each_call_receives_its_own_seed_and_temperature(tmp_path: Path) -> None:
    """A scripted provider records the GenerateConfig of every call: the grid must reach it."""
    calls: list[GenerateConfig] = []

    def record(input, tools, tool_choice, config: GenerateConfig) -> ModelOutput:
        calls.append(config)
        return ModelOutput.from_content("mockllm/model", f"seed={config.seed} t={config.temperature}")

    temperatures, seeds = [0.0, 0.7], [42, 43, 44]
    task = Task(
        dataset=MemoryDataset([Sample(id="a", input="hi"), Sample(id="b", input="there")]),
        solver=grid_generate(temperatures, seeds),
        epochs=Epochs(6),
        config=GenerateConfig(max_tokens=512, top_p=1.0, seed=999),
    )
    model = get_model("mockllm/model", custom_outputs=record)
    # a run-wide --seed / --temperature must not flatten the grid either
    [log] = eval(task, model=model, display="none", log_dir=str(tmp_path), seed=7, temperature=0.5)
    assert log.status == "success"
    assert len(calls) == 12
    received = sorted((c.temperature, c.seed) for c in calls)
    expected = sorted((t, s) for t in temperatures for s in seeds for _ in range(2))
    assert received == expected  # the per-epoch values override the run-wide ones
    assert all(c.max_tokens == 512 and c.top_p == 1.0 for c in calls)
    # and every logged sample records the configuration that produced its response
    for sample in log.samples:
        meta = sample.metadata
        assert sample.output.completion == f"seed={meta['seed']} t={meta['temperature']}"
        cell = make_grid(temperatures, seeds).cell(sample.epoch)
        assert (meta["temperature"], meta["seed"], meta["grid_index"]) == (
            cell.temperature,
            cell.seed,
            cell.index,
        )


def test_engine_repeats_rerun_cells_spread_over_the_grid() -> None:
    grid = make_grid([0.0, 0.3, 0.7, 1.0], [42, 43, 44, 45, 46], repeats=4)
    assert (grid.size, grid.epochs) == (20, 24)
    assert grid.repeated_cells == (0, 5, 10, 15)  # one per temperature, seed 42
    assert grid.cell(21) == GridCell(index=0, temperature=0.0, seed=42, repeat=True)
    assert grid.cell(24) == GridCell(index=15, temperature=1.0, seed=42, repeat=True)
    assert grid.cell(20) == GridCell(index=19, temperature=1.0, seed=46, repeat=False)
    assert make_grid([0.0, 1.0], [1, 2, 3], repeats="2").repeated_cells == (0, 3)
    assert make_grid([0.7], [1, 2], repeats=2).repeated_cells == (0, 1)
    assert make_grid([0.7], [1, 2]).repeated_cells == ()
    with pytest.raises(ValueError, match="engine_repeats=3"):
        make_grid([0.7], [1, 2], repeats=3)
    with pytest.raises(ValueError, match="rather than --epochs"):
        make_grid([0.7], [1, 2], repeats=1).cell(4)


def test_engine_repeat_epochs_send_the_repeated_cells_config(tmp_path: Path) -> None:
    calls: list[tuple[float, int]] = []

    def record(input, tools, tool_choice, config: GenerateConfig) -> ModelOutput:
        calls.append((config.temperature, config.seed))
        return ModelOutput.from_content("mockllm/model", "x")

    task = Task(
        dataset=MemoryDataset([Sample(id="a", input="hi")]),
        solver=grid_generate([0.0, 0.7], [1, 2], repeats=2),
        epochs=Epochs(6),
    )
    [log] = eval(
        task, model=get_model("mockllm/model", custom_outputs=record), display="none", log_dir=str(tmp_path)
    )
    assert log.status == "success"
    assert sorted(calls) == sorted([(0.0, 1), (0.0, 2), (0.7, 1), (0.7, 2), (0.0, 1), (0.7, 1)])
    repeats = sorted(
        (s.metadata["grid_index"], s.metadata["temperature"])
        for s in log.samples
        if s.metadata["engine_repeat"]
    )
    assert repeats == [(0, 0.0), (2, 0.7)]
    assert sum(not s.metadata["engine_repeat"] for s in log.samples) == 4
