"""How long the stand-in takes to reply: the one place where serving time is decided.

The server awaits `Pacer.pace(completion_tokens)` once per reply, after the reply is built and before it is
sent, so a pacer sees the size of every reply and all replies in flight at once. Three pacers:

- `NoDelay`: reply at once (tests);
- `FixedDelay`: every reply takes the same time (a run slow enough to be killed half-way);
- `TokenPaced`: a batching engine's throughput. The sequences in flight share an aggregate token rate,
  each capped at a per-sequence rate: with n sequences decoding, each gets
  ``min(sequence_rate, aggregate_rate / n)`` tokens per second (processor sharing, as a continuous-batching
  engine such as vLLM spreads its decode steps over the running batch), after an optional fixed time to
  first token. A client that keeps too few requests in flight leaves part of the aggregate rate unused,
  which is what the benchmark measures.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field
from typing import Protocol

FINISH_TOLERANCE_TOKENS = 1e-6
"""A sequence within this many tokens of its end counts as finished (float rounding of the shared clock)."""


class Pacer(Protocol):
    """Decides when a reply of `completion_tokens` tokens may be sent."""

    async def pace(self, completion_tokens: int) -> None:
        """Return when the reply may go out."""
        ...


class NoDelay:
    """Reply at once."""

    async def pace(self, completion_tokens: int) -> None:
        """Return immediately."""
        return None


@dataclass(frozen=True)
class FixedDelay:
    """Every reply takes `seconds`, whatever its length and however many are in flight."""

    seconds: float

    async def pace(self, completion_tokens: int) -> None:
        """Sleep the fixed delay."""
        await asyncio.sleep(self.seconds)


@dataclass
class TokenPaced:
    """Replies decoded by an engine with an aggregate token rate shared by the sequences in flight.

    Every sequence in flight is served at the same rate ``min(sequence_rate, aggregate_rate / n)``, so all of
    them advance one shared *service clock* (tokens served to each sequence since the pacer started): a
    sequence that arrives when the clock reads v with k tokens finishes when the clock reads v + k. The
    clock advances piecewise linearly, its slope changing only when a sequence starts or ends, so one timer
    set for the next finishing sequence keeps the exact schedule (no polling, no per-token work).

    All state lives on the server's event loop (one thread), so no lock is needed. A request whose client
    hangs up (its handler cancelled) leaves the batch at once and frees its share.
    """

    aggregate_rate: float
    """Tokens per second the engine decodes over all sequences together."""
    sequence_rate: float
    """Tokens per second one sequence decodes at most (however idle the engine)."""
    ttft_s: float = 0.0
    """Seconds before a sequence starts decoding (prefill and queueing), not counted against the rates."""
    tokens_served: int = 0
    """Completion tokens of every reply paced to its end so far."""
    peak_in_flight: int = 0
    """Most sequences decoding at once so far."""
    _clock: float = 0.0
    _clock_at: float | None = None
    _finishing: list[tuple[float, int, asyncio.Future[None]]] = field(default_factory=list)
    _live: int = 0
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _timer: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        if self.aggregate_rate <= 0 or self.sequence_rate <= 0:
            raise ValueError(
                f"Token rates must be > 0 (aggregate {self.aggregate_rate}, sequence {self.sequence_rate})"
            )
        if self.ttft_s < 0:
            raise ValueError(f"Time to first token must be >= 0 seconds; got {self.ttft_s}")

    @property
    def in_flight(self) -> int:
        """Sequences decoding now."""
        return self._live

    def stats(self) -> dict[str, float | int]:
        """The rates, tokens served and peak batch, for ``GET /standin/stats``."""
        return {
            "aggregate_rate": self.aggregate_rate,
            "sequence_rate": self.sequence_rate,
            "ttft_s": self.ttft_s,
            "tokens_served": self.tokens_served,
            "peak_in_flight": self.peak_in_flight,
        }

    def rate_per_sequence(self, n: int) -> float:
        """Tokens per second each of `n` sequences decoding at once gets."""
        return min(self.sequence_rate, self.aggregate_rate / n) if n > 0 else self.sequence_rate

    async def pace(self, completion_tokens: int) -> None:
        """Wait the time to first token, then until this reply's tokens have been decoded in the batch."""
        if self.ttft_s > 0:
            await asyncio.sleep(self.ttft_s)
        if completion_tokens <= 0:
            return
        loop = asyncio.get_running_loop()
        self._advance(loop.time())
        done: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._finishing, (self._clock + completion_tokens, next(self._order), done))
        self._live += 1
        self.peak_in_flight = max(self.peak_in_flight, self._live)
        self._schedule(loop)
        try:
            await done
        except asyncio.CancelledError:
            # the client left mid-decode (awaiting `done` cancelled it too): its sequence leaves the batch
            if done.cancelled() or not done.done():
                self._advance(loop.time())
                done.cancel()
                self._live -= 1
                self._schedule(loop)
            raise
        self.tokens_served += completion_tokens

    def _advance(self, now: float) -> None:
        """Move the service clock to `now` at the rate of the sequences decoding since the last change."""
        if self._clock_at is not None and self._live > 0:
            self._clock += (now - self._clock_at) * self.rate_per_sequence(self._live)
        self._clock_at = now

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Release the sequences that have finished and set the timer for the next one to finish."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._finishing:
            end, _, done = self._finishing[0]
            if done.done():  # cancelled: already left the batch
                heapq.heappop(self._finishing)
            elif end <= self._clock + FINISH_TOLERANCE_TOKENS:
                heapq.heappop(self._finishing)
                self._live -= 1
                done.set_result(None)
            else:
                break
        if self._finishing:
            wait = (self._finishing[0][0] - self._clock) / self.rate_per_sequence(self._live)
            self._timer = loop.call_at(loop.time() + wait, self._on_timer, loop)

    def _on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._advance(loop.time())
        self._schedule(loop)


def make_pacer(
    delay_s: float = 0.0,
    token_rate: float | None = None,
    sequence_rate: float | None = None,
    ttft_s: float = 0.0,
) -> Pacer:
    """The pacer the command line describes: ``--token-rate`` (token-paced), else ``--delay`` (0: none)."""
    if delay_s < 0:
        raise ValueError(f"--delay must be >= 0 seconds; got {delay_s}")
    if token_rate is not None:
        if delay_s > 0:
            raise ValueError("Give --delay or --token-rate, not both.")
        return TokenPaced(token_rate, sequence_rate or token_rate, ttft_s)
    if sequence_rate is not None or ttft_s:
        raise ValueError("--sequence-rate and --ttft pace tokens: give --token-rate too.")
    return FixedDelay(delay_s) if delay_s > 0 else NoDelay()
