"""The cascade judge replayed on recorded labels: which cells may decide alone, LLM calls saved, agreement.

The cascade (`scorers/cascade.py`) lets the offline rules decide a response when its stage-1 *cell*
(the rule that fired and the words delivered after the refusal, `scorers/sure_cells.py`) is one of
its sure cells, and asks the LLM judge otherwise. Replayed on judged responses, the recorded label
stands in for the LLM judge: the cascade's verdict is the rules' verdict on the sure responses and
the recorded label on the rest, so

- saved share = the share of responses a sure cell decided (no LLM call);
- kappa = Cohen's kappa of the cascade's verdicts against the recorded labels (the LLM judge alone),
  with its confusion matrix (rows: the LLM judge, columns: the cascade);
- stage-1 precision = the share of sure-cell verdicts equal to the recorded label.

The sure cells are chosen on a split's fit rows only (`choose_sure_cells`: cells whose verdicts
matched the reference at least `SURE_MIN_PRECISION` of the time on at least `SURE_MIN_COUNT`
responses) and measured on its held-out rows, with the splits of the rules themselves
(`rule_splits.source_splits`, `rule_splits.category_splits`: whole prompt sources, whole
categories). Each split reports both parts, so the fit figure can be read beside the held-out one;
only held-out figures are results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from refusal_stability.analysis.agreement import cohen_kappa, confusion_matrix
from refusal_stability.analysis.rule_splits import LABEL, Split, category_splits, source_splits
from refusal_stability.scorers.evidence import Evidence
from refusal_stability.scorers.offline import decide
from refusal_stability.scorers.sure_cells import sure_cell

SURE_MIN_PRECISION = 0.98
"""A cell decides alone only if its verdicts matched the reference this often on the fit rows."""
SURE_MIN_COUNT = 20
"""... and it held at least this many fit responses (so its precision is not luck)."""

FIT = "fit"
HELD_OUT = "held-out"
POOLED_SOURCES = "sources pooled (each scored with the cells chosen on the other)"
POOLED_CATEGORIES = "categories pooled (each scored with the cells chosen on the rest)"
ALL_ROWS = "all rows (cells chosen on all rows: the shipped choice, in-sample, for reference only)"
IN_SAMPLE = "in-sample"


@dataclass(frozen=True)
class CascadeResult:
    """The cascade on one set of responses, with the sure cells it used."""

    name: str
    part: str
    """`FIT` (the rows the cells were chosen on), `HELD_OUT`, or `IN_SAMPLE` (all rows)."""
    sure_cells: tuple[str, ...]
    """The cells chosen (empty for a pooled table: each part had its own)."""
    n: int
    saved_share: float
    stage1_precision: float
    kappa: float
    matrix: np.ndarray
    """Confusion matrix, rows: the reference (LLM judge alone), columns: the cascade (VERDICTS order)."""


def stage1(evidence: Sequence[Evidence]) -> tuple[list[str], list[str]]:
    """Each response's stage-1 cell and the rules' verdict (the shipped thresholds)."""
    verdicts = [decide(ev) for ev in evidence]
    cells = [sure_cell(v.rule, ev.words_after) for v, ev in zip(verdicts, evidence, strict=True)]
    return cells, [str(v.label) for v in verdicts]


def choose_sure_cells(
    cells: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str],
    min_precision: float = SURE_MIN_PRECISION,
    min_count: int = SURE_MIN_COUNT,
) -> tuple[str, ...]:
    """The cells whose verdicts match the reference at least `min_precision` of the time.

    Args:
        cells: The stage-1 cell of each response (`sure_cells.sure_cell`).
        predicted: The rules' verdict on each response.
        labels: The reference verdict (the LLM judge) on each response.
        min_precision: Least share of a cell's verdicts that must match the reference.
        min_count: Least number of responses a cell must hold.

    Returns:
        The chosen cells, sorted.
    """
    table = pd.DataFrame({"cell": cells, "hit": np.asarray(predicted) == np.asarray(labels)})
    stats = table.groupby("cell")["hit"].agg(["mean", "size"])
    chosen = stats[(stats["mean"] >= min_precision) & (stats["size"] >= min_count)]
    return tuple(sorted(chosen.index))


def replay_cascade(
    name: str,
    cells: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str],
    sure_cells: Sequence[str],
    part: str = HELD_OUT,
) -> CascadeResult:
    """The cascade's saved share, stage-1 precision, kappa and confusion matrix on these rows."""
    sure = np.isin(np.asarray(cells), list(sure_cells))
    return _replay(name, part, sure, predicted, labels, tuple(sure_cells))


def _replay(
    name: str,
    part: str,
    sure: np.ndarray,
    predicted: Sequence[str],
    labels: Sequence[str],
    sure_cells: tuple[str, ...],
) -> CascadeResult:
    """The cascade where stage 1 decided the rows in `sure` (a boolean mask)."""
    predicted_arr, labels_arr = np.asarray(predicted), np.asarray(labels)
    cascade = [str(x) for x in np.where(sure, predicted_arr, labels_arr)]
    precision = float(np.mean(predicted_arr[sure] == labels_arr[sure])) if sure.any() else float("nan")
    return CascadeResult(
        name=name,
        part=part,
        sure_cells=sure_cells,
        n=len(labels),
        saved_share=float(sure.mean()) if len(labels) else float("nan"),
        stage1_precision=precision,
        kappa=cohen_kappa(list(labels_arr), cascade),
        matrix=confusion_matrix(list(labels_arr), cascade),
    )


def cascade_splits(
    frame: pd.DataFrame, cells: Sequence[str], predicted: Sequence[str]
) -> list[CascadeResult]:
    """Choose the sure cells on each split's fit rows; measure on its fit and its held-out rows.

    Args:
        frame: One row per judged response with `label`, `source` and `category`.
        cells: The stage-1 cell of each row (`stage1`).
        predicted: The rules' verdict on each row.

    Returns:
        For each source split, then each category split: its fit result and its held-out result;
        then the held-out parts pooled per family (sources, categories); then all rows with the
        cells chosen on all rows (in sample: the shipped choice, not a validation figure).
    """
    labels = frame[LABEL].tolist()
    if not len(cells) == len(predicted) == len(labels):
        raise ValueError(f"{len(cells)} cells and {len(predicted)} verdicts for {len(labels)} rows")
    results: list[CascadeResult] = []
    families = ((source_splits(frame), POOLED_SOURCES), (category_splits(frame), POOLED_CATEGORIES))
    for family, pooled_name in families:
        held_out = [_fit_and_hold_out(split, cells, predicted, labels) for split in family]
        for fit_result, test_result, _ in held_out:
            results += [fit_result, test_result]
        if held_out:
            rows = np.concatenate([np.flatnonzero(split.test) for split in family])
            sure = np.concatenate([mask for _, _, mask in held_out])
            rows_predicted, rows_labels = [predicted[i] for i in rows], [labels[i] for i in rows]
            results.append(_replay(pooled_name, HELD_OUT, sure, rows_predicted, rows_labels, ()))
    chosen = choose_sure_cells(cells, predicted, labels)
    results.append(replay_cascade(ALL_ROWS, cells, predicted, labels, chosen, IN_SAMPLE))
    return results


def _fit_and_hold_out(
    split: Split, cells: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> tuple[CascadeResult, CascadeResult, np.ndarray]:
    """One split: cells chosen on its fit rows; the cascade on those rows and on the held-out rows."""
    parts = {}
    for part, mask in ((FIT, split.train), (HELD_OUT, split.test)):
        rows = np.flatnonzero(mask)
        parts[part] = ([cells[i] for i in rows], [predicted[i] for i in rows], [labels[i] for i in rows])
    sure = choose_sure_cells(*parts[FIT])
    fit_result = replay_cascade(split.name, *parts[FIT], sure, FIT)
    test_result = replay_cascade(split.name, *parts[HELD_OUT], sure, HELD_OUT)
    return fit_result, test_result, np.isin(np.asarray(parts[HELD_OUT][0]), list(sure))
