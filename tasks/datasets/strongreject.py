"""StrongREJECT forbidden prompts (Souly et al., 2024): 313 harmful prompts in 6 categories, or 60 (small).

Upstream: alexandrasouly/strongreject `strongreject_dataset/` (MIT): `strongreject_dataset.csv`
(`subset="full"`, the default) and `strongreject_small_dataset.csv` (`subset="small"`), columns
category, source, forbidden_prompt. `source` names where a prompt was taken from (custom, DAN,
AdvBench, ...) and becomes metadata `source`. The small set spells one category "Disinformation and
Deception" where the full set has "Disinformation and deception"; both are kept as upstream spells
them (the categories filter ignores case). Ids are content ids (`md5("strongreject:" + prompt)[:12]`),
so the 60 small-set prompts have the same ids as in the full set.

Upstream was unreachable when ../shared/datasets was made; at this commit both upstream files have the
SHA-256 of the offline copies (public records of these pinned URLs), so the copies are upstream's.
"""

from __future__ import annotations

from functools import partial

from inspect_ai.dataset import Sample

from refusal_stability.tasks.datasets.common import (
    Loaded,
    LoadOptions,
    choose_subset,
    content_id,
    make_sample,
    samples_from,
)
from refusal_stability.tasks.datasets.fetch import github_file, locate
from refusal_stability.tasks.datasets.readers import Record, read_csv

DATASET = "strongreject"
REPO = "alexandrasouly/strongreject"
COMMIT = "f7cad6c17e624e21d8df2278e918ae1dddb4cb56"
SOURCES = {
    "full": github_file(
        REPO,
        COMMIT,
        "strongreject_dataset/strongreject_dataset.csv",
        "strongreject/strongreject_dataset.csv",
        "4dd70357e4ff8b5d0ba5ebafecab5d6dd5633ce8046e3dd1c8bd93e64de44381",
    ),
    "small": github_file(
        REPO,
        COMMIT,
        "strongreject_dataset/strongreject_small_dataset.csv",
        "strongreject/strongreject_small_dataset.csv",
        "3051340e3e89a3598d764dde497d5fcda80e258ac05cc35e6bd87228ac3d467c",
    ),
}
"""subset -> file."""
PROMPT_COLUMN = "forbidden_prompt"
CATEGORY_COLUMN = "category"
SOURCE_COLUMN = "source"


def load(options: LoadOptions) -> Loaded:
    """Load the full (313) or small (60) StrongREJECT set, all harmful."""
    subset = choose_subset(DATASET, options.subset, SOURCES, "full")
    return samples_from(
        read_csv(locate(SOURCES[subset], options.data_dir)),
        partial(record_to_sample, subset=subset),
        columns={"prompt": PROMPT_COLUMN, "category": CATEGORY_COLUMN},
        ids=f"content ids of column {PROMPT_COLUMN!r}",
    )


def record_to_sample(record: Record, subset: str) -> Sample:
    """Map one StrongREJECT row to a harmful sample; its `source` column becomes metadata source."""
    prompt = record.prompt(PROMPT_COLUMN)
    return make_sample(
        sample_id=content_id(DATASET, prompt),
        prompt=prompt,
        dataset=DATASET,
        category=record.text(CATEGORY_COLUMN),
        harmful=True,
        source=record.text(SOURCE_COLUMN) or DATASET,
        extra={"subset": subset},
    )
