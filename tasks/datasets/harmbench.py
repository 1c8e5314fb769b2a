r"""HarmBench text behaviours (Mazeika et al., 2024): 400 harmful behaviours in 7 semantic categories.

Upstream: centerforaisafety/HarmBench `data/behavior_datasets/harmbench_behaviors_text_all.csv`
(MIT). Each behaviour has a functional category (standard 200, contextual 100, copyright 100) and a
semantic category (`category` here). Contextual behaviours carry their `ContextString` into the
prompt the way HarmBench's own direct-request baseline builds its test case:
`f"{context}\n\n---\n\n{behavior}"`. Ids are HarmBench's `BehaviorID`.

`subset` keeps one or more functional categories (e.g. "standard" or "standard,contextual"); the
rows it leaves out are counted in the summary. The copyright behaviours ask for copyrighted text and
are scored upstream with a hash check rather than a classifier; they are included unless a subset
leaves them out.

../shared/datasets/harmbench/SOURCE.md records the copy's SHA-256 (8d81acc...), equal to upstream's
raw file; the pinned commit serves exactly that file (public records of this pinned URL agree).
"""

from __future__ import annotations

from inspect_ai.dataset import Sample

from refusal_stability.tasks.datasets.common import Loaded, LoadOptions, make_sample, samples_from
from refusal_stability.tasks.datasets.errors import DatasetError
from refusal_stability.tasks.datasets.fetch import github_file, locate
from refusal_stability.tasks.datasets.readers import Record, read_csv

DATASET = "harmbench"
REPO = "centerforaisafety/HarmBench"
COMMIT = "8e1604d1171fe8a48d8febecd22f600e462bdcdd"
SOURCE = github_file(
    REPO,
    COMMIT,
    "data/behavior_datasets/harmbench_behaviors_text_all.csv",
    "harmbench/harmbench_behaviors_text_all.csv",
    "8d81accedd38eaaf8b760618622bb888417d1fd0c86eba65c427a16f1cbb4afc",
)
PROMPT_COLUMN = "Behavior"
CONTEXT_COLUMN = "ContextString"
FUNCTIONAL_COLUMN = "FunctionalCategory"
SEMANTIC_COLUMN = "SemanticCategory"
TAGS_COLUMN = "Tags"
ID_COLUMN = "BehaviorID"
CONTEXT_SEPARATOR = "\n\n---\n\n"
"""HarmBench's separator between a contextual behaviour's context and the behaviour itself."""
FUNCTIONAL_CATEGORIES = ("standard", "contextual", "copyright")
SUBSET_SEPARATOR = ","


def load(options: LoadOptions) -> Loaded:
    """Load HarmBench's text behaviours, optionally only some functional categories."""
    wanted = parse_subset(options.subset)

    def not_in_subset(record: Record) -> str | None:
        functional = record.required(FUNCTIONAL_COLUMN)
        if wanted is None or functional in wanted:
            return None
        return f"functional category {functional} not in subset"

    return samples_from(
        read_csv(locate(SOURCE, options.data_dir)),
        record_to_sample,
        columns={
            "prompt": PROMPT_COLUMN,
            "id": ID_COLUMN,
            "functional category": FUNCTIONAL_COLUMN,
            "semantic category": SEMANTIC_COLUMN,
            "context": CONTEXT_COLUMN,
        },
        ids=f"column {ID_COLUMN!r}",
        skip=not_in_subset,
    )


def record_to_sample(record: Record) -> Sample:
    """Map one HarmBench row to a harmful sample (category = semantic category, id = BehaviorID)."""
    semantic = record.text(SEMANTIC_COLUMN)
    return make_sample(
        sample_id=record.required(ID_COLUMN),
        prompt=harmbench_prompt(record),
        dataset=DATASET,
        category=semantic,
        harmful=True,
        source=DATASET,
        extra={
            "functional_category": record.required(FUNCTIONAL_COLUMN),
            "semantic_category": semantic,
            "tags": record.text(TAGS_COLUMN),
            "behavior": record.prompt(PROMPT_COLUMN),
            "has_context": record.text(CONTEXT_COLUMN) is not None,
        },
    )


def harmbench_prompt(record: Record) -> str:
    """Return the test case HarmBench sends: the behaviour, after its context string if it has one."""
    behavior = record.prompt(PROMPT_COLUMN)
    context = record.values.get(CONTEXT_COLUMN)
    if isinstance(context, str) and context.strip():
        return f"{context}{CONTEXT_SEPARATOR}{behavior}"
    return behavior


def parse_subset(subset: str | None) -> set[str] | None:
    """Return the functional categories a subset names (None for all).

    Raises:
        DatasetError: If a name is not a HarmBench functional category.
    """
    if subset is None or not subset.strip() or subset.strip().lower() == "all":
        return None
    names = {part.strip().lower() for part in subset.split(SUBSET_SEPARATOR) if part.strip()}
    unknown = sorted(names - set(FUNCTIONAL_CATEGORIES))
    if unknown:
        raise DatasetError(
            f"unknown subset {', '.join(repr(name) for name in unknown)} for dataset {DATASET!r}; "
            f"known subsets: all, {', '.join(FUNCTIONAL_CATEGORIES)} (comma-separate to combine)"
        )
    return names
