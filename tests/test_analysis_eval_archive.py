"""The fast `.eval` reader against Inspect's own `read_eval_log`, on a log Inspect itself wrote.

`analysis/eval_archive.py` reads Inspect's archive layout by hand (for speed). If a new Inspect
version moves a sample's members or fields, these tests fail and name the field that differs.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import EvalLog, read_eval_log, write_eval_log
from inspect_ai.model import ModelOutput, get_model
from inspect_ai.scorer import Score, Target, accuracy, scorer
from inspect_ai.solver import TaskState, generate

from refusal_stability.analysis import eval_archive

LONG = "Sure. " + "Here is a long answer that Inspect pools into the attachments of the events. " * 40
"""A long response: Inspect pools long texts of the events out of the sample (`attachment://`)."""


@scorer(metrics=[accuracy()])
def _labeller():
    """Refuse short answers, comply with long ones; the third epoch of prompt b is unscored."""

    async def score(state: TaskState, target: Target) -> Score:
        if state.sample_id == "b" and state.epoch == 3:
            return Score(value=math.nan, explanation="could not parse", metadata={"judge": "j", "why": None})
        label = "COMPLY" if len(state.output.completion) > 100 else "REFUSE"
        return Score(
            value=label, explanation=f"{label} because", metadata={"judge": "j", "epoch": state.epoch}
        )

    return score


def _outputs(input, tools, tool_choice, config) -> ModelOutput:
    text = LONG if "long" in str(input[-1].content) else "I can't help with that."
    return ModelOutput.from_content("mockllm/model", text, stop_reason="stop")


@pytest.fixture(scope="module")
def inspect_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A log written by Inspect's `eval` (events, attachments and all): 2 prompts x 3 epochs."""
    dataset = [
        Sample(id="a", input="say no", metadata={"dataset": "d", "harmful": True, "category": "x"}),
        Sample(id="b", input="give a long answer", metadata={"dataset": "d", "harmful": False}),
    ]
    task = Task(dataset=dataset, solver=generate(), scorer=_labeller(), epochs=3)
    model = get_model("mockllm/model", custom_outputs=_outputs)
    [log] = eval(task, model=model, display="none", log_dir=str(tmp_path_factory.mktemp("logs")))
    assert log.status == "success", log.error
    return log.location


def _compare(fast: dict, sample) -> None:
    """Every field the analysis reads, fast reader vs Inspect, with the field named on failure."""
    where = f"sample {sample.id} epoch {sample.epoch}"
    assert fast["id"] == sample.id and fast["epoch"] == sample.epoch, where
    assert fast["metadata"] == sample.metadata, f"{where}: metadata"
    assert eval_archive.completion_of(fast) == sample.output.completion, f"{where}: output.completion"
    assert set(fast["scores"]) == set(sample.scores), f"{where}: scorer names"
    for name, score in sample.scores.items():
        mine = fast["scores"][name]
        expected = score.model_dump(mode="json")
        for field in ("value", "explanation", "metadata"):
            a, b = mine.get(field), expected.get(field)
            both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
            assert both_nan or a == b, f"{where}: scores.{name}.{field}: {a!r} != {b!r}"


def test_fast_reader_matches_read_eval_log_on_every_sample(inspect_log: str):
    inspect_samples = read_eval_log(inspect_log, resolve_attachments=True).samples
    fast = {(s["id"], s["epoch"]): s for s in eval_archive.iter_sample_dicts(inspect_log)}
    assert sorted(fast) == sorted((s.id, s.epoch) for s in inspect_samples)  # none missed, none extra
    for sample in inspect_samples:
        _compare(fast[(sample.id, sample.epoch)], sample)
    assert {eval_archive.completion_of(s) for s in fast.values()} == {LONG, "I can't help with that."}


def test_pooled_responses_are_resolved_like_inspect(inspect_log: str, tmp_path: Path):
    """A response stored as `attachment://<hash>` is read from the sample's attachments.

    Inspect pools long texts of the events (not, today, the output); the reader resolves a pooled
    output anyway, so a change of Inspect's pooling cannot turn responses into hashes silently.
    """
    log: EvalLog = read_eval_log(inspect_log)
    sample = log.samples[0]
    sample.attachments = {"abc123": LONG}
    sample.output.completion = "attachment://abc123"  # as Inspect stores a pooled response
    log.samples = [sample]
    path = tmp_path / "pooled.eval"
    write_eval_log(log, str(path))
    [fast] = list(eval_archive.iter_sample_dicts(path))
    assert eval_archive.completion_of(fast) == LONG


def test_json_logs_read_whole(inspect_log: str, tmp_path: Path):
    path = tmp_path / "log.json"
    write_eval_log(read_eval_log(inspect_log), str(path), format="json")
    inspect_samples = read_eval_log(str(path), resolve_attachments=True).samples
    fast = {(s["id"], s["epoch"]): s for s in eval_archive.iter_sample_dicts(path)}
    for sample in inspect_samples:
        _compare(fast[(sample.id, sample.epoch)], sample)


def test_read_fields_stops_early_and_ignores_key_order():
    text = json.dumps({"events": [1, 2, {"metadata": "nested"}], "metadata": {"x": 1}, "id": "a", "epoch": 2})
    assert eval_archive.read_fields(text, ("id", "epoch", "metadata")) == {
        "id": "a",
        "epoch": 2,
        "metadata": {"x": 1},
    }
    assert eval_archive.read_fields('{"id": 1, "rest": [}', ("id",)) == {
        "id": 1
    }  # never parses past what it needs
    assert eval_archive.read_fields(" { } ", ("id",)) == {}


def test_header_is_the_one_read_eval_log_reads(inspect_log: str):
    """`LogArchive.header` validates `header.json` itself; it must equal Inspect's header-only read.

    Less the epoch reductions (`reductions.json`), which the analysis never reads.
    """
    with eval_archive.LogArchive(inspect_log) as archive:
        mine = archive.header()
    theirs = read_eval_log(inspect_log, header_only=True)
    assert mine.samples is None and theirs.samples is None
    assert mine.reductions is None and theirs.reductions
    exclude = {"reductions"}
    assert mine.model_dump(mode="json", exclude=exclude) == theirs.model_dump(mode="json", exclude=exclude)


def _rezip(source: str, target: Path, compression: int, corrupt: str | None = None) -> None:
    """Copy an archive member by member with another compression; optionally flip a byte of one member."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", compression=compression) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data)
    if corrupt:  # flip the first byte of the member's stored data (stored: no compression to break)
        with zipfile.ZipFile(target) as z:
            info = z.getinfo(corrupt)
        raw = bytearray(target.read_bytes())
        name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
        raw[info.header_offset + 30 + name_len + extra_len] ^= 0xFF
        target.write_bytes(bytes(raw))


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_members_of_other_compressions_read_alike(inspect_log: str, tmp_path: Path, compression: int):
    """Inspect writes zstd members; deflated (older Inspect) and stored members read the same."""
    path = tmp_path / "other.eval"
    _rezip(inspect_log, path, compression)
    with eval_archive.LogArchive(path) as archive:
        assert archive.header().eval.eval_id == read_eval_log(inspect_log, header_only=True).eval.eval_id
        mine = {(s["id"], s["epoch"]): s for s in archive.samples()}
    expected = {(s["id"], s["epoch"]): s for s in eval_archive.iter_sample_dicts(inspect_log)}
    assert mine == expected


def test_a_member_whose_crc_fails_is_an_error_not_a_sample(inspect_log: str, tmp_path: Path):
    path = tmp_path / "corrupt.eval"
    with zipfile.ZipFile(inspect_log) as z:
        member = next(n for n in z.namelist() if n.startswith("samples/"))
    _rezip(inspect_log, path, zipfile.ZIP_STORED, corrupt=member)
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        list(eval_archive.iter_sample_dicts(path))


@pytest.mark.parametrize("compression", [None, zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_members_read_from_their_own_span_equal_zipfile(inspect_log: str, tmp_path: Path, compression):
    """Before `samples` loads the whole file, a member is read from its own span of the file (the
    header and the summaries): every member so read equals `zipfile`'s, and the file is not loaded."""
    path = inspect_log if compression is None else tmp_path / "other.eval"
    if compression is not None:
        _rezip(inspect_log, path, compression)
    with zipfile.ZipFile(path) as z:
        expected = {info.filename: z.read(info) for info in z.infolist()}
    with eval_archive.LogArchive(path) as archive:
        assert archive._zip is not None

        def not_zipfile(info: zipfile.ZipInfo) -> bytes:
            raise AssertionError(f"{info.filename} was not read from its span")

        archive._zip.read = not_zipfile  # type: ignore[method-assign]
        archive.header()
        assert archive._data is None
        got = {info.filename: archive._member(info) for info in archive._zip.infolist()}
        assert archive._data is None
    assert got == expected and len(got) > 3


def test_a_header_whose_crc_fails_is_an_error(inspect_log: str, tmp_path: Path):
    """A corrupt member read from its span fails its CRC check as one sliced from the whole file does."""
    path = tmp_path / "corrupt.eval"
    _rezip(inspect_log, path, zipfile.ZIP_STORED, corrupt=eval_archive.HEADER_MEMBER)
    with eval_archive.LogArchive(path) as archive, pytest.raises(zipfile.BadZipFile, match="CRC"):
        archive.header()


def test_read_fields_equals_json_loads_with_and_without_whitespace():
    record = {"id": "a", "epoch": 2, "messages": [{"c": 'x,"output":{'}], "output": {"completion": "ok"}}
    for text in (json.dumps(record), json.dumps(record, indent=2), json.dumps(record, separators=(",", ":"))):
        assert eval_archive.read_fields(text, ("id", "output")) == {"id": "a", "output": {"completion": "ok"}}
    with pytest.raises(json.JSONDecodeError):
        eval_archive.read_fields('{"id": nope}', ("id",))


def _slow_fields(raw: bytes) -> dict:
    """What `decode_fields` must agree with: `read_fields` (the standard library's scanner)."""
    return eval_archive.read_fields(raw.decode("utf-8"), eval_archive.SAMPLE_FIELDS)


def _same_reading(fast: dict, slow: dict) -> None:
    """The same fields, the same response, and equal values (NaN equal to NaN) for every other field."""
    assert set(fast) == set(slow)
    if isinstance(slow.get("output", {}), dict):
        assert eval_archive.completion_of(fast) == eval_archive.completion_of(slow)
    else:  # not an output Inspect writes: read as the standard library reads it
        assert fast["output"] == slow["output"]
    for name in set(fast) - {"output"}:
        assert json.dumps(fast[name], sort_keys=True) == json.dumps(slow[name], sort_keys=True), name


def test_decode_fields_reads_every_sample_member_as_read_fields_does(inspect_log: str):
    """msgspec's typed decoder against the standard library on every sample Inspect wrote (one is NaN)."""
    with zipfile.ZipFile(inspect_log) as z:
        members = [z.read(n) for n in z.namelist() if n.startswith("samples/")]
    assert members and any(b"NaN" in m for m in members)  # the fallback is exercised too
    for raw in members:
        _same_reading(eval_archive.decode_fields(raw), _slow_fields(raw))


@pytest.mark.parametrize(
    "record",
    [
        {"id": 7, "epoch": 1, "output": {"completion": "ok", "choices": []}, "events": [{"output": 1}]},
        {"id": "a", "epoch": 2, "output": {"completion": "", "choices": [{"message": {"content": "hi"}}]}},
        {
            "id": "a",
            "epoch": 2,
            "output": {"choices": [{"message": {"content": [{"type": "text", "text": "t"}]}}]},
        },
        {"id": "a", "epoch": 1, "output": None, "scores": None, "metadata": {"k": [1, 2.5]}},
        {"id": "a", "output": "not an object", "scores": {"s": {"value": float("nan")}}},
        {"metadata": {"x": "\ud83d\ude00 and a lone \udc00"}, "epoch": 3},
        {},
    ],
)
def test_decode_fields_equals_read_fields_on_odd_records(record: dict):
    raw = json.dumps(record).encode("utf-8")  # json.dumps escapes lone surrogates, writes NaN bare
    _same_reading(eval_archive.decode_fields(raw), _slow_fields(raw))
