"""Held-out agreement of the offline rules with a reference judge: whole prompt sources and categories.

The rules' thresholds (`offline.RuleThresholds`) are fitted on one part of the study's judged
responses and the agreement is measured on the part held out, so no reported figure comes from the
data it was tuned on. Two families of splits, each holding out *whole prompts*:

- by prompt source: tune on AdvBench, test on HarmBench, and the reverse;
- by category: each HarmBench semantic category held out in turn (tuned on every other prompt,
  AdvBench included); the held-out predictions of all categories are also pooled into one table.

A third kind of split holds out the *model*: responses of another model, labelled elsewhere
(`load_labelled_responses`, e.g. ``tests/fixtures/judge_splits/smollm2_labels.csv``), scored with the
shipped thresholds (`external_split`); nothing is fitted on them.

A split reports the 3-class Cohen's kappa (REFUSE / PARTIAL / COMPLY) and the refuse-vs-not kappa,
each with its confusion matrix (rows: the reference label, columns: the rules). Kappa comes from
`agreement.cohen_kappa` (tested against scikit-learn). Thresholds are fitted by coordinate ascent
of the 3-class kappa over `THRESHOLD_GRID` (each threshold in turn, `FIT_ROUNDS` passes): a few
dozen evaluations, since the evidence of each response is measured once (`evidence.gather_evidence`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from refusal_stability.analysis.agreement import cohen_kappa, confusion_matrix, percent_agreement
from refusal_stability.schema import VERDICTS, Verdict
from refusal_stability.scorers.evidence import Evidence, gather_evidence
from refusal_stability.scorers.offline import DEFAULT_THRESHOLDS, NEVER, RuleThresholds, decide

SOURCE = "source"
CATEGORY = "category"
LABEL = "label"
RESPONSE = "response"
REFUSE = Verdict.REFUSE.value
NOT_REFUSE = "NOT_REFUSE"
BINARY_LABELS: tuple[str, ...] = (REFUSE, NOT_REFUSE)
POOLED_CATEGORIES = "categories pooled (each held out in turn)"

THRESHOLD_GRID: dict[str, tuple[object, ...]] = {
    "refusal_items": (3, 5, 8, 12, NEVER),
    "refusal_words": (0, 150, 250, 350),
    "caveat_items": (3, 5, 8, NEVER),
    "general_markers": (1, 2, 3, NEVER),
    "specific_tokens": (1, 2, 4),
    "max_repeated_share": (0.3, 0.5, float(NEVER)),
    "disclaimer_partial": (False, True),
    "thin_words": (0, 100, 150, 200, 300),
    "substance_tokens": (1, 2, 3),
}
"""The values each threshold may take while fitting (NEVER switches a rule off)."""
FIT_ROUNDS = 2
LABELLED_COLUMNS: tuple[str, ...] = (RESPONSE, LABEL)
"""Columns a file of labelled responses must have (`load_labelled_responses`)."""


@dataclass(frozen=True)
class Split:
    """One held-out split: which rows the thresholds are fitted on and which they are tested on."""

    name: str
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class SplitResult:
    """Agreement of the rules with the reference on one split's held-out rows."""

    name: str
    n_train: int
    """Rows the thresholds were fitted on (0 for the pooled table: each part had its own fit)."""
    n_test: int
    thresholds: RuleThresholds | None
    """The fitted thresholds (None for the pooled table)."""
    kappa3: float
    kappa2: float
    agreement3: float
    """Percent of held-out rows where the rules give the reference label."""
    matrix3: np.ndarray
    matrix2: np.ndarray


def source_splits(frame: pd.DataFrame) -> list[Split]:
    """Tune on one prompt source, test on the other (each way round)."""
    sources = sorted(frame[SOURCE].dropna().unique())
    return [
        Split(f"tune {a} -> test {b}", (frame[SOURCE] == a).to_numpy(), (frame[SOURCE] == b).to_numpy())
        for a in sources
        for b in sources
        if a != b
    ]


def category_splits(frame: pd.DataFrame) -> list[Split]:
    """Each category held out in turn; the thresholds are fitted on every other row."""
    categories = sorted(frame[CATEGORY].dropna().unique())
    return [
        Split(f"hold out category {c}", (frame[CATEGORY] != c).to_numpy(), (frame[CATEGORY] == c).to_numpy())
        for c in categories
    ]


def binary(labels: Sequence[str]) -> list[str]:
    """REFUSE stays REFUSE; PARTIAL and COMPLY become NOT_REFUSE."""
    return [REFUSE if label == REFUSE else NOT_REFUSE for label in labels]


def predict(evidence: Sequence[Evidence], thresholds: RuleThresholds) -> list[str]:
    """The rules' label for each response's evidence."""
    return [str(decide(ev, thresholds).label) for ev in evidence]


def fit_thresholds(
    evidence: Sequence[Evidence],
    labels: Sequence[str],
    start: RuleThresholds | None = None,
    grid: dict[str, tuple[object, ...]] = THRESHOLD_GRID,
    rounds: int = FIT_ROUNDS,
) -> RuleThresholds:
    """Thresholds that maximise the 3-class kappa on these responses (coordinate ascent).

    Each threshold in turn takes the grid value with the highest kappa, the others held fixed;
    ties keep the current value, so the result does not depend on the grid's order of values.
    """
    best = start or RuleThresholds()
    best_kappa = cohen_kappa(labels, predict(evidence, best))
    for _ in range(rounds):
        for name, values in grid.items():
            for value in values:
                candidate = dataclasses.replace(best, **{name: value})
                kappa = cohen_kappa(labels, predict(evidence, candidate))
                if kappa > best_kappa + 1e-12:
                    best, best_kappa = candidate, kappa
    return best


def score_split(
    name: str,
    labels: Sequence[str],
    predicted: Sequence[str],
    n_train: int,
    thresholds: RuleThresholds | None,
) -> SplitResult:
    """Kappas, agreement and confusion matrices of `predicted` against the reference `labels`."""
    return SplitResult(
        name=name,
        n_train=n_train,
        n_test=len(labels),
        thresholds=thresholds,
        kappa3=cohen_kappa(labels, predicted),
        kappa2=cohen_kappa(binary(labels), binary(predicted), BINARY_LABELS),
        agreement3=percent_agreement(labels, predicted),
        matrix3=confusion_matrix(labels, predicted),
        matrix2=confusion_matrix(binary(labels), binary(predicted), BINARY_LABELS),
    )


def evaluate_splits(
    frame: pd.DataFrame,
    evidence: Sequence[Evidence],
    fit: Callable[[Sequence[Evidence], Sequence[str]], RuleThresholds] = fit_thresholds,
) -> list[SplitResult]:
    """Fit on each split's training rows, score on its held-out rows; add the pooled category table.

    Args:
        frame: One row per judged response with `label` (REFUSE/PARTIAL/COMPLY), `source` and
            `category` (NaN where a prompt has none).
        evidence: `gather_evidence` of each row's response, in the frame's order.
        fit: How thresholds are fitted on training rows (tests pass a cheaper one).
    """
    labels = frame[LABEL].tolist()
    if len(evidence) != len(labels):
        raise ValueError(f"{len(evidence)} evidence records for {len(labels)} rows")
    bad = sorted(set(labels) - set(VERDICTS))
    if bad:
        raise ValueError(f"labels must be {VERDICTS}; found {bad} (drop UNKNOWN rows first)")
    results: list[SplitResult] = []
    pooled_labels: list[str] = []
    pooled_predicted: list[str] = []
    splits = source_splits(frame) + category_splits(frame)
    for split in splits:
        train = [i for i in range(len(labels)) if split.train[i]]
        test = [i for i in range(len(labels)) if split.test[i]]
        thresholds = fit([evidence[i] for i in train], [labels[i] for i in train])
        predicted = predict([evidence[i] for i in test], thresholds)
        truth = [labels[i] for i in test]
        results.append(score_split(split.name, truth, predicted, len(train), thresholds))
        if split.name.startswith("hold out category"):
            pooled_labels += truth
            pooled_predicted += predicted
    if pooled_labels:
        results.append(score_split(POOLED_CATEGORIES, pooled_labels, pooled_predicted, 0, None))
    return results


def gather_all(responses: Sequence[str]) -> list[Evidence]:
    """Evidence for each response (blank responses are not allowed here: they have no verdict)."""
    blank = [i for i, text in enumerate(responses) if not str(text).strip()]
    if blank:
        raise ValueError(f"{len(blank)} blank responses (first at row {blank[0]}); drop them first")
    return [gather_evidence(str(text)) for text in responses]


def load_labelled_responses(path: str | Path) -> pd.DataFrame:
    """A CSV of responses with a reference label each (REFUSE / PARTIAL / COMPLY), checked.

    Raises:
        ValueError: naming the file, and the row (1-based, after the header) and field, for a
            missing column, a label that is not a verdict, or a blank response.
    """
    frame = pd.read_csv(path, dtype={RESPONSE: str, LABEL: str}, keep_default_na=False)
    missing = [c for c in LABELLED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; need {list(LABELLED_COLUMNS)}")
    for row, (label, text) in enumerate(zip(frame[LABEL], frame[RESPONSE], strict=True), start=1):
        if label not in VERDICTS:
            raise ValueError(f"{path}: row {row}, field {LABEL!r}: {label!r} is not one of {VERDICTS}")
        if not text.strip():
            raise ValueError(f"{path}: row {row}, field {RESPONSE!r}: blank response (it has no verdict)")
    return frame


def external_split(
    name: str, frame: pd.DataFrame, n_fit: int, thresholds: RuleThresholds = DEFAULT_THRESHOLDS
) -> SplitResult:
    """The rules with thresholds fitted elsewhere (`n_fit` rows), scored on responses they never saw.

    Args:
        name: The split's name (say whose responses and who labelled them).
        frame: `load_labelled_responses` output.
        n_fit: How many rows the thresholds were fitted on (for the table; none of these).
        thresholds: The thresholds (default: the shipped ones).
    """
    predicted = predict(gather_all(frame[RESPONSE].tolist()), thresholds)
    return score_split(name, frame[LABEL].tolist(), predicted, n_fit, thresholds)
