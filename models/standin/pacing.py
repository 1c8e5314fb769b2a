"""How long the stand-in takes to reply: the one place where serving time is decided.

The server awaits `Pacer.pace(completion_tokens)` once per reply, after the reply is built and before it is
sent, so a pacer sees the size of every reply and all replies in flight at once. Today there are two:

- `NoDelay`: reply at once (tests);
- `FixedDelay`: every reply takes the same time (a run slow enough to be killed half-way).

A token-paced pacer (an aggregate token rate shared by the requests in flight plus a per-sequence rate, to
imitate a GPU engine's throughput under load) fits the same protocol: it would hold a shared budget of
tokens per second and make each `pace` wait until its tokens have been served at both rates.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol


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


def make_pacer(delay_s: float) -> Pacer:
    """The pacer for the command line's ``--delay`` (0: none)."""
    if delay_s < 0:
        raise ValueError(f"--delay must be >= 0 seconds; got {delay_s}")
    return FixedDelay(delay_s) if delay_s > 0 else NoDelay()
