"""Faults the stand-in can inject, and the deterministic choice of which requests get them.

A rule names a fault kind and which requests it hits, by one of:

- ``first=N``: the first N requests in its scope (arrival order);
- ``every=N``: every N-th request in its scope (arrival order);
- ``rate=P``: a share P of distinct requests, chosen by a hash of the request (its model, messages, seed
  and temperature), so the same requests are hit in every run whatever the concurrency; a hit request fails
  its first ``attempts`` arrivals and then passes, like a transient fault that a retry gets past.

``scope`` is ``generation`` (the tested model's requests, the default), ``grader`` or ``all``.
On the command line a rule reads ``KIND[:key=value,...]``, e.g. ``--fault 500:rate=0.05`` or
``--fault malformed-json:first=1``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from refusal_stability.models.standin.answers import stable_unit

SCOPES = ("generation", "grader", "all")


class FaultKind(str, Enum):
    """What goes wrong with a reply."""

    BAD_REQUEST = "400"
    """HTTP 400, which clients do not retry (e.g. an API grader's content-policy rejection)."""
    RATE_LIMIT = "429"
    """HTTP 429 with no Retry-After header."""
    RATE_LIMIT_RETRY_AFTER = "429-retry-after"
    """HTTP 429 with a Retry-After header (`StandinConfig.retry_after_s`)."""
    SERVER_ERROR = "500"
    UNAVAILABLE = "503"
    RESET = "reset"
    """The connection is reset (TCP RST) before any reply."""
    SLOW = "slow"
    """The reply comes only after `StandinConfig.slow_s` seconds, past a client's timeout."""
    MALFORMED_JSON = "malformed-json"
    """HTTP 200 whose body is cut-off JSON (a broken proxy)."""
    EMPTY = "empty"
    """HTTP 200, empty content, finish_reason "stop"."""
    CONTENT_FILTER = "content-filter"
    """HTTP 200, empty content, finish_reason "content_filter"."""
    LENGTH = "length"
    """HTTP 200, the reply cut after a few words, finish_reason "length"."""


@dataclass(frozen=True)
class FaultRule:
    """One fault kind and the requests it hits (exactly one of `first`, `every`, `rate`)."""

    kind: FaultKind
    first: int | None = None
    every: int | None = None
    rate: float | None = None
    attempts: int = 1
    scope: str = "generation"

    def __post_init__(self) -> None:
        chosen = [name for name in ("first", "every", "rate") if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"Fault {self.kind.value}: give exactly one of first=, every=, rate= (got {chosen})"
            )
        if self.scope not in SCOPES:
            raise ValueError(f"Fault {self.kind.value}: scope {self.scope!r} is not one of {SCOPES}")
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise ValueError(f"Fault {self.kind.value}: rate {self.rate} is outside [0, 1]")
        if (self.every is not None and self.every < 1) or (self.first is not None and self.first < 0):
            raise ValueError(f"Fault {self.kind.value}: every= must be >= 1 and first= >= 0")
        if self.attempts < 1:
            raise ValueError(f"Fault {self.kind.value}: attempts must be >= 1")

    def in_scope(self, kind: str) -> bool:
        """Whether a request of this kind ("generation" or "grader") can be hit."""
        return self.scope in ("all", kind)

    def hits(self, arrival: int, key: str, key_arrival: int) -> bool:
        """Whether a request gets this fault.

        Args:
            arrival: The request's place among this rule's in-scope requests (1-based).
            key: The request's identity (`server.request_key`).
            key_arrival: How many times this key has arrived so far, this time included.
        """
        if self.first is not None:
            return arrival <= self.first
        if self.every is not None:
            return arrival % self.every == 0
        assert self.rate is not None
        return key_arrival <= self.attempts and stable_unit(self.kind.value, key) < self.rate


def parse_fault(spec: str) -> FaultRule:
    """Parse ``KIND[:key=value,...]`` (keys: first, every, rate, attempts, scope)."""
    kind_text, _, options = spec.partition(":")
    try:
        kind = FaultKind(kind_text.strip())
    except ValueError:
        raise ValueError(
            f"Unknown fault {kind_text!r} in {spec!r}; expected one of {[k.value for k in FaultKind]}"
        ) from None
    values: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in options.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"Fault option {item!r} in {spec!r} is not key=value")
        if key in ("first", "every", "attempts"):
            values[key] = int(value)
        elif key == "rate":
            values[key] = float(value)
        elif key == "scope":
            values[key] = value
        else:
            raise ValueError(f"Unknown fault option {key!r} in {spec!r}")
    return FaultRule(kind=kind, **values)  # type: ignore[arg-type]


@dataclass
class FaultPlan:
    """The rules of one server, with the arrival counts that `first=` / `every=` / `attempts` need.

    The first rule that hits a request decides its fault; every hit is counted by kind.
    """

    rules: tuple[FaultRule, ...] = ()
    arrivals: Counter[str] = field(default_factory=Counter)
    key_arrivals: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)

    def choose(self, request_kind: str, key: str) -> FaultKind | None:
        """The fault for this request, or None; call once per arriving request."""
        self.key_arrivals[key] += 1
        chosen: FaultKind | None = None
        for index, rule in enumerate(self.rules):
            if not rule.in_scope(request_kind):
                continue
            counter = f"rule{index}"
            self.arrivals[counter] += 1
            if chosen is None and rule.hits(self.arrivals[counter], key, self.key_arrivals[key]):
                chosen = rule.kind
        if chosen is not None:
            self.injected[chosen.value] += 1
        return chosen
