"""The cascade judge replayed on recorded labels: which rules may decide alone, LLM calls saved, agreement.

The cascade (`scorers/cascade.py`) lets the offline rules decide a response when the rule that
fired is one of its "sure" rules, and asks the LLM judge otherwise. Replayed on judged responses,
the recorded label stands in for the LLM judge: the cascade's verdict is the rules' verdict on the
sure responses and the recorded label on the rest, so

- saved share = the share of responses a sure rule decided (no LLM call);
- kappa = Cohen's kappa of the cascade's verdicts against the recorded labels (the LLM judge alone);
- stage-1 precision = the share of sure-rule verdicts equal to the recorded label.

The sure rules are chosen on training rows only (`choose_sure_rules`: rules whose verdicts matched
the reference at least `SURE_MIN_PRECISION` of the time on at least `SURE_MIN_COUNT` responses) and
measured on held-out rows, with the same source splits as the rules themselves
(`rule_splits.source_splits`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from refusal_stability.analysis.agreement import cohen_kappa
from refusal_stability.analysis.rule_splits import LABEL, source_splits

SURE_MIN_PRECISION = 0.98
"""A rule decides alone only if its verdicts matched the reference this often on the training rows."""
SURE_MIN_COUNT = 20
"""... and it fired on at least this many training responses (so its precision is not luck)."""
POOLED_SOURCES = "sources pooled (each scored with the sure rules chosen on the other)"
ALL_ROWS = "all rows (rules chosen on all rows: in-sample, for reference only)"


@dataclass(frozen=True)
class CascadeResult:
    """The cascade on one set of responses, with the sure rules it used."""

    name: str
    sure_rules: tuple[str, ...]
    n: int
    saved_share: float
    stage1_precision: float
    kappa: float


def choose_sure_rules(
    rules: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str],
    min_precision: float = SURE_MIN_PRECISION,
    min_count: int = SURE_MIN_COUNT,
) -> tuple[str, ...]:
    """The rules whose verdicts match the reference at least `min_precision` of the time.

    Args:
        rules: The rule that fired on each response.
        predicted: The rules' verdict on each response.
        labels: The reference verdict (the LLM judge) on each response.
        min_precision: Least share of a rule's verdicts that must match the reference.
        min_count: Least number of responses a rule must have fired on.

    Returns:
        The chosen rule names, sorted.
    """
    table = pd.DataFrame({"rule": rules, "hit": np.asarray(predicted) == np.asarray(labels)})
    stats = table.groupby("rule")["hit"].agg(["mean", "size"])
    chosen = stats[(stats["mean"] >= min_precision) & (stats["size"] >= min_count)]
    return tuple(sorted(chosen.index))


def replay_cascade(
    name: str,
    rules: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str],
    sure_rules: Sequence[str],
) -> CascadeResult:
    """The cascade's saved share, stage-1 precision and kappa against the reference on these rows."""
    sure = np.isin(np.asarray(rules), list(sure_rules))
    return _replay(name, sure, predicted, labels, tuple(sure_rules))


def _replay(
    name: str, sure: np.ndarray, predicted: Sequence[str], labels: Sequence[str], sure_rules: tuple[str, ...]
) -> CascadeResult:
    """The cascade where stage 1 decided the rows in `sure` (a boolean mask)."""
    predicted_arr, labels_arr = np.asarray(predicted), np.asarray(labels)
    cascade = np.where(sure, predicted_arr, labels_arr)
    precision = float(np.mean(predicted_arr[sure] == labels_arr[sure])) if sure.any() else float("nan")
    return CascadeResult(
        name=name,
        sure_rules=sure_rules,
        n=len(labels),
        saved_share=float(sure.mean()) if len(labels) else float("nan"),
        stage1_precision=precision,
        kappa=cohen_kappa(list(labels_arr), list(cascade)),
    )


def cascade_splits(
    frame: pd.DataFrame, rules: Sequence[str], predicted: Sequence[str]
) -> list[CascadeResult]:
    """Choose the sure rules on each source split's training rows, measure on its held-out rows.

    Args:
        frame: One row per judged response with `label` and `source`.
        rules: The rule that fired on each row (the shipped thresholds).
        predicted: The rules' verdict on each row.

    Returns:
        One result per source split, the two held-out parts pooled, then one over all rows with
        the rules chosen on all rows (in sample: the shipped choice, not a validation figure).
    """
    labels = frame[LABEL].tolist()
    if not len(rules) == len(predicted) == len(labels):
        raise ValueError(f"{len(rules)} rules and {len(predicted)} verdicts for {len(labels)} rows")
    results = []
    pooled: list[int] = []
    pooled_sure: list[bool] = []
    for split in source_splits(frame):
        train, test = np.flatnonzero(split.train), np.flatnonzero(split.test)
        sure = choose_sure_rules(
            [rules[i] for i in train], [predicted[i] for i in train], [labels[i] for i in train]
        )
        test_rules = [rules[i] for i in test]
        results.append(
            replay_cascade(
                split.name, test_rules, [predicted[i] for i in test], [labels[i] for i in test], sure
            )
        )
        pooled += list(test)
        pooled_sure += [rule in sure for rule in test_rules]
    pooled_predicted = [predicted[i] for i in pooled]
    pooled_labels = [labels[i] for i in pooled]
    results.append(_replay(POOLED_SOURCES, np.asarray(pooled_sure), pooled_predicted, pooled_labels, ()))
    results.append(
        replay_cascade(ALL_ROWS, rules, predicted, labels, choose_sure_rules(rules, predicted, labels))
    )
    return results
