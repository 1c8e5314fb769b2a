"""Running a stand-in: in a background thread (tests, benchmarks) or in the foreground (the command line).

Both bind to 127.0.0.1 by default; port 0 lets the operating system pick a free port, which is then
reported (`RunningStandin.port`, or the line the command prints), so parallel test runs never collide.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from refusal_stability.models.standin.request_log import RequestRecord
from refusal_stability.models.standin.server import STATE_KEY, StandinConfig, StandinState, make_app

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 1.0


@dataclass
class RunningStandin:
    """A stand-in serving in this process: its address and its live request log."""

    host: str
    port: int
    state: StandinState

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (what ``VLLM_BASE_URL`` / ``--model-base-url`` take)."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def model(self) -> str:
        """The first served model name (what a ``vllm/<name>`` model must be called)."""
        return self.state.config.served_model_names[0]

    def records(self) -> list[RequestRecord]:
        """Every request received so far, in arrival order."""
        return list(self.state.log.records)

    def stats(self) -> dict[str, Any]:
        """Counts by kind, status and fault; answered; resent (see `RequestLog.stats`)."""
        return self.state.log.stats()


async def _start(config: StandinConfig, host: str, port: int) -> tuple[web.AppRunner, int]:
    # like vLLM, abandon a request whose client hung up (a timed-out attempt), and do not wait long for
    # such requests when stopping
    runner = web.AppRunner(
        make_app(config), access_log=None, handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT_S
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1] if port == 0 else port  # type: ignore[union-attr]
    return runner, bound


@contextmanager
def running_standin(
    config: StandinConfig | None = None, host: str = LOOPBACK, port: int = 0
) -> Iterator[RunningStandin]:
    """Serve a stand-in on its own event loop in a daemon thread for the duration of the block."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="standin-server", daemon=True)
    thread.start()
    try:
        runner, bound = asyncio.run_coroutine_threadsafe(
            _start(config or StandinConfig(), host, port), loop
        ).result(START_TIMEOUT_S)
        try:
            yield RunningStandin(host=host, port=bound, state=runner.app[STATE_KEY])
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(START_TIMEOUT_S)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_S)
        loop.close()


async def serve(config: StandinConfig, host: str = LOOPBACK, port: int = 0) -> None:
    """Serve until cancelled (Ctrl-C or SIGTERM), printing the base URL once listening."""
    runner, bound = await _start(config, host, port)
    print(f"Stand-in vLLM server listening: http://{host}:{bound}/v1", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
