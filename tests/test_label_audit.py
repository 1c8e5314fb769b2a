"""The blind label audit: weighted kappas against scikit-learn, the stratum weights, the audit file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from refusal_stability.analysis import label_audit as la
from refusal_stability.analysis.agreement import confusion_matrix, kappa_from_confusion
from refusal_stability.schema import VERDICTS
from refusal_stability.scorers.offline import RULES_VERSION

AUDIT_FILE = Path(__file__).parent / "fixtures" / "judge_splits" / "qwen_harmbench_audit.csv"


def _audit(rng: np.random.Generator, n: int = 120) -> pd.DataFrame:
    """A random audit: strata of (reference, rules), each audited row with its stratum's size."""
    frame = pd.DataFrame(
        {
            "prompt_id": [f"p{i}" for i in range(n)],
            "temperature": 0.7,
            "seed": 42,
            la.CATEGORY: rng.choice(["a", "b"], size=n),
            la.REFERENCE: rng.choice(VERDICTS, size=n, p=[0.6, 0.2, 0.2]),
            la.RULES: rng.choice(VERDICTS, size=n, p=[0.5, 0.3, 0.2]),
            la.AUDIT: rng.choice(VERDICTS, size=n),
        }
    )
    sizes = {
        key: int(rng.integers(len(g), 10 * len(g) + 1)) for key, g in frame.groupby([la.REFERENCE, la.RULES])
    }
    frame[la.STRATUM_SIZE] = [sizes[k] for k in zip(frame[la.REFERENCE], frame[la.RULES], strict=True)]
    return frame


def test_weighted_kappas_match_sklearn_with_sample_weight() -> None:
    rng = np.random.default_rng(11)
    audit = _audit(rng)
    weights = la.stratum_weights(audit)
    table = la.audit_table(audit, {"a": (audit[la.CATEGORY] == "a").to_numpy()}, n_boot=0)
    for row in table.itertuples():
        mask = np.ones(len(audit), bool) if row.subset == "all" else (audit[la.CATEGORY] == "a").to_numpy()
        a, b, w = audit[row.rater_a][mask], audit[row.rater_b][mask], weights[mask]
        assert row.kappa3 == pytest.approx(cohen_kappa_score(a, b, labels=list(VERDICTS), sample_weight=w))
        a2 = ["REFUSE" if x == "REFUSE" else "NOT" for x in a]  # refuse vs not, spelled out here
        b2 = ["REFUSE" if x == "REFUSE" else "NOT" for x in b]
        assert row.kappa2 == pytest.approx(cohen_kappa_score(a2, b2, sample_weight=w))
        assert row.agreement3 == pytest.approx(100 * np.average(a == b, weights=w))
        assert row.population == pytest.approx(w.sum())


def test_integer_weights_equal_repeated_rows() -> None:
    """Hand-worked: a row of weight k counts as k rows."""
    a, b, w = ["REFUSE", "COMPLY", "PARTIAL"], ["REFUSE", "PARTIAL", "PARTIAL"], [3, 1, 2]
    repeated_a = ["REFUSE"] * 3 + ["COMPLY"] + ["PARTIAL"] * 2
    repeated_b = ["REFUSE"] * 3 + ["PARTIAL"] + ["PARTIAL"] * 2
    matrix = confusion_matrix(a, b, weights=w)
    assert matrix.tolist() == [[3, 0, 0], [0, 2, 0], [0, 1, 0]]
    # p_o = 5/6; marginals a (3, 2, 1)/6, b (3, 3, 0)/6: p_e = (9 + 6) / 36; kappa = (5/6 - 15/36) / (1 - 15/36)
    expected = (5 / 6 - 15 / 36) / (1 - 15 / 36)
    assert kappa_from_confusion(matrix) == pytest.approx(expected)
    assert cohen_kappa_score(repeated_a, repeated_b) == pytest.approx(expected)


def test_weights_give_each_stratum_its_size() -> None:
    """The weights of a stratum's audited rows sum to its size, so (rules, reference) is the population's."""
    audit = _audit(np.random.default_rng(3))
    weights = la.stratum_weights(audit)
    for _, g in audit.groupby([la.REFERENCE, la.RULES]):
        assert weights[g.index].sum() == pytest.approx(g[la.STRATUM_SIZE].iloc[0])
    table = la.audit_table(audit, n_boot=50)
    exact = table[(table.rater_a == la.RULES) & (table.rater_b == la.REFERENCE)].iloc[0]
    assert exact.kappa3_low == pytest.approx(exact.kappa3) == pytest.approx(exact.kappa3_high)


def test_stratified_resamples_stay_in_their_strata() -> None:
    audit = _audit(np.random.default_rng(5))
    draws = la.stratified_resamples(audit, 40, np.random.default_rng(0))
    assert draws.shape == (40, len(audit))
    stratum = list(zip(audit[la.REFERENCE], audit[la.RULES], strict=True))
    counts = pd.Series(stratum).value_counts()
    for d in draws:
        assert pd.Series([stratum[i] for i in d]).value_counts().sort_index().equals(counts.sort_index())
    assert len({tuple(d) for d in draws}) > 1  # replicates differ


def test_interval_brackets_the_estimate() -> None:
    audit = _audit(np.random.default_rng(9), n=200)
    table = la.audit_table(audit, n_boot=300)
    for row in table.itertuples():
        assert row.kappa3_low <= row.kappa3 + 1e-9 and row.kappa3 <= row.kappa3_high + 1e-9
        assert row.kappa2_low <= row.kappa2 + 1e-9 and row.kappa2 <= row.kappa2_high + 1e-9


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns=[la.AUDIT]), "missing column"),
        (lambda f: f.assign(audit=["MAYBE"] + f[la.AUDIT].tolist()[1:]), r"row 1, field 'audit': 'MAYBE'"),
        (
            lambda f: f.assign(stratum_size=[0] + f[la.STRATUM_SIZE].tolist()[1:]),
            "row 1, field 'stratum_size'",
        ),
        (lambda f: f.assign(stratum_size=1), "audited rows and size"),
    ],
)
def test_bad_audit_files_name_file_row_and_field(tmp_path: Path, edit, message: str) -> None:
    path = tmp_path / "audit.csv"
    edit(_audit(np.random.default_rng(1))).to_csv(path, index=False)
    with pytest.raises(ValueError, match=message) as error:
        la.load_audit(path)
    assert str(path) in str(error.value)


def test_the_shipped_audit() -> None:
    """180 study responses, 20 per (study judge, rules) cell of HarmBench's 7,686, labelled blind."""
    audit = la.load_audit(AUDIT_FILE)
    assert len(audit) == 180 and audit["audit_id"].is_unique
    strata = audit.groupby([la.REFERENCE, la.RULES])
    assert strata.ngroups == 9 and (strata.size() == 20).all()
    assert strata[la.STRATUM_SIZE].first().sum() == 7686
    table = la.audit_table(audit, n_boot=0).set_index(["rater_a", "rater_b"])
    assert table.loc[(la.AUDIT, la.RULES), "kappa3"] == pytest.approx(0.735, abs=5e-4)
    assert table.loc[(la.AUDIT, la.RULES), "kappa2"] == pytest.approx(0.869, abs=5e-4)
    assert table.loc[(la.AUDIT, la.REFERENCE), "kappa3"] == pytest.approx(0.450, abs=5e-4)


def test_the_audit_matches_the_study_data(study_stage1) -> None:
    """Each audited row is a study response with that study label; under the rules the audit was drawn
    with, its rules label and its stratum's size are the rules' on the study's HarmBench responses."""
    audit = la.load_audit(AUDIT_FILE)
    frame, _, predicted = study_stage1
    frame = frame.assign(rules=list(predicted))
    keyed = frame.set_index(["prompt_id", "temperature", "seed"])
    rows = keyed.loc[list(zip(audit.prompt_id, audit.temperature, audit.seed, strict=True))]
    assert rows["label"].tolist() == audit[la.REFERENCE].tolist()
    assert rows["category"].fillna("").tolist() == audit[la.CATEGORY].tolist()
    if set(audit["rules_version"]) != {RULES_VERSION}:
        pytest.skip(f"the audit was drawn under {set(audit['rules_version'])}, the rules are {RULES_VERSION}")
    assert rows["rules"].tolist() == audit[la.RULES].tolist()
    harmbench = frame[frame["source"] == "harmbench"]
    sizes = harmbench.groupby(["label", "rules"]).size()
    for (reference, rules), g in audit.groupby([la.REFERENCE, la.RULES]):
        assert g[la.STRATUM_SIZE].iloc[0] == sizes[(reference, rules)]
