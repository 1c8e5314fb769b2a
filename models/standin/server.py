"""An HTTP server that behaves like `vllm serve` for the routes Inspect uses, with no model and no GPU.

Routes (the shapes vLLM's OpenAI-compatible server uses):

- ``POST /v1/chat/completions``: a non-streaming chat completion; the text comes from `answers` and
  depends only on the messages, seed and temperature; `max_tokens` cuts it (finish_reason "length");
- ``GET /v1/models``: the served model names, each with ``max_model_len``;
- ``GET /version``, ``GET /health``;
- ``GET /standin/requests`` and ``GET /standin/stats``: the request log (`request_log`), for tests and
  benchmarks to check what the client actually sent.

Like vLLM, a request for a model the server does not serve gets 404 "The model `x` does not exist.", and
with an API key set a request without it gets 401. Faults (`faults`) are injected per request; the reply's
timing comes from a `pacing.Pacer`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from refusal_stability.models.standin.answers import Answer, answer, is_grader_request
from refusal_stability.models.standin.faults import FaultKind, FaultPlan, FaultRule
from refusal_stability.models.standin.lengths import ReplyLengths
from refusal_stability.models.standin.pacing import NoDelay, Pacer
from refusal_stability.models.standin.request_log import RequestLog, RequestRecord

STANDIN_VERSION = "0.0.0+refusal-stability-standin"
"""What ``GET /version`` reports (vLLM reports its own version there)."""
DEFAULT_MODEL_NAME = "standin/model"
DEFAULT_MAX_MODEL_LEN = 4096
PROMPT_HEAD_CHARS = 80
LENGTH_FAULT_TOKENS = 3
"""A ``length`` fault cuts the reply after this many words."""
MALFORMED_BODY = '{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, "mess'
"""What a ``malformed-json`` fault sends with HTTP 200: JSON cut off mid-object, as a broken proxy would."""
ERROR_TYPES = {
    400: "BadRequestError",
    404: "NotFoundError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}
FAULT_STATUS = {
    FaultKind.BAD_REQUEST: 400,
    FaultKind.RATE_LIMIT: 429,
    FaultKind.RATE_LIMIT_RETRY_AFTER: 429,
    FaultKind.SERVER_ERROR: 500,
    FaultKind.UNAVAILABLE: 503,
}


@dataclass(frozen=True)
class StandinConfig:
    """How a stand-in behaves: what it serves, who may call it, which faults it injects, how fast it is."""

    served_model_names: tuple[str, ...] = (DEFAULT_MODEL_NAME,)
    api_key: str | None = None
    faults: tuple[FaultRule, ...] = ()
    pacer: Pacer = field(default_factory=NoDelay)
    retry_after_s: int = 1
    """Retry-After seconds of a ``429-retry-after`` fault."""
    slow_s: float = 30.0
    """How long a ``slow`` fault waits before replying."""
    max_model_len: int = DEFAULT_MAX_MODEL_LEN
    request_log_path: Path | None = None
    lengths: ReplyLengths | None = None
    """Reply lengths to write (e.g. the study's, `lengths.StudyLengths`); None: the short built-in texts."""


@dataclass
class StandinState:
    """A running server's configuration, fault counters and request log."""

    config: StandinConfig
    plan: FaultPlan
    log: RequestLog

    @classmethod
    def create(cls, config: StandinConfig) -> StandinState:
        """Fresh counters and an empty log for `config`."""
        log = RequestLog(config.request_log_path)
        return cls(config=config, plan=FaultPlan(rules=config.faults), log=log)


STATE_KEY = web.AppKey("standin_state", StandinState)


def make_app(config: StandinConfig) -> web.Application:
    """The aiohttp application for `config`."""
    app = web.Application()
    app[STATE_KEY] = StandinState.create(config)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/version", version)
    app.router.add_get("/health", health)
    app.router.add_get("/standin/requests", list_requests)
    app.router.add_get("/standin/stats", stats)

    async def close_log(app: web.Application) -> None:
        app[STATE_KEY].log.close()

    app.on_cleanup.append(close_log)
    return app


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """An error body shaped like vLLM's."""
    body = {
        "object": "error",
        "message": message,
        "type": ERROR_TYPES.get(status, "Error"),
        "param": None,
        "code": status,
    }
    return web.json_response(body, status=status, headers=headers)


def content_text(content: Any) -> str:
    """A message's text: content may be a string or a list of parts (only text parts count)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The prompt the reply depends on: the last user message's text ("" if there is none)."""
    return next((content_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")


def request_key(body: dict[str, Any]) -> str:
    """What makes two requests the same request (their answers are then identical)."""
    fields = {name: body.get(name) for name in ("model", "messages", "seed", "temperature", "top_p")}
    fields["max_tokens"] = max_tokens_of(body)
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def max_tokens_of(body: dict[str, Any]) -> int | None:
    """``max_tokens`` or, from newer clients, ``max_completion_tokens``."""
    value = body.get("max_tokens", body.get("max_completion_tokens"))
    return int(value) if value is not None else None


def completion_body(
    model: str, index: int, content: str, finish_reason: str, reply: Answer
) -> dict[str, Any]:
    """A chat completion as vLLM returns it."""
    return {
        "id": f"chatcmpl-standin-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": finish_reason,
                "stop_reason": None,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": len(content.split()),
            "total_tokens": reply.prompt_tokens + len(content.split()),
        },
        "system_fingerprint": None,
    }


def faulted_reply(fault: FaultKind | None, reply: Answer) -> tuple[str, str]:
    """The content and finish reason sent for a 200 reply, after any content fault."""
    if fault == FaultKind.EMPTY:
        return "", "stop"
    if fault == FaultKind.CONTENT_FILTER:
        return "", "content_filter"
    if fault == FaultKind.LENGTH:
        return " ".join(reply.content.split()[:LENGTH_FAULT_TOKENS]), "length"
    return reply.content, reply.finish_reason


def reset_connection(request: web.Request) -> None:
    """Drop the connection with a TCP reset, as a crashed proxy or server would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def authorised(request: web.Request, api_key: str | None) -> bool:
    """The ``--api-key`` check of vLLM: the bearer token must match when a key is set."""
    return api_key is None or request.headers.get("Authorization") == f"Bearer {api_key}"


def rejected(request: web.Request, body: dict[str, Any], config: StandinConfig) -> web.Response | None:
    """The error vLLM would answer before generating (wrong key, unknown model, streaming), or None."""
    if not authorised(request, config.api_key):
        return web.json_response({"error": "Unauthorized"}, status=401)
    if body.get("model") not in config.served_model_names:
        return error_response(404, f"The model `{body.get('model')}` does not exist.")
    if body.get("stream"):
        return error_response(400, "The stand-in does not stream; use -M stream=false.")
    return None


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/chat/completions``."""
    state = request.app[STATE_KEY]
    config = state.config
    try:
        body = await request.json()
    except json.JSONDecodeError as ex:
        return error_response(400, f"Request body is not JSON: {ex}")
    prompt = last_user_text(body.get("messages") or [])
    kind = "grader" if is_grader_request(prompt) else "generation"
    key = request_key(body)
    rejection = rejected(request, body, config)
    fault = None if rejection else state.plan.choose(kind, key)
    status = rejection.status if rejection else FAULT_STATUS.get(fault, 200) if fault else 200
    record = state.log.add(
        RequestRecord(
            index=len(state.log.records),
            time=time.time(),
            path=request.path,
            kind=kind,
            model=body.get("model"),
            seed=body.get("seed"),
            temperature=body.get("temperature"),
            top_p=body.get("top_p"),
            max_tokens=max_tokens_of(body),
            stream=bool(body.get("stream")),
            key=key,
            prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest(),
            prompt_head=prompt[:PROMPT_HEAD_CHARS],
            fault=fault.value if fault else None,
            status=0 if fault == FaultKind.RESET else status,
            resent=state.log.was_answered(key),
        )
    )
    if rejection:
        return rejection
    reply = answer(
        prompt, body.get("seed"), float(body.get("temperature", 1.0)), max_tokens_of(body), config.lengths
    )

    if fault in FAULT_STATUS:
        retry_after = fault == FaultKind.RATE_LIMIT_RETRY_AFTER
        headers = {"Retry-After": str(config.retry_after_s)} if retry_after else None
        return error_response(status, f"Injected fault {fault.value}.", headers=headers)
    if fault == FaultKind.RESET:
        reset_connection(request)
        return web.Response(status=500)  # never reaches the client: the connection is gone
    if fault == FaultKind.SLOW:
        await asyncio.sleep(config.slow_s)  # past the client's timeout: not a pacing decision
    else:
        await config.pacer.pace(reply.completion_tokens)

    if fault == FaultKind.MALFORMED_JSON:
        response = web.Response(text=MALFORMED_BODY, content_type="application/json")
    else:
        content, finish_reason = faulted_reply(fault, reply)
        response = web.json_response(
            completion_body(body["model"], record.index, content, finish_reason, reply)
        )
    await response.prepare(request)
    await response.write_eof()
    if fault != FaultKind.MALFORMED_JSON:
        state.log.mark_answered(record, completion_tokens=reply.completion_tokens)
    return response


async def list_models(request: web.Request) -> web.Response:
    """``GET /v1/models`` as vLLM answers it."""
    config = request.app[STATE_KEY].config
    if not authorised(request, config.api_key):
        return web.json_response({"error": "Unauthorized"}, status=401)
    data = [
        {
            "id": name,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "vllm",
            "root": config.served_model_names[0],
            "parent": None,
            "max_model_len": config.max_model_len,
        }
        for name in config.served_model_names
    ]
    return web.json_response({"object": "list", "data": data})


async def version(request: web.Request) -> web.Response:
    """``GET /version``."""
    return web.json_response({"version": STANDIN_VERSION})


async def health(request: web.Request) -> web.Response:
    """``GET /health``: 200 with an empty body, as vLLM."""
    return web.Response(status=200)


async def list_requests(request: web.Request) -> web.Response:
    """``GET /standin/requests``: every request so far."""
    return web.json_response(request.app[STATE_KEY].log.as_dicts())


async def stats(request: web.Request) -> web.Response:
    """``GET /standin/stats``: counts by kind, status and fault; answered; resent; the pacer's own figures."""
    state = request.app[STATE_KEY]
    body = state.log.stats()
    pacer_stats = getattr(state.config.pacer, "stats", None)
    if callable(pacer_stats):
        body["pacer"] = pacer_stats()
    return web.json_response(body)
