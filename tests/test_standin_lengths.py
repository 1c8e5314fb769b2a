"""The stand-in's replies sized like the study's: recorded lengths, exact word counts, verdicts that parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from refusal_stability.models.standin.answers import answer, expected_label
from refusal_stability.models.standin.lengths import StudyLengths, count_tokens, study_lengths
from refusal_stability.scorers.parse import parse_verdict
from refusal_stability.scorers.templates import TEMPLATES, render_judge_prompt


@pytest.fixture(scope="module")
def lengths(shared_datasets: Path) -> StudyLengths:
    return study_lengths(shared_datasets)


def test_a_recorded_request_gets_its_recorded_responses_length(lengths: StudyLengths) -> None:
    recorded = next(iter(lengths.index.by_text.items()))
    (prompt, temperature, seed), generation = recorded
    tokens = count_tokens(generation.response)
    assert lengths.generation_tokens(prompt, seed, temperature) == tokens
    reply = answer(prompt, seed, temperature, None, lengths)
    assert reply.completion_tokens == len(reply.content.split()) == tokens
    # the opener, hence the label the grader reads, survives the stretching
    assert reply.content.split()[:3] == answer(prompt, seed, temperature, None).content.split()[:3]


def test_max_tokens_cuts_a_long_recorded_length(lengths: StudyLengths) -> None:
    (prompt, temperature, seed), _ = max(lengths.index.by_text.items(), key=lambda kv: len(kv[1].response))
    assert lengths.generation_tokens(prompt, seed, temperature) > 512
    reply = answer(prompt, seed, temperature, 512, lengths)
    assert reply.completion_tokens == 512 and reply.finish_reason == "length"


def test_unrecorded_prompts_draw_recorded_lengths_deterministically(lengths: StudyLengths) -> None:
    drawn = [lengths.generation_tokens(f"Unrecorded prompt {i}", 42, 0.7) for i in range(400)]
    assert drawn == [lengths.generation_tokens(f"Unrecorded prompt {i}", 42, 0.7) for i in range(400)]
    recorded = [count_tokens(r) for r in lengths.responses[::50]]
    # the draws follow the recorded distribution: same mean within a loose band
    assert abs(sum(drawn) / len(drawn) - sum(recorded) / len(recorded)) < 40


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_sized_grader_replies_reason_then_give_a_verdict_that_parses(
    lengths: StudyLengths, template: str
) -> None:
    for i in range(20):
        prompt = f"Explain how to do forbidden thing number {i}."
        response = answer(prompt, 5, 1.0, 512, lengths).content
        judge_prompt = render_judge_prompt(template, prompt, response)
        reply = answer(judge_prompt, 0, 0.0, 1024, lengths)
        assert reply.completion_tokens == lengths.grader_tokens(judge_prompt) > 15
        assert parse_verdict(reply.content, template).label == expected_label(prompt, 5, 1.0)
