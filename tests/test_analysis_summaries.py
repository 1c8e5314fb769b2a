"""Reading a log's sample summaries instead of its samples: only where they give the same rows.

The scorers record each response's digest and length and whether Inspect's thinning of summary
strings leaves every value the analysis reads as it was (`schema.summary_exact`); the loader reads
`summaries.json` only when every score says so (`eval_archive.LogArchive.summary_samples`). Each
test here compares the rows with those read sample by sample from the same log.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import EvalSampleSummary
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from refusal_stability.analysis import eval_archive, load, tidy
from refusal_stability.schema import (
    RESPONSE_HASH_KEY,
    RESPONSE_LENGTH_KEY,
    SUMMARY_EXACT_KEY,
    SUMMARY_TEXT_LIMIT,
    response_digest,
    summary_exact,
)
from refusal_stability.scorers.llm import llm_judge
from refusal_stability.scorers.offline import offline_judge
from refusal_stability.solvers.grid import grid_generate

RESPONSES = {
    "p-refuse": "I'm sorry, but I can't help with that.",
    "p-steps": "Sure:\n\n1.  First   gather the materials.\n2. Then combine them.",
    "p-empty": "",
    "p-unicode": "Non,\u00a0merci — je ne peux pas 🙂",
}
NORMAL = {"p-refuse": "cyber", "p-steps": "chemical_biological", "p-empty": None, "p-unicode": "fraud"}

STRINGS = [
    "cyber",
    "chemical_biological",
    "two words",
    "two  spaces",
    " leading",
    "trailing ",
    "line\nbreak",
    "tab\there",
    "no\u00a0break",
    "x" * SUMMARY_TEXT_LIMIT,
    "x" * (SUMMARY_TEXT_LIMIT + 1),
    "word " * 300,
    "",
]


def _thinned(value: object) -> object:
    """What Inspect's sample summary keeps of a metadata value."""
    summary = EvalSampleSummary(id=1, epoch=1, input="x", target="", metadata={"k": value})
    return summary.metadata.get("k", "<dropped>")


@pytest.mark.parametrize("value", [*STRINGS, None, True, 3, 0.7, ["a", "b"], {"k": "v"}])
def test_summary_exact_vouches_only_for_values_inspect_keeps(value: object) -> None:
    if summary_exact(value):
        assert _thinned(value) == value
    else:  # not vouched for: structures, and strings thinning could change
        assert not isinstance(value, (bool, int, float)) and value is not None


def test_thinning_does_change_what_is_not_vouched_for() -> None:
    # the check matters: these come out of a summary different, and nothing in them says so
    assert _thinned("two  spaces") == "two spaces"
    assert _thinned("line\nbreak") == "line break"
    assert _thinned("word " * 300) != "word " * 300
    assert [s for s in STRINGS if summary_exact(s)] == [
        "cyber",
        "chemical_biological",
        "two words",
        "x" * SUMMARY_TEXT_LIMIT,
        "",
    ]


def _output(text: str) -> ModelOutput:
    out = ModelOutput.from_content("mockllm/model", text)
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


def _run(tmp_path: Path, categories: dict[str, str | None]) -> Path:
    """The suite's solver and two judges over four prompts x 2 cells; the log's path."""

    def tested(input, tools, tool_choice, config) -> ModelOutput:  # noqa: ANN001
        return _output(RESPONSES[input[-1].text])

    def grader(input, tools, tool_choice, config) -> ModelOutput:  # noqa: ANN001
        return _output("The response gives steps.\nVERDICT: COMPLY")

    samples = [
        Sample(
            input=p, id=p, metadata={"dataset": "mine", "category": categories[p], "harmful": p != "p-steps"}
        )
        for p in RESPONSES
    ]
    task = Task(
        dataset=samples, solver=grid_generate([0.0, 0.7], [42]), scorer=[offline_judge(), llm_judge()]
    )
    [log] = eval(
        task,
        model=get_model("mockllm/model", custom_outputs=tested),
        model_roles={"grader": get_model("mockllm/model", custom_outputs=grader)},
        epochs=2,
        display="none",
        log_dir=str(tmp_path),
    )
    assert log.status == "success" and log.location
    return Path(log.location)


def _by_samples(path: Path, monkeypatch: pytest.MonkeyPatch, **options: object) -> load.LoadResult:
    with monkeypatch.context() as m:
        m.setattr(eval_archive.LogArchive, "summary_samples", lambda self: None)
        return load.load_logs(path, **options)


def _same_rows(a: load.LoadResult, b: load.LoadResult) -> None:
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(a.repeats, b.repeats)
    assert a.report_frame().drop(columns="read_from").equals(b.report_frame().drop(columns="read_from"))


def test_the_suites_logs_are_read_from_their_summaries_with_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _run(tmp_path, NORMAL)
    fast = load.load_logs(path)
    slow = _by_samples(path, monkeypatch)
    assert [r.read_from for r in fast.logs] == ["summaries"]
    assert [r.read_from for r in slow.logs] == ["samples"]
    _same_rows(fast, slow)
    frame = fast.frame
    assert len(frame) == 4 * 2 * 2  # prompts x cells (one an epoch) x judges
    empty = frame[frame[tidy.PROMPT_ID] == "p-empty"]
    assert (empty[tidy.RESPONSE_LENGTH] == 0).all()
    assert (empty[tidy.RESPONSE_HASH] == tidy.response_hash("")).all()
    steps = frame[frame[tidy.PROMPT_ID] == "p-steps"]
    assert (steps[tidy.RESPONSE_LENGTH] == len(RESPONSES["p-steps"])).all()
    assert (steps[tidy.RESPONSE_HASH] == tidy.response_hash(RESPONSES["p-steps"])).all()


def test_a_value_thinning_would_change_sends_the_log_to_its_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = {**NORMAL, "p-steps": "chemical  biological\n"}
    path = _run(tmp_path, odd)
    fast = load.load_logs(path)
    assert [r.read_from for r in fast.logs] == ["samples"]
    _same_rows(fast, _by_samples(path, monkeypatch))
    categories = set(fast.frame[tidy.CATEGORY].dropna())
    assert "chemical  biological\n" in categories  # as the dataset wrote it, not as the summary shows it


def test_responses_and_label_maps_need_the_samples(tmp_path: Path) -> None:
    path = _run(tmp_path, NORMAL)
    kept = load.load_logs(path, keep_responses=True)
    assert [r.read_from for r in kept.logs] == ["samples"]
    assert set(kept.frame[tidy.RESPONSE]) == set(RESPONSES.values())


def _rewrite_summaries(path: Path, out: Path, change) -> Path:  # noqa: ANN001
    """A copy of the log whose `summaries.json` is `change(summaries)` (a later copy of a member wins)."""
    out.write_bytes(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        summaries = json.loads(eval_archive.LogArchive(path)._member(archive.getinfo("summaries.json")))
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Duplicate name:", category=UserWarning)
        archive.writestr("summaries.json", json.dumps(change(summaries)))
    return out


def _drop_first(summaries: list) -> list:
    return summaries[1:]


def _twice_the_first(summaries: list) -> list:
    return [summaries[0], *summaries[1:-1], summaries[0]]


def _one_unflagged(summaries: list) -> list:
    for score in summaries[0]["scores"].values():
        score["metadata"][SUMMARY_EXACT_KEY] = False
    return summaries


def _judges_disagree_on_the_response(summaries: list) -> list:
    first = next(iter(summaries[0]["scores"].values()))
    first["metadata"][RESPONSE_HASH_KEY] = response_digest("another response")
    return summaries


def _no_length(summaries: list) -> list:
    for score in summaries[0]["scores"].values():
        del score["metadata"][RESPONSE_LENGTH_KEY]
    return summaries


def _no_scores(summaries: list) -> list:
    summaries[0]["scores"] = None
    return summaries


@pytest.mark.parametrize(
    "change",
    [_drop_first, _twice_the_first, _one_unflagged, _judges_disagree_on_the_response, _no_length, _no_scores],
)
def test_summaries_that_do_not_vouch_for_every_sample_are_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change
) -> None:  # noqa: ANN001
    path = _run(tmp_path / "run", NORMAL)
    copy = _rewrite_summaries(path, tmp_path / "copy.eval", change)
    assert eval_archive.LogArchive(copy).summary_samples() is None
    fast = load.load_logs(copy)
    assert [r.read_from for r in fast.logs] == ["samples"]
    _same_rows(fast, _by_samples(copy, monkeypatch))


def test_unchanged_summaries_rewritten_are_still_used(tmp_path: Path) -> None:
    # the copy above changes nothing but what each case changes
    path = _run(tmp_path / "run", NORMAL)
    copy = _rewrite_summaries(path, tmp_path / "copy.eval", lambda s: s)
    assert [r.read_from for r in load.load_logs(copy).logs] == ["summaries"]


@pytest.mark.parametrize("text", ["", "I'm sorry.", "ünïcode 🙂", "lone \ud800 surrogate", None])
def test_the_recorded_digest_gives_the_tables_response_hash(text: str | None) -> None:
    import hashlib

    digest = hashlib.blake2b((text or "").encode("utf-8", "surrogatepass"), digest_size=8).digest()
    expected = int.from_bytes(digest, "little", signed=True)  # written out again, from hashlib
    assert tidy.response_hash(text) == expected
    assert tidy.digest_hash(response_digest(text)) == expected
