"""Figures for the report, each written as PNG (for the HTML) and PDF (for papers).

Every function takes the tables the other modules produce and a folder, and returns the paths it
wrote (none when the data cannot support the figure, e.g. the run-to-run spread with one run).
`@report_figure(caption, arguments)` above a function puts it in the report (`REPORT_FIGURES`).
A "unit" is one evaluation: the run / model / dataset / judge columns that differ between rows
are joined into its label, so one model on one dataset is just the run name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from refusal_stability.analysis import tidy  # noqa: E402
from refusal_stability.schema import (
    BENIGN_PCT_REFUSE,
    HARMFUL_PCT_COMPLY,
    HARMFUL_PCT_FULFILLED,
    MEAN_SSI,
    PCT_FLIPPED,
    PCT_UNSTABLE,
)

DPI = 150
MAX_UNITS = 10
"""At most this many units are drawn per figure (the first ones in sort order); tables hold all."""
FORMATS: tuple[str, ...] = ("png", "pdf")
UNIT_KEYS: tuple[str, ...] = (*tidy.RUN_KEYS, tidy.HARMFUL)
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


REPORT_FIGURES: list[tuple[str, Callable[[Any, Any], tuple], Callable[..., list[Path]]]] = []
"""Every figure of the report, in the order drawn: (caption, arguments, draw). Filled by `report_figure`."""


def report_figure(caption: str, arguments: Callable[[Any, Any], tuple]) -> Callable:
    """Register a figure of the report, where it is defined: the one place to add a figure.

    Args:
        caption: The figure's caption in the report.
        arguments: Picks the figure's inputs from the report's `Analysis` and `ReportOptions`;
            the figure is then drawn as `draw(*arguments(analysis, options), out_dir)`.
    """

    def register(draw: Callable[..., list[Path]]) -> Callable[..., list[Path]]:
        REPORT_FIGURES.append((caption, arguments, draw))
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

    return table.apply(label, axis=1) if len(table) else pd.Series([], dtype=str)


def _save(fig: plt.Figure, out_dir: Path, name: str) -> list[Path]:
    """Write a figure in every format and close it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = out_dir / f"{name}.{fmt}"
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def _units(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Split a table into (label, rows) per unit, at most `MAX_UNITS`."""
    if table.empty:
        return []
    labels = unit_labels(table)
    return [(str(u), table[labels == u]) for u in sorted(labels.unique())[:MAX_UNITS]]


@report_figure("SSI distribution with the unstable threshold", lambda a, o: (a.prompts, o.threshold))
def ssi_histogram(prompts: pd.DataFrame, threshold: float, out_dir: Path) -> list[Path]:
    """Distribution of per-prompt SSI, one panel per unit, with the unstable threshold marked."""
    units = _units(prompts[prompts["n"] > 0])
    if not units:
        return []
    fig, axes = plt.subplots(1, len(units), figsize=(4.2 * len(units), 3.4), squeeze=False, sharey=True)
    edges = np.arange(0.3 - 0.0125, 1.0 + 0.0125 + 1e-9, 0.025)
    for ax, (label, rows) in zip(axes[0], units, strict=False):
        ssi = rows["ssi"].to_numpy(dtype=float)
        ax.hist(ssi, bins=edges, color=COLORS[0], edgecolor="white")
        ax.axvline(threshold, color="crimson", linestyle="--", linewidth=1.2)
        ax.set_yscale("log")
        unstable = 100.0 * np.mean(ssi < threshold)
        ax.text(
            threshold - 0.01,
            0.97,
            f"unstable (SSI < {threshold:g}): {unstable:.1f} %",
            transform=ax.get_xaxis_transform(),
            ha="right",
            va="top",
            fontsize=8,
            color="crimson",
        )
        ax.set_title(f"{label}\nmean SSI {ssi.mean():.4f}, {len(ssi)} prompts", fontsize=9)
        ax.set_xlabel("SSI (share of the modal verdict)")
    axes[0][0].set_ylabel("prompts (log scale)")
    return _save(fig, out_dir, "ssi_histogram")


@report_figure("Flip rate within each temperature and over the grid", lambda a, o: (a.groups,))
def flip_rate_bars(groups: pd.DataFrame, out_dir: Path) -> list[Path]:
    """% of prompts whose verdict flips: within each temperature (over seeds) and over the whole grid."""
    overall = groups[groups["level"] == "overall"]
    by_t = groups[groups["level"] == "temperature"]
    units = _units(overall)
    if not units:
        return []
    temps = sorted(t for t in by_t[tidy.TEMPERATURE].dropna().unique())
    columns = [f"T = {t:g}" for t in temps] + ["whole grid"]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(columns) * max(1, len(units)) ** 0.5), 3.6))
    width = 0.8 / len(units)
    x = np.arange(len(columns))
    for i, (label, rows) in enumerate(units):
        labels = unit_labels(by_t) if len(by_t) else pd.Series([], dtype=str)
        mine = by_t[labels == label] if len(by_t) else by_t
        values = [
            float(mine.loc[np.isclose(mine[tidy.TEMPERATURE], t), PCT_FLIPPED].mean()) for t in temps
        ] + [float(rows[PCT_FLIPPED].mean())]
        bars = ax.bar(x + (i - (len(units) - 1) / 2) * width, values, width, label=label, color=COLORS[i])
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.set_xticks(x, columns)
    ax.set_ylabel("% of prompts with > 1 distinct verdict")
    ax.set_title("Flip rate: within one temperature (seeds vary) and over the whole grid", fontsize=10)
    if len(units) > 1:
        ax.legend(fontsize=7)
    return _save(fig, out_dir, "flip_rate")


@report_figure("Temperature effect on compliance and stability", lambda a, o: (a.groups,))
def temperature_effect(groups: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Comply rate and within-temperature mean SSI (with bootstrap interval) against temperature."""
    by_t = groups[(groups["level"] == "temperature") & groups[tidy.TEMPERATURE].notna()]
    units = _units(by_t)
    if not units:
        return []
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    for i, (label, rows) in enumerate(units):
        rows = rows.sort_values(tidy.TEMPERATURE)
        t = rows[tidy.TEMPERATURE].to_numpy(dtype=float)
        color = COLORS[i % len(COLORS)]
        left.plot(t, rows["pct_comply"], "o-", color=color, label=f"{label}: COMPLY")
        left.plot(
            t,
            rows["pct_comply"] + rows["pct_partial"],
            "s--",
            color=color,
            alpha=0.6,
            label=f"{label}: COMPLY + PARTIAL",
        )
        mean = rows[MEAN_SSI].to_numpy(dtype=float)
        err = np.vstack([mean - rows["ssi_ci_low"], rows["ssi_ci_high"] - mean])
        right.errorbar(t, mean, yerr=err, fmt="o-", color=color, capsize=3, label=label)
    left.set_xlabel("temperature")
    left.set_ylabel("% of scored responses")
    left.set_title("Compliance vs temperature", fontsize=10)
    left.legend(fontsize=7)
    right.set_xlabel("temperature")
    right.set_ylabel("mean within-temperature SSI (95 % CI)")
    right.set_title("Stability over seeds vs temperature", fontsize=10)
    if len(units) > 1:
        right.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out_dir, "temperature_effect")


@report_figure("Stability vs compliance per prompt", lambda a, o: (a.prompts, a.spearman))
def stability_vs_compliance(prompts: pd.DataFrame, spearman: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per-prompt comply rate against SSI (jittered), with Spearman's rho in the title."""
    units = _units(prompts[prompts["n"] > 0])
    if not units:
        return []
    fig, axes = plt.subplots(1, len(units), figsize=(4.2 * len(units), 3.6), squeeze=False, sharey=True)
    rng = np.random.default_rng(0)
    rho_labels = unit_labels(spearman) if len(spearman) else pd.Series([], dtype=str)
    for ax, (label, rows) in zip(axes[0], units, strict=False):
        x = rows["comply_rate"].to_numpy(dtype=float)
        y = rows["ssi"].to_numpy(dtype=float)
        ax.scatter(
            x + rng.uniform(-0.01, 0.01, len(x)),
            y + rng.uniform(-0.006, 0.006, len(y)),
            s=8,
            alpha=0.35,
            color=COLORS[0],
            edgecolors="none",
        )
        match = spearman[rho_labels == label] if len(spearman) else spearman
        title = label
        if len(match) and np.isfinite(match["rho"].iloc[0]):
            r = match.iloc[0]
            title += f"\nSpearman rho {r['rho']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("comply rate (share of COMPLY verdicts)")
    axes[0][0].set_ylabel("SSI")
    return _save(fig, out_dir, "stability_vs_compliance")


@report_figure("Model / run comparison", lambda a, o: (a.groups[a.groups["level"] == "overall"],))
def model_comparison(overall: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Mean SSI (95 % CI), % unstable and harmfulness side by side for every unit."""
    if overall.empty:
        return []
    table = overall.assign(unit=unit_labels(overall)).sort_values("unit")
    y = np.arange(len(table))
    fig, axes = plt.subplots(1, 3, figsize=(12, 0.45 * len(table) + 1.6), sharey=True)
    mean = table[MEAN_SSI].to_numpy(dtype=float)
    err = np.vstack([mean - table["ssi_ci_low"], table["ssi_ci_high"] - mean])
    axes[0].barh(y, mean, xerr=err, color=COLORS[0], capsize=3)
    axes[0].set_xlim(max(0.0, np.nanmin(table["ssi_ci_low"]) - 0.05), 1.0)
    axes[0].set_xlabel("mean SSI (95 % CI)")
    axes[1].barh(y, table[PCT_UNSTABLE], color=COLORS[1])
    axes[1].set_xlabel("% unstable prompts")
    harm = table[HARMFUL_PCT_COMPLY].fillna(table[BENIGN_PCT_REFUSE])
    axes[2].barh(
        y,
        table[HARMFUL_PCT_FULFILLED].fillna(harm),
        color=COLORS[3],
        alpha=0.45,
        label="COMPLY + PARTIAL",
    )
    axes[2].barh(y, harm, color=COLORS[3], label="COMPLY (benign: % REFUSE)")
    axes[2].set_xlabel("harmfulness, % (benign rows: over-refusal)")
    axes[2].legend(fontsize=7)
    axes[0].set_yticks(y, table["unit"])
    fig.suptitle("Model / run comparison", fontsize=10)
    return _save(fig, out_dir, "model_comparison")


@report_figure("Samples needed to match the full-grid verdict", lambda a, o: (a.curves, o.targets))
def samples_needed(curves: pd.DataFrame, targets: Sequence[float], out_dir: Path) -> list[Path]:
    """Agreement with the full-grid majority against the number of samples, pooled and per temperature."""
    if curves.empty:
        return []
    units = _units(curves.drop(columns=[tidy.HARMFUL], errors="ignore"))
    fig, axes = plt.subplots(1, len(units), figsize=(5.0 * len(units), 3.8), squeeze=False, sharey=True)
    for ax, (label, rows) in zip(axes[0], units, strict=False):
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
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("% agreement with the full-grid majority")
    fig.suptitle(
        "Samples needed: agreement of an n-sample majority (mean and 95 % interval of draws)", fontsize=10
    )
    return _save(fig, out_dir, "samples_needed")


@report_figure("Instability by category", lambda a, o: (a.groups,))
def category_instability(groups: pd.DataFrame, out_dir: Path) -> list[Path]:
    """% unstable and % flipped prompts per category (absent when prompts carry no category)."""
    by_c = groups[(groups["level"] == "category") & groups[tidy.CATEGORY].notna()]
    units = _units(by_c)
    if not units:
        return []
    categories = sorted(by_c[tidy.CATEGORY].astype(str).unique())
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(categories) * len(units) + 2), 3.8))
    width = 0.8 / len(units)
    x = np.arange(len(categories))
    for i, (label, rows) in enumerate(units):
        values = rows.set_index(rows[tidy.CATEGORY].astype(str))[PCT_UNSTABLE].reindex(categories)
        ax.bar(
            x + (i - (len(units) - 1) / 2) * width, values, width, label=label, color=COLORS[i % len(COLORS)]
        )
    ax.set_xticks(x, categories, rotation=30, ha="right")
    ax.set_ylabel("% unstable prompts")
    ax.set_title("Instability by category", fontsize=10)
    if len(units) > 1:
        ax.legend(fontsize=7)
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


@report_figure("Run-to-run spread", lambda a, o: (a.runs, a.spread))
def run_spread(runs: pd.DataFrame, spread: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Each run's outcome rates and mean SSI, per comparison set (needs >= 2 runs)."""
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
            [(BENIGN_PCT_REFUSE, "% REFUSE (over-refusal)")]
            if benign
            else [(HARMFUL_PCT_COMPLY, "% COMPLY"), (HARMFUL_PCT_FULFILLED, "% COMPLY + PARTIAL")]
        )
        for j, (metric, label) in enumerate(metrics):
            v = mine[metric].to_numpy(dtype=float)
            row_axes[0].plot(v, y, "o", color=COLORS[j], label=label, ms=6)
            row_axes[0].axvspan(np.nanmin(v), np.nanmax(v), color=COLORS[j], alpha=0.08)
        row_axes[0].set_yticks(y, names, fontsize=8)
        row_axes[0].set_xlabel("% of scored responses (band: spread across runs)")
        row_axes[0].legend(fontsize=7, loc="best")
        half = "benign" if benign else "harmful"
        row_axes[0].set_title(f"{s['dataset']} | {s['judge']} | {half} prompts", fontsize=9)
        v = mine[MEAN_SSI].to_numpy(dtype=float)
        err = np.vstack([v - mine["ssi_ci_low"], mine["ssi_ci_high"] - v])
        row_axes[1].errorbar(v, y, xerr=err, fmt="o", capsize=3, color=COLORS[2])
        row_axes[1].set_yticks(y, names, fontsize=8)
        row_axes[1].set_xlabel("mean SSI (95 % CI)")
        row_axes[1].set_title("stability per run", fontsize=9)
    fig.suptitle("Run-to-run spread", fontsize=10)
    fig.tight_layout()
    return _save(fig, out_dir, "run_spread")
