"""The report as a reader sees it: compact tables that fit a 1,280 px window, the summary first.

Two checks of the same promise. Without a browser (always run): every table the report shows, once
compacted, fits the page's content box by `report_render.estimated_width_px`. With Chromium (run when
a `chromium` binary is installed; CI installs from PyPI only, so it skips there): the page is opened at
1,280 px and each table's rendered width is measured against its box.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from test_analysis_report import synthetic

from refusal_stability.analysis import groups, load, report, tidy
from refusal_stability.analysis.report_blocks import report_blocks
from refusal_stability.analysis.report_render import (
    TABLE_BUDGET_PX,
    compact,
    estimated_width_px,
    tables_of,
)

WINDOW_PX = 1280
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
MEASURE = """<script>
const tables = [...document.querySelectorAll('table')].map(t => {
  const box = t.closest('.tw') || t.parentElement;
  return {width: t.getBoundingClientRect().width, box: box.clientWidth, scroll: box.scrollWidth,
          text: t.querySelector('th') ? t.querySelector('th').textContent : ''};
});
document.body.setAttribute('data-layout', JSON.stringify({
  tables, viewport: window.innerWidth, page: document.documentElement.scrollWidth}));
</script>"""
"""Written into a copy of report.html: the browser measures each table and its box into the DOM."""


def _built(tmp_path: Path, figures: bool, n_prompts: int = 24, runs: int = 2):
    frame = synthetic(n_prompts, runs)
    loaded = load.LoadResult(frame=frame, logs=[load.LogReport(path="x", included=True)])
    options = report.ReportOptions(n_boot=30, draws=30, figures=figures)
    out, analysis = report.build_report(loaded, tmp_path / "r", options)
    return out, analysis, loaded, options


def test_compact_states_a_shared_column_once_and_keeps_the_rest() -> None:
    table = pd.DataFrame(
        {"run": ["a", "b"], "dataset": ["d", "d"], "harmful": [True, True], "pct_unstable": [14.0412, 3.0]}
    )
    shared, shown = compact(table)
    assert shared == [("dataset", "d"), ("prompts", "harmful")]
    assert list(shown.columns) == ["run", "% unstable"] and shown["% unstable"].tolist() == ["14.0", "3.0"]
    one_row = compact(table.head(1))
    assert [name for name, _ in one_row[0]] == ["run", "dataset", "prompts"]  # labels shared, numbers kept
    assert list(one_row[1].columns) == ["% unstable"]


def test_estimated_width_grows_with_cells_and_catches_a_wide_table() -> None:
    narrow = pd.DataFrame({"a": ["1"], "b": ["2"]})
    assert estimated_width_px(narrow) < estimated_width_px(narrow.assign(c=["x" * 40]))
    # the whole headline table, as the report showed it before compaction, does not fit the page
    overall = synthetic(8, 2)
    from refusal_stability.analysis import per_prompt

    table = groups.group_table(per_prompt.per_prompt(overall), n_boot=0)
    wide = table[[*groups.GROUP_KEYS, *groups.HEADLINE_COLUMNS]].rename(columns=str)
    assert estimated_width_px(wide.astype(str)) > TABLE_BUDGET_PX


def test_every_report_table_fits_the_page_and_the_summary_comes_first(tmp_path: Path) -> None:
    out, analysis, loaded, options = _built(tmp_path, figures=False)
    blocks = report_blocks(analysis, loaded, options, [], ["x"])
    kinds = [kind for kind, _ in blocks]
    assert kinds[:2] == ["h1", "h2"] and blocks[1][1] == "Summary" and kinds[2] == "summary"
    assert len(analysis.summary) == kinds.count("summary") == 8  # 2 runs x 2 judges x 2 halves
    tables = tables_of(blocks)
    assert len(tables) >= 10
    for table in tables:
        shared, shown = compact(table)
        assert estimated_width_px(shown) <= TABLE_BUDGET_PX, list(shown.columns)
        assert not {tidy.DATASET, tidy.MODEL} & set(shown.columns)  # one dataset, one model: stated once
    page = (out / "report.md").read_text(encoding="utf-8")
    assert "dataset: **d**" in page and "Options" not in page.split("## Summary")[0]
    assert "- unstable: SSI < 0.8" in page  # the options as a readable list, not JSON
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 8 and {"mean_ssi", "unstable_low", "noise_pct", "samples_for_95"} <= set(summary)


def _chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


@pytest.mark.skipif(
    _chromium() is None, reason="no chromium binary (apt-get install chromium) to measure the page"
)
def test_no_table_is_wider_than_its_box_at_1280_px_in_chromium(tmp_path: Path) -> None:
    out, *_ = _built(tmp_path, figures=True, n_prompts=12, runs=2)
    page = (out / "report.html").read_text(encoding="utf-8")
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [
            str(_chromium()),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={WINDOW_PX},1000",
            "--dump-dom",
            measured.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    found = re.search(r'data-layout="([^"]*)"', done.stdout)
    assert found, f"chromium wrote no measurements: {done.stderr[-2000:]}"
    layout = json.loads(html.unescape(found.group(1)))
    assert layout["viewport"] == WINDOW_PX
    assert layout["page"] <= WINDOW_PX, "the page scrolls sideways"
    assert len(layout["tables"]) >= 10
    for table in layout["tables"]:
        assert table["scroll"] <= table["box"] + 1 and table["width"] <= table["box"] + 1, table
