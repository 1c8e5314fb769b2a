"""The report's renderers: its blocks as Markdown and as one self-contained HTML page.

A block is ``(kind, content)``: ``h1`` / ``h2`` / ``h3`` (text), ``p`` (text), ``list`` (texts),
``table`` (a DataFrame) or ``figure`` ((caption, PNG path)). The renderers format cells and lay the
page out; they compute no statistic.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FLOAT_DIGITS = 4


def fmt_value(value: Any) -> str:
    """One table cell for display: floats to 4 decimals (small ones to 3 significant digits)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.3g}"
        return f"{value:.{FLOAT_DIGITS}f}".rstrip("0").rstrip(".")
    return str(value)


def fmt(table: pd.DataFrame) -> pd.DataFrame:
    """A table with every cell formatted for display."""
    return pd.DataFrame({c: [fmt_value(v) for v in table[c].tolist()] for c in table.columns})


def render_markdown(blocks: list[tuple[str, Any]], out_dir: Path) -> str:
    """Render blocks as Markdown (figures linked by relative path)."""
    lines: list[str] = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + content, ""]
        elif kind == "p":
            lines += [content, ""]
        elif kind == "list":
            lines += [f"- {item}" for item in content] + [""]
        elif kind == "table":
            shown = fmt(content)
            lines.append("| " + " | ".join(map(str, shown.columns)) + " |")
            lines.append("|" + "---|" * len(shown.columns))
            for row in shown.itertuples(index=False):
                lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
            lines.append("")
        elif kind == "figure":
            caption, path = content
            pdf = path.with_suffix(".pdf")
            lines += [
                f"![{caption}]({path.relative_to(out_dir).as_posix()})",
                "",
                f"*{caption}* ([PDF]({pdf.relative_to(out_dir).as_posix()}))",
                "",
            ]
    return "\n".join(lines)


def render_html(blocks: list[tuple[str, Any]], title: str) -> str:
    """Render blocks as one self-contained HTML page (figures embedded as base64 PNG)."""
    body: list[str] = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(content)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{html.escape(content)}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in content) + "</ul>")
        elif kind == "table":
            body.append(fmt(content).to_html(index=False, border=0, classes="t", escape=True))
        elif kind == "figure":
            caption, path = content
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
        "table.t{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em;display:block;overflow-x:auto}"
        "table.t th,table.t td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right;"
        "white-space:nowrap}"
        "table.t th{background:#f4f4f4}img{max-width:100%}figure{margin:1.5em 0}"
        "figcaption{font-style:italic;color:#555}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )
