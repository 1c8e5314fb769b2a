"""SORRY-Bench (Xie et al., ICLR 2025): unsafe instructions in fine-grained categories, and mutations.

Upstream: the gated hub datasets sorry-bench/sorry-bench-202503 (440 prompts, 44 categories; the
default) and sorry-bench/sorry-bench-202406 (450 prompts, 45 categories). Their licence forbids
redistribution, so no copy ships with this project: accept the terms on the hub and set HF_TOKEN, or
put the files in a local data folder as `sorry_bench/<version>/question.jsonl` (and
`question_<mutation>.jsonl` for mutations).

Each JSON line has question_id, category (a number "1".."44" as a string; the names are in the
hub repository's meta_info.py, not here), turns (a list holding the one prompt) and prompt_style.
`category` is that number, as upstream writes it. All prompts are harmful. Ids are the question_id,
the same across mutations, so runs on different mutations join prompt by prompt.

`subset` picks the version and/or the mutation, in either order, separated by ":" or ",":
"202406", "caesar", "202406:translate-fr". The 20 mutations are `MUTATIONS`; "base" is the
unmutated set. The encoding mutations (ascii, atbash, caesar, morse) expect the response to be decoded
before judging, as SORRY-Bench's own pipeline does; this loader only provides the prompts.
"""

from __future__ import annotations

import logging
import re
from functools import partial

from inspect_ai.dataset import Sample

from refusal_stability.tasks.datasets.common import Loaded, LoadOptions, make_sample, samples_from
from refusal_stability.tasks.datasets.errors import DatasetError
from refusal_stability.tasks.datasets.fetch import RemoteFile, hub_file, locate
from refusal_stability.tasks.datasets.readers import Record, read_jsonl

logger = logging.getLogger("refusal_stability.tasks.datasets")

DATASET = "sorry_bench"
REPO_IDS = {
    "202406": "sorry-bench/sorry-bench-202406",
    "202503": "sorry-bench/sorry-bench-202503",
}
REVISIONS = {
    "202406": "b34822276edde97592eda99c0b56d306f8830469",
    "202503": "612a4e1f45db8adf884fa62318ddf9fa1c6e75e9",
}
"""Hub commits recorded in several independent public projects that pinned these gated datasets."""
LOCAL_DIR = "sorry_bench"
DEFAULT_VERSION = "202503"
BASE = "base"
MUTATIONS = (
    "question",
    "slang",
    "uncommon_dialects",
    "technical_terms",
    "role_play",
    "misspellings",
    "logical_appeal",
    "authority_endorsement",
    "misrepresentation",
    "evidence-based_persuasion",
    "expert_endorsement",
    "ascii",
    "caesar",
    "morse",
    "atbash",
    "translate-ml",
    "translate-ta",
    "translate-mr",
    "translate-zh-cn",
    "translate-fr",
)
"""SORRY-Bench's 20 linguistic mutations, each a file `question_<mutation>.jsonl`."""
ENCODED_MUTATIONS = ("ascii", "atbash", "caesar", "morse")
ID_FIELD = "question_id"
CATEGORY_FIELD = "category"
TURNS_FIELD = "turns"
STYLE_FIELD = "prompt_style"
SUBSET_SPLIT = re.compile(r"[:,]")


def parse_subset(subset: str | None) -> tuple[str, str]:
    """Return (version, mutation) from a subset such as "202406:caesar" (defaults: 202503, base).

    Raises:
        DatasetError: For an unknown part, listing the versions and mutations.
    """
    version, mutation = DEFAULT_VERSION, BASE
    for part in SUBSET_SPLIT.split(subset or ""):
        token = part.strip().lower().removeprefix("sorry-bench-")
        if not token:
            continue
        if token in REVISIONS:
            version = token
        elif token == BASE or token in MUTATIONS:
            mutation = token
        else:
            raise DatasetError(
                f"unknown subset part {part.strip()!r} for dataset {DATASET!r}; versions: "
                f"{', '.join(REVISIONS)}; mutations: {BASE}, {', '.join(MUTATIONS)}"
            )
    return version, mutation


def remote_file(version: str, mutation: str) -> RemoteFile:
    """Return one SORRY-Bench question file at the pinned (or env-overridden) hub revision."""
    name = "question.jsonl" if mutation == BASE else f"question_{mutation}.jsonl"
    return hub_file(
        REPO_IDS[version],
        name,
        f"{LOCAL_DIR}/{version}/{name}",
        revision=REVISIONS[version],
        revision_env=f"SORRY_BENCH_{version}",
        gated=True,
    )


def load(options: LoadOptions) -> Loaded:
    """Load one SORRY-Bench version and mutation (default: 202503, base)."""
    version, mutation = parse_subset(options.subset)
    notes = [f"version {version}, mutation {mutation}"]
    if mutation in ENCODED_MUTATIONS:
        message = (
            f"SORRY-Bench mutation {mutation!r} is an encoding: responses need decoding "
            "before a judge can read them"
        )
        logger.warning(message)
        notes.append(message)
    return samples_from(
        read_jsonl(locate(remote_file(version, mutation), options.data_dir)),
        partial(record_to_sample, version=version, mutation=mutation),
        columns={"prompt": TURNS_FIELD, "id": ID_FIELD, "category": CATEGORY_FIELD},
        ids=f"field {ID_FIELD!r}",
        notes=notes,
    )


def record_to_sample(record: Record, version: str, mutation: str) -> Sample:
    """Map one SORRY-Bench line to a harmful sample (id = question_id, category = its number)."""
    return make_sample(
        sample_id=record.required(ID_FIELD),
        prompt=single_turn(record),
        dataset=DATASET,
        category=record.text(CATEGORY_FIELD),
        harmful=True,
        source=DATASET,
        extra={
            "version": version,
            "prompt_style": record.text(STYLE_FIELD) or mutation,
        },
    )


def single_turn(record: Record) -> str:
    """Return the one prompt of a row's `turns` list.

    Raises:
        DatasetError: If `turns` is not a list of exactly one non-empty string.
    """
    turns = record.values.get(TURNS_FIELD)
    if isinstance(turns, str):
        turns = [turns]
    if not isinstance(turns, list) or len(turns) != 1:
        count = len(turns) if isinstance(turns, list) else type(turns).__name__
        raise record.error(
            f"field {TURNS_FIELD!r} must hold exactly one prompt (SORRY-Bench is single-turn), got {count}"
        )
    prompt = turns[0]
    if not isinstance(prompt, str) or not prompt.strip():
        raise record.error(f"empty prompt in field {TURNS_FIELD!r}")
    return prompt
