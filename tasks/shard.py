"""Split one grid over N processes or machines: `-T shard=k/N` runs the k-th of N disjoint parts of it.

Inspect runs an eval in one process, so one machine's Inspect side caps throughput (README, "Scale out").
A prompt belongs to shard `shard_of(id, N)`: a stable hash of its sample id (SHA-256, not Python's salted
`hash`), so every process, machine and later re-run agrees on the partition without talking to the others,
and a prompt's shard does not depend on which other prompts the dataset holds. Whole prompts (all their
cells) go to one shard, so each shard's log has complete per-prompt grids and its live metrics mean what
they say. The analysis (`analysis/merge.py`) pools the N logs and checks no shard is missing or doubled.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from inspect_ai.dataset import Dataset

SHARD_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
HASH_HEX_DIGITS = 16
"""Leading hex digits of the SHA-256 used as the hash (64 bits: uniform enough for any N we would use)."""


@dataclass(frozen=True)
class Shard:
    """The k-th (1-based) of `count` parts of a dataset."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 1 <= k <= N (k is 1-based).")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, sample_id: object) -> bool:
        """Whether the prompt with this sample id belongs to this shard."""
        return shard_of(sample_id, self.count) == self.index


def parse_shard(value: str | None) -> Shard | None:
    """Parse `-T shard=k/N` (e.g. "2/4"); None or "" means no sharding.

    Raises:
        ValueError: Not of the form k/N with 1 <= k <= N.
    """
    if value is None or str(value).strip() == "":
        return None
    match = SHARD_PATTERN.match(str(value))
    if not match:
        raise ValueError(f"-T shard={value!r}: expected k/N, e.g. shard=1/2 (k counts from 1).")
    return Shard(int(match.group(1)), int(match.group(2)))


def shard_of(sample_id: object, count: int) -> int:
    """The 1-based shard of a sample id among `count` shards: SHA-256 of the id's text, modulo `count`."""
    digest = hashlib.sha256(str(sample_id).encode("utf-8")).hexdigest()[:HASH_HEX_DIGITS]
    return int(digest, 16) % count + 1


def shard_dataset(dataset: Dataset, shard: Shard | None) -> Dataset:
    """Keep the prompts of one shard (the dataset unchanged when `shard` is None).

    Raises:
        ValueError: The shard holds no prompt (more shards than the dataset can fill).
    """
    if shard is None or shard.count == 1:
        return dataset
    kept = dataset.filter(lambda sample: shard.holds(sample.id))
    if len(kept) == 0:
        raise ValueError(f"shard {shard} of {len(dataset)} prompts is empty: use fewer shards than prompts.")
    return kept
