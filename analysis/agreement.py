"""Agreement between two judges on the same responses: Cohen's kappa, % agreement, confusion matrix.

Two judges' verdicts are paired on the same sample (log, prompt, epoch); pairs where either judge
gave no verdict are counted (`n_unpaired`) and left out. Cohen's kappa is computed here, not
borrowed: kappa = (p_o - p_e) / (1 - p_e), p_o the observed agreement and p_e the agreement expected
from the two judges' label marginals; it is NaN when p_e = 1 (both judges always give one and the
same label, so chance explains everything). The tests check it against scikit-learn.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from refusal_stability.analysis import tidy
from refusal_stability.schema import VERDICTS

PAIR_KEYS: tuple[str, ...] = (tidy.RUN, tidy.MODEL, tidy.DATASET)
SAMPLE_KEYS: tuple[str, ...] = (tidy.LOG, tidy.PROMPT_ID, tidy.EPOCH)


def confusion_matrix(
    a: Sequence[str],
    b: Sequence[str],
    labels: Sequence[str] = VERDICTS,
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """Counts of (label of a, label of b) pairs: rows are a's labels, columns b's, in `labels` order.

    With `weights`, each pair counts its weight instead of 1 (a float matrix): a weighted sample's
    estimate of its population's matrix (`label_audit`).
    """
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64 if weights is None else np.float64)
    for x, y, w in zip(a, b, np.ones(len(a), dtype=np.int64) if weights is None else weights, strict=True):
        matrix[index[x], index[y]] += w
    return matrix


def kappa_from_confusion(matrix: np.ndarray) -> float:
    """Cohen's kappa from a confusion matrix (NaN when it is empty or chance agreement is 1)."""
    total = matrix.sum()
    if total == 0:
        return float("nan")
    observed = np.trace(matrix) / total
    expected = float((matrix.sum(axis=1) / total) @ (matrix.sum(axis=0) / total))
    if np.isclose(expected, 1.0):
        return float("nan")
    return float((observed - expected) / (1.0 - expected))


def cohen_kappa(a: Sequence[str], b: Sequence[str], labels: Sequence[str] = VERDICTS) -> float:
    """Cohen's kappa between two raters' labels of the same items."""
    return kappa_from_confusion(confusion_matrix(a, b, labels))


def percent_agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of items (in %) both raters labelled the same."""
    if len(a) == 0:
        return float("nan")
    return 100.0 * float(np.mean(np.asarray(a, dtype=object) == np.asarray(b, dtype=object)))


def judge_agreement(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Agreement for every pair of judges that rated the same samples, per run / model / dataset.

    Returns:
        (table: one row per group and judge pair with n_paired, n_unpaired, percent_agreement, kappa;
        confusion matrices keyed "run | model | dataset | judge_a vs judge_b", rows = judge_a).
    """
    rows, matrices = [], {}
    for key, g in frame.groupby(list(PAIR_KEYS), observed=True, dropna=False, sort=True):
        judges = sorted(g[tidy.JUDGE].dropna().unique())
        if len(judges) < 2:
            continue
        wide = g.pivot_table(
            index=list(SAMPLE_KEYS), columns=tidy.JUDGE, values=tidy.VERDICT, aggfunc="first", observed=True
        )
        for ja, jb in itertools.combinations(judges, 2):
            if ja not in wide or jb not in wide:
                continue
            both = wide[[ja, jb]]
            rated = both.notna().any(axis=1)
            paired = both.notna().all(axis=1)
            a = both.loc[paired, ja].astype(str).tolist()
            b = both.loc[paired, jb].astype(str).tolist()
            matrix = confusion_matrix(a, b)
            rows.append(
                {
                    **dict(zip(PAIR_KEYS, key, strict=True)),
                    "judge_a": ja,
                    "judge_b": jb,
                    "n_paired": int(paired.sum()),
                    "n_unpaired": int((rated & ~paired).sum()),
                    "percent_agreement": percent_agreement(a, b),
                    "kappa": kappa_from_confusion(matrix),
                }
            )
            name = " | ".join(map(str, key)) + f" | {ja} vs {jb}"
            matrices[name] = pd.DataFrame(
                matrix,
                index=pd.Index(VERDICTS, name=ja),
                columns=pd.Index(VERDICTS, name=jb),
            )
    return pd.DataFrame(rows), matrices
