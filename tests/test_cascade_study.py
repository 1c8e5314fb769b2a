"""The cascade's shipped sure cells and quoted agreement, recomputed from the study's 17,506 judged responses.

`scorers.cascade.SURE_CELLS` and `CASCADE_AGREEMENT` are written by hand from
`scripts/judge_agreement.py`; this test replays the cascade on the study's labels and checks them: the
cells by the replay itself, the figures by an independent count (saved share by counting the rows a
sure cell decided, kappa by scikit-learn on verdicts rebuilt here). About half a minute of one core.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from refusal_stability.analysis.cascade_replay import (
    ALL_ROWS,
    HELD_OUT,
    POOLED_SOURCES,
    cascade_splits,
    choose_sure_cells,
)
from refusal_stability.analysis.rule_splits import source_splits
from refusal_stability.scorers.cascade import CASCADE_AGREEMENT, SURE_CELLS


def test_shipped_cells_are_the_replays_choice_on_all_rows(study_stage1) -> None:
    frame, cells, predicted = study_stage1
    results = {(r.name, r.part): r for r in cascade_splits(frame, cells, predicted)}
    assert results[(ALL_ROWS, "in-sample")].sure_cells == SURE_CELLS
    assert CASCADE_AGREEMENT["sure_cells"] == ",".join(SURE_CELLS)


def test_quoted_held_out_figures_match_an_independent_count(study_stage1) -> None:
    frame, cells, predicted = study_stage1
    labels = frame["label"].to_numpy()
    cells_arr, predicted_arr = np.asarray(cells), np.asarray(predicted)
    sure = np.zeros(len(frame), dtype=bool)
    for split in source_splits(frame):
        chosen = choose_sure_cells(cells_arr[split.train], predicted_arr[split.train], labels[split.train])
        sure[split.test] = np.isin(cells_arr[split.test], chosen)
        source = str(frame["source"][split.test].iloc[0])
        cascade = np.where(sure[split.test], predicted_arr[split.test], labels[split.test])
        assert CASCADE_AGREEMENT[f"saved_share_heldout_{source}"] == round(sure[split.test].mean(), 3)
        kappa = cohen_kappa_score(labels[split.test], cascade)
        assert CASCADE_AGREEMENT[f"kappa_heldout_{source}"] == round(kappa, 3)
    cascade = np.where(sure, predicted_arr, labels)
    assert CASCADE_AGREEMENT["saved_share_heldout_pooled"] == round(sure.mean(), 3)
    assert CASCADE_AGREEMENT["kappa_heldout_pooled"] == round(cohen_kappa_score(labels, cascade), 3)
    pooled = {(r.name, r.part): r for r in cascade_splits(frame, cells, predicted)}[(POOLED_SOURCES, HELD_OUT)]
    assert pooled.saved_share == pytest.approx(sure.mean())
    assert pooled.kappa == pytest.approx(cohen_kappa_score(labels, cascade))
    assert CASCADE_AGREEMENT["saved_share_heldout_pooled"] >= 0.70  # issue 11's goal
    assert CASCADE_AGREEMENT["kappa_heldout_pooled"] >= 0.95
