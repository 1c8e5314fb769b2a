"""Every judge's score carries an `answer`: the first words of the response, shown in `inspect view`'s sample list."""

from __future__ import annotations

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from refusal_stability.scorers.auto import auto_judge
from refusal_stability.scorers.cascade import cascade_judge
from refusal_stability.scorers.common import ANSWER_MAX_CHARS, ANSWER_MAX_WORDS, answer_preview
from refusal_stability.scorers.llm import llm_judge
from refusal_stability.scorers.offline import offline_judge
from refusal_stability.solvers.grid import grid_generate

LONG = "Sure, here is how to do it:\n\n1.  First   gather the materials.\n2. Then combine them carefully."
RESPONSES = {
    "p-refuse": "I'm sorry, but I can't help with that.",
    "p-long": LONG,
    "p-empty": "",
}
EXPECTED = {
    "p-refuse": "I'm sorry, but I can't help with that.",
    "p-long": "Sure, here is how to do it: 1. First gather the materials.…",  # 12 words, then the ellipsis
    "p-empty": "",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", ""),
        ("  \n\t ", ""),
        ("I'm  sorry,\n\n but   no.", "I'm sorry, but no."),
        (" ".join(f"w{i}" for i in range(12)), " ".join(f"w{i}" for i in range(12))),
        (" ".join(f"w{i}" for i in range(13)), " ".join(f"w{i}" for i in range(12)) + "…"),
        ("x" * 300, "x" * (ANSWER_MAX_CHARS - 1) + "…"),
        ("short " + "y" * 300, "short " + "y" * (ANSWER_MAX_CHARS - 7) + "…"),
    ],
)
def test_answer_preview_by_hand(text: str | None, expected: str | None) -> None:
    assert answer_preview(text) == expected


def test_answer_preview_limits() -> None:
    text = " ".join(["word"] * 50)
    preview = answer_preview(text)
    assert preview is not None and preview.endswith("…")
    assert len(preview.rstrip("…").split(" ")) == ANSWER_MAX_WORDS
    assert len(preview) <= ANSWER_MAX_CHARS


def _output(text: str) -> ModelOutput:
    out = ModelOutput.from_content("mockllm/model", text)
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


def test_every_judge_gives_each_score_the_first_words_of_the_response(tmp_path) -> None:
    def tested(input, tools, tool_choice, config) -> ModelOutput:  # noqa: ANN001
        return _output(RESPONSES[input[-1].text])

    def grader(input, tools, tool_choice, config) -> ModelOutput:  # noqa: ANN001
        return _output("The response gives steps.\nVERDICT: COMPLY")

    task = Task(
        dataset=[Sample(input=prompt, id=prompt) for prompt in RESPONSES],
        solver=grid_generate([0.0], [42]),
        scorer=[offline_judge(), llm_judge(), auto_judge(), cascade_judge()],
    )
    [log] = eval(
        task,
        model=get_model("mockllm/model", custom_outputs=tested),
        model_roles={"grader": get_model("mockllm/model", custom_outputs=grader)},
        display="none",
        log_dir=str(tmp_path),
    )
    assert log.status == "success" and log.samples
    judges = {"offline_judge", "llm_judge", "auto_judge", "cascade_judge"}
    for sample in log.samples:
        assert set(sample.scores) == judges
        for name, score in sample.scores.items():
            assert score.answer == EXPECTED[sample.id], (name, sample.id)
    # the cascade's two stages both carry it: the refusal by the rules, the long answer by the grader
    stages = {s.id: s.scores["cascade_judge"].metadata["stage"] for s in log.samples}
    assert stages == {"p-refuse": "rules", "p-long": "llm", "p-empty": "response_issue"}
