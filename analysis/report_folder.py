"""Where a report is written: never over an existing report, unless the caller says how.

An existing, non-empty output folder is never overwritten silently: `prepare_out_dir` refuses unless
`overwrite=True` (files of the same name are replaced, others left alone) or `numbered=True` (the
report goes to the first free `<out>-2`, `<out>-3`, ...). The command decides the folder before it
reads any log, so a refused folder costs nothing.
"""

from __future__ import annotations

from pathlib import Path


class OutputExistsError(FileExistsError):
    """The output folder exists and holds files; the caller must choose overwrite or numbered."""


def prepare_out_dir(out: str | Path, overwrite: bool = False, numbered: bool = False) -> Path:
    """Return the folder to write to, refusing to overwrite an existing report silently.

    Raises:
        OutputExistsError: `out` exists, is not empty, and neither option is set.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()) or overwrite:
        out.mkdir(parents=True, exist_ok=True)
        return out
    if numbered:
        k = 2
        while (candidate := out.with_name(f"{out.name}-{k}")).exists():
            k += 1
        candidate.mkdir(parents=True)
        return candidate
    raise OutputExistsError(
        f"{out} already holds files; pass overwrite (replace same-named files) or numbered "
        f"(write to {out.name}-2, ...) to write a report there"
    )
