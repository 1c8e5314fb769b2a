"""Figures for the report, each written as PNG (for the HTML) and PDF (for papers).

Every function takes the tables the other modules produce and a folder, and returns the paths it
wrote (none when the data cannot support the figure, e.g. the run-to-run spread with one run).
`@report_figure(caption, arguments, section)` above a function puts it in the report
(`REPORT_FIGURES`), in the section whose numbers it draws (`report_blocks.SECTIONS`).
A "unit" is one evaluation: the run / model / dataset / judge columns that differ between rows
are joined into its label, so one model on one dataset is just the run name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from refusal_stability.analysis import tidy  # noqa: E402
from refusal_stability.analysis.groups import UNCATEGORIZED  # noqa: E402
from refusal_stability.schema import (
    MEAN_SSI,
    PCT_UNSTABLE,
)

DPI = 150
MAX_UNITS = 10
"""At most this many units are drawn per figure (the first ones in sort order); tables hold all."""
PANELS_PER_ROW = 4
"""Figures with one panel per unit wrap after this many panels, so each stays readable."""

FORMATS: tuple[str, ...] = ("png", "pdf")
UNIT_KEYS: tuple[str, ...] = (*tidy.RUN_KEYS, tidy.HARMFUL)
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


class ReportFigure(NamedTuple):
    """One figure of the report: its caption, how to pick its inputs, how to draw it, where it goes."""

    caption: str
    arguments: Callable[[Any, Any], tuple]
    draw: Callable[..., list[Path]]
    section: str


REPORT_FIGURES: list[ReportFigure] = []
"""Every figure of the report, in the order drawn. Filled by `report_figure`."""


def report_figure(caption: str, arguments: Callable[[Any, Any], tuple], section: str = "other") -> Callable:
    """Register a figure of the report, where it is defined: the one place to add a figure.

    Args:
        caption: The figure's caption in the report.
        arguments: Picks the figure's inputs from the report's `Analysis` and `ReportOptions`;
            the figure is then drawn as `draw(*arguments(analysis, options), out_dir)`.
        section: The report section it is shown in, beside the numbers it draws (a key of
            `report_blocks.SECTIONS`; "other" puts it under "Other figures" at the end).
    """

    def register(draw: Callable[..., list[Path]]) -> Callable[..., list[Path]]:
        REPORT_FIGURES.append(ReportFigure(caption, arguments, draw, section))
        return draw

    return register


def unit_labels(table: pd.DataFrame, keys: Sequence[str] = UNIT_KEYS) -> pd.Series:
    """Label each row by the unit columns that vary in the table (the run name when only it varies)."""
    present = [k for k in keys if k in table]
    varying = [k for k in present if table[k].astype(str).nunique() > 1]
    if tidy.RUN in present and tidy.RUN not in varying:
        varying = [tidy.RUN, *varying]
    if tidy.MODEL in varying and tidy.RUN in varying:
        same = (table[tidy.RUN].astype(str) == table[tidy.MODEL].astype(str)).all()
        varying = [k for k in varying if not (k == tidy.MODEL and same)]

    def label(row: pd.Series) -> str:
        parts = []
        for k in varying:
            value = row[k]
            parts.append(("benign" if value is False else "harmful") if k == tidy.HARMFUL else str(value))
        return " | ".join(parts)

    if not len(table):
        return pd.Series([], dtype=str)
    # one label per distinct unit, spread over its rows: a label per row of a per-prompt table
    # (50,000 rows at a million samples) cost seconds a figure
    if varying:
        grouped = table.groupby(varying, observed=True, dropna=False, sort=False)
        unit = grouped.ngroup().to_numpy()
    else:
        unit = np.zeros(len(table), dtype=np.int64)
    first = np.unique(unit, return_index=True)[1]  # units are numbered 0, 1, ...: the first row of each
    labels = table.iloc[first].apply(label, axis=1)
    return pd.Series(labels.to_numpy()[unit], index=table.index, dtype=labels.dtype)


def _save(fig: plt.Figure, out_dir: Path, name: str) -> list[Path]:
    """Write a figure in every format and close it.

    The tight bounding box is measured once for all formats: `bbox_inches="tight"` draws the whole
    figure once more per format only to measure it, a third of the figures' time.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
    for fmt in FORMATS:
        path = out_dir / f"{name}.{fmt}"
        fig.savefig(path, dpi=DPI, bbox_inches=bbox)
        paths.append(path)
    plt.close(fig)
    return paths


def _units(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Split a table into (label, rows) per unit, at most `MAX_UNITS`."""
    if table.empty:
        return []
    labels = unit_labels(table)
    return [(str(u), table[labels == u]) for u in sorted(labels.unique())[:MAX_UNITS]]


def _same_unit(table: pd.DataFrame, row: pd.Series, keys: Sequence[str] = UNIT_KEYS) -> pd.DataFrame:
    """The rows of `table` of the same unit as `row` (matched on the unit columns both have)."""
    if table is None or table.empty:
        return pd.DataFrame()
    mask = np.ones(len(table), dtype=bool)
    for key in keys:
        if key in table and key in row.index:
            mask &= (table[key].astype(object) == row[key]).to_numpy(dtype=bool)
    return table[mask]


def _yerr(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Error-bar lengths for matplotlib from an interval (missing ends drawn as no bar; never negative)."""
    value, low, high = (np.asarray(x, dtype=float) for x in (value, low, high))
    below = np.nan_to_num(value - low, nan=0.0).clip(min=0)
    above = np.nan_to_num(high - value, nan=0.0).clip(min=0)
    return np.vstack([below, above])


def _n_under(ax: plt.Axes, xs: Sequence[float], ns: Sequence[float], rotate: bool = False) -> None:
    """Write each bar's n under it, just below the x axis."""
    for x, n in zip(xs, ns, strict=True):
        if pd.notna(n):
            ax.text(
                x,
                -0.015,
                f"n={int(n)}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=6,
                color="#555",
                rotation=90 if rotate else 0,
            )


def _grouped_bars(
    ax: plt.Axes,
    xs: np.ndarray,
    width: float,
    interval: tuple[np.ndarray, np.ndarray, np.ndarray],
    ns: Sequence[float],
    label: str,
    index: int,
    rotate: bool,
) -> None:
    """One unit's bars in a grouped bar chart: each value with its interval, its colour, n under it."""
    values, low, high = interval
    ax.bar(
        xs,
        values,
        width,
        yerr=_yerr(values, low, high),
        capsize=2,
        label=label,
        color=COLORS[index % len(COLORS)],
        error_kw={"linewidth": 0.8},
    )
    _n_under(ax, xs, ns, rotate=rotate)


def _share(shares: pd.DataFrame, row: pd.Series, share: str, **where: object) -> pd.Series | None:
    """The Wilson-interval row of one share (`intervals.share_intervals`) for `row`'s unit."""
    mine = _same_unit(shares, row)
    if mine.empty:
        return None
    mask = mine["share"] == share
    for column, value in where.items():
        if column not in mine:
            return None
        if isinstance(value, float):
            mask &= np.isclose(mine[column].to_numpy(dtype=float), value)
        elif value is None:
            mask &= mine[column].isna()
        else:
            mask &= mine[column].astype(str) == str(value)
    found = mine[mask]
    return found.iloc[0] if len(found) else None


def _panel_grid(n: int, width: float, height: float) -> tuple[plt.Figure, list[plt.Axes]]:
    """`n` panels in rows of at most `PANELS_PER_ROW`; the unused axes are hidden."""
    cols = min(n, PANELS_PER_ROW)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _shares_of(analysis: Any) -> pd.DataFrame:
    return analysis.publishable.get("share_intervals", pd.DataFrame())


def _errors_of(analysis: Any) -> pd.DataFrame:
    return analysis.publishable.get("error_bars", pd.DataFrame())


@report_figure(
    "SSI distribution with the unstable threshold (title: mean SSI and % unstable with 95 % CIs)",
    lambda a, o: (a.prompts, o.threshold, a.groups, _shares_of(a)),
    section="headline",
)
def ssi_histogram(
    prompts: pd.DataFrame, threshold: float, groups: pd.DataFrame, shares: pd.DataFrame, out_dir: Path
) -> list[Path]:
    """Distribution of per-prompt SSI, one panel per unit, with the unstable threshold marked.

    Each panel's title gives the unit's mean SSI (bootstrap 95 % CI over prompts) and its % unstable
    (Wilson 95 % CI), read from the group and share tables.
    """
    units = _units(prompts[prompts["n"] > 0])
    if not units:
        return []
    overall = groups[groups["level"] == "overall"]
    fig, axes = _panel_grid(len(units), 4.2, 3.5)
    edges = np.arange(0.3 - 0.0125, 1.0 + 0.0125 + 1e-9, 0.025)
    for ax, (label, rows) in zip(axes, units, strict=False):
        ssi = rows["ssi"].to_numpy(dtype=float)
        ax.hist(ssi, bins=edges, color=COLORS[0], edgecolor="white")
        ax.axvline(threshold, color="crimson", linestyle="--", linewidth=1.2)
        ax.set_yscale("log")
        first = rows.iloc[0]
        group = _same_unit(overall, first)
        unstable = _share(shares, first, "unstable", level="overall")
        lines = [label]
        if len(group):
            g = group.iloc[0]
            lines.append(
                f"mean SSI {g[MEAN_SSI]:.3f} [{g['ssi_ci_low']:.3f}, {g['ssi_ci_high']:.3f}], n={len(ssi)}"
            )
        if unstable is not None:
            low, high = unstable["wilson_low"], unstable["wilson_high"]
            lines.append(f"unstable {unstable['pct']:.1f} % [{low:.1f}, {high:.1f}]")
        ax.set_title("\n".join(lines), fontsize=8)
        ax.set_xlabel("SSI (share of the modal verdict)", fontsize=8)
        ax.set_ylabel("prompts (log scale)", fontsize=8)
    fig.tight_layout()
    return _save(fig, out_dir, "ssi_histogram")


@report_figure(
    "% of prompts that flip, within each temperature and over the grid "
    "(Wilson 95 % CI; n prompts under each bar)",
    lambda a, o: (a.groups, _shares_of(a)),
    section="temperature",
)
def flip_rate_bars(groups: pd.DataFrame, shares: pd.DataFrame, out_dir: Path) -> list[Path]:
    """% of prompts whose verdict flips: within each temperature (over seeds) and over the whole grid."""
    overall = groups[groups["level"] == "overall"]
    by_t = groups[groups["level"] == "temperature"]
    units = _units(overall)
    if not units:
        return []
    temps = sorted(t for t in by_t[tidy.TEMPERATURE].dropna().unique())
    columns = [f"T = {t:g}" for t in temps] + ["whole grid"]
    fig, ax = plt.subplots(figsize=(max(5.5, 1.4 * len(columns) * max(1, len(units)) ** 0.5), 3.8))
    width = 0.8 / len(units)
    x = np.arange(len(columns))
    top = 0.0
    for i, (label, rows) in enumerate(units):
        row = rows.iloc[0]
        found = [_share(shares, row, "flipped", level="temperature", temperature=float(t)) for t in temps]
        found.append(_share(shares, row, "flipped", level="overall"))
        values = np.array([np.nan if f is None else f["pct"] for f in found], dtype=float)
        low = np.array([np.nan if f is None else f["wilson_low"] for f in found], dtype=float)
        high = np.array([np.nan if f is None else f["wilson_high"] for f in found], dtype=float)
        ns = [np.nan if f is None else f["n_prompts"] for f in found]
        top = max(top, float(np.nanmax(np.append(high, 0.0))))
        xs = x + (i - (len(units) - 1) / 2) * width
        _grouped_bars(ax, xs, width, (values, low, high), ns, label, i, rotate=len(units) > 2)
    ax.set_xticks(x, columns)
    ax.tick_params(axis="x", pad=14 if len(units) <= 2 else 26)
    ax.set_ylabel("% of prompts with > 1 distinct verdict")
    ax.set_ylim(0, min(100.0, 1.15 * top) if top > 0 else 100.0)
    ax.set_title("Flip rate: within one temperature (seeds vary) and over the whole grid", fontsize=10)
    if len(units) > 1:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out_dir, "flip_rate")


@report_figure(
    "Temperature effect: COMPLY rate (mean over prompts, 95 % CI) and within-temperature SSI "
    "(bootstrap 95 % CI)",
    lambda a, o: (a.groups, _errors_of(a)),
    section="temperature",
)
def temperature_effect(groups: pd.DataFrame, errors: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Comply rate and within-temperature mean SSI, each with its interval, against temperature."""
    by_t = groups[(groups["level"] == "temperature") & groups[tidy.TEMPERATURE].notna()]
    units = _units(by_t)
    if not units:
        return []
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 3.8))
    by_t_errors = errors[errors["level"] == "temperature"] if len(errors) else errors
    offsets = np.linspace(-0.012, 0.012, len(units)) if len(units) > 1 else [0.0]
    for i, (label, rows) in enumerate(units):
        rows = rows.sort_values(tidy.TEMPERATURE)
        t = rows[tidy.TEMPERATURE].to_numpy(dtype=float)
        color = COLORS[i % len(COLORS)]
        mine = _same_unit(by_t_errors, rows.iloc[0])
        for metric, style, name in (("comply", "o-", "COMPLY"), ("fulfilled", "s--", "COMPLY + PARTIAL")):
            part = mine[mine["metric"] == metric].sort_values(tidy.TEMPERATURE) if len(mine) else mine
            if part.empty:
                continue
            mean = 100 * part["mean"].to_numpy(dtype=float)
            err = _yerr(mean, 100 * part["ci_low"].clip(lower=0), 100 * part["ci_high"].clip(upper=1))
            left.errorbar(
                part[tidy.TEMPERATURE].to_numpy(dtype=float) + offsets[i],
                mean,
                yerr=err,
                fmt=style,
                color=color,
                alpha=1.0 if metric == "comply" else 0.55,
                capsize=3,
                label=f"{label}: {name}",
            )
        mean = rows[MEAN_SSI].to_numpy(dtype=float)
        right.errorbar(
            t + offsets[i],
            mean,
            yerr=_yerr(mean, rows["ssi_ci_low"], rows["ssi_ci_high"]),
            fmt="o-",
            color=color,
            capsize=3,
            label=label,
        )
    left.set_xlabel("temperature")
    left.set_ylabel("% of responses (mean over prompts, 95 % CI)")
    left.set_title("COMPLY (solid), COMPLY + PARTIAL (dashed)", fontsize=9)
    right.set_xlabel("temperature")
    right.set_ylabel("mean within-temperature SSI (95 % CI)")
    right.set_title("Stability over seeds vs temperature", fontsize=9)
    if len(units) > 1:
        right.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _save(fig, out_dir, "temperature_effect")


@report_figure(
    "Stability vs compliance per prompt", lambda a, o: (a.prompts, a.spearman), section="compliance"
)
def stability_vs_compliance(prompts: pd.DataFrame, spearman: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per-prompt comply rate against SSI (jittered), with Spearman's rho and its interval in the title."""
    units = _units(prompts[prompts["n"] > 0])
    if not units:
        return []
    fig, axes = _panel_grid(len(units), 4.2, 3.6)
    rng = np.random.default_rng(0)
    for ax, (label, rows) in zip(axes, units, strict=False):
        x = rows["comply_rate"].to_numpy(dtype=float)
        y = rows["ssi"].to_numpy(dtype=float)
        ax.scatter(
            x + rng.uniform(-0.01, 0.01, len(x)),
            y + rng.uniform(-0.006, 0.006, len(y)),
            s=8,
            alpha=0.35,
            color=COLORS[0],
            edgecolors="none",
            rasterized=True,  # one image in the PDF: a vector marker per prompt cost seconds per 10k prompts
        )
        match = _same_unit(spearman, rows.iloc[0])
        title = f"{label} (n={len(x)})"
        if len(match) and np.isfinite(match["rho"].iloc[0]):
            r = match.iloc[0]
            title += f"\nSpearman rho {r['rho']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("comply rate (share of COMPLY verdicts)", fontsize=8)
        ax.set_ylabel("SSI", fontsize=8)
    fig.tight_layout()
    return _save(fig, out_dir, "stability_vs_compliance")


@report_figure(
    "Model / run comparison: mean SSI (bootstrap), % unstable (Wilson), harmfulness (over prompts); 95 % CIs",
    lambda a, o: (a.groups[a.groups["level"] == "overall"], _shares_of(a), _errors_of(a)),
    section="headline",
)
def model_comparison(
    overall: pd.DataFrame, shares: pd.DataFrame, errors: pd.DataFrame, out_dir: Path
) -> list[Path]:
    """Mean SSI, % unstable and harmfulness (over-refusal for benign rows), each with its 95 % interval."""
    if overall.empty:
        return []
    table = overall.assign(unit=unit_labels(overall)).sort_values("unit", ascending=False)
    y = np.arange(len(table))
    fig, axes = plt.subplots(1, 3, figsize=(12, 0.45 * len(table) + 1.6), sharey=True)
    mean = table[MEAN_SSI].to_numpy(dtype=float)
    axes[0].barh(
        y, mean, xerr=_yerr(mean, table["ssi_ci_low"], table["ssi_ci_high"]), color=COLORS[0], capsize=3
    )
    axes[0].set_xlim(max(0.0, np.nanmin(table["ssi_ci_low"]) - 0.05), 1.0)
    axes[0].set_xlabel("mean SSI\n(bootstrap 95 % CI)")
    unstable = [_share(shares, row, "unstable", level="overall") for _, row in table.iterrows()]
    values = np.array([np.nan if u is None else u["pct"] for u in unstable], dtype=float)
    low = np.array([np.nan if u is None else u["wilson_low"] for u in unstable], dtype=float)
    high = np.array([np.nan if u is None else u["wilson_high"] for u in unstable], dtype=float)
    axes[1].barh(y, values, xerr=_yerr(values, low, high), color=COLORS[1], capsize=3)
    axes[1].set_xlabel("% unstable prompts\n(Wilson 95 % CI)")
    overall_errors = errors[errors["level"] == "overall"] if len(errors) else errors
    for metric, alpha, name in (
        ("fulfilled", 0.45, "COMPLY + PARTIAL"),
        ("comply", 1.0, "COMPLY (benign: REFUSE)"),
    ):
        rates = []
        for _, row in table.iterrows():
            wanted = "refuse" if row[tidy.HARMFUL] is False else metric
            if row[tidy.HARMFUL] is False and metric == "fulfilled":
                rates.append((np.nan, np.nan, np.nan))
                continue
            mine = _same_unit(overall_errors, row)
            mine = mine[mine["metric"] == wanted] if len(mine) else mine
            r = mine.iloc[0] if len(mine) else None
            rates.append((np.nan, np.nan, np.nan) if r is None else (r["mean"], r["ci_low"], r["ci_high"]))
        v, lo, hi = (100 * np.array(c, dtype=float) for c in zip(*rates, strict=True))
        axes[2].barh(
            y,
            v,
            xerr=_yerr(v, lo.clip(min=0), hi.clip(max=100)),
            color=COLORS[3],
            alpha=alpha,
            label=name,
            capsize=3,
        )
    axes[2].set_xlabel("harmfulness, %\n(benign rows: over-refusal; 95 % CI)")
    axes[2].legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    axes[0].set_yticks(
        y, [f"{u}\n(n={int(n)})" for u, n in zip(table["unit"], table["n_prompts"], strict=True)]
    )
    fig.suptitle("Model / run comparison", fontsize=10)
    fig.tight_layout()
    return _save(fig, out_dir, "model_comparison")


@report_figure(
    "Samples needed to match the full-grid verdict", lambda a, o: (a.curves, o.targets), section="single_shot"
)
def samples_needed(curves: pd.DataFrame, targets: Sequence[float], out_dir: Path) -> list[Path]:
    """Agreement with the full-grid majority against the number of samples, pooled and per temperature."""
    if curves.empty:
        return []
    units = _units(curves.drop(columns=[tidy.HARMFUL], errors="ignore"))
    fig, axes = _panel_grid(len(units), 5.0, 3.8)
    for ax, (label, rows) in zip(axes, units, strict=False):
        scopes = [("pooled", np.nan)] + [
            ("temperature", t)
            for t in sorted(rows.loc[rows["scope"] == "temperature", tidy.TEMPERATURE].unique())
        ]
        for i, (scope, t) in enumerate(scopes):
            part = rows[rows["scope"] == scope]
            if scope == "temperature":
                part = part[np.isclose(part[tidy.TEMPERATURE], t)]
            name = "all temperatures" if scope == "pooled" else f"T = {t:g}"
            color = "black" if scope == "pooled" else COLORS[i % len(COLORS)]
            ax.plot(
                part["n"],
                100 * part["mean_agreement"],
                "o-",
                ms=3,
                color=color,
                label=name,
                linewidth=2 if scope == "pooled" else 1,
            )
            ax.fill_between(part["n"], 100 * part["ci_low"], 100 * part["ci_high"], color=color, alpha=0.12)
        for target in targets:
            ax.axhline(100 * target, color="grey", linestyle=":", linewidth=1)
            ax.text(ax.get_xlim()[1], 100 * target, f" {100 * target:g} %", va="center", fontsize=7)
        ax.set_xlabel("samples per prompt (n)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        prompts = rows["n_prompts"].max() if "n_prompts" in rows else np.nan
        ax.set_title(f"{label} (n={int(prompts)} prompts)" if pd.notna(prompts) else label, fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_ylabel("% agreement with the full-grid majority", fontsize=8)
    fig.suptitle(
        "Samples needed: agreement of an n-sample majority (mean and 95 % interval of draws)", fontsize=10
    )
    fig.tight_layout()
    return _save(fig, out_dir, "samples_needed")


@report_figure(
    "% unstable prompts by category (Wilson 95 % CI; n prompts under each bar; prompts without a category "
    f"as '{UNCATEGORIZED}')",
    lambda a, o: (a.groups, _shares_of(a)),
    section="category",
)
def category_instability(groups: pd.DataFrame, shares: pd.DataFrame, out_dir: Path) -> list[Path]:
    """% unstable prompts per category, with Wilson intervals; uncategorized prompts are their own bar.

    Drawn when at least one prompt has a category; prompts without one (e.g. AdvBench's in the
    study's set) form the bar `UNCATEGORIZED` rather than vanishing.
    """
    by_c = groups[groups["level"] == "category"]
    if by_c.empty or by_c[tidy.CATEGORY].isna().all():
        return []
    by_c = by_c.assign(
        **{tidy.CATEGORY: by_c[tidy.CATEGORY].astype(object).fillna(UNCATEGORIZED).astype(str)}
    )
    units = _units(by_c)
    named = sorted(c for c in by_c[tidy.CATEGORY].unique() if c != UNCATEGORIZED)
    categories = named + ([UNCATEGORIZED] if UNCATEGORIZED in set(by_c[tidy.CATEGORY]) else [])
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(categories) * len(units) + 2), 4.0))
    width = 0.8 / len(units)
    x = np.arange(len(categories))
    of_category = shares[shares["level"] == "category"] if len(shares) else shares
    if len(of_category):
        of_category = of_category.assign(
            **{tidy.CATEGORY: of_category[tidy.CATEGORY].astype(object).fillna(UNCATEGORIZED).astype(str)}
        )
    for i, (label, rows) in enumerate(units):
        mine = _same_unit(of_category, rows.iloc[0])
        mine = mine[mine["share"] == "unstable"].set_index(tidy.CATEGORY) if len(mine) else mine
        if len(mine):
            found = mine.reindex(categories)
            values, low, high = (found[c].to_numpy(dtype=float) for c in ("pct", "wilson_low", "wilson_high"))
            ns = found["n_prompts"].tolist()
        else:  # no share table: the group table's % unstable, without an interval
            found = rows.set_index(tidy.CATEGORY).reindex(categories)
            values = found[PCT_UNSTABLE].to_numpy(dtype=float)
            low = high = values
            ns = found["n_prompts"].tolist()
        xs = x + (i - (len(units) - 1) / 2) * width
        _grouped_bars(ax, xs, width, (values, low, high), ns, label, i, rotate=True)
    ax.set_xticks(x, categories, rotation=30, ha="right")
    ax.tick_params(axis="x", pad=26)
    ax.set_ylabel("% unstable prompts (Wilson 95 % CI)")
    ax.set_title("Instability by category", fontsize=10)
    if len(units) > 1:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out_dir, "category_instability")


def _short_names(names: Sequence[str]) -> list[str]:
    """Run names without the prefix they all share (e.g. the model name before "[ft_seed=...]")."""
    names = [str(n) for n in names]
    if len(names) < 2:
        return names
    prefix = os.path.commonprefix(names)
    cut = max(prefix.rfind(" "), prefix.rfind("["), prefix.rfind("/")) + 1 if prefix else 0
    short = [n[cut:].strip(" []") or n for n in names]
    return short if len(set(short)) == len(short) else names


@report_figure(
    "Run-to-run spread: each run's rates (mean over prompts) and mean SSI, with 95 % CIs",
    lambda a, o: (a.runs, a.spread, _errors_of(a)),
    section="runs",
)
def run_spread(runs: pd.DataFrame, spread: pd.DataFrame, errors: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Each run's outcome rates and mean SSI with their intervals, per comparison set (needs >= 2 runs)."""
    if spread.empty:
        return []
    sets = spread[["dataset", "judge", "harmful"]].drop_duplicates().head(MAX_UNITS)
    n_runs = max(int(n) for n in spread["n_runs"])
    fig, axes = plt.subplots(
        len(sets), 2, figsize=(10, (0.32 * n_runs + 1.2) * len(sets) + 0.6), squeeze=False
    )
    for row_axes, (_, s) in zip(axes, sets.iterrows(), strict=False):
        same = (
            (runs["dataset"] == s["dataset"])
            & (runs["judge"] == s["judge"])
            & (runs["harmful"] == s["harmful"])
        )
        mine = runs[same].sort_values(tidy.RUN)
        y = np.arange(len(mine))
        names = _short_names(mine[tidy.RUN].tolist())
        benign = s["harmful"] is False
        metrics = (
            [("refuse", "% REFUSE (over-refusal)")]
            if benign
            else [("comply", "% COMPLY"), ("fulfilled", "% COMPLY + PARTIAL")]
        )
        overall_errors = errors[errors["level"] == "overall"] if len(errors) else errors
        for j, (metric, label) in enumerate(metrics):
            found = [_same_unit(overall_errors, row) for _, row in mine.iterrows()]
            found = [f[f["metric"] == metric] if len(f) else f for f in found]
            v, lo, hi = (
                100 * np.array([f[c].iloc[0] if len(f) else np.nan for f in found], dtype=float)
                for c in ("mean", "ci_low", "ci_high")
            )
            if np.isnan(v).all():
                continue
            row_axes[0].errorbar(
                v,
                y,
                xerr=_yerr(v, lo.clip(min=0), hi.clip(max=100)),
                fmt="o",
                color=COLORS[j],
                label=label,
                ms=6,
                capsize=3,
            )
            row_axes[0].axvspan(np.nanmin(v), np.nanmax(v), color=COLORS[j], alpha=0.08)
        row_axes[0].set_yticks(y, names, fontsize=8)
        row_axes[0].set_xlabel("% of responses, mean over prompts (95 % CI; band: spread across runs)")
        row_axes[0].legend(fontsize=7, loc="best")
        half = "benign" if benign else "harmful"
        row_axes[0].set_title(f"{s['dataset']} | {s['judge']} | {half} prompts", fontsize=9)
        v = mine[MEAN_SSI].to_numpy(dtype=float)
        err = _yerr(v, mine["ssi_ci_low"], mine["ssi_ci_high"])
        row_axes[1].errorbar(v, y, xerr=err, fmt="o", capsize=3, color=COLORS[2])
        row_axes[1].set_yticks(y, names, fontsize=8)
        row_axes[1].set_xlabel("mean SSI (95 % CI)")
        row_axes[1].set_title("stability per run", fontsize=9)
    fig.suptitle("Run-to-run spread", fontsize=10)
    fig.tight_layout()
    return _save(fig, out_dir, "run_spread")
