"""The report's renderers: its blocks as Markdown and as one self-contained HTML page.

A block is ``(kind, content)``: ``h1`` / ``h2`` / ``h3`` (text), ``p`` (text), ``list`` (texts),
``summary`` ((title, sentences)), ``table`` (a DataFrame), ``figure`` ((caption, PNG path)) or
``pair`` ((figures, blocks): the figures beside the numbers they show). The renderers format cells
and lay the page out; they compute no statistic.

Tables are compacted for reading (`compact`): a column with one value on every row is stated once
above the table; headers read as words (`DISPLAY_NAMES`). The page is laid out for a 1,280 px
window: `estimated_width_px` is the browser-free check that a compacted table fits its box
(`TABLE_BUDGET_PX`); tests/test_report_layout.py measures the same in Chromium when it is installed.
"""

from __future__ import annotations

import base64
import html
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FLOAT_DIGITS = 4
PAGE_WIDTH_PX = 1200
"""The page's maximum width (CSS px); at 1,280 px the body is this wide less its padding."""
PAGE_PADDING_PX = 24
TABLE_BUDGET_PX = PAGE_WIDTH_PX - 2 * PAGE_PADDING_PX
"""The widest a table may be: the page's content box."""
CHAR_PX = 7.5
"""A generous average character width of the table font (12 px system sans-serif; digits are ~6.7)."""
CELL_PADDING_PX = 17
"""Left + right cell padding (8 px each) and the border."""
FIGURE_SCALE = 0.6
"""Figures are drawn at 150 dpi; shown at this share of their pixel width (90 CSS px per inch)."""
ALWAYS_SHARED: tuple[str, ...] = (
    "run",
    "model",
    "dataset",
    "judge",
    "harmful",
    "level",
    "scope",
    "tie_break",
)
"""Label columns stated above a table whenever they hold one value, even in a one-row table."""
DISPLAY_NAMES: dict[str, str] = {
    "harmful": "prompts",
    "n_prompts": "n prompts",
    "mean_ssi": "mean SSI",
    "pct_unstable": "% unstable",
    "pct_flipped": "% flipped",
    "pct_comply": "% COMPLY",
    "pct_partial": "% PARTIAL",
    "pct_refuse": "% REFUSE",
    "harmful_pct_comply": "% COMPLY (harmful)",
    "harmful_pct_fulfilled": "% COMPLY + PARTIAL (harmful)",
    "benign_pct_refuse": "% REFUSE (benign)",
    "kendalls_w": "Kendall's W",
    "p_bonferroni": "p (Bonferroni)",
    "p_holm": "p (Holm)",
    "mean_agreement": "agreement",
    "n_mean": "n (mean reaches target)",
    "n_ci_low": "n (CI low reaches target)",
    "exact_match_pct": "% exact match",
    "pct_identical_flipped": "% identical yet flipped",
    "percent_agreement": "% agreement",
    "kappa": "Cohen's kappa",
    "flips_from_judges_a": "% of a's flips gone where judges agree",
    "flips_from_judges_b": "% of b's flips gone where judges agree",
    "mean_ssi_agree": "mean SSI where judges agree",
    "pct_unstable_agree": "% unstable where judges agree",
    "flipped_a": "prompts flipped (a)",
    "flipped_b": "prompts flipped (b)",
}
"""Column names shown as words in the report (the CSVs keep the names of `schema.py`)."""


def fmt_value(value: Any) -> str:
    """One table cell for display: floats to 4 decimals (small ones to 3 significant digits)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.3g}"
        return f"{value:.{FLOAT_DIGITS}f}".rstrip("0").rstrip(".")
    return str(value)


def _is_percent(column: str) -> bool:
    """Whether a column holds percentages (shown to one decimal)."""
    return column.startswith(("pct_", "percent_", "% ")) or "_pct" in column


def _cell(column: str, value: Any) -> str:
    """A cell as shown: the harmful flag in words, percentages to 1 decimal, the rest by `fmt_value`."""
    if column == "harmful" and isinstance(value, (bool, np.bool_)):
        return "harmful" if value else "benign"
    if _is_percent(column) and isinstance(value, (float, np.floating)) and np.isfinite(value):
        return f"{value:.1f}"
    return fmt_value(value)


def fmt(table: pd.DataFrame) -> pd.DataFrame:
    """A table with every cell formatted for display."""
    return pd.DataFrame({c: [_cell(c, v) for v in table[c].tolist()] for c in table.columns})


def header(column: str) -> str:
    """A column's header as shown: its display name, else the name with underscores as spaces."""
    return DISPLAY_NAMES.get(column, column.replace("_", " "))


def with_interval(
    table: pd.DataFrame, value: str, low: str, high: str, digits: int = 3, name: str | None = None
) -> pd.DataFrame:
    """Replace columns `value`, `low`, `high` by one text column ``value [low, high]`` (named `name`).

    One column instead of three keeps a table inside the page; the CSVs keep the three numbers.
    """
    if table.empty:
        return table

    def text(v: float, lo: float, hi: float) -> str:
        if pd.isna(v):
            return ""
        if pd.isna(lo) or pd.isna(hi):
            return f"{v:.{digits}f}"
        return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"

    cells = [text(v, lo, hi) for v, lo, hi in zip(table[value], table[low], table[high], strict=True)]
    out = table.drop(columns=[low, high])
    out[value] = cells
    return out.rename(columns={value: name}) if name else out


def compact(table: pd.DataFrame) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """Split a formatted table into (shared, rest): the columns with one value on every row, stated once.

    With two or more rows every constant column is shared; a one-row table shares only its label
    columns (`ALWAYS_SHARED`), so its numbers stay a table. Empty columns are dropped.
    """
    shown = fmt(table)
    shared: list[tuple[str, str]] = []
    keep = []
    for column in shown.columns:
        values = set(shown[column])
        if values == {""}:
            continue
        if len(values) == 1 and (len(shown) > 1 or column in ALWAYS_SHARED):
            shared.append((header(column), shown[column].iloc[0]))
        else:
            keep.append(column)
    rest = shown[keep] if keep else shown.iloc[:, :0]
    return shared, rest.rename(columns=header)


def estimated_width_px(table: pd.DataFrame) -> float:
    """A compacted table's rendered width at the report's font, estimated without a browser.

    Each column is as wide as its longest cell (cells do not wrap) or the longest word of its header
    (headers wrap at spaces), plus padding.
    """
    width = 0.0
    for column in table.columns:
        longest_cell = max((len(str(v)) for v in table[column]), default=0)
        longest_word = max((len(w) for w in str(column).split()), default=0)
        width += max(longest_cell, longest_word) * CHAR_PX + CELL_PADDING_PX
    return width


def tables_of(blocks: Sequence[tuple[str, Any]]) -> list[pd.DataFrame]:
    """Every table of the blocks, those inside figure pairs included."""
    found: list[pd.DataFrame] = []
    for kind, content in blocks:
        if kind == "table":
            found.append(content)
        elif kind == "pair":
            found.extend(tables_of(content[1]))
    return found


# ---------------------------------------------------------------- Markdown


def _markdown_table(table: pd.DataFrame) -> list[str]:
    shared, shown = compact(table)
    lines = []
    if shared:
        lines += ["; ".join(f"{name}: **{value}**" for name, value in shared), ""]
    if len(shown.columns):
        lines.append("| " + " | ".join(map(str, shown.columns)) + " |")
        lines.append("|" + "---|" * len(shown.columns))
        for row in shown.itertuples(index=False):
            lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return [*lines, ""]


def _markdown_blocks(blocks: Sequence[tuple[str, Any]], out_dir: Path) -> list[str]:
    lines: list[str] = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + content, ""]
        elif kind == "p":
            lines += [content, ""]
        elif kind == "list":
            lines += [f"- {item}" for item in content] + [""]
        elif kind == "summary":
            title, sentences = content
            lines += [f"**{title}.** " + " ".join(sentences), ""]
        elif kind == "table":
            lines += _markdown_table(content)
        elif kind == "figure":
            caption, path = content
            pdf = path.with_suffix(".pdf")
            lines += [
                f"![{caption}]({path.relative_to(out_dir).as_posix()})",
                "",
                f"*{caption}* ([PDF]({pdf.relative_to(out_dir).as_posix()}))",
                "",
            ]
        elif kind == "pair":
            shown, beside = content
            lines += _markdown_blocks([("figure", f) for f in shown], out_dir)
            lines += _markdown_blocks(beside, out_dir)
    return lines


def render_markdown(blocks: list[tuple[str, Any]], out_dir: Path) -> str:
    """Render blocks as Markdown (figures linked by relative path)."""
    return "\n".join(_markdown_blocks(blocks, out_dir))


# ---------------------------------------------------------------- HTML

STYLE = (
    f"body{{font-family:system-ui,sans-serif;max-width:{PAGE_WIDTH_PX}px;margin:1.5em auto;"
    f"padding:0 {PAGE_PADDING_PX}px;box-sizing:border-box;color:#222;line-height:1.4}}"
    "h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}"
    ".summary p{margin:.6em 0}.summary b{color:#000}"
    ".tw{overflow-x:auto;margin:.3em 0 1.2em;max-width:100%}"
    "table.t{border-collapse:collapse;font-size:12px}"
    "table.t th,table.t td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right;white-space:nowrap}"
    "table.t th{background:#f4f4f4;white-space:normal;vertical-align:bottom;font-weight:600}"
    "table.t td:first-child,table.t th:first-child{text-align:left}"
    ".shared{font-size:12px;color:#444;margin:.6em 0 .1em}.shared b{color:#000;font-weight:600}"
    ".pair{display:flex;flex-wrap:wrap;gap:.5em 2em;align-items:flex-start}"
    ".pair>.numbers{flex:1 1 auto;min-width:0;max-width:100%}"
    "figure{margin:.6em 0;flex:0 1 auto;max-width:100%}img{max-width:100%;height:auto}"
    "figcaption{font-style:italic;color:#555;font-size:13px}"
    "ul.options{font-size:13px;columns:2;column-gap:2em}"
)


def _png_width(path: Path) -> int | None:
    """The pixel width in a PNG's header (None if it is not a PNG)."""
    head = Path(path).read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int(struct.unpack(">I", head[16:20])[0])


def _html_table(table: pd.DataFrame) -> str:
    shared, shown = compact(table)
    out = ""
    if shared:
        items = "; ".join(f"{html.escape(n)}: <b>{html.escape(v)}</b>" for n, v in shared)
        out += f'<p class="shared">{items}</p>'
    if len(shown.columns):
        out += '<div class="tw">' + shown.to_html(index=False, border=0, classes="t", escape=True) + "</div>"
    return out


def _html_figure(caption: str, path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    width = _png_width(path)
    size = f' width="{round(width * FIGURE_SCALE)}"' if width else ""
    return (
        f'<figure><img alt="{html.escape(caption)}"{size} src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _html_blocks(blocks: Sequence[tuple[str, Any]]) -> list[str]:
    body: list[str] = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(content)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{html.escape(content)}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in content) + "</ul>")
        elif kind == "summary":
            title, sentences = content
            text = html.escape(" ".join(sentences))
            body.append(f'<div class="summary"><p><b>{html.escape(title)}.</b> {text}</p></div>')
        elif kind == "table":
            body.append(_html_table(content))
        elif kind == "figure":
            body.append(_html_figure(*content))
        elif kind == "pair":
            shown, beside = content
            figures = "".join(_html_figure(*f) for f in shown)
            body.append(
                f'<div class="pair">{figures}<div class="numbers">{"".join(_html_blocks(beside))}</div></div>'
            )
    return body


def render_html(blocks: list[tuple[str, Any]], title: str) -> str:
    """Render blocks as one self-contained HTML page (figures embedded as base64 PNG)."""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(_html_blocks(blocks))}</body></html>"
    )
