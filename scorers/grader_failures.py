"""When grader failures stop being a few unscored samples and become a failed run.

A grader call that fails (after Inspect's own retries of rate limits, server errors and dropped
connections) leaves its sample unscored with reason ``grader_error``: one bad call must not cost a
generation. But a grader that fails on every call (a wrong key, an unknown model name, an unreachable
host) would give a run that finishes green with every sample unscored and every metric NaN. So the LLM
judge counts its calls and failures, and once failures pass the limit it raises `GraderFailureError`:
the sample errors and, with the task's ``fail_on_error``, the eval stops with status ``error``. Every
sample finished before that (and every errored one) keeps its generation in the log, to be judged
later with ``inspect score`` (README, "When the grader fails").

The rule: stop once at least `MIN_GRADER_FAILURES` calls have failed AND failures exceed
``limit`` x calls. A misconfigured grader fails its first calls, so the run stops after
`MIN_GRADER_FAILURES` graded samples (seconds in), whatever the limit. A working API grader that
rejects a few requests (a content-policy 400 on some harmful prompts) stays below a 5 % share; above
it, the verdicts missing are too many, and too unevenly spread over prompts, to report SSI as if they
were not.
"""

from __future__ import annotations

from dataclasses import dataclass

GRADER_FAILURE_LIMIT = 0.05
"""Default largest share of grader calls that may fail (each leaves its sample unscored)."""

MIN_GRADER_FAILURES = 10
"""Failures needed before the share is judged, so one early failure in a few calls never stops a run."""

REJUDGE_HINT = (
    "The generations finished so far are in the log; judge them without generating again with "
    "`inspect score <log> --scorer refusal_stability/llm_judge --model-role grader=<working model> "
    "--action overwrite --output-file <new log>` (README: 'When the grader fails')."
)


class GraderFailureError(RuntimeError):
    """The grader failed on too many calls: the run is stopped rather than reported with holes."""


@dataclass
class GraderFailures:
    """Grader calls and failures of one judge, and the limit beyond which the run fails."""

    limit: float = GRADER_FAILURE_LIMIT
    calls: int = 0
    failures: int = 0
    last_error: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.limit <= 1:
            raise ValueError(f"grader_failure_limit must be a share in [0, 1]; got {self.limit}")

    @property
    def exceeded(self) -> bool:
        """Whether failures are past the limit."""
        return self.failures >= MIN_GRADER_FAILURES and self.failures > self.limit * self.calls

    def record(self, error: str | None) -> None:
        """Count one grader call; `error` is its failure, or None when it returned an output."""
        self.calls += 1
        if error is not None:
            self.failures += 1
            self.last_error = error

    def check(self, grader: str) -> None:
        """Raise `GraderFailureError` when the failures are past the limit.

        Raises:
            GraderFailureError: With the counts, the last error and how to judge the log later.
        """
        if self.exceeded:
            raise GraderFailureError(
                f"The grader {grader} failed on {self.failures} of {self.calls} calls (limit: more than "
                f"{self.limit:.0%} once {MIN_GRADER_FAILURES} have failed; -T grader_failure_limit=). "
                f"Last error: {self.last_error}. A wrong API key, model name or base URL fails every call. "
                + REJUDGE_HINT
            )
