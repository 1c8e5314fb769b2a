"""The study's own tie-break (`Counter.most_common`, first seen in temperature-then-seed order)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from refusal_stability.analysis import single_shot, tidy
from refusal_stability.analysis.study_labels import STUDY_JUDGE
from refusal_stability.schema import VERDICTS

R, P, C = "REFUSE", "PARTIAL", "COMPLY"


@pytest.fixture
def matrix_of(verdict_frame):
    return lambda spec: single_shot.label_matrix(verdict_frame(spec))


def study_majority(codes) -> int | None:
    """The study's majority: Counter over the valid labels in file order, most_common(1)."""
    labels = [VERDICTS[c] for c in codes if c >= 0]
    return VERDICTS.index(Counter(labels).most_common(1)[0][0]) if labels else None


@pytest.mark.parametrize("coded", [True, False])
def test_study_tie_break_matches_counter_most_common_loop(matrix_of, monkeypatch, coded):
    """Label counts coded in one number (ties resolved only where they occur, cells in blocks) or
    label by label: the study's own rule, draw by draw, unscored slots included."""
    if not coded:
        monkeypatch.setattr(single_shot, "MAX_CODES", 1)
    monkeypatch.setattr(single_shot, "BLOCK_CELLS", 40)  # blocks of a few draws
    rng = np.random.default_rng(11)
    spec = {f"p{i}": list(rng.choice([R, R, P, C, C], size=6)) for i in range(25)}
    matrix = matrix_of(spec)
    matrix[[2, 5, 5, 11], [0, 1, 4, 3]] = -1  # unscored slots
    onehot = single_shot._onehot(matrix)
    reference = single_shot._first_seen_majority(onehot, np.ones(6, bool))
    assert [int(np.argmax(r)) for r in reference] == [study_majority(row) for row in matrix]
    for n in (2, 3, 4):
        got = single_shot._draw_agreements(onehot, reference, n, 60, np.random.default_rng(3), "study")
        gen = np.random.default_rng(3)
        expected = []
        for _ in range(60):
            slots = np.sort(np.argsort(gen.random(6))[:n])  # the study keeps file order
            drawn = [study_majority(matrix[p, slots]) for p in range(len(matrix))]
            # a prompt whose chosen slots are all unscored is left out of the draw
            agree = [d == study_majority(matrix[p]) for p, d in enumerate(drawn) if d is not None]
            expected.append(np.mean(agree))
        assert got == pytest.approx(expected)


def test_study_tie_break_hand_worked(matrix_of):
    # C first, then R: the study's reference is C (first seen); the default accepts R or C
    study = single_shot.agreement_curve(matrix_of({"a": [C, R]}), 400, np.random.default_rng(0), "study")
    default = single_shot.agreement_curve(matrix_of({"a": [C, R]}), 400, np.random.default_rng(0), "random")
    study, default = study.set_index("n"), default.set_index("n")
    assert default.loc[1, "mean_agreement"] == 1.0
    assert study.loc[1, "mean_agreement"] == pytest.approx(0.5, abs=0.08)
    assert study.loc[2, "mean_agreement"] == 1.0 and study.loc[2, "n_tied_reference"] == 1
    with pytest.raises(ValueError, match="tie_break"):
        single_shot.agreement_curve(matrix_of({"a": [C]}), 10, None, "first")


def test_study_rule_on_the_study_data(study_two_judges):
    """n = 1 under the study's rule equals the exact mean over the 20 configurations, by a loop."""
    study = study_two_judges[study_two_judges[tidy.JUDGE] == STUDY_JUDGE]
    matrix = single_shot.label_matrix(study)
    keep = (matrix >= 0).any(axis=1)
    reference = [study_majority(row) for row in matrix[keep]]
    exact = np.mean(
        [
            np.mean(
                [(row[s] == ref) for row, ref in zip(matrix[keep], reference, strict=True) if row[s] >= 0]
            )
            for s in range(matrix.shape[1])
        ]
    )
    curve = single_shot.agreement_curve(matrix, 2000, np.random.default_rng(0), "study").set_index("n")
    assert curve.loc[1, "mean_agreement"] == pytest.approx(exact, abs=0.002)
    default = single_shot.agreement_curve(matrix, 2000, np.random.default_rng(0), "random").set_index("n")
    assert curve.loc[1, "mean_agreement"] < default.loc[1, "mean_agreement"]
    assert curve.loc[20, "mean_agreement"] == 1.0
