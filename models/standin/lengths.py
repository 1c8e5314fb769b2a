"""How long the stand-in's replies are: the lengths of real responses, as a benchmark needs.

`StudyLengths` reads recorded generations (the study's 17,520 Qwen2.5-7B-Instruct responses, each with the
study's judge output) through the replay reader, and gives:

- a generation request the length of the recorded response to the same (prompt, temperature, seed), or,
  for a prompt with no recording, of a recorded response drawn by a hash of the request;
- a grader request the length of a recorded judge output (step-by-step reasoning and a label), drawn by a
  hash of the judge prompt.

Lengths are tiktoken ``o200k_base`` tokens (the tokenizer `mockllm/model` counts with; Qwen2.5's own is not
available offline, and on English text the two agree closely), capped by the request's ``max_tokens`` as the
engine would cut them. The stand-in then writes a reply of exactly that many whitespace words, the unit its
``usage`` counts, so the tokens it paces, reports and the benchmark divides by the rate are the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from refusal_stability.models.generations import GenerationIndex, load_generations
from refusal_stability.models.standin.answers import stable_unit
from refusal_stability.tiktoken_cache import o200k_encoding

STUDY_LABELS = Path("refusal_stability_paper") / "labels"
"""The study's responses and judge outputs, under the shared data folder."""


class ReplyLengths(Protocol):
    """How many tokens a reply has, before ``max_tokens`` cuts it."""

    def generation_tokens(self, prompt: str, seed: int | None, temperature: float) -> int:
        """Tokens of the tested model's reply to (prompt, seed, temperature)."""
        ...

    def grader_tokens(self, judge_prompt: str) -> int:
        """Tokens of a grader's reply (reasoning and verdict) to `judge_prompt`."""
        ...


@dataclass
class StudyLengths:
    """Reply lengths from recorded generations and their judge outputs (see the module docstring)."""

    index: GenerationIndex
    responses: list[str]
    """Every recorded response, in a fixed order, to draw from for prompts that were not recorded."""
    judge_outputs: list[str]
    """Every recorded judge output, in a fixed order."""

    @classmethod
    def from_path(cls, path: str | Path) -> StudyLengths:
        """Read a generations file or folder (the replay format; judge outputs from its `reasoning`)."""
        index = load_generations(path)
        recorded = sorted(index.by_text.values(), key=lambda g: g.source)
        judge_outputs = [g.reasoning for g in recorded if g.reasoning]
        if not recorded or not judge_outputs:
            raise ValueError(
                f"{path}: the stand-in's reply lengths need recorded responses and judge outputs "
                f"(a `reasoning` column); found {len(recorded)} responses, "
                f"{len(judge_outputs)} judge outputs."
            )
        return cls(index=index, responses=[g.response for g in recorded], judge_outputs=judge_outputs)

    def generation_tokens(self, prompt: str, seed: int | None, temperature: float) -> int:
        """The recorded response's length for this request, else a recorded response's drawn by hash."""
        try:
            text = self.index.find(None, prompt, temperature, seed).response
        except ValueError:
            text = self.responses[_draw(len(self.responses), "response", prompt, seed, temperature)]
        return count_tokens(text)

    def grader_tokens(self, judge_prompt: str) -> int:
        """A recorded judge output's length, drawn by a hash of the judge prompt."""
        return count_tokens(self.judge_outputs[_draw(len(self.judge_outputs), "judge", judge_prompt)])


def _draw(n: int, *parts: object) -> int:
    return min(int(stable_unit(*parts) * n), n - 1)


@lru_cache(maxsize=65_536)
def count_tokens(text: str) -> int:
    """o200k_base tokens of `text` (at least 1: an engine always emits one token before it stops)."""
    return max(1, len(_encoding().encode_ordinary(text)))


@lru_cache(maxsize=1)
def _encoding():  # noqa: ANN202 - tiktoken.Encoding, loaded once
    return o200k_encoding()


def study_lengths(data_dir: str | Path) -> StudyLengths:
    """The study's reply lengths from the shared data folder (`<data_dir>/refusal_stability_paper/labels`)."""
    return StudyLengths.from_path(Path(data_dir) / STUDY_LABELS)
