"""Read the refusal-stability study's judged responses (its `*_labels.csv(.gz)` files) into the tidy table.

An independent path into the analysis that does not go through Inspect: the study's own CSVs give
its published figures directly, so comparing them with the figures computed from the replayed
`.eval` logs checks the whole chain (replay provider, recorded scorer, log loader) end to end.
The rows carry the same dataset (`paper`) and judge (`recorded`) names as the replayed log's.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from refusal_stability.analysis import tidy
from refusal_stability.schema import verdict_of
from refusal_stability.scorers.recorded import RECORDED_JUDGE

STUDY_DATASET = "paper"
"""The study's prompt set under the task's name for it (`-T dataset=paper`; a test ties the two), so the
CSVs and a replayed log of them are the same dataset to the report. (The files sit in the datasets
folder beside the repository, `../shared/datasets/refusal_stability_paper/`.)"""
STUDY_JUDGE = RECORDED_JUDGE
"""The study's `label` column is its own judge's recorded verdict: the `recorded` judge, as in a replay."""
LABEL_FILE_GLOBS: tuple[str, ...] = ("*_labels.csv.gz", "*_labels.csv")
STUDY_COLUMNS: tuple[str, ...] = ("prompt_id", "response", "label", "model", "temperature", "seed")


def study_label_files(directory: str | Path) -> list[Path]:
    """Return the study's label files in a folder (or the folder's `labels/` sub-folder), sorted."""
    root = Path(directory)
    if root.is_file():
        return [root]
    if (root / "labels").is_dir():
        root = root / "labels"
    files = sorted({p for pattern in LABEL_FILE_GLOBS for p in root.glob(pattern)})
    if not files:
        raise FileNotFoundError(f"no *_labels.csv(.gz) files under {directory}")
    return files


def load_study_labels(directory: str | Path, keep_responses: bool = False) -> pd.DataFrame:
    """Load the study's label CSVs into the tidy table.

    Each file is one (temperature, seed) configuration; the epoch is the configuration's position in
    the study's grid (temperature-major, seed-minor, 1-based), matching the suite's grid solver.
    UNKNOWN labels become unscored rows (verdict NA, note "not a verdict"): the study drops them from N.

    Args:
        directory: The dataset folder (holding `labels/`), the `labels/` folder itself, or one file.
        keep_responses: Also keep the full response text in a `response` column.

    Returns:
        The tidy table (one row per response; one judge).
    """
    files = study_label_files(directory)
    frames = [
        pd.read_csv(f, usecols=list(STUDY_COLUMNS), dtype={"prompt_id": str, "label": str}).assign(log=f.name)
        for f in files
    ]
    raw = pd.concat(frames, ignore_index=True)
    temperatures = sorted(raw["temperature"].unique())
    seeds = sorted(raw["seed"].unique())
    grid = {(t, s): i for i, (t, s) in enumerate((t, s) for t in temperatures for s in seeds)}
    epoch = [grid[(t, s)] + 1 for t, s in zip(raw["temperature"], raw["seed"], strict=True)]
    verdicts = [verdict_of(v) for v in raw["label"]]
    responses = raw["response"].fillna("").astype(str)
    rows = {
        tidy.LOG: raw["log"],
        tidy.RUN: raw["model"],
        tidy.MODEL: raw["model"],
        tidy.DATASET: STUDY_DATASET,
        tidy.PROMPT_ID: raw["prompt_id"],
        tidy.CATEGORY: None,
        tidy.HARMFUL: True,
        tidy.TEMPERATURE: raw["temperature"],
        tidy.SEED: raw["seed"],
        tidy.EPOCH: epoch,
        tidy.JUDGE: STUDY_JUDGE,
        tidy.SCORER: "label",
        tidy.VERDICT: verdicts,
        tidy.NOTE: [None if v is not None else tidy.NOTE_NOT_A_VERDICT for v in verdicts],
        tidy.RESPONSE_LENGTH: responses.str.len(),
        tidy.RESPONSE_HASH: [tidy.response_hash(r) for r in responses],
        tidy.RESPONSE: responses,
    }
    return tidy.to_frame(pd.DataFrame(rows), keep_responses=keep_responses)
