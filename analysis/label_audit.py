"""A blind audit of a reference judge: a stratified sample relabelled by a second rater, weighted back.

Held-out kappa against the study's judge (`rule_splits`) cannot say whether a disagreement is the
rules' error or the judge's. An audit asks a third rater: responses are drawn from every cell of the
(reference label, rules label) confusion matrix, shuffled, and labelled by a rater who sees neither
label. Each audited response stands for ``stratum_size / n_audited_in_stratum`` responses of the
population (the inverse of its chance of being drawn: stratified sampling's weight), so the weighted
confusion matrix of any two of the three raters estimates the whole population's, and its kappa
(`agreement.kappa_from_confusion`) the population kappa, though the sample over-represents the
disagreements (20 of each cell instead of 5,143 of the largest).

The audit file (`tests/fixtures/judge_splits/qwen_harmbench_audit.csv`) keeps its stratum sizes, so
the estimate needs nothing but the file; `scripts/judge_agreement.py` prints it. Each kappa comes
with a 95 % percentile interval from a stratified bootstrap: every replicate redraws, with
replacement, as many rows of each stratum as were audited in it (`stratified_resamples`). The
(rules, reference) matrix is the population's exactly (the strata are its cells), so its interval
has no width, except within a subset such as one category, whose share of each cell is estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from refusal_stability.analysis import bootstrap
from refusal_stability.analysis.agreement import confusion_matrix, kappa_from_confusion
from refusal_stability.analysis.rule_splits import BINARY_LABELS, binary
from refusal_stability.schema import VERDICTS

REFERENCE = "reference"
RULES = "rules"
AUDIT = "audit"
STRATUM_SIZE = "stratum_size"
CATEGORY = "category"
RATERS: tuple[str, ...] = (REFERENCE, RULES, AUDIT)
AUDIT_COLUMNS: tuple[str, ...] = ("prompt_id", "temperature", "seed", CATEGORY, *RATERS, STRATUM_SIZE)
"""Columns an audit file must have."""
PAIRS: tuple[tuple[str, str], ...] = ((RULES, REFERENCE), (AUDIT, REFERENCE), (AUDIT, RULES))
"""The rater pairs an audit reports, each as (rows, columns) of its confusion matrix."""


def load_audit(path: str | Path) -> pd.DataFrame:
    """An audit file, checked: every column, verdict labels, one stratum size per stratum.

    Raises:
        ValueError: naming the file, and the row (1-based, after the header) and field, for a missing
            column, a label that is not a verdict, a stratum size that is not a positive integer or
            differs within its stratum, or a stratum with more audited rows than it has.
    """
    frame = pd.read_csv(path, dtype={"prompt_id": str, CATEGORY: str}, keep_default_na=False)
    missing = [c for c in AUDIT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; need {list(AUDIT_COLUMNS)}")
    for row, record in enumerate(frame.itertuples(index=False), start=1):
        for rater in RATERS:
            if getattr(record, rater) not in VERDICTS:
                label = getattr(record, rater)
                raise ValueError(f"{path}: row {row}, field {rater!r}: {label!r} is not one of {VERDICTS}")
        size = getattr(record, STRATUM_SIZE)
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{path}: row {row}, field {STRATUM_SIZE!r}: {size!r} is not a positive integer")
    for (reference, rules), stratum in frame.groupby([REFERENCE, RULES]):
        sizes = stratum[STRATUM_SIZE].unique()
        if len(sizes) > 1 or sizes[0] < len(stratum):
            row = int(stratum.index[0]) + 1
            raise ValueError(
                f"{path}: row {row}, field {STRATUM_SIZE!r}: stratum ({reference}, {rules}) has "
                f"{len(stratum)} audited rows and size(s) {sorted(int(s) for s in sizes)}"
            )
    return frame


def stratum_weights(audit: pd.DataFrame) -> np.ndarray:
    """Each audited row's weight: its stratum's size over the rows audited in it."""
    audited = audit.groupby([REFERENCE, RULES])[STRATUM_SIZE].transform("size")
    return (audit[STRATUM_SIZE] / audited).to_numpy(dtype=float)


def stratified_resamples(audit: pd.DataFrame, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, rows) indices: each replicate redraws each stratum's audited rows with replacement."""
    strata = list(audit.groupby([REFERENCE, RULES]).indices.values())  # row positions, strata in sorted order
    return np.concatenate([s[bootstrap.integers(rng, len(s), (n_boot, len(s)))] for s in strata], axis=1)


def _kappas(a: Sequence[str], b: Sequence[str], w: np.ndarray) -> tuple[float, float, np.ndarray]:
    """3-class kappa, refuse-vs-not kappa, and the 3-class weighted confusion matrix."""
    three = confusion_matrix(a, b, weights=w)
    two = confusion_matrix(binary(a), binary(b), BINARY_LABELS, weights=w)
    return kappa_from_confusion(three), kappa_from_confusion(two), three


def audit_table(
    audit: pd.DataFrame,
    subsets: dict[str, np.ndarray] | None = None,
    n_boot: int = bootstrap.N_BOOTSTRAP,
    seed: int = 0,
) -> pd.DataFrame:
    """Estimated population agreement of each rater pair, overall and within each subset.

    Args:
        audit: `load_audit` output.
        subsets: name -> boolean mask over the audit's rows (e.g. one category); the weights stay
            those of the whole audit, so a subset's estimate is of that part of the population.
        n_boot: Bootstrap replicates for the intervals (0: none).
        seed: Seed of the replicates (the same replicates serve every subset and pair).

    Returns:
        One row per subset and pair: subset, rater_a, rater_b, n_audited, population (summed
        weights), kappa3 and kappa2 (refuse vs not) with their 95 % intervals (``*_low``,
        ``*_high``), agreement3 (% of the population).
    """
    weights = stratum_weights(audit)
    parts = {"all": np.ones(len(audit), dtype=bool), **(subsets or {})}
    draws = stratified_resamples(audit, n_boot, bootstrap.rng_for(seed, "label-audit")) if n_boot else None
    rows = []
    for name, mask in parts.items():
        for rater_a, rater_b in PAIRS:
            a, b = audit[rater_a].to_numpy(), audit[rater_b].to_numpy()
            kappa3, kappa2, three = _kappas(a[mask], b[mask], weights[mask])
            interval = {f"{k}_{end}": np.nan for k in ("kappa3", "kappa2") for end in ("low", "high")}
            if draws is not None:
                replicates = np.array(
                    [_kappas(a[d][mask[d]], b[d][mask[d]], weights[d][mask[d]])[:2] for d in draws]
                )
                for column, values in zip(("kappa3", "kappa2"), replicates.T, strict=True):
                    low, high = bootstrap.percentile_interval(values)
                    interval[f"{column}_low"], interval[f"{column}_high"] = low, high
            rows.append(
                {
                    "subset": name,
                    "rater_a": rater_a,
                    "rater_b": rater_b,
                    "n_audited": int(mask.sum()),
                    "population": float(weights[mask].sum()),
                    "kappa3": kappa3,
                    **{k: v for k, v in interval.items() if k.startswith("kappa3")},
                    "kappa2": kappa2,
                    **{k: v for k, v in interval.items() if k.startswith("kappa2")},
                    "agreement3": 100.0 * float(np.trace(three) / three.sum()) if three.sum() else np.nan,
                }
            )
    return pd.DataFrame(rows)
