"""How many requests Inspect keeps in flight to the model: enough to keep a local batching engine busy.

Inspect's default (inspect-ai 0.3.285) is *adaptive* concurrency for every provider: 20 connections at the
start, doubling while requests succeed, at most 100, cut on rate-limit errors. That suits a rate-limited API.
A local vLLM (or SGLang) server is different: it batches every sequence it is sent (up to its
``--max-num-seqs``, 256 or more) and never answers 429, so its throughput grows with the requests in flight;
at 100 the engine waits for Inspect. The throughput benchmark (``benchmarks/throughput.py``, README
"Benchmarks") measured wall time against the token floor for a range of connection counts and picked
`LOCAL_ENGINE_MAX_CONNECTIONS`.

`local_engine_concurrency` gives a model served by such an engine that many connections (static, as Inspect
does for any explicit ``max_connections``) on the model itself, not on the task's config: the task's config
is inherited by every model the task calls, and would flood a rate-limited grader (e.g.
``openai/gpt-4o-mini``) with the same count. Anything the user set wins: ``--max-connections``,
``--adaptive-connections`` or a model's own config leave the model untouched.
"""

from __future__ import annotations

from inspect_ai.model import GenerateConfig, Model, ModelName

LOCAL_ENGINE_PROVIDERS = ("vllm", "sglang")
"""Providers whose server is a continuous-batching engine the user runs (no rate limit, throughput grows
with the batch)."""

LOCAL_ENGINE_MAX_CONNECTIONS = 256
"""Requests in flight to a local engine by default (see the module docstring and the README's benchmark)."""


def local_engine_concurrency(model: Model, run_config: GenerateConfig | None = None) -> int | None:
    """Give `model` `LOCAL_ENGINE_MAX_CONNECTIONS` connections if a local engine serves it and nobody chose.

    Args:
        model: A model the task calls (the model under test, or the grader).
        run_config: The run's generation options (``--max-connections`` and the like); a concurrency set
            there wins, and so does one in the model's own config.

    Returns:
        The connections now set on the model, or None when it was left alone.
    """
    if ModelName(model).api not in LOCAL_ENGINE_PROVIDERS:
        return None
    for chosen in (run_config, model.config):
        if chosen is not None and (
            chosen.max_connections is not None or chosen.adaptive_connections is not None
        ):
            return None
    # Inspect composes the model's own config under the run's (Model._resolve_config), and sizes the
    # task's sample concurrency from the same composition, so setting it here raises both.
    model.config = model.config.merge(GenerateConfig(max_connections=LOCAL_ENGINE_MAX_CONNECTIONS))
    return LOCAL_ENGINE_MAX_CONNECTIONS
