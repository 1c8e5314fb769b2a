"""How a run went, from its log: retries, failures and why samples are unscored.

Inspect records every fault it survived in the log, spread over the samples: a model call retried after an
HTTP error or a dropped connection counts up its event's ``retries``; an attempt abandoned at
``--attempt-timeout`` is a model event with an ``error``; a reply that was not JSON, asked for again by the
grid solver, is counted in the sample's metadata; a sample retried under ``retry_on_error`` keeps
the errors in ``error_retries``; a sample that still failed carries ``error``; a response the judge could
not use is unscored with a ``reason``. `run_health` adds them up, per model (the tested model and the
grader separately), so a run that survived faults says so in numbers, and one that did not is obvious.

It reads the whole log with events (Inspect's `read_eval_log`), so it is a diagnostic for one log, not part
of the analysis of many.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from inspect_ai.event import ModelEvent
from inspect_ai.log import EvalLog, read_eval_log

from refusal_stability.schema import UNREADABLE_RETRIES_KEY

COMPLETE_STOP = "stop"


@dataclass
class ModelCalls:
    """The calls to one model: answered, retried inside a call, abandoned attempts."""

    calls: int = 0
    """Model calls that returned an output."""
    retries: int = 0
    """Requests sent again inside a call (HTTP 429/5xx, connection errors), as Inspect counted them."""
    failed_attempts: int = 0
    """Attempts that ended in an error (an attempt timeout, or an error no retry got past)."""
    errors: Counter[str] = field(default_factory=Counter)
    """Those errors by type (the text before the first parenthesis)."""


@dataclass
class RunHealth:
    """Retries, failures and unscored samples of one log."""

    path: str
    status: str
    error: str | None
    samples: int = 0
    sample_errors: int = 0
    """Samples that still failed after `retry_on_error` (not answered, not scored)."""
    sample_retries: int = 0
    """Sample attempts that failed and were run again under `retry_on_error`."""
    sample_retry_errors: Counter[str] = field(default_factory=Counter)
    unreadable_retries: int = 0
    """Replies that were not JSON and were asked for again by the grid solver."""
    models: dict[str, ModelCalls] = field(default_factory=dict)
    stop_reasons: Counter[str] = field(default_factory=Counter)
    """Final outputs that did not stop normally (``max_tokens``, ``content_filter``, ...)."""
    unscored: dict[str, Counter[str]] = field(default_factory=dict)
    """Per scorer: unscored samples by reason."""

    @property
    def ok(self) -> bool:
        """The run finished (status success) and no sample is left with an error."""
        return self.status == "success" and self.sample_errors == 0

    def lines(self) -> list[str]:
        """A short human-readable account."""
        out = [f"{self.path}: status {self.status}" + (f" ({self.error})" if self.error else "")]
        out.append(
            f"samples {self.samples}: {self.sample_errors} failed, {self.sample_retries} sample retries"
            + (f" ({_counts(self.sample_retry_errors)})" if self.sample_retry_errors else "")
        )
        if self.unreadable_retries:
            out.append(f"unreadable replies asked for again: {self.unreadable_retries}")
        for model, calls in self.models.items():
            out.append(
                f"model {model}: {calls.calls} calls, {calls.retries} retries, "
                f"{calls.failed_attempts} failed attempts"
                + (f" ({_counts(calls.errors)})" if calls.errors else "")
            )
        if self.stop_reasons:
            out.append(f"stop reasons other than stop: {_counts(self.stop_reasons)}")
        for scorer, reasons in self.unscored.items():
            out.append(f"unscored by {scorer}: {sum(reasons.values())} ({_counts(reasons)})")
        return out


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counter.most_common())


def _error_type(message: str) -> str:
    return message.split("(", 1)[0].split(":", 1)[0].strip() or "error"


def run_health(log: EvalLog | str | Path) -> RunHealth:
    """Count the retries, failures and unscored samples recorded in a log (a path or a read log)."""
    if not isinstance(log, EvalLog):
        log = read_eval_log(str(log))
    health = RunHealth(path=log.location, status=log.status, error=log.error.message if log.error else None)
    for sample in log.samples or []:
        health.samples += 1
        health.sample_errors += sample.error is not None
        for retry in sample.error_retries or []:
            health.sample_retries += 1
            health.sample_retry_errors[_error_type(retry.message)] += 1
        health.unreadable_retries += int((sample.metadata or {}).get(UNREADABLE_RETRIES_KEY) or 0)
        for event in sample.events:
            if not isinstance(event, ModelEvent):
                continue
            calls = health.models.setdefault(event.model, ModelCalls())
            calls.retries += event.retries or 0
            if event.error:
                calls.failed_attempts += 1
                calls.errors[_error_type(event.error)] += 1
            else:
                calls.calls += 1
        if sample.output and sample.output.choices and sample.output.stop_reason not in (COMPLETE_STOP, None):
            health.stop_reasons[sample.output.stop_reason] += 1
        for scorer, score in (sample.scores or {}).items():
            if isinstance(score.value, float) and math.isnan(score.value):  # Inspect's unscored sentinel
                reasons = health.unscored.setdefault(scorer, Counter())
                reasons[str(score.reason or "unscored")] += 1
    return health
