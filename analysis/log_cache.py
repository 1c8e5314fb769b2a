"""An opt-in cache of each log's tidy rows and report, so a repeated report does not re-read its logs.

Reading is most of a cold report over a million samples (every sample member decompressed and
parsed); the analysis of a cached set of logs starts at once. `load_logs(cache_dir=...)` (the CLI's
`--cache DIR`) looks each log up here before reading it and stores what it read.

An entry is keyed by the log's absolute path, size and modification time (nanoseconds), the reading
options that change the rows (`include_incomplete`, `keep_responses`, the label maps) and
`READER_VERSION`: a log rewritten, touched or moved, another option, or a reader whose rows change
(bump the version) misses the cache and is read again. An unreadable entry is read again too, never an
error. Entries are pickles of the (frame, `LogReport`) pair, exact to the dtype, written atomically
(a temporary file renamed), so a crash leaves no half entry; the folder is the user's own, like any
cache, and pickles are trusted only there. Only logs whose rows were used are cached.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

READER_VERSION = 2
"""Bump when the rows or the report that `load.load_log` makes of a log change."""
SUFFIX = ".pkl"


def entry_path(
    cache_dir: str | Path,
    log: str | Path,
    include_incomplete: bool,
    keep_responses: bool,
    label_maps: Sequence[str],
) -> Path:
    """Where the entry of `log` read with these options lives (its key, hashed, is the file name)."""
    log = Path(log).absolute()  # not resolved: a symlink's name is the log's name in the rows
    stat = log.stat()
    key = repr(
        (
            READER_VERSION,
            str(log),
            stat.st_size,
            stat.st_mtime_ns,
            include_incomplete,
            keep_responses,
            tuple(label_maps),
        )
    )
    return Path(cache_dir) / (hashlib.sha256(key.encode("utf-8")).hexdigest() + SUFFIX)


def get(path: Path) -> Any | None:
    """The cached value at `path`, or None when there is none or it cannot be read."""
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
        return None


def put(path: Path, value: Any) -> None:
    """Store `value` at `path` atomically (a partial write never becomes an entry)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with open(partial, "wb") as f:
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, path)
