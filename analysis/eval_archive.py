"""The fast reader of Inspect's `.eval` archive: the header, and each sample's JSON parsed as far as needed.

Why not Inspect's sample API: on the replayed study log (17,520 samples, 61 MB) `read_eval_log_samples`
reopens the archive for every sample (90 ms per sample: 26 minutes for this log, a day for a million
samples) and `read_eval_log` validates every sample into pydantic objects (18.6 s even with events and
messages excluded). This reader took 1.6 s for the same log before the changes below.

Why the members are read by hand rather than with `zipfile.ZipFile.read`: through `zipfile` (with the
zstd support Inspect installs into it) a sample member costs about five times what finding it by its
local header and decompressing it with one reused `zstandard` decompressor costs (2,000 samples of a
synthetic log: 526 ms against 109 ms on the loaded 2-core machine), and at a million samples that
difference alone is tens of seconds. The central directory is still parsed by `zipfile`, and any
member this reader does not handle (encrypted, another compression, a size that does not check out)
is read by `zipfile`. Every member's CRC-32 is checked, as `zipfile` checks it.

Why the header is validated here rather than read with `read_eval_log(header_only=True)`: that call
opens and parses the archive's central directory again, and the analysis also needs the samples of the
same archive; `header.json` is validated with Inspect's own `EvalLog` model, so the header is the one
Inspect reads (`tests/test_analysis_eval_archive.py` compares them). A log without `header.json` (still
running, or crashed) is read by `read_eval_log`, which rebuilds its header from the journal.

What it relies on in Inspect's format (and `tests/test_analysis_load.py` checks against `read_eval_log`
for every sample of a log Inspect wrote, so a format change fails loudly there):
- a `.eval` log is a zip archive with one JSON member `samples/<id>_epoch_<n>.json` per sample
  (a later copy of a member wins, as in Inspect) and the header in `header.json`;
- a sample's `id`, `epoch`, `output`, `scores` and `metadata` are top-level keys of that JSON
  (decoded by msgspec, which skips the other fields unparsed: `decode_fields`);
- a response pooled out of the sample is `attachment://<hash>`, its text in the sample's `attachments`.
`.json` logs are parsed whole; anything else is read with Inspect's `read_eval_log`.

Why a log's sample summaries can stand in for its samples (`LogArchive.summary_samples`): Inspect
writes a summary of every sample into `summaries.json` (ids, epochs, metadata and scores, about a
kilobyte, where a sample with its messages and events is ten or more). The rows the analysis makes
of a sample need nothing else once the suite's scorers record the response's digest and length in
each score's metadata, with `summary_exact` saying that Inspect's thinning of summary strings left
every value the analysis reads as it was (`schema.summary_exact`). A log whose summaries do not all
say so, or do not cover its samples one for one, is read sample by sample as above.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from json.scanner import make_scanner
from pathlib import Path
from types import TracebackType
from typing import Any

import inspect_ai.log  # noqa: F401  (importing it installs Inspect's zstd support into zipfile)
import msgspec
import zstandard
from inspect_ai.log import EvalLog, read_eval_log

from refusal_stability.schema import RESPONSE_HASH_KEY, RESPONSE_LENGTH_KEY, SUMMARY_EXACT_KEY

SAMPLE_MEMBER_PREFIX = "samples/"
HEADER_MEMBER = "header.json"
SUMMARIES_MEMBER = "summaries.json"
SUMMARY_EXACT_JSON_KEY = f'"{SUMMARY_EXACT_KEY}"'.encode()
FINGERPRINT = "response_fingerprint"
"""Key of a sample read from its summary: (length, digest) of its response, which is not in the summary."""
ATTACHMENT_PREFIX = "attachment://"
SAMPLE_FIELDS: tuple[str, ...] = ("id", "epoch", "output", "scores", "metadata")
"""The fields of an EvalSample the analysis reads."""
ZIP_STORED, ZIP_DEFLATED, ZIP_ZSTANDARD = 0, 8, 93
LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
"""A zip local file header: signature ... name length, extra length (30 bytes)."""
LOCAL_SIGNATURE = b"PK\x03\x04"
_DECODER = json.JSONDecoder()
_SCAN = make_scanner(_DECODER)
_WS = re.compile(r"[ \t\n\r]*")
_WS_CHARS = frozenset(" \t\n\r")
_DIGEST = re.compile(r"[0-9a-f]{16}")
"""A `schema.response_digest`: 16 lowercase hex digits."""


class _Output(msgspec.Struct):
    """What the analysis reads of a sample's `output`: the completion; the choices left unparsed."""

    completion: Any = None
    choices: msgspec.Raw = msgspec.Raw()
    """The choices' JSON text (empty when absent); a Raw in a union is not supported by msgspec."""


class _Sample(msgspec.Struct):
    """The fields of `SAMPLE_FIELDS`; every other field of the sample is skipped unparsed."""

    id: Any = msgspec.UNSET
    epoch: Any = msgspec.UNSET
    output: _Output | None | msgspec.UnsetType = msgspec.UNSET
    scores: Any = msgspec.UNSET
    metadata: Any = msgspec.UNSET


_SAMPLE_DECODER = msgspec.json.Decoder(_Sample)


class _Summary(msgspec.Struct):
    """What the analysis reads of a sample summary; its input, timings and usage are skipped unparsed."""

    id: Any = None
    epoch: Any = None
    metadata: Any = None
    scores: Any = None


_SUMMARIES_DECODER = msgspec.json.Decoder(list[_Summary])


class LogArchive:
    """One log file, opened once: its header (`header`) and its samples (`samples`).

    Use as a context manager. `.eval` archives are read as the module docstring says; `.json` logs
    are parsed whole; anything else goes through Inspect's `read_eval_log`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._data: bytes | None = None
        if zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)

    def __enter__(self) -> LogArchive:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the archive and free its bytes."""
        if self._zip is not None:
            self._zip.close()
        self._data = None

    def header(self) -> EvalLog:
        """The log's header (no samples), as `read_eval_log(header_only=True)` gives it.

        Except the epoch reductions (`reductions.json`), which are left out (None): the analysis
        reduces epochs itself.
        """
        if self._zip is not None and HEADER_MEMBER in self._zip.NameToInfo:
            data = json.loads(self._member(self._zip.NameToInfo[HEADER_MEMBER]))
            header = EvalLog.model_validate(data)
            header.location = str(self.path)
            return header
        return read_eval_log(str(self.path), header_only=True)

    def samples(self) -> Iterator[dict[str, Any]]:
        """Every sample as parsed JSON, holding at least the fields in `SAMPLE_FIELDS`.

        Archive members are parsed only up to the fields needed (`read_fields`); a sample whose
        response was pooled into `attachments` is parsed whole.
        """
        if self._zip is not None:
            self._data = self.path.read_bytes()  # every member is read: the whole file, once
            for info in self._sample_members().values():  # the last copy of a member wins, as in Inspect
                raw = self._member(info)
                sample = decode_fields(raw)
                if completion_of(sample).startswith(ATTACHMENT_PREFIX):
                    sample = json.loads(raw)  # the response was pooled into `attachments`
                yield sample
            return
        if self.path.suffix == ".json":
            with open(self.path, "rb") as f:
                data = json.load(f)
            yield from data.get("samples") or []
            return
        log = read_eval_log(str(self.path))
        for sample in log.samples or []:
            yield sample.model_dump(mode="json", include={*SAMPLE_FIELDS, "attachments"})

    def summary_samples(self) -> list[dict[str, Any]] | None:
        """The samples as the analysis reads them, from the log's summaries (None where they cannot serve).

        Each sample holds `id`, `epoch`, `metadata`, `scores` and, under `FINGERPRINT`, its response's
        (length, digest) from its scores' metadata. None unless the archive has `summaries.json`
        with exactly one summary per sample member (named as Inspect names the member of a sample),
        and every summary has scores that all say
        `summary_exact` and give the same digest and length (every scorer judged one response).
        """
        if self._zip is None or SUMMARIES_MEMBER not in self._zip.NameToInfo:
            return None
        raw = self._member(self._zip.NameToInfo[SUMMARIES_MEMBER])
        if SUMMARY_EXACT_JSON_KEY not in raw:  # not the suite's scorers: not worth decoding
            return None
        try:
            # An unscored sample's value is Inspect's NaN, which msgspec rejects; one NaN would send the
            # whole member (a kilobyte a sample) through the standard library's parser, several times
            # slower. A score value of NaN reads as None: the analysis treats the two alike (both
            # unscored). The byte sequence cannot occur inside a JSON string, whose quotes are escaped.
            unscored = raw.replace(b'"value":NaN', b'"value":null')
            summaries = [(s.id, s.epoch, s.metadata, s.scores) for s in _SUMMARIES_DECODER.decode(unscored)]
        except msgspec.DecodeError:  # another NaN or Infinity, which is not standard JSON
            data = json.loads(raw)
            if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
                return None
            summaries = [(s.get("id"), s.get("epoch"), s.get("metadata"), s.get("scores")) for s in data]
        members = self._sample_members()
        named = {f"{SAMPLE_MEMBER_PREFIX}{i}_epoch_{e}.json" for i, e, _, _ in summaries}  # Inspect's names
        if len(summaries) != len(members) or named != members.keys():
            return None
        samples = []
        for sample_id, epoch, metadata, scores in summaries:
            fingerprint = _fingerprint(scores)
            if fingerprint is None:
                return None
            samples.append(
                {
                    "id": sample_id,
                    "epoch": epoch,
                    "metadata": metadata,
                    "scores": scores,
                    FINGERPRINT: fingerprint,
                }
            )
        return samples

    def _sample_members(self) -> dict[str, zipfile.ZipInfo]:
        """The archive's sample members (`samples/*.json`) by name, the last copy of a name winning."""
        assert self._zip is not None
        return {
            info.filename: info
            for info in self._zip.infolist()
            if info.filename.startswith(SAMPLE_MEMBER_PREFIX) and info.filename.endswith(".json")
        }

    def _member(self, info: zipfile.ZipInfo) -> bytes:
        """One member's bytes (UTF-8 JSON), found by its local header and decompressed here.

        Sliced from the whole file's bytes once `samples` has read them (it needs every member);
        before that (the header, the summaries) read from the member's own span of the file, so a log
        read from its summaries reads a few per cent of its bytes besides its directory. The CPU is the
        same; logs not in the page cache read faster (a million samples in 500 logs: 0.5 GB read from
        disk instead of 3.7 GB, reading 26 s instead of 32-37 s).
        """
        assert self._zip is not None
        if self._data is not None:
            raw = _decompress(self._data, info, info.header_offset)
        else:
            raw = _decompress(self._span(info), info, 0)
        if raw is None:
            raw = self._zip.read(info)
        return raw

    def _span(self, info: zipfile.ZipInfo) -> bytes:
        """A member's local header, name, extra field and body, read from the file (short if cut off)."""
        with open(self.path, "rb") as f:
            f.seek(info.header_offset)
            head = f.read(LOCAL_HEADER.size)
            if len(head) < LOCAL_HEADER.size:
                return head
            fields = LOCAL_HEADER.unpack(head)
            return head + f.read(fields[-2] + fields[-1] + info.compress_size)


def _fingerprint(scores: Any) -> tuple[int, str] | None:
    """The (length, digest) of the response every score of a summary judged; None unless all vouch for it."""
    if not isinstance(scores, dict) or not scores:
        return None
    found: set[tuple[int, str]] = set()
    for score in scores.values():
        metadata = score.get("metadata") if isinstance(score, dict) else None
        if not isinstance(metadata, dict) or metadata.get(SUMMARY_EXACT_KEY) is not True:
            return None
        length, digest = metadata.get(RESPONSE_LENGTH_KEY), metadata.get(RESPONSE_HASH_KEY)
        if type(length) is not int or not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            return None
        found.add((length, digest))
    return found.pop() if len(found) == 1 else None


_ZSTD = zstandard.ZstdDecompressor()


def _decompress(data: bytes, info: zipfile.ZipInfo, start: int) -> bytes | None:
    """A member's bytes from bytes holding its local header at `start`, or None when `zipfile` must read it.

    Raises:
        zipfile.BadZipFile: The member's CRC-32 does not match (as `zipfile` raises).
    """
    if info.flag_bits & 0x1 or start + LOCAL_HEADER.size > len(data):  # encrypted, or cut short
        return None
    fields = LOCAL_HEADER.unpack_from(data, start)
    if fields[0] != LOCAL_SIGNATURE:
        return None
    begin = start + LOCAL_HEADER.size + fields[-2] + fields[-1]
    body = data[begin : begin + info.compress_size]
    if info.compress_type == ZIP_ZSTANDARD:
        raw = _ZSTD.decompressobj().decompress(body)
    elif info.compress_type == ZIP_DEFLATED:
        raw = zlib.decompress(body, -15)
    elif info.compress_type == ZIP_STORED:
        raw = body
    else:
        return None
    if len(raw) != info.file_size:
        return None
    if zlib.crc32(raw) != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 for member {info.filename}")
    return raw


def iter_sample_dicts(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield every sample of a log as parsed JSON (`LogArchive.samples`)."""
    with LogArchive(path) as archive:
        yield from archive.samples()


def decode_fields(raw: bytes) -> dict[str, Any]:
    """The fields of `SAMPLE_FIELDS` of a sample's JSON, as `read_fields` gives them, three times faster.

    msgspec decodes the fields into a typed struct and skips every other field (the bulky `messages`
    and `events`) in C without building it: on the synthetic benchmark's 23 kB samples 22 us a sample
    against 61 us for `read_fields` (about 40 s of CPU at a million samples). Of `output` only the
    completion is decoded; its `choices` are parsed (by `json`) only when the completion is empty, the
    only case `completion_of` reads them. JSON that msgspec rejects, chiefly Inspect's `NaN` for an
    unscored sample, which is not standard JSON, is read by `read_fields` (the standard library's
    scanner accepts it), as is a sample whose `output` is not an object.
    """
    try:
        sample = _SAMPLE_DECODER.decode(raw)
    except msgspec.DecodeError:  # NaN / Infinity, or a field of an unexpected shape
        return read_fields(raw.decode("utf-8"), SAMPLE_FIELDS)
    out: dict[str, Any] = {}
    for name in SAMPLE_FIELDS:
        value = getattr(sample, name)
        if value is msgspec.UNSET:
            continue
        if isinstance(value, _Output):
            output: dict[str, Any] = {"completion": value.completion}
            if not value.completion and len(value.choices):
                output["choices"] = json.loads(bytes(value.choices))
            value = output
        out[name] = value
    return out


def read_fields(text: str, fields: Iterable[str]) -> dict[str, Any]:
    """Parse the named top-level fields of a JSON object, stopping once all are found.

    A sample's bulky `events` come after the fields the analysis needs, so stopping early parses
    about a sixth of the text. The result does not depend on the order of the keys (a field that
    comes late just costs more parsing); fields absent from the object are absent from the result.
    Each key and value is parsed by the standard library's JSON scanner (C); whitespace, which
    Inspect's compact JSON does not have, is skipped only where present, since at a million samples
    the Python-level steps between values cost as much as the values themselves.

    Raises:
        json.JSONDecodeError: A value is not valid JSON (the position is in the message).
    """
    need = set(fields)
    out: dict[str, Any] = {}
    i = _WS.match(text, 0).end()
    if text[i : i + 1] != "{":
        raise ValueError("sample JSON is not an object")
    i += 1
    try:
        while need:
            if text[i] in _WS_CHARS:
                i = _WS.match(text, i).end()
            if text[i] == "}":
                break
            key, i = _SCAN(text, i)
            if text[i] != ":":
                i = _WS.match(text, i).end()
            i += 1  # the colon
            if text[i] in _WS_CHARS:
                i = _WS.match(text, i).end()
            value, i = _SCAN(text, i)
            if key in need:
                out[key] = value
                need.discard(key)
            if text[i] in _WS_CHARS:
                i = _WS.match(text, i).end()
            if text[i] == ",":
                i += 1
    except StopIteration as ex:  # how the scanner says "no JSON value here"
        raise json.JSONDecodeError("Expecting value", text, ex.value) from None
    return out


def completion_of(sample: dict[str, Any]) -> str:
    """The model's response in a sample: `output.completion`, else the first choice's text."""
    output = sample.get("output") or {}
    text = output.get("completion")
    if not text:
        choices = output.get("choices") or []
        content = ((choices[0] or {}).get("message") or {}).get("content") if choices else None
        if isinstance(content, list):
            text = "\n".join(c.get("text", "") for c in content if c.get("type") == "text")
        else:
            text = content or ""
    if text.startswith(ATTACHMENT_PREFIX):
        text = (sample.get("attachments") or {}).get(text[len(ATTACHMENT_PREFIX) :], text)
    return text
