"""The stand-in's record of every request it received: what tests and benchmarks check at the server.

One `RequestRecord` per request, made when the request arrives (so a request whose reply never went out is
still on record), holding the sampling parameters the client sent, whether it was a grader request, the
fault injected (if any) and the HTTP status answered. Records are kept in memory (`GET /standin/requests`)
and, when a path is given, appended to a JSONL file one line per request, flushed at once.

`resent` marks a generation request whose exact body (model, messages, seed, temperature, max_tokens,
top_p) had already been answered in full: after a killed run is resumed, these are the finished requests
that were sent again.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO


@dataclass
class RequestRecord:
    """One request as the stand-in saw it."""

    index: int
    time: float
    path: str
    kind: str
    """"generation" (the tested model) or "grader" (a judge prompt), rejected requests included."""
    model: str | None
    seed: int | None
    temperature: float | None
    top_p: float | None
    max_tokens: int | None
    stream: bool
    key: str
    """sha256 of the request's model, messages and sampling parameters."""
    prompt_sha256: str
    """sha256 of the prompt (the last user message), to match a request to its sample."""
    prompt_head: str
    """The prompt's first characters, to tell requests apart by eye."""
    fault: str | None
    status: int
    """HTTP status answered; 0 when the connection was reset instead."""
    resent: bool
    answered: bool = False
    """Set once the full reply was written to the connection."""
    completion_tokens: int | None = None
    """Tokens of the reply that was paced and sent (set with `answered`)."""


class RequestLog:
    """Every request, in arrival order, and the keys answered so far."""

    def __init__(self, path: Path | None = None) -> None:
        self.records: list[RequestRecord] = []
        self.answered_keys: Counter[str] = Counter()
        self._file: TextIO | None = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def add(self, record: RequestRecord) -> RequestRecord:
        """Keep `record` (and write it to the JSONL file, if any)."""
        self.records.append(record)
        if self._file is not None:
            self._file.write(json.dumps(asdict(record)) + "\n")
            self._file.flush()
        return record

    def mark_answered(self, record: RequestRecord, completion_tokens: int | None = None) -> None:
        """The reply to `record` went out in full: a later identical request counts as resent."""
        record.answered = True
        record.completion_tokens = completion_tokens
        self.answered_keys[record.key] += 1

    def was_answered(self, key: str) -> bool:
        """Whether a request with this key has already been answered in full."""
        return self.answered_keys[key] > 0

    def stats(self) -> dict[str, Any]:
        """Counts by kind, status and fault, answered, resent, and the tokens answered by kind."""
        tokens: Counter[str] = Counter()
        for r in self.records:
            if r.answered and r.completion_tokens:
                tokens[r.kind] += r.completion_tokens
        return {
            "requests": len(self.records),
            "by_kind": dict(Counter(r.kind for r in self.records)),
            "by_status": {str(k): v for k, v in Counter(r.status for r in self.records).items()},
            "faults": dict(Counter(r.fault for r in self.records if r.fault)),
            "answered": sum(r.answered for r in self.records),
            "resent": dict(Counter(r.kind for r in self.records if r.resent)),
            "completion_tokens": dict(tokens),
        }

    def as_dicts(self) -> list[dict[str, Any]]:
        """Every record as a plain dict (the JSON of `GET /standin/requests`)."""
        return [asdict(r) for r in self.records]

    def close(self) -> None:
        """Close the JSONL file."""
        if self._file is not None:
            self._file.close()
            self._file = None
