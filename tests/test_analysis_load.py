"""The log loader: Inspect logs (ours and another suite's) into the tidy table, never dropping silently."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalPlan,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    read_eval_log,
    write_eval_log,
)
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, GenerateConfig, ModelOutput
from inspect_ai.scorer import Score

from refusal_stability.analysis import eval_archive, flatten, load, tidy, workers

NOW = datetime.now(timezone.utc).isoformat()


def values(series):
    return [None if pd.isna(v) else v for v in series]


def sample(pid, epoch, response, scores, meta=None):
    return EvalSample(
        id=pid,
        epoch=epoch,
        input=f"prompt {pid}",
        target="",
        metadata=meta or {},
        messages=[ChatMessageUser(content=f"prompt {pid}"), ChatMessageAssistant(content=response)],
        output=ModelOutput.from_content(model="m", content=response),
        scores=scores,
    )


def eval_log(samples, *, status="success", model="mockllm/model", metadata=None, config=None, scorers=()):
    ids = list(dict.fromkeys(s.id for s in samples))
    return EvalLog(
        eval=EvalSpec(
            created=NOW,
            task="t",
            dataset=EvalDataset(name="ds", samples=len(ids), sample_ids=ids),
            model=model,
            config=EvalConfig(epochs=max(s.epoch for s in samples)),
            model_generate_config=config or GenerateConfig(),
            metadata=metadata,
        ),
        plan=EvalPlan(),
        results=EvalResults(scores=[EvalScore(name=s, scorer=s) for s in scorers]),
        stats=EvalStats(started_at=NOW, completed_at=NOW),
        status=status,
        samples=samples,
    )


def verdict(value, judge=None, t=None, seed=None):
    meta = {k: v for k, v in (("judge", judge), ("temperature", t), ("seed", seed)) if v is not None}
    return Score(value=value, metadata=meta or None)


def ours(pid, epoch, t, seed, response, values, harmful=True):
    """A sample as the suite writes it: per-epoch metadata, one score per judge."""
    meta = {
        "dataset": "paper",
        "category": "cyber",
        "harmful": harmful,
        "temperature": t,
        "seed": seed,
        "grid_index": epoch - 1,
    }
    scores = {f"s{i}": verdict(v, judge=f"judge{i}", t=t, seed=seed) for i, v in enumerate(values)}
    return sample(pid, epoch, response, scores, meta)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    good = [
        ours("a", 1, 0.0, 42, "no", ["REFUSE", "REFUSE"]),
        ours("a", 2, 0.0, 43, "no", ["REFUSE", float("nan")]),
        ours("a", 3, 1.0, 42, "sure, here", ["COMPLY", "PARTIAL"]),
        ours("b", 1, 0.0, 42, "fine", ["UNKNOWN", "COMPLY"], harmful=False),
        ours("b", 2, 0.0, 43, "fine", ["COMPLY", "COMPLY"], harmful=False),
        ours("b", 3, 1.0, 42, "ok", ["COMPLY", "REFUSE"], harmful=False),
    ]
    good.append(sample("c", 1, "errored", {}, {"dataset": "paper", "temperature": 0.0, "seed": 42}))
    write_eval_log(
        eval_log(good, metadata={"ft_seed": 3, "checkpoint": "step-100"}, scorers=("s0", "s1")),
        str(folder / "good.eval"),
    )
    bad = [ours("a", 1, 0.0, 42, "no", ["REFUSE"])]
    write_eval_log(eval_log(bad, status="error"), str(folder / "failed.eval"))
    return folder


def test_loads_our_logs_with_judges_unscored_and_run_labels(logs: Path):
    result = load.load_logs(logs / "good.eval")
    f = result.frame
    assert len(f) == 14  # 6 samples x 2 scorers + the unscored sample x 2 known scorers
    assert set(f[tidy.JUDGE]) == {"judge0", "judge1"}
    assert f[tidy.RUN].unique().tolist() == ["mockllm/model [checkpoint=step-100, ft_seed=3]"]
    assert f[tidy.FT_SEED].unique().tolist() == [3] and f[tidy.CHECKPOINT].unique().tolist() == ["step-100"]
    notes = f[tidy.NOTE].value_counts().to_dict()
    assert (
        notes[tidy.NOTE_UNSCORED] == 1
        and notes[tidy.NOTE_NOT_A_VERDICT] == 1
        and notes[tidy.NOTE_NO_SCORE] == 2
    )
    assert f[tidy.VERDICT].isna().sum() == 4
    assert result.logs[0].unscored == 4 and result.logs[0].samples == 7
    a0 = f[(f[tidy.PROMPT_ID] == "a") & (f[tidy.EPOCH] == 3) & (f[tidy.JUDGE] == "judge1")].iloc[0]
    assert (a0[tidy.TEMPERATURE], a0[tidy.SEED], a0[tidy.VERDICT]) == (1.0, 42, "PARTIAL")
    assert a0[tidy.RESPONSE_LENGTH] == len("sure, here") and a0[tidy.RESPONSE_HASH] == tidy.response_hash(
        "sure, here"
    )
    assert bool(f.loc[f[tidy.PROMPT_ID] == "b", tidy.HARMFUL].iloc[0]) is False
    assert f[tidy.DATASET].unique().tolist() == ["paper"]


def test_incomplete_logs_reported_and_skipped_unless_asked(logs: Path):
    result = load.load_logs(logs)
    skipped = result.skipped
    assert [Path(r.path).name for r in skipped] == ["failed.eval"]
    assert "status is 'error'" in skipped[0].reason and "include_incomplete" in skipped[0].reason
    assert set(result.frame[tidy.LOG]) == {"good.eval"}
    report = result.report_frame().set_index("path")
    assert not report.loc[str((logs / "failed.eval").resolve()), "included"]

    used = load.load_logs(logs, include_incomplete=True)
    assert set(used.frame[tidy.LOG]) == {"good.eval", "failed.eval"}
    assert [Path(r.path).name for r in used.incomplete_included] == ["failed.eval"]
    assert "used because include_incomplete" in used.incomplete_included[0].reason


def test_another_suites_log_takes_temperature_from_generate_config(tmp_path: Path):
    samples = [
        sample("q1", e, f"answer {e}", {"match": Score(value=v)})
        for e, v in ((1, "C"), (2, "comply"), (3, 0.5))
    ]
    path = tmp_path / "other.eval"
    write_eval_log(eval_log(samples, config=GenerateConfig(temperature=0.5, seed=7)), str(path))
    f = load.load_logs(path).frame
    assert f[tidy.TEMPERATURE].unique().tolist() == [0.5] and f[tidy.SEED].unique().tolist() == [7]
    assert f[tidy.JUDGE].unique().tolist() == ["match"]  # no judge metadata: the scorer's name
    assert values(f[tidy.VERDICT]) == [None, "COMPLY", None]  # "comply" is a verdict
    assert values(f[tidy.NOTE]) == [tidy.NOTE_NOT_A_VERDICT, None, tidy.NOTE_NOT_A_VERDICT]
    assert f[tidy.DATASET].unique().tolist() == ["ds"] and bool(f[tidy.HARMFUL].all())

    bare = tmp_path / "bare.eval"
    write_eval_log(eval_log(samples[:1]), str(bare))
    g = load.load_logs(bare).frame
    assert g[tidy.TEMPERATURE].isna().all() and g[tidy.SEED].isna().all()


def test_fast_path_matches_inspects_reader(logs: Path):
    path = logs / "good.eval"
    fast = {(s["id"], s["epoch"]): s for s in eval_archive.iter_sample_dicts(path)}
    for s in read_eval_log(str(path)).samples:
        mine = fast[(s.id, s.epoch)]
        assert eval_archive.completion_of(mine) == s.output.completion
        assert mine["metadata"] == s.metadata
        assert {k: v["value"] for k, v in (mine["scores"] or {}).items()}.keys() == (s.scores or {}).keys()


def test_json_logs_unreadable_files_and_missing_paths(tmp_path: Path, logs: Path):
    write_eval_log(read_eval_log(str(logs / "good.eval")), str(tmp_path / "good.json"), format="json")
    (tmp_path / "notes.json").write_text('{"not": "a log"}')
    result = load.load_logs([tmp_path / "good.json", tmp_path / "notes.json"])
    by_name = {Path(r.path).name: r for r in result.logs}
    assert by_name["good.json"].included and by_name["good.json"].rows == 14
    assert not by_name["notes.json"].included and "not a readable eval log" in by_name["notes.json"].reason
    with pytest.raises(FileNotFoundError):
        load.load_logs(tmp_path / "nope")


def test_many_logs_in_worker_processes_keep_order(logs: Path, tmp_path: Path):
    for k in range(4):
        write_eval_log(eval_log([ours(f"p{k}", 1, 0.0, 42, "x", ["REFUSE"])]), str(tmp_path / f"l{k}.eval"))
    serial = load.load_logs(tmp_path, workers=1)
    parallel = load.load_logs(tmp_path, workers=2, progress=True)
    assert serial.frame.astype(str).equals(parallel.frame.astype(str))
    assert [r.path for r in serial.logs] == [r.path for r in parallel.logs]


def test_judge_name_clash_is_disambiguated(tmp_path: Path):
    s = sample("a", 1, "x", {"s1": verdict("REFUSE", judge="same"), "s2": verdict("COMPLY", judge="same")})
    write_eval_log(eval_log([s]), str(tmp_path / "clash.eval"))
    f = load.load_logs(tmp_path / "clash.eval").frame
    assert sorted(f[tidy.JUDGE]) == ["same (s1)", "same (s2)"]


def test_same_eval_twice_is_read_once(tmp_path: Path):
    log = eval_log([ours("a", 1, 0.0, 42, "x", ["REFUSE"]), ours("a", 2, 0.0, 43, "y", ["COMPLY"])])
    log.eval.eval_id = "E1"
    write_eval_log(log, str(tmp_path / "first.eval"))
    write_eval_log(log, str(tmp_path / "copy.eval"))
    retry = log.model_copy(deep=True)
    retry.status, retry.samples = "error", retry.samples[:1]
    write_eval_log(retry, str(tmp_path / "failed.eval"))
    result = load.load_logs(tmp_path, include_incomplete=True)
    assert len(result.frame) == 2
    used = [Path(r.path).name for r in result.logs if r.included]
    assert len(used) == 1 and used[0] in ("first.eval", "copy.eval")
    reasons = {Path(r.path).name: r.reason for r in result.logs if not r.included}
    assert len(reasons) == 2 and all("same eval_id" in v for v in reasons.values())


def test_unscored_sample_first_in_the_log_gets_the_judge_name(tmp_path: Path):
    """A sample without scores takes its scorer's judge name even when it comes before any scored one."""
    first = sample("c", 1, "errored", {}, {"dataset": "paper"})
    scored = ours("a", 1, 0.0, 42, "no", ["REFUSE", "COMPLY"])
    write_eval_log(eval_log([first, scored], scorers=("s0", "s1")), str(tmp_path / "first.eval"))
    f = load.load_logs(tmp_path / "first.eval").frame
    assert sorted(set(f[tidy.JUDGE])) == ["judge0", "judge1"]
    assert f.loc[f[tidy.PROMPT_ID] == "c", tidy.NOTE].tolist() == [tidy.NOTE_NO_SCORE] * 2


def test_run_label_from_metadata():
    assert flatten.run_label("m", {"run": "mine", "ft_seed": 1}) == "mine"
    assert flatten.run_label("m", {"ft_epoch": 2, "checkpoint": "c"}) == "m [checkpoint=c, ft_epoch=2]"
    assert flatten.run_label("m", {}) == "m"


def test_each_log_is_read_once_and_keeps_its_merge_part(logs: Path, monkeypatch: pytest.MonkeyPatch):
    """The header read for loading also gives the merge check its part: no second read of any header."""
    from refusal_stability.analysis import merge

    expected = merge.read_parts([logs / "good.eval"])
    calls = []
    monkeypatch.setattr(merge, "read_eval_log", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(eval_archive, "read_eval_log", lambda *a, **k: calls.append(a))
    result = load.load_logs(logs, workers=1)
    assert result.parts() == expected and not calls
    assert "part" not in result.report_frame().columns  # logs.csv keeps its columns


def test_columns_to_frame_equals_the_dataframe_path():
    """`to_frame` of column lists (the loader's fast path) builds exactly what it builds from a DataFrame."""
    n = 6
    rows = {
        tidy.LOG: ["l.eval"] * n,
        tidy.RUN: ["r"] * n,
        tidy.MODEL: ["m"] * n,
        tidy.DATASET: ["d", "d", "e", "d", "d", "d"],
        tidy.PROMPT_ID: ["1", "2", "10", "2", "1", "x"],
        tidy.CATEGORY: ["cyber", None, float("nan"), 3, True, "cyber"],
        tidy.HARMFUL: [True, False, True, True, None, False],
        tidy.TEMPERATURE: [0.0, 0.7, None, 1.0, 0.3, 0.0],
        tidy.SEED: [42, None, 43, 44, 45, 46],
        tidy.EPOCH: [1, 2, 3, 4, 5, 6],
        tidy.JUDGE: ["j"] * n,
        tidy.SCORER: ["s"] * n,
        tidy.VERDICT: ["REFUSE", None, "COMPLY", "PARTIAL", None, "REFUSE"],
        tidy.NOTE: [None, tidy.NOTE_UNSCORED, None, None, tidy.NOTE_NO_SCORE, None],
        tidy.RESPONSE_LENGTH: [3, 0, 5, 9, 1, 2],
        tidy.RESPONSE_HASH: [tidy.response_hash(t) for t in ("a", "", "b", "c", "d", "a")],
        tidy.CHECKPOINT: [None] * n,
        tidy.FT_SEED: [3] * n,
        tidy.FT_EPOCH: [None] * n,
        tidy.RESPONSE: ["a", "", "b", "c", "d", "a"],
    }
    assert any(abs(h) > 2**53 for h in rows[tidy.RESPONSE_HASH])  # 64-bit hashes survive exactly
    for keep in (False, True):
        fast = tidy.to_frame(rows, keep_responses=keep)
        pd.testing.assert_frame_equal(fast, tidy.to_frame(pd.DataFrame(rows), keep_responses=keep))
    del rows[tidy.CHECKPOINT]  # a missing optional column is filled alike
    pd.testing.assert_frame_equal(tidy.to_frame(rows), tidy.to_frame(pd.DataFrame(rows)))


@pytest.mark.parametrize(
    "values",
    [
        ["b", "a", None, "b", "é", "10", "9"],
        ["cyber", None, float("nan"), 3, True, 1.0, pd.NA, "3"],
        [],
        [None, None],
        pd.Series(["x", None, "y"], dtype="string"),
    ],
)
def test_string_categorical_by_codes_equals_pandas_categorical(values):
    """The categorical built from looked-up codes equals pandas' own construction from the strings."""
    strings = [
        None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v) for v in values
    ]
    present = sorted({v for v in strings if v is not None})
    expected = pd.Series(pd.Categorical(strings, categories=pd.Index(present, dtype="str")))
    pd.testing.assert_series_equal(tidy._string_categorical(values), expected)


def test_cached_logs_read_back_the_same_rows_and_reports(logs: Path, tmp_path: Path, monkeypatch):
    """`--cache`: a second load re-reads no used log and gives the same table and reports; a touched one is re-read."""
    from refusal_stability.analysis import log_cache

    cache = tmp_path / "cache"
    plain = load.load_logs(logs, workers=1)
    cold = load.load_logs(logs, workers=1, cache_dir=cache)
    entries = sorted(cache.glob("*" + log_cache.SUFFIX))
    assert len(entries) == sum(r.included for r in plain.logs) > 0

    skipped = sorted(Path(r.path) for r in plain.logs if not r.included)
    real, calls = load._load_log, []
    monkeypatch.setattr(load, "_load_log", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    warm = load.load_logs(logs, workers=1, cache_dir=cache)
    assert sorted(calls) == skipped  # only the logs whose rows were not used are looked at again
    for result in (cold, warm):
        pd.testing.assert_frame_equal(result.frame, plain.frame)
        pd.testing.assert_frame_equal(result.repeats, plain.repeats)
        pd.testing.assert_frame_equal(result.report_frame(), plain.report_frame())
        assert result.parts() == plain.parts()
    used = next(r.path for r in plain.logs if r.included)
    os.utime(used, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched: no longer the cached log
    calls.clear()
    again = load.load_logs(logs, workers=1, cache_dir=cache)
    assert sorted(calls) == sorted([Path(used), *skipped])
    pd.testing.assert_frame_equal(again.frame, plain.frame)
    os.utime(used, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))
    mixed = load.load_logs(logs, workers=2, cache_dir=cache)  # cached logs read here, the rest in workers
    pd.testing.assert_frame_equal(mixed.frame, plain.frame)
    pd.testing.assert_frame_equal(mixed.report_frame(), plain.report_frame())
    other = log_cache.entry_path(cache, used, include_incomplete=True, keep_responses=False, label_maps=())
    assert other != log_cache.entry_path(cache, used, False, False, ())  # options are part of the key
    (cache / "junk.pkl").write_bytes(b"not a pickle")
    assert log_cache.get(cache / "junk.pkl") is None  # an unreadable entry is a miss, not an error


@pytest.mark.parametrize(
    ("cpus", "limit", "expected"), [(2, None, 2), (16, None, 8), (None, None, 1), (16, 3, 3), (2, 0, 1)]
)
def test_worker_processes_are_one_per_cpu_at_most_eight(monkeypatch, cpus, limit, expected) -> None:
    monkeypatch.setattr(workers.os, "cpu_count", lambda: cpus)
    assert workers.cpu_workers(limit) == expected
