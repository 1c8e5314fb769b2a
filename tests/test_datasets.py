"""load_prompts: names, options, category filter, seeded sampling, local folder and pinned downloads.

No test touches the network: downloads go through `fetch.download`, replaced here by a fake that
records the URL and serves local bytes.
"""

from __future__ import annotations

import logging
import shutil
import urllib.error
from email.message import Message
from pathlib import Path

import pytest

from refusal_stability.schema import CATEGORY_KEY
from refusal_stability.tasks.datasets import (
    DATASETS,
    DatasetError,
    advbench,
    beavertails,
    do_not_answer,
    fetch,
    harmbench,
    jailbreakbench,
    load_prompts,
    sorry_bench,
    strongreject,
    xstest,
)

ADVBENCH_COMMIT = advbench.COMMIT
DO_NOT_ANSWER_REVISION = do_not_answer.REVISION
HARMBENCH_COMMIT = harmbench.COMMIT
JBB_REVISION = jailbreakbench.REVISION
SORRY_BENCH_REVISIONS = sorry_bench.REVISIONS
STRONGREJECT_COMMIT = strongreject.COMMIT
XSTEST_COMMIT = xstest.COMMIT

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
KNOWN = (
    "paper, advbench, harmbench, strongreject, xstest, jailbreakbench, beavertails, "
    "sorry_bench, do_not_answer, file"
)


@pytest.fixture
def no_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Unset the data folder (CI sets it) and point the download cache at a temporary folder."""
    monkeypatch.delenv(fetch.DATA_DIR_ENV, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(fetch.CACHE_DIR_ENV, str(cache))
    return cache


class FakeDownload:
    """Stands in for fetch.download: serves files from local folders, records URLs and headers."""

    def __init__(self, *folders: Path) -> None:
        self.folders = folders
        self.urls: list[str] = []
        self.headers: list[dict[str, str]] = []

    def __call__(self, url: str, destination: Path, headers: dict[str, str]) -> None:
        self.urls.append(url)
        self.headers.append(headers)
        for folder in self.folders:
            for candidate in folder.rglob(Path(url).name):
                shutil.copyfile(candidate, destination)
                return
        raise urllib.error.HTTPError(url, 404, "Not Found", Message(), None)


# --- names and options ------------------------------------------------------------------------------


def test_dataset_names_are_the_documented_ones() -> None:
    assert ", ".join(DATASETS) == KNOWN


def test_unknown_dataset_lists_known_ones() -> None:
    with pytest.raises(DatasetError) as error:
        load_prompts("harmbenchh")
    assert str(error.value) == f"unknown dataset 'harmbenchh'; known datasets: {KNOWN}"


def test_dataset_names_ignore_case_and_dashes() -> None:
    dataset = load_prompts("Sorry-Bench", data_dir=str(FIXTURES))
    assert dataset.summary.dataset == "sorry_bench"


def test_column_options_apply_to_file_only() -> None:
    with pytest.raises(DatasetError) as error:
        load_prompts("xstest", prompt_column="prompt", label_column="label")
    assert str(error.value) == (
        "prompt_column, label_column apply to dataset 'file' only; dataset 'xstest' has a fixed schema"
    )


def test_unknown_subset_lists_known_ones() -> None:
    with pytest.raises(DatasetError) as error:
        load_prompts("jailbreakbench", data_dir=str(FIXTURES), subset="evil")
    assert str(error.value) == (
        "unknown subset 'evil' for dataset 'jailbreakbench'; known subsets: all, harmful, benign, "
        "unofficial, unofficial-harmful, unofficial-benign"
    )


def test_returns_a_memory_dataset_with_name_and_summary() -> None:
    from inspect_ai.dataset import MemoryDataset

    dataset = load_prompts("jailbreakbench", data_dir=str(FIXTURES), subset="harmful")
    assert isinstance(dataset, MemoryDataset)
    assert dataset.name == "jailbreakbench:harmful"
    assert dataset.summary.returned == 3
    assert dataset.summary.skipped == {}


# --- categories ---------------------------------------------------------------------------------------


def test_categories_from_list_or_cli_string(shared_datasets: Path) -> None:
    from_string = load_prompts(
        "xstest", data_dir=str(shared_datasets), categories="homonyms, Contrast_Homonyms"
    )
    from_list = load_prompts(
        "xstest", data_dir=str(shared_datasets), categories=["homonyms", "contrast_homonyms"]
    )
    assert [s.id for s in from_string] == [s.id for s in from_list]
    assert len(from_string) == 50
    assert from_string.summary.filtered_out == 400
    assert {s.metadata[CATEGORY_KEY] for s in from_string} == {"homonyms", "contrast_homonyms"}


def test_category_names_with_commas_survive_the_cli_string(shared_datasets: Path) -> None:
    dataset = load_prompts(
        "strongreject",
        data_dir=str(shared_datasets),
        categories="Hate, harassment and discrimination,Violence",
    )
    assert dataset.summary.categories == {"Hate, harassment and discrimination": 50, "Violence": 54}
    split_by_inspect = load_prompts(  # Inspect's CLI splits "a,b" into a list
        "strongreject",
        data_dir=str(shared_datasets),
        categories=["Hate", " harassment and discrimination", "Violence"],
    )
    assert [s.id for s in split_by_inspect] == [s.id for s in dataset]


def test_unknown_category_lists_known_ones(shared_datasets: Path) -> None:
    with pytest.raises(DatasetError) as error:
        load_prompts("strongreject", data_dir=str(shared_datasets), categories="violence,cooking")
    assert str(error.value) == (
        "unknown category 'cooking' for dataset 'strongreject'; known categories: "
        "Disinformation and deception; Hate, harassment and discrimination; "
        "Illegal goods and services; Non-violent crimes; Sexual content; Violence"
    )


def test_categories_on_a_dataset_without_categories(shared_datasets: Path) -> None:
    with pytest.raises(DatasetError) as error:
        load_prompts("advbench", data_dir=str(shared_datasets), categories="violence")
    assert str(error.value) == (
        "dataset 'advbench' has no categories, so categories='violence' cannot be applied"
    )


# --- seeded sampling ----------------------------------------------------------------------------------


def test_sample_is_reproducible_and_in_dataset_order(shared_datasets: Path) -> None:
    full = [s.id for s in load_prompts("harmbench", data_dir=str(shared_datasets))]
    first = [s.id for s in load_prompts("harmbench", data_dir=str(shared_datasets), sample=50)]
    again = [s.id for s in load_prompts("harmbench", data_dir=str(shared_datasets), sample=50)]
    other = [s.id for s in load_prompts("harmbench", data_dir=str(shared_datasets), sample=50, sample_seed=1)]
    assert first == again
    assert first != other
    assert len(first) == len(set(first)) == 50
    assert first == sorted(first, key=full.index)


def test_sample_after_category_filter_and_counts(shared_datasets: Path) -> None:
    dataset = load_prompts(
        "xstest", data_dir=str(shared_datasets), categories="homonyms", sample=10, sample_seed=3
    )
    assert len(dataset) == 10
    assert {s.metadata[CATEGORY_KEY] for s in dataset} == {"homonyms"}
    assert (dataset.summary.filtered_out, dataset.summary.not_sampled) == (425, 15)


def test_sample_larger_than_dataset_keeps_all(shared_datasets: Path) -> None:
    dataset = load_prompts("strongreject", data_dir=str(shared_datasets), subset="small", sample=999)
    assert len(dataset) == 60 and dataset.summary.not_sampled == 0


@pytest.mark.parametrize("size", [0, -5, "ten", 2.5, True])
def test_sample_must_be_a_positive_whole_number(size: object) -> None:
    with pytest.raises(DatasetError) as error:
        load_prompts("beavertails", data_dir=str(FIXTURES), sample=size)  # type: ignore[arg-type]
    assert str(error.value) == f"sample must be a positive whole number, got {size!r}"


def test_sample_accepts_digits_from_the_cli() -> None:
    assert len(load_prompts("beavertails", data_dir=str(FIXTURES), sample="2")) == 2  # type: ignore[arg-type]


# --- local data folder ----------------------------------------------------------------------------------


def test_data_dir_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(FIXTURES))
    assert len(load_prompts("do_not_answer")) == 3


def test_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as error:
        load_prompts("xstest", data_dir=str(tmp_path / "nowhere"))
    assert str(error.value) == f"{tmp_path / 'nowhere'}: the local data folder (data_dir) does not exist"


def test_relative_data_dir_survives_inspects_change_of_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `inspect eval` runs the task from the task file's folder; the user typed the path elsewhere.
    (tmp_path / "repo" / "tasks").mkdir(parents=True)
    shutil.copytree(FIXTURES, tmp_path / "data")
    monkeypatch.setenv("PWD", str(tmp_path / "repo"))
    monkeypatch.chdir(tmp_path / "repo" / "tasks")
    assert len(load_prompts("beavertails", data_dir="../data")) == 4


def test_data_dir_replaces_downloads_entirely(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object) -> None:
        raise AssertionError("a data folder must never download")

    monkeypatch.setattr(fetch, "download", no_network)
    with pytest.raises(DatasetError) as error:
        load_prompts("xstest", data_dir=str(FIXTURES))
    assert str(error.value) == (
        f"{FIXTURES / 'xstest/xstest_prompts.csv'}: file not found in the local data folder "
        f"{FIXTURES}; a data folder replaces every download, so put xstest/xstest_prompts.csv there "
        "(upstream: https://raw.githubusercontent.com/paul-rottger/xstest/"
        f"{XSTEST_COMMIT}/xstest_prompts.csv) or leave data_dir and REFUSAL_STABILITY_DATA_DIR "
        "unset to download"
    )


# --- pinned downloads (faked) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "subset", "pins"),
    [
        ("advbench", None, [f"llm-attacks/llm-attacks/{ADVBENCH_COMMIT}/"]),
        ("harmbench", None, [f"centerforaisafety/HarmBench/{HARMBENCH_COMMIT}/"]),
        ("strongreject", "small", [f"alexandrasouly/strongreject/{STRONGREJECT_COMMIT}/"]),
        ("xstest", None, [f"paul-rottger/xstest/{XSTEST_COMMIT}/"]),
        (
            "paper",
            None,
            [f"/{ADVBENCH_COMMIT}/data/advbench/", f"/{HARMBENCH_COMMIT}/data/behavior_datasets/"],
        ),
    ],
)
def test_github_downloads_are_pinned_checked_and_cached(
    dataset: str,
    subset: str | None,
    pins: list[str],
    no_data_dir: Path,
    shared_datasets: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeDownload(shared_datasets)
    monkeypatch.setattr(fetch, "download", fake)
    first = load_prompts(dataset, subset=subset)  # checksums of the real files pass
    assert len(fake.urls) == len(pins)
    for url, pin in zip(fake.urls, pins, strict=True):
        assert url.startswith("https://raw.githubusercontent.com/") and pin in url
    second = load_prompts(dataset, subset=subset)
    assert len(fake.urls) == len(pins)  # served from the cache
    assert [s.id for s in first] == [s.id for s in second]
    assert all(Path(path).is_relative_to(no_data_dir) for path in first.summary.files)


def test_hub_urls_carry_the_pinned_revisions(no_data_dir: Path) -> None:
    urls = [remote.url for remote in jailbreakbench.official_files().values()]
    assert urls == [
        "https://huggingface.co/datasets/JailbreakBench/JBB-Behaviors/resolve/"
        f"{JBB_REVISION}/data/harmful-behaviors.csv",
        "https://huggingface.co/datasets/JailbreakBench/JBB-Behaviors/resolve/"
        f"{JBB_REVISION}/data/benign-behaviors.csv",
    ]
    assert sorry_bench.remote_file("202406", "caesar").url == (
        "https://huggingface.co/datasets/sorry-bench/sorry-bench-202406/resolve/"
        f"{SORRY_BENCH_REVISIONS['202406']}/question_caesar.jsonl"
    )
    assert sorry_bench.remote_file("202503", "base").gated


def test_hub_download_sends_token_and_reads_fixture(
    no_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    fake = FakeDownload(FIXTURES)
    monkeypatch.setattr(fetch, "download", fake)
    dataset = load_prompts("do_not_answer")
    assert len(dataset) == 3
    assert fake.urls == [
        f"https://huggingface.co/datasets/LibrAI/do-not-answer/resolve/{DO_NOT_ANSWER_REVISION}/data_en.csv"
    ]
    assert fake.headers[0]["Authorization"] == "Bearer hf_test_token"


def test_token_is_never_sent_to_github(
    no_data_dir: Path, shared_datasets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    fake = FakeDownload(shared_datasets)
    monkeypatch.setattr(fetch, "download", fake)
    load_prompts("xstest")
    assert "Authorization" not in fake.headers[0]


def test_checksum_mismatch_is_rejected_and_not_cached(
    no_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDownload(FIXTURES)  # fixture bytes are not the pinned upstream file
    monkeypatch.setattr(fetch, "download", fake)
    with pytest.raises(DatasetError) as error:
        load_prompts("jailbreakbench", subset="harmful")
    message = str(error.value)
    assert message.startswith(
        "https://huggingface.co/datasets/JailbreakBench/JBB-Behaviors/resolve/"
        f"{JBB_REVISION}/data/harmful-behaviors.csv: downloaded file has SHA-256 "
    )
    assert message.endswith(
        "expected 4a8ec6832056b631eb092dccc60d37a61c3d441268268888b3d006288afeffa1 "
        "(the pinned upstream file); it was not used"
    )
    assert not [path for path in no_data_dir.rglob("*") if path.is_file()]


def test_revision_override_from_environment(no_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFUSAL_STABILITY_JAILBREAKBENCH_REVISION", "0123abcd")
    fake = FakeDownload(FIXTURES)
    monkeypatch.setattr(fetch, "download", fake)
    dataset = load_prompts("jailbreakbench")  # no checksum for an overridden revision
    assert len(dataset) == 6
    assert all("/resolve/0123abcd/" in url for url in fake.urls)


def test_unpinned_beavertails_warns(
    no_data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("REFUSAL_STABILITY_BEAVERTAILS_REVISION", raising=False)
    assert beavertails.remote_file().pinned is False
    monkeypatch.setattr(fetch, "download", FakeDownload(FIXTURES))
    with caplog.at_level(logging.WARNING, logger="refusal_stability.tasks.datasets"):
        dataset = load_prompts("beavertails")
    assert "is not pinned to a verified revision" in caplog.text
    assert dataset.summary.notes == (
        "unpinned download: https://huggingface.co/datasets/PKU-Alignment/"
        "BeaverTails-Evaluation/resolve/main/test.jsonl",
    )
    monkeypatch.setenv("REFUSAL_STABILITY_BEAVERTAILS_REVISION", "feedbeef")
    assert beavertails.remote_file().pinned is True
    assert "/resolve/feedbeef/" in beavertails.remote_file().url


def test_gated_dataset_without_access_explains_what_to_do(
    no_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(url: str, destination: Path, headers: dict[str, str]) -> None:
        raise urllib.error.HTTPError(url, 403, "Forbidden", Message(), None)

    monkeypatch.setattr(fetch, "download", forbidden)
    with pytest.raises(DatasetError) as error:
        load_prompts("sorry_bench")
    assert str(error.value) == (
        "https://huggingface.co/datasets/sorry-bench/sorry-bench-202503/resolve/"
        f"{SORRY_BENCH_REVISIONS['202503']}/question.jsonl: access denied (HTTP 403); "
        "https://huggingface.co/datasets/sorry-bench/sorry-bench-202503 is gated: accept its "
        "terms on the hub, then set HF_TOKEN to a token of that account, or put "
        "sorry_bench/202503/question.jsonl in a local data folder"
    )


def test_network_failure_points_to_a_local_folder(no_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, destination: Path, headers: dict[str, str]) -> None:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(fetch, "download", offline)
    with pytest.raises(DatasetError) as error:
        load_prompts("advbench")
    assert str(error.value) == (
        f"https://raw.githubusercontent.com/llm-attacks/llm-attacks/{ADVBENCH_COMMIT}/data/"
        "advbench/harmful_behaviors.csv: download failed (no route to host); without network, "
        "put advbench/harmful_behaviors.csv in a local data folder "
        "(data_dir or REFUSAL_STABILITY_DATA_DIR)"
    )
