"""What the provider tells about its engine, recorded in the log header with the grid.

Refusal stability is measured by changing only the seed and the temperature, so a reader of a log must know
whether the seed reached the engine at all and how requests were batched (vLLM's continuous batching changes
the numerics, and with them a same-seed response). `engine_info` gathers: the provider and model, whether the
provider honours a per-request seed, the concurrency Inspect will use, the server's `/version` for vLLM, and
whatever an in-process provider reports about itself (e.g. `local/`'s llama.cpp version and cache policy).

Providers that do not honour a per-request seed get one loud warning per process: with them only the
temperature axis of the grid is controlled.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

from inspect_ai.model import GenerateConfig, Model, ModelName, get_model

logger = logging.getLogger(__name__)

SEEDS_PER_REQUEST: dict[str, bool] = {
    "vllm": True,
    "sglang": True,
    "openai": True,
    "openai-api": True,
    "together": True,
    "local": True,
    "replay": True,
    "anthropic": False,
    "hf": False,
}
"""Providers known to honour (True) or ignore (False) the seed of each request; others are unknown."""

SEED_WARNINGS = {
    "anthropic": "the Anthropic API has no seed parameter",
    "hf": "Inspect's hf/ provider seeds the generator once at load, not per request",
}

VERSION_PROVIDERS = ("vllm", "sglang")
"""Providers whose server answers GET <server>/version (the OpenAI-compatible base URL minus /v1)."""

VERSION_TIMEOUT_S = 3.0
VERSION_UNKNOWN = "unknown: Inspect starts the server at the first request"

BASE_URL_ENV = {"vllm": "VLLM_BASE_URL", "sglang": "SGLANG_BASE_URL"}
"""Where Inspect's vllm/ and sglang/ providers read an existing server's URL (they connect lazily)."""

_warned: set[str] = set()


def engine_info(model: Model | None = None, config: GenerateConfig | None = None) -> dict[str, Any]:
    """Describe the engine behind `model` (default: the model being evaluated) for the log header.

    Returns a dict with `provider`, `model`, `base_url`, `seeds_per_request` (true, false or null for
    unknown), `max_connections` (the run's `--max-connections`, else the model's, else the provider's
    default), `concurrency` (static or adaptive, and who chose it) and, where the
    provider tells, `engine` details or the server `version`. When no model is active yet (a task built
    before `eval()` chose one) it says so instead of guessing.
    """
    model = model or model_under_test()
    if model is None:
        return {"provider": None, "note": "no model was active when the task was built"}
    provider = ModelName(model).api
    honours = SEEDS_PER_REQUEST.get(provider)
    run = config or run_config()
    run_connections = run.max_connections
    base_url = _base_url(model, provider)
    info: dict[str, Any] = {
        "provider": provider,
        "model": model.name,
        "base_url": base_url,
        "seeds_per_request": honours,
        "max_connections": run_connections or model.config.max_connections or model.api.max_connections(),
        "concurrency": concurrency_note(model, run),
    }
    describe = getattr(model.api, "engine_info", None)
    if callable(describe):
        info["engine"] = describe()
    if provider in VERSION_PROVIDERS:
        info["version"] = server_version(base_url) if base_url else VERSION_UNKNOWN
    warn_if_seedless(provider)
    return info


def model_under_test() -> Model | None:
    """The model being evaluated while Inspect builds the task, or None (a task built before `eval()`)."""
    try:
        return get_model()
    except Exception:  # noqa: BLE001 - no active model and no default: nothing to describe
        return None


def _base_url(model: Model, provider: str) -> str | None:
    """The server's URL (vllm/ and sglang/ resolve theirs at the first request, so look where they will)."""
    env = BASE_URL_ENV.get(provider)
    return model.api.base_url or model.explicit_base_url or (os.environ.get(env) if env else None)


def concurrency_note(model: Model, run: GenerateConfig) -> str:
    """How Inspect will pace requests to `model`: static N, or adaptive (its default), and who chose it."""
    if run.max_connections:
        return f"static {run.max_connections} (run's --max-connections)"
    if run.adaptive_connections is not None:
        return f"adaptive {run.adaptive_connections} (run's --adaptive-connections)"
    if model.config.max_connections:
        return f"static {model.config.max_connections} (model config; local engines: models/concurrency.py)"
    return "adaptive: Inspect's default (20 at the start, at most 100)"


def run_config() -> GenerateConfig:
    """The run's generation options (`--max-connections` among them) while Inspect builds the task.

    Inspect exposes them publicly only after the run (in the log's `eval.config`); the task is built
    inside the run's context, so its private accessor is read, guarded should it move.
    """
    try:
        from inspect_ai.model._generate_config import active_generate_config

        return active_generate_config()
    except Exception:  # noqa: BLE001 - a private API may move; fall back to the provider default
        return GenerateConfig()


def server_version(base_url: str) -> Any:
    """GET `/version` from the server behind an OpenAI-compatible base URL; a failure is reported."""
    root = base_url.rstrip("/")
    root = root[: -len("/v1")] if root.endswith("/v1") else root
    url = f"{root}/version"
    try:
        with urllib.request.urlopen(url, timeout=VERSION_TIMEOUT_S) as response:  # noqa: S310 - user's server
            body = response.read().decode("utf-8", errors="replace")
    except Exception as ex:  # noqa: BLE001 - the header records why, the run goes on
        return f"unreachable ({url}): {ex}"
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return body.strip()


def warn_if_seedless(provider: str) -> None:
    """Warn once per process, loudly, that this provider ignores the grid's per-request seeds."""
    why = SEED_WARNINGS.get(provider)
    if why is None or provider in _warned:
        return
    _warned.add(provider)
    logger.warning(
        "SEEDS ARE NOT CONTROLLED with %s/: %s. Responses across the grid's seeds are NOT reproducible and "
        "their differences mix sampling with whatever the provider does; only the temperature axis is "
        "controlled. The log header records seeds_per_request=false.",
        provider,
        why,
    )
