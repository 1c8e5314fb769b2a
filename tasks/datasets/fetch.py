"""Where a dataset file comes from: a pinned upstream URL, its checksum, and its name in a local folder.

GitHub files are pinned to a commit (`github_file`) and Hugging Face files to a revision, a commit of
the hub's dataset repository (`hub_file`). Where the SHA-256 of the upstream file is known, a download
is checked against it; each dataset module holds its own pins beside its `record_to_sample`.

A local data folder (`data_dir` or env REFUSAL_STABILITY_DATA_DIR) replaces every download: if it is
set and lacks the file, that is an error, not a reason to go to the network. Inside it each file is
looked up at `RemoteFile.local_name`, the layout of `../shared/datasets/`. Downloads go to a cache
folder (`~/.cache/refusal_stability`, or env REFUSAL_STABILITY_CACHE_DIR), are checked against the
pinned SHA-256 where one is known, and are moved into place only when complete, so a broken download
never poisons the cache.

Hub revisions may be overridden with an environment variable (`REFUSAL_STABILITY_<NAME>_REVISION`,
e.g. REFUSAL_STABILITY_BEAVERTAILS_REVISION); the checksum is then not checked, since it belongs to
the pinned revision.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from refusal_stability.tasks.datasets.errors import DatasetError

logger = logging.getLogger("refusal_stability.tasks.datasets")

DATA_DIR_ENV = "REFUSAL_STABILITY_DATA_DIR"
CACHE_DIR_ENV = "REFUSAL_STABILITY_CACHE_DIR"
DEFAULT_CACHE_DIR = "~/.cache/refusal_stability"
DOWNLOADS_SUBDIR = "downloads"
HUB_TOKEN_ENVS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
DOWNLOAD_TIMEOUT_S = 60.0
USER_AGENT = "refusal-stability-dataset-loader"
CACHE_KEY_HEX_CHARS = 16
GITHUB_RAW = "https://raw.githubusercontent.com"
HF_HUB = "https://huggingface.co"
UNPINNED_REVISION = "main"
"""Used only where no revision could be verified; loading from it logs a warning."""
REVISION_ENV_TEMPLATE = "REFUSAL_STABILITY_{name}_REVISION"


@dataclass(frozen=True)
class RemoteFile:
    """One upstream file.

    Attributes:
        local_name: Path of the file inside a local data folder (and its cache name).
        url: Download URL, pinned to a commit or revision where one is known.
        sha256: Expected SHA-256 of the downloaded bytes, or None where not verified.
        pinned: False where the URL follows a moving branch (no verified revision).
        gated: True for gated hub datasets: the user's hub token is sent (HF_TOKEN).
        homepage: Where a user accepts the licence or reads about the file (for messages).
    """

    local_name: str
    url: str
    sha256: str | None
    pinned: bool = True
    gated: bool = False
    homepage: str = ""


def github_file(repo: str, commit: str, path: str, local_name: str, sha256: str | None) -> RemoteFile:
    """Return a GitHub file pinned to a commit (raw.githubusercontent.com)."""
    return RemoteFile(
        local_name=local_name,
        url=f"{GITHUB_RAW}/{repo}/{commit}/{path}",
        sha256=sha256,
        homepage=f"https://github.com/{repo}/blob/{commit}/{path}",
    )


def hub_file(
    repo_id: str,
    path: str,
    local_name: str,
    *,
    revision: str | None,
    sha256: str | None = None,
    revision_env: str | None = None,
    gated: bool = False,
) -> RemoteFile:
    """Return a file of a Hugging Face dataset repository at one revision (the hub's resolve URL).

    Call it when loading, not at import: env `REFUSAL_STABILITY_<revision_env>_REVISION`, when set,
    replaces the pinned revision (and drops the checksum, which belongs to the pinned revision);
    with neither, the file follows the `main` branch, unpinned (a download then logs a warning).
    """
    override = (
        os.environ.get(REVISION_ENV_TEMPLATE.format(name=revision_env), "").strip() if revision_env else ""
    )
    if override and override != revision:
        revision, sha256 = override, None
    pinned = revision is not None
    return RemoteFile(
        local_name=local_name,
        url=f"{HF_HUB}/datasets/{repo_id}/resolve/{revision or UNPINNED_REVISION}/{path}",
        sha256=sha256,
        pinned=pinned,
        gated=gated,
        homepage=f"{HF_HUB}/datasets/{repo_id}",
    )


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    """Return the local data folder: the argument, else env REFUSAL_STABILITY_DATA_DIR, else None.

    Raises:
        DatasetError: If a folder is named but does not exist.
    """
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(DATA_DIR_ENV) or None
    if chosen is None:
        return None
    folder = resolve_user_path(chosen)
    if not folder.is_dir():
        origin = "data_dir" if data_dir not in (None, "") else DATA_DIR_ENV
        raise DatasetError(f"{chosen}: the local data folder ({origin}) does not exist")
    return folder


def resolve_user_path(value: str | os.PathLike[str]) -> Path:
    """Return the path a user meant, also when `inspect eval` has changed the working folder.

    Inspect runs a task with the task file's folder as working folder, so a relative path typed on
    the command line (`-T data_dir=../shared/datasets`) would resolve against `tasks/`. A relative
    path is therefore tried against the working folder, then against the folder the command was
    started from (env PWD, which a change of working folder does not update).

    Returns:
        The first candidate that exists, else the path as given (for the caller's error message).
    """
    path = Path(value).expanduser()
    if path.is_absolute() or path.exists():
        return path
    launched_from = os.environ.get("PWD")
    if launched_from:
        candidate = Path(launched_from) / path
        if candidate.exists():
            return candidate
    return path


def cache_dir() -> Path:
    """Return the download cache folder: env REFUSAL_STABILITY_CACHE_DIR or ~/.cache/refusal_stability."""
    return Path(os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR).expanduser()


def locate(remote: RemoteFile, data_dir: Path | None) -> Path:
    """Return a readable local path for a remote file.

    Args:
        remote: The upstream file.
        data_dir: Local data folder; when set, the file must be there (no download happens).

    Raises:
        DatasetError: If the file is missing from the data folder, or the download fails.
    """
    if data_dir is not None:
        path = data_dir / remote.local_name
        if not path.is_file():
            raise DatasetError(
                f"{path}: file not found in the local data folder {data_dir}; a data folder "
                f"replaces every download, so put {remote.local_name} there "
                f"(upstream: {remote.url}) or leave data_dir and {DATA_DIR_ENV} unset to download"
            )
        return path
    return cached_download(remote)


def cached_download(remote: RemoteFile) -> Path:
    """Return the cached copy of a remote file, downloading (and checking) it the first time."""
    key = hashlib.sha256(remote.url.encode()).hexdigest()[:CACHE_KEY_HEX_CHARS]
    target = cache_dir() / DOWNLOADS_SUBDIR / key / Path(remote.local_name).name
    if not remote.pinned:
        logger.warning(
            "%s is not pinned to a verified revision (%s); results may change upstream",
            remote.local_name,
            remote.url,
        )
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        download(remote.url, partial, _headers(remote.url))
    except urllib.error.HTTPError as exc:
        partial.unlink(missing_ok=True)
        raise DatasetError(_http_error_message(remote, exc.code)) from exc
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise DatasetError(
            f"{remote.url}: download failed ({reason}); without network, put {remote.local_name} "
            f"in a local data folder (data_dir or {DATA_DIR_ENV})"
        ) from exc
    _verify(remote, partial)
    partial.replace(target)
    logger.info("downloaded %s to %s", remote.url, target)
    return target


def download(url: str, destination: Path, headers: dict[str, str]) -> None:
    """Fetch a URL into a file (the one place that touches the network; tests replace it)."""
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
        destination.write_bytes(response.read())


def sha256_of(path: Path) -> str:
    """Return the SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(remote: RemoteFile, path: Path) -> None:
    """Raise (and delete the download) if it does not have the pinned SHA-256."""
    if remote.sha256 is None:
        return
    actual = sha256_of(path)
    if actual != remote.sha256:
        path.unlink(missing_ok=True)
        raise DatasetError(
            f"{remote.url}: downloaded file has SHA-256 {actual}, expected {remote.sha256} "
            "(the pinned upstream file); it was not used"
        )


def _headers(url: str) -> dict[str, str]:
    """Return request headers; the user's hub token goes to the Hugging Face hub only."""
    headers = {"User-Agent": USER_AGENT}
    if url.startswith(HF_HUB + "/"):
        token = next((os.environ[name] for name in HUB_TOKEN_ENVS if os.environ.get(name)), None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
    return headers


def _http_error_message(remote: RemoteFile, status: int) -> str:
    """Explain an HTTP error, with what to do about it."""
    if status in (401, 403) and remote.gated:
        return (
            f"{remote.url}: access denied (HTTP {status}); {remote.homepage} is gated: accept its "
            f"terms on the hub, then set HF_TOKEN to a token of that account, or put "
            f"{remote.local_name} in a local data folder"
        )
    if status in (401, 403):
        return f"{remote.url}: access denied (HTTP {status})"
    if status == 404:
        return f"{remote.url}: not found upstream (HTTP 404)"
    return f"{remote.url}: download failed (HTTP {status})"
