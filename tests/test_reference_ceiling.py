"""The ceiling on any fixed rater's agreement with a judge that labels identical responses differently."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from refusal_stability.analysis import reference_ceiling as rc
from refusal_stability.analysis.agreement import kappa_from_confusion
from refusal_stability.schema import VERDICTS

R, P, C = VERDICTS


def _frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["prompt_id", "response", "label", "part"])


# stratum A: one group of three identical responses (R, R, C: mode R), one tied pair (R, C), three
# single responses; stratum B: one unanimous pair (P, P) and one single C
HAND = _frame(
    [
        ("p1", "x", R, "A"),
        ("p1", "x", R, "A"),
        ("p1", "x", C, "A"),
        ("p2", "y", R, "A"),
        ("p2", "y", C, "A"),
        ("p3", "z", C, "A"),
        ("p4", "w", P, "A"),
        ("p5", "v", R, "A"),
        ("p6", "u", P, "B"),
        ("p6", "u", P, "B"),
        ("p6", "t", C, "B"),
    ]
)


def test_hand_worked_ceiling_matches_sklearn_with_weights() -> None:
    """Stratum A by hand: REFUSE's 3 grouped rows vote R 1 + 1 + 1/2 and C 1/2, so its 4 rows count
    10/3 R and 2/3 C; COMPLY's 2 grouped rows vote R 1 + 1/2 and C 1/2, its 3 rows 2.25 R and 0.75 C;
    PARTIAL has no grouped row: its 1 row counts as agreeing. Kappa of that matrix, by scikit-learn
    from the same cells as weighted pairs."""
    table = rc.ceiling_table(HAND, "part", {"A": ["A"]}, n_boot=0).iloc[0]
    cells = [(R, R, 10 / 3), (R, C, 2 / 3), (P, P, 1.0), (C, R, 2.25), (C, C, 0.75)]
    a, b, w = zip(*cells, strict=True)
    assert table["kappa3"] == pytest.approx(cohen_kappa_score(a, b, sample_weight=w))
    binary = [x == R for x in a], [y == R for y in b]
    assert table["kappa2"] == pytest.approx(cohen_kappa_score(*binary, sample_weight=w))
    assert table["agreement3"] == pytest.approx(100 * (10 / 3 + 1 + 0.75) / 8)
    assert table["no_evidence"] == 1.0
    # pairs within groups: p1 has 3 (1 alike), p2 has 1 (0 alike)
    assert (table["groups"], table["grouped_rows"]) == (2, 5)
    assert table["pair_disagreement"] == pytest.approx(100 * 3 / 4)


def test_leave_one_out_by_hand() -> None:
    """Stratum A, each row given the mode of the other rows of its group: p1's REFUSE rows see (R, C),
    a tie, p1's COMPLY row sees (R, R); p2's REFUSE row sees C, its COMPLY row R. So REFUSE's 3 grouped
    rows vote R 1/2 + 1/2 and C 1/2 + 1/2 + 1 (its 4 rows: 4/3 R, 8/3 C), COMPLY's 2 vote R 2 (its 3 rows:
    3 R), PARTIAL counts as agreeing."""
    table = rc.ceiling_table(HAND, "part", {"A": ["A"]}, n_boot=0).iloc[0]
    cells = [(R, R, 4 / 3), (R, C, 8 / 3), (P, P, 1.0), (C, R, 3.0)]
    a, b, w = zip(*cells, strict=True)
    assert table["kappa3_loo"] == pytest.approx(cohen_kappa_score(a, b, sample_weight=w))
    binary = [x == R for x in a], [y == R for y in b]
    assert table["kappa2_loo"] == pytest.approx(cohen_kappa_score(*binary, sample_weight=w))
    assert table["kappa3_loo"] < table["kappa3"]


def test_confusion_matrix_by_hand() -> None:
    _, counts = rc.repeated_groups(HAND[HAND["part"] == "A"])
    votes = rc.group_votes(counts)
    matrix, no_evidence = rc.ceiling_confusion({"A": votes.sum(axis=0)}, {"A": np.array([4, 1, 3])})
    expected = np.array([[10 / 3, 0, 2 / 3], [0, 1, 0], [2.25, 0, 0.75]])
    np.testing.assert_allclose(matrix, expected)
    assert no_evidence == 1
    np.testing.assert_allclose(rc.refuse_vs_not(matrix), [[10 / 3, 2 / 3], [2.25, 1 + 0.75]])


def test_default_subsets_are_each_stratum_then_all() -> None:
    table = rc.ceiling_table(HAND, "part", n_boot=0).set_index("subset")
    assert list(table.index) == ["A", "B", "all"]
    assert table.loc["B", "kappa3"] == pytest.approx(1.0)  # its only group is unanimous
    assert table.loc["all", "responses"] == len(HAND)


def test_a_judge_that_is_a_function_of_the_text_has_no_ceiling() -> None:
    rng = np.random.default_rng(1)
    texts = rng.integers(0, 40, 400)
    labels = np.array(VERDICTS)[texts % 3]
    frame = pd.DataFrame({"prompt_id": "p", "response": texts.astype(str), "label": labels, "part": "A"})
    table = rc.ceiling_table(frame, "part", n_boot=50).iloc[0]
    assert table["kappa3"] == pytest.approx(1.0) and table["kappa2"] == pytest.approx(1.0)
    assert table["pair_disagreement"] == 0.0
    assert table["kappa3_low"] == pytest.approx(1.0)


def _simulated(draws: int) -> tuple[float, float, float]:
    """(estimated, leave-one-out, analytic) 3-class kappa of the best fixed rater against a judge whose label
    probabilities for each of three kinds of text are known: the best rater says each kind's most
    likely label, so its confusion with the judge is analytic. Each text is judged `draws` times."""
    probabilities = {"clear": [1.0, 0.0, 0.0], "hedged": [0.3, 0.6, 0.1], "split": [0.65, 0.0, 0.35]}
    best = {"clear": 0, "hedged": 1, "split": 0}
    share = {"clear": 0.6, "hedged": 0.2, "split": 0.2}
    rng = np.random.default_rng(7)
    rows, expected = [], np.zeros((3, 3))
    for kind, p in probabilities.items():
        for t in range(int(600 * share[kind])):
            rows += [(f"{kind}{t}", "same text", VERDICTS[x], "A") for x in rng.choice(3, size=draws, p=p)]
        expected[:, best[kind]] += share[kind] * np.array(p)
    table = rc.ceiling_table(_frame(rows), "part", n_boot=0).iloc[0]
    return table["kappa3"], table["kappa3_loo"], kappa_from_confusion(expected)


def test_simulated_noisy_judge_matches_the_analytic_ceiling() -> None:
    estimated, loo, analytic = _simulated(draws=60)
    assert estimated == pytest.approx(analytic, abs=0.02)
    assert loo == pytest.approx(analytic, abs=0.02)


def test_small_groups_bracket_the_ceiling() -> None:
    """With 3 judgements a text the group's mode over-states the judge's top probability and the mode
    of the other two under-states it: the true kappa lies between."""
    estimated, loo, analytic = _simulated(draws=3)
    assert loo < analytic - 0.05 and estimated > analytic + 0.05


def test_interval_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(3)
    rows = [
        (f"p{i}", "r", VERDICTS[rng.choice(3, p=[0.6, 0.2, 0.2])], "A") for i in range(60) for _ in range(3)
    ]
    frame = _frame(rows)
    one = rc.ceiling_table(frame, "part", n_boot=200, seed=5).iloc[0]
    two = rc.ceiling_table(frame, "part", n_boot=200, seed=5).iloc[0]
    assert one.equals(two)
    assert one["kappa3_low"] <= one["kappa3"] <= one["kappa3_high"]
    assert one["kappa3_low"] < one["kappa3_high"]
    assert np.isnan(rc.ceiling_table(frame, "part", n_boot=0).iloc[0]["kappa3_low"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="response"), r"responses: missing column\(s\) \['response'\]"),
        (
            lambda f: f.assign(label=f["label"].where(f.index != 4, "UNKNOWN")),
            "row 5, field 'label': 'UNKNOWN'",
        ),
        (lambda f: f.assign(part=f["part"].where(f.index != 1, "B")), "row 1, field 'part': prompt 'p1'"),
        (
            lambda f: f.assign(response=f["response"].where(f.index != 2, None)),
            "row 3, field 'response' is empty",
        ),
    ],
)
def test_bad_input_names_row_and_field(edit, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rc.ceiling_table(edit(HAND), "part", n_boot=0)


def test_a_subset_naming_an_unknown_stratum_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"subset 'x' names strata not in column 'part': \['C'\]"):
        rc.ceiling_table(HAND, "part", {"x": ["A", "C"]}, n_boot=0)


def test_the_study_judge_on_identical_responses(study_stage1) -> None:
    """The figures `scripts/judge_agreement.py` prints and the README quotes: the study's judge labels
    45.7 % of pairs of identical copyright responses differently, and no fixed reading of the text
    reaches refuse-vs-not kappa 0.85 with it over the study's responses."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "judge_agreement.py"
    spec = importlib.util.spec_from_file_location("judge_agreement", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    frame, _, _ = study_stage1
    parts = frame.assign(part=module.study_parts(frame))
    table = rc.ceiling_table(parts, "part", module.CEILING_SUBSETS).set_index("subset")
    assert table.loc["harmbench copyright", "groups"] == 117 and table.loc["all", "groups"] == 999
    assert table.loc["harmbench copyright", "pair_disagreement"] == pytest.approx(45.74, abs=0.01)
    assert table.loc["all", "kappa3"] == pytest.approx(0.742, abs=5e-4)
    assert table.loc["all", "kappa2"] == pytest.approx(0.789, abs=5e-4)
    assert table.loc["all", "kappa2_high"] < 0.85
    assert table.loc["all", "kappa3_loo"] == pytest.approx(0.550, abs=5e-4)
    assert table.loc["all", "kappa2_loo"] == pytest.approx(0.637, abs=5e-4)
    assert table.loc["all", "no_evidence"] == 0
    assert "harmbench copyright" in module.ceiling_report(frame)
