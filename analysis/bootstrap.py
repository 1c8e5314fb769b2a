"""Seeded percentile bootstrap over prompts, vectorised and chunked so big groups stay in memory.

Prompts are the resampling unit everywhere (a prompt's samples are not independent of each other).
Every group gets its own generator seeded from the report seed and a stable hash of the group's
name, so adding a group to a report does not change the intervals of the others.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import numpy as np

N_BOOTSTRAP = 1000
"""Bootstrap resamples by default: the one default of `group_table`, `spearman_ci`, the report and the CLI."""
CONFIDENCE = 0.95
CHUNK_CELLS = 5_000_000
"""At most this many resampled values are held at once (resamples x prompts)."""
INT32_LIMIT = 2**31
"""`integers` draws in int32 below this bound (every bound a report meets)."""


def rng_for(seed: int, *key: object) -> np.random.Generator:
    """A generator seeded by the report seed and a stable (crc32) hash of a group key."""
    digest = zlib.crc32(repr(key).encode("utf-8"))
    return np.random.default_rng([seed, digest])


def integers(rng: np.random.Generator, high: int, size: int | tuple[int, ...]) -> np.ndarray:
    """`rng.integers(0, high, size)`: the same numbers, leaving `rng` in the same state, several times faster.

    Below 2^32 numpy draws bounded integers of every width from the same 32-bit stream, but fills an
    int64 array about seven times slower than an int32 one (5 M draws: 141 ms against 21 ms), and the
    single-shot curves and the bootstraps draw hundreds of millions at a million samples. So int32 is
    asked for where the bound allows; the values, and every later draw of `rng`, are those of the
    default int64 call (`tests/test_analysis.py` checks both, so a numpy that changes this fails there).
    """
    if 0 < high <= INT32_LIMIT:
        return rng.integers(0, high, size=size, dtype=np.int32)
    return rng.integers(0, high, size=size)


def resample_indices(n: int, n_boot: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield (chunk, n) arrays of indices drawn with replacement, `n_boot` rows in all."""
    chunk = max(1, CHUNK_CELLS // max(n, 1))
    done = 0
    while done < n_boot:
        rows = min(chunk, n_boot - done)
        yield integers(rng, n, (rows, n))
        done += rows


def bootstrap_statistic(
    n: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    n_boot: int = N_BOOTSTRAP,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Bootstrap replicates of a statistic of `n` units.

    Args:
        n: Number of units (prompts).
        statistic: Maps a (rows, n) index array to (rows,) statistic values.
        n_boot: Number of resamples.
        rng: Random generator (seeded by the caller).

    Returns:
        The `n_boot` replicates (NaN where the statistic is undefined on a resample).
    """
    rng = rng or np.random.default_rng(0)
    if n == 0 or n_boot <= 0:
        return np.full(max(n_boot, 0), np.nan)
    return np.concatenate([statistic(idx) for idx in resample_indices(n, n_boot, rng)])


def percentile_interval(replicates: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile interval of bootstrap replicates (NaN replicates ignored)."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


def mean_ci(
    values: np.ndarray,
    n_boot: int = N_BOOTSTRAP,
    rng: np.random.Generator | None = None,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """Mean of `values` and its percentile bootstrap interval: (mean, low, high).

    NaN values are left out first (e.g. prompts without a scored sample).
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    replicates = bootstrap_statistic(values.size, lambda idx: values[idx].mean(axis=1), n_boot, rng)
    low, high = percentile_interval(replicates, confidence)
    return float(values.mean()), low, high
