"""Inspect entry point: importing this module registers the suite's tasks, scorers and model providers.

`pyproject.toml` names it under `[project.entry-points.inspect_ai]`, so `inspect eval
refusal_stability/stability`, `inspect score --scorer refusal_stability/<judge>_judge` and
`--model replay/<name>` work from anywhere once the package is installed (Inspect resolves the model
before it imports a task file, so a provider must be registered here).
"""

from inspect_ai.model import modelapi

from refusal_stability.scorers.mapped import mapped_verdict  # noqa: F401
from refusal_stability.scorers.reduce import verdict_mode_or  # noqa: F401
from refusal_stability.scorers.select import JUDGES  # noqa: F401  (imports, so registers, every judge's scorer)
from refusal_stability.tasks.stability import stability  # noqa: F401
from refusal_stability.tasks.wrap import wrap  # noqa: F401


@modelapi(name="replay")
def replay() -> type:
    """Serve recorded generations: `--model replay/<name> -M path=<file or folder>`."""
    from refusal_stability.models.replay import ReplayAPI

    return ReplayAPI


@modelapi(name="local")
def local() -> type:
    """A GGUF model in-process (llama.cpp): `--model local/smollm2`, or `-M model_path=<file.gguf>`."""
    from refusal_stability.models.local import LocalLlamaAPI

    return LocalLlamaAPI
