"""The refusal-stability study's prompt set, rebuilt from AdvBench and HarmBench as the study built it.

The study (arXiv 2512.12066, erikl2/safety-refusal-stability) published its 876 prompts as
`data/processed/prompts.csv`. That list is not stored here: it is rebuilt from its two sources so that
every prompt's provenance is known, and a test checks the rebuild against the published file
(ids, text, source and order):

1. AdvBench `harmful_behaviors.csv` column `goal` (520), then HarmBench
   `harmbench_behaviors_text_all.csv` column `Behavior` (400): strip, drop empty -> 920.
2. Exact de-duplication on lower-cased, whitespace-collapsed text, keeping the first (AdvBench
   first) -> 913.
3. Greedy fuzzy de-duplication: a prompt is dropped if `difflib.SequenceMatcher(None, new, kept)`
   has `ratio() >= 0.9` against any prompt kept so far, both in the normalised form of step 2 and
   the new prompt as the first sequence (the order changes the result: other orders give 875,
   878 or 879 prompts) -> 876.
4. id = first 12 hex digits of `md5(f"{source}:{prompt}")`.

The naive fuzzy pass compares ~380,000 pairs (~75 s). Here each pair is first bounded by the length
ratio and then by `quick_ratio()`, both upper bounds of `ratio()`, and `ratio()` runs only where the
bound reaches the threshold; each kept prompt keeps one SequenceMatcher (its second sequence) for all
comparisons. `quick_ratio()` is difflib's count of the characters two texts share (whatever their
order) over their lengths, so it is computed for a candidate against every kept prompt at once from
character-count vectors (numpy): about 0.1 CPU s for the whole pass instead of 2 (each `inspect eval`
process builds the prompt set, so this is start-up time of every run and every shard). The result is
identical: the same bounds, the same floats, the same `ratio()` calls decide.

HarmBench contextual behaviours enter as their bare `Behavior` text (as in the study), without their
context string. The published `harm_category` column is empty; `category` here is HarmBench's
`SemanticCategory` for prompts that came from HarmBench and None for AdvBench prompts (AdvBench has
no categories).
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from inspect_ai.dataset import Sample

from refusal_stability.tasks.datasets import advbench, harmbench
from refusal_stability.tasks.datasets.common import (
    Loaded,
    LoadOptions,
    choose_subset,
    content_id,
    make_sample,
    require_columns,
    samples_from,
)
from refusal_stability.tasks.datasets.fetch import github_file, locate
from refusal_stability.tasks.datasets.readers import Record, Table, read_csv

DATASET = "paper"
PUBLISHED_SOURCE = github_file(
    "erikl2/safety-refusal-stability",
    "68728ac3ee02a0f23d7457cdbfd670d446a827df",
    "data/processed/prompts.csv",
    "refusal_stability_paper/prompts.csv",
    "b51287f5290c34ebd44104b624e8c619fa87c5e8d29ee449f41e06122452d6ce",
)
"""The study's published prompt list (`subset="published"`); the rebuild reads AdvBench's and
HarmBench's pinned files (`advbench.SOURCE`, `harmbench.SOURCE`)."""
FUZZY_THRESHOLD = 0.9
"""A prompt this similar (SequenceMatcher ratio) to a kept prompt is a near duplicate."""
LENGTH_BOUND_SLACK = 0.01
"""Integer length pre-filter margin: pairs are skipped only if their length bound is < threshold - slack,
so float rounding can never skip a pair that `ratio()` would call a duplicate."""

SUBSET_REBUILD = "rebuild"
SUBSET_PUBLISHED = "published"
SUBSETS = (SUBSET_REBUILD, SUBSET_PUBLISHED)
PUBLISHED_COLUMNS = ("id", "prompt", "source")


@dataclass(frozen=True)
class Candidate:
    """A prompt entering de-duplication, with what the sample needs to know about its origin."""

    source: str
    prompt: str
    category: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The study's normalised form: lower-cased, whitespace collapsed (and so stripped)."""
        return " ".join(self.prompt.lower().split())


@dataclass(frozen=True)
class PaperPrompt:
    """One prompt of the rebuilt set."""

    id: str
    prompt: str
    source: str
    category: str | None
    extra: dict[str, Any]


@dataclass(frozen=True)
class Rebuild:
    """The rebuilt prompts and how many each step removed."""

    prompts: list[PaperPrompt]
    rows_read: int
    empty: int
    exact_duplicates: int
    fuzzy_duplicates: int


def load(options: LoadOptions) -> Loaded:
    """Load the study's 876 prompts: rebuilt by default, or `subset="published"` for prompts.csv as is."""
    subset = choose_subset(DATASET, options.subset, SUBSETS, SUBSET_REBUILD)
    if subset == SUBSET_PUBLISHED:
        return _load_published(options)
    advbench_table = read_csv(locate(advbench.SOURCE, options.data_dir))
    harmbench_table = read_csv(locate(harmbench.SOURCE, options.data_dir))
    result = rebuild(advbench_table, harmbench_table)
    samples = [
        make_sample(
            sample_id=item.id,
            prompt=item.prompt,
            dataset=DATASET,
            category=item.category,
            harmful=True,
            source=item.source,
            extra=item.extra,
        )
        for item in result.prompts
    ]
    loaded = Loaded(samples, [str(advbench_table.path), str(harmbench_table.path)], result.rows_read)
    loaded.skip("empty prompt", result.empty)
    loaded.skip("exact duplicate (lower-cased, whitespace-collapsed)", result.exact_duplicates)
    loaded.skip(f"near duplicate (SequenceMatcher ratio >= {FUZZY_THRESHOLD})", result.fuzzy_duplicates)
    loaded.log_skipped("AdvBench + HarmBench")
    return loaded


def rebuild(advbench_table: Table, harmbench_table: Table) -> Rebuild:
    """Rebuild the study's prompt list from the AdvBench and HarmBench tables (see module docstring)."""
    require_columns(advbench_table, {"prompt": advbench.PROMPT_COLUMN})
    require_columns(
        harmbench_table, {"prompt": harmbench.PROMPT_COLUMN, "category": harmbench.SEMANTIC_COLUMN}
    )
    candidates = _advbench_candidates(advbench_table) + _harmbench_candidates(harmbench_table)
    rows_read = len(advbench_table.records) + len(harmbench_table.records)
    unique = exact_dedup(candidates)
    kept = fuzzy_dedup(unique, FUZZY_THRESHOLD)
    prompts = [
        PaperPrompt(
            id=content_id(item.source, item.prompt),
            prompt=item.prompt,
            source=item.source,
            category=item.category,
            extra=item.extra,
        )
        for item in kept
    ]
    return Rebuild(
        prompts=prompts,
        rows_read=rows_read,
        empty=rows_read - len(candidates),
        exact_duplicates=len(candidates) - len(unique),
        fuzzy_duplicates=len(unique) - len(kept),
    )


def exact_dedup(candidates: list[Candidate]) -> list[Candidate]:
    """Keep the first of each group of prompts with the same normalised form."""
    seen: set[str] = set()
    kept = []
    for candidate in candidates:
        if candidate.key not in seen:
            seen.add(candidate.key)
            kept.append(candidate)
    return kept


def fuzzy_dedup(candidates: list[Candidate], threshold: float) -> list[Candidate]:
    """Greedy near-duplicate removal with the study's exact SequenceMatcher comparison.

    A candidate is dropped if `SequenceMatcher(None, candidate.key, kept.key).ratio() >= threshold`
    for any kept prompt. Each kept prompt holds one matcher with its text as the second sequence
    (SequenceMatcher caches its analysis of that sequence), and `set_seq1` swaps the candidate in,
    which is the same comparison as building a fresh matcher. Pairs whose upper bounds (length
    ratio, then `quick_ratio()`, `quick_ratios`) fall below the threshold are skipped: `ratio()`
    cannot reach it.
    """
    counts = char_counts([c.key for c in candidates])
    sizes = counts.sum(axis=1)
    kept: list[Candidate] = []
    kept_rows: list[int] = []
    matchers: list[difflib.SequenceMatcher[str]] = []
    min_share = threshold - LENGTH_BOUND_SLACK
    for row, candidate in enumerate(candidates):
        size = sizes[row]
        kept_sizes = sizes[kept_rows]
        near = np.flatnonzero(2 * np.minimum(size, kept_sizes) >= min_share * (size + kept_sizes))
        quick = quick_ratios(counts[row], counts[np.asarray(kept_rows, dtype=int)[near]])
        duplicate = False
        for k in near[quick >= threshold]:
            matchers[k].set_seq1(candidate.key)
            if matchers[k].ratio() >= threshold:
                duplicate = True
                break
        if not duplicate:
            kept.append(candidate)
            kept_rows.append(row)
            matchers.append(difflib.SequenceMatcher(None, "", candidate.key))
    return kept


def char_counts(texts: list[str]) -> np.ndarray:
    """(texts, characters) how often each character occurs in each text."""
    alphabet = {ch: i for i, ch in enumerate(sorted({ch for text in texts for ch in text}))}
    counts = np.zeros((len(texts), len(alphabet)), dtype=np.int64)
    for row, text in enumerate(texts):
        for ch, n in Counter(text).items():
            counts[row, alphabet[ch]] = n
    return counts


def quick_ratios(one: np.ndarray, others: np.ndarray) -> np.ndarray:
    """`SequenceMatcher(None, a, b).quick_ratio()` of text `a` against each text `b`, from character counts.

    difflib counts the characters of `a` it can match in `b`'s multiset, i.e. the sum over characters of
    min(count in a, count in b), and returns 2.0 * matches / (len(a) + len(b)): the same float here.
    """
    matches = np.minimum(others, one).sum(axis=1)
    return 2.0 * matches / (one.sum() + others.sum(axis=1))


def _advbench_candidates(table: Table) -> list[Candidate]:
    """AdvBench goals, stripped; empty ones left out (counted by the caller)."""
    candidates = []
    for record in table.records:
        prompt = str(record.values.get(advbench.PROMPT_COLUMN) or "").strip()
        if prompt:
            candidates.append(Candidate(advbench.DATASET, prompt))
    return candidates


def _harmbench_candidates(table: Table) -> list[Candidate]:
    """HarmBench behaviours, stripped, with their semantic category and HarmBench ids."""
    candidates = []
    for record in table.records:
        prompt = str(record.values.get(harmbench.PROMPT_COLUMN) or "").strip()
        if not prompt:
            continue
        category = str(record.values.get(harmbench.SEMANTIC_COLUMN) or "").strip() or None
        extra = {
            "semantic_category": category,
            "functional_category": record.values.get(harmbench.FUNCTIONAL_COLUMN) or None,
            "behavior_id": record.values.get(harmbench.ID_COLUMN) or None,
        }
        candidates.append(Candidate(harmbench.DATASET, prompt, category, extra))
    return candidates


def _load_published(options: LoadOptions) -> Loaded:
    """Read the study's published prompts.csv as is (its harm_category is empty, so category is None)."""
    return samples_from(
        read_csv(locate(PUBLISHED_SOURCE, options.data_dir)),
        published_record_to_sample,
        columns={name: name for name in PUBLISHED_COLUMNS},
        ids="column 'id'",
    )


def published_record_to_sample(record: Record) -> Sample:
    """Map one row of the published prompts.csv (id, prompt, source, harm_category)."""
    return make_sample(
        sample_id=record.required("id"),
        prompt=record.prompt("prompt"),
        dataset=DATASET,
        category=record.text("harm_category"),
        harmful=True,
        source=record.required("source"),
    )
