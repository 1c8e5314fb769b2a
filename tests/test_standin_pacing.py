"""The token-paced stand-in: sequences share an aggregate rate like a batching engine, checked against
schedules worked out by hand (processor sharing with a per-sequence cap)."""

from __future__ import annotations

import asyncio

import pytest

from refusal_stability.models.standin.pacing import FixedDelay, NoDelay, TokenPaced, make_pacer

TOLERANCE_S = 1e-6
"""The schedules run on a virtual clock (below), so they are exact up to float rounding."""


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer instead of waiting for it.

    The pacer reads `loop.time()` and sets `loop.call_at` timers; here, whenever nothing is ready, the clock
    advances by exactly the wait the loop asked for. The schedules are then exact and independent of how
    busy the machine is (a real clock on a loaded 2-core machine fires timers 100 ms late).
    """

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0
        poll = self._selector.select

        def select(timeout: float | None = None):  # noqa: ANN202 - the selector's own signature
            events = poll(0)
            if not events and timeout:
                self._now += timeout
            return events

        self._selector.select = select  # type: ignore[method-assign]

    def time(self) -> float:
        return self._now


def run(coroutine):
    loop = VirtualClockLoop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


async def finish_times(pacer: TokenPaced, jobs: list[tuple[float, int]]) -> list[float]:
    """Start each (arrival seconds, tokens) job at its arrival; return each one's finish time."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(arrival: float, tokens: int) -> float:
        await asyncio.sleep(arrival)
        await pacer.pace(tokens)
        return loop.time() - start

    return list(await asyncio.gather(*(one(a, k) for a, k in jobs)))


def test_two_sequences_share_the_aggregate_rate_then_one_runs_at_its_cap() -> None:
    # aggregate 100 tok/s, cap 80 tok/s. A (100 tokens) and B (50) start together: each gets 50 tok/s,
    # so B ends at 1.0 s with A half done; A alone then runs at its cap: 50 / 80 = 0.625 s more.
    pacer = TokenPaced(aggregate_rate=100, sequence_rate=80)
    a, b = run(finish_times(pacer, [(0.0, 100), (0.0, 50)]))
    assert b == pytest.approx(1.0, abs=TOLERANCE_S)
    assert a == pytest.approx(1.625, abs=TOLERANCE_S)
    assert pacer.tokens_served == 150 and pacer.in_flight == 0


def test_a_late_arrival_slows_the_first_sequence_from_its_arrival_on() -> None:
    # A (100) alone at its cap of 80 tok/s; at 0.5 s it has 40 done when B (30) arrives: both at 50 tok/s,
    # B ends at 0.5 + 30/50 = 1.1 s (A then at 70); A's last 30 at 80 tok/s: 1.1 + 0.375 = 1.475 s.
    pacer = TokenPaced(aggregate_rate=100, sequence_rate=80)
    a, b = run(finish_times(pacer, [(0.0, 100), (0.5, 30)]))
    assert b == pytest.approx(1.1, abs=TOLERANCE_S)
    assert a == pytest.approx(1.475, abs=TOLERANCE_S)


def test_below_saturation_every_sequence_runs_at_its_cap() -> None:
    # 4 sequences x 60 tok/s cap = 240 < 1000 aggregate: each takes tokens / 60 s, as if alone
    pacer = TokenPaced(aggregate_rate=1000, sequence_rate=60)
    times = run(finish_times(pacer, [(0.0, 30), (0.0, 45), (0.0, 60), (0.0, 15)]))
    assert times == pytest.approx([0.5, 0.75, 1.0, 0.25], abs=TOLERANCE_S)


def test_time_to_first_token_comes_before_decoding() -> None:
    pacer = TokenPaced(aggregate_rate=100, sequence_rate=100, ttft_s=0.3)
    [t] = run(finish_times(pacer, [(0.0, 50)]))
    assert t == pytest.approx(0.8, abs=TOLERANCE_S)


def test_a_cancelled_request_frees_its_share_at_once() -> None:
    # A (100) and B (100) share 100 tok/s (50 each); B's client leaves at 0.4 s: A has 20 done and
    # runs alone at its cap 100 tok/s: 0.4 + 80/100 = 1.2 s (2.0 s had B stayed).
    async def cancel_b() -> float:
        pacer = TokenPaced(aggregate_rate=100, sequence_rate=100)
        loop = asyncio.get_running_loop()
        start = loop.time()
        b = asyncio.create_task(pacer.pace(100))
        a = asyncio.create_task(pacer.pace(100))
        await asyncio.sleep(0.4)
        b.cancel()
        await a
        assert b.cancelled() and pacer.tokens_served == 100
        return loop.time() - start

    assert run(cancel_b()) == pytest.approx(1.2, abs=TOLERANCE_S)


def test_the_command_line_picks_the_pacer_and_rejects_mixed_options() -> None:
    assert isinstance(make_pacer(), NoDelay)
    assert make_pacer(0.5) == FixedDelay(0.5)
    paced = make_pacer(token_rate=12_500, sequence_rate=100, ttft_s=0.05)
    assert isinstance(paced, TokenPaced) and paced.rate_per_sequence(250) == 50
    assert paced.rate_per_sequence(10) == 100
    with pytest.raises(ValueError, match="not both"):
        make_pacer(0.5, token_rate=100)
    with pytest.raises(ValueError, match="give --token-rate too"):
        make_pacer(sequence_rate=100)
    with pytest.raises(ValueError, match="must be > 0"):
        TokenPaced(aggregate_rate=0, sequence_rate=1)
