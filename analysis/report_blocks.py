"""The report's text: its sections as (kind, content) blocks, rendered alike to Markdown and HTML.

Every number shown comes from the `Analysis` tables (the statistics modules); this module picks,
orders and explains them (`report_render` formats them).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from refusal_stability.analysis import adaptive, groups, per_prompt, publishable, single_shot, tidy
from refusal_stability.analysis.load import LoadResult
from refusal_stability.analysis.merge import RunParts
from refusal_stability.analysis.report_render import with_interval
from refusal_stability.analysis.report_summary import summary_sentences, unit_title
from refusal_stability.analysis.study_check import STUDY_RULE, published_rows
from refusal_stability.schema import (
    BENIGN_PCT_REFUSE,
    HARMFUL_PCT_COMPLY,
    MEAN_SSI,
    PCT_FLIPPED,
    PCT_UNSTABLE,
)
from refusal_stability.scorers.disclosure import is_rules_judge
from refusal_stability.scorers.offline import OFFLINE_AGREEMENT

if TYPE_CHECKING:
    from refusal_stability.analysis.report import Analysis, ReportOptions

ABLATION_NAMES: dict[str, str] = {
    "mean_ssi_partial_as_comply": "mean SSI, PARTIAL = COMPLY",
    "mean_ssi_partial_as_refuse": "mean SSI, PARTIAL = REFUSE",
    "pct_unstable_partial_as_comply": "% unstable, PARTIAL = COMPLY",
    "pct_unstable_partial_as_refuse": "% unstable, PARTIAL = REFUSE",
    "pct_flipped_partial_as_comply": "% flipped, PARTIAL = COMPLY",
    "pct_flipped_partial_as_refuse": "% flipped, PARTIAL = REFUSE",
}


def rules_caveat(judges: Sequence[str]) -> str | None:
    """A visible caveat when verdicts of the offline rules judge are in the report, else None.

    Rules verdicts are not LLM-judge verdicts; the caveat quotes their measured held-out agreement
    (`offline.OFFLINE_AGREEMENT`) so the figures are read for what they are.
    """
    rules = sorted(str(j) for j in judges if is_rules_judge(str(j)))
    if not rules:
        return None
    if len(rules) == len(judges):
        scope = "EVERY verdict in this report comes"
    else:
        scope = f"The verdicts of judge(s) {', '.join(rules)} come"
    kappa3 = OFFLINE_AGREEMENT["kappa_3class_heldout"]
    kappa2 = OFFLINE_AGREEMENT["kappa_refuse_vs_not_heldout"]
    return (
        f"CAVEAT: {scope} from the offline rules ({', '.join(rules)}), not an LLM judge. "
        f"On held-out prompts the rules agreed with the study's LLM judge at 3-class kappa {kappa3} "
        f"and refuse-vs-not kappa {kappa2} ({OFFLINE_AGREEMENT['provenance']}); on models they were "
        "not tuned on, agreement may be lower. Read SSI, flip and comply rates from these verdicts "
        "as a rough screen."
    )


SECTIONS: dict[str, str] = {
    "headline": "Headline figures",
    "temperature": "Within-temperature stability and the temperature effect",
    "compliance": "Stability vs compliance",
    "single_shot": "Single-shot vs multi-sample agreement",
    "category": "By category",
    "runs": "Run-to-run variance",
    "other": "Other figures",
}
"""The report's sections that show figures (`@report_figure(..., section=)`), by key, with their headings."""

Block = tuple[str, Any]


def _keys_shown(table: pd.DataFrame) -> list[str]:
    """The unit columns of a table, without `model` where it repeats `run` on every row."""
    keys = [k for k in groups.GROUP_KEYS if k in table]
    if tidy.MODEL in keys and (table[tidy.MODEL].astype(str) == table[tidy.RUN].astype(str)).all():
        keys.remove(tidy.MODEL)
    return keys


def _section(heading: str, figures: Sequence[tuple[str, Path]], numbers: list[Block]) -> list[Block]:
    """A section: its heading, then its figures beside its tables and notes (or the numbers alone)."""
    if not figures:
        return [("h2", heading), *numbers]
    return [("h2", heading), ("pair", (list(figures), numbers))]


def _options_list(options: ReportOptions, sources: Sequence[str]) -> list[str]:
    """The settings the report was made with, one readable line each."""
    judges = ", ".join(options.judges) if options.judges else "all in the logs"
    return [
        f"inputs: {', '.join(map(str, sources)) or '(in memory)'}",
        f"unstable: SSI < {options.threshold:g}",
        f"bootstrap: {options.n_boot:,} resamples of prompts, seed {options.seed}",
        f"single-shot: {options.draws:,} draws per n; targets "
        + ", ".join(f"{100 * t:g} %" for t in options.targets),
        f"tie_break={options.tie_break}: ties {single_shot.TIE_BREAK_RULES[options.tie_break]}",
        f"judges: {judges}",
        f"figures: {'drawn' if options.figures else 'not drawn'}",
        f"generated {time.strftime('%Y-%m-%d %H:%M:%S')}",
    ]


def _headline_table(overall: pd.DataFrame) -> pd.DataFrame:
    """Each unit's prompts, mean SSI [95 % CI], % unstable, % flipped and verdict shares."""
    keys = _keys_shown(overall)
    shown = overall[
        [*keys, "n_prompts", "n_scored", MEAN_SSI, "ssi_ci_low", "ssi_ci_high", PCT_UNSTABLE, PCT_FLIPPED]
        + ["pct_refuse", "pct_partial", "pct_comply"]
    ]
    return with_interval(shown, MEAN_SSI, "ssi_ci_low", "ssi_ci_high", name="mean SSI [95 % CI]")


def _summary_blocks(summary: pd.DataFrame, options: ReportOptions) -> list[Block]:
    """One paragraph per unit, in sentences (`report_summary`)."""
    return [
        ("summary", (unit_title(row), summary_sentences(row, options.threshold)))
        for _, row in summary.iterrows()
    ]


def report_blocks(
    analysis: Analysis,
    loaded: LoadResult,
    options: ReportOptions,
    figure_paths: Sequence[tuple[str, str, Path]],
    sources: Sequence[str],
    assembly: Sequence[Block] = (),
) -> list[Block]:
    """The report as a list of (kind, content) blocks, rendered to Markdown and HTML alike.

    First the summary in sentences, then each section with its figures beside its tables, then the
    inputs and options. `figure_paths` holds (section, caption, PNG path) per figure drawn; `assembly`
    the blocks saying how runs were assembled from stages and shards (after the summary).
    """
    shown: dict[str, list[tuple[str, Path]]] = {}
    for section, caption, path in figure_paths:
        shown.setdefault(section if section in SECTIONS else "other", []).append((caption, path))
    b: list[Block] = [("h1", options.title)]
    logs = loaded.report_frame()
    frame = loaded.frame
    caveat = rules_caveat(frame[tidy.JUDGE].dropna().unique())
    if caveat:
        b.append(("p", caveat))
    if len(analysis.summary):
        b.append(("h2", "Summary"))
        b.extend(_summary_blocks(analysis.summary, options))
    b.extend(assembly)
    problems = logs[(~logs["included"]) | logs["reason"].notna()] if len(logs) else logs
    if len(problems):
        b.append(("h3", "Logs skipped or incomplete"))
        b.append(("table", problems[["path", "status", "included", "reason"]]))
    unscored = per_prompt.unscored_prompts(analysis.prompts)
    if len(unscored):
        b.append(
            (
                "p",
                f"{len(unscored)} prompt(s) have no scored sample at all (NaN SSI, left out of every "
                "mean; listed in unscored_prompts.csv).",
            )
        )
    overall = analysis.groups[analysis.groups["level"] == "overall"]
    headline: list[Block] = [
        ("table", _headline_table(overall)),
        (
            "p",
            f"SSI = share of the modal verdict among a prompt's scored samples; unstable = SSI < "
            f"{options.threshold:g}; flipped = more than one distinct verdict; mean SSI interval: "
            f"{options.n_boot:,} bootstrap resamples of prompts. Harmfulness and over-refusal by "
            "half, every column and interval: groups.csv, error_bars.csv, share_intervals.csv.",
        ),
    ]
    published = published_rows(analysis)
    if len(published):
        table = published.copy()
        for column in ("published", "measured", "difference"):
            table[column] = table[column].map(lambda v: f"{v:.6g}")
        headline += [
            ("h3", "Beside the study's published figures (Qwen2.5-7B-Instruct, 876 prompts)"),
            ("table", table),
            ("p", STUDY_RULE),
        ]
    b += _section(SECTIONS["headline"], shown.get("headline", []), headline)
    b += _section(
        SECTIONS["temperature"],
        shown.get("temperature", []),
        _temperature_blocks(analysis),
    )
    b += _section(
        SECTIONS["compliance"],
        shown.get("compliance", []),
        [
            ("h3", "Spearman's rho: comply rate vs SSI (per prompt, bootstrap 95 % CI)"),
            ("table", _ci_table(analysis.spearman, "rho", "ci_low", "ci_high", ["p", "n"])),
        ],
    )
    b += _section(
        SECTIONS["single_shot"],
        shown.get("single_shot", []),
        _single_shot_blocks(analysis, options),
    )
    by_c = analysis.groups[analysis.groups["level"] == "category"]
    if len(by_c):
        b += _section(SECTIONS["category"], shown.get("category", []), _category_blocks(by_c))
    if len(analysis.spread) or shown.get("runs"):
        b += _section(SECTIONS["runs"], shown.get("runs", []), _runs_blocks(analysis))
    b += _determinism_blocks(analysis)
    if len(analysis.engine):
        b.append(("h2", "Engine non-determinism floor (same-seed repeats)"))
        b.append(("table", analysis.engine))
        b.append(
            (
                "p",
                "Each engine repeat reran a grid cell with the same temperature and seed; "
                "engine_mismatch_rate = share whose response differs from the cell's first run, "
                "engine_verdict_mismatch_rate = share whose verdict differs. This is engine noise "
                "(e.g. batching), not model instability: repeats are left out of every figure above.",
            )
        )
    b += _ablation_blocks(overall)
    b += _judge_blocks(analysis)
    if shown.get("other"):
        b.append(("h2", SECTIONS["other"]))
        b.extend(("figure", f) for f in shown["other"])
    if analysis.publishable:
        b.append(("h2", "Statistics to publish"))
        b.append(("list", [f"{name}.csv: {publishable.TABLES[name]}" for name in analysis.publishable]))
    used = int(logs["included"].sum()) if len(logs) else 0
    b.append(("h2", "Inputs and options"))
    b.append(
        (
            "p",
            f"{len(logs)} log file(s) considered, {used} used, {len(logs) - used} skipped; "
            f"{len(frame):,} rows (prompt x sample x judge), "
            f"{int(frame[tidy.VERDICT].isna().sum()):,} of them unscored (kept, dropped from N).",
        )
    )
    b.append(("list", _options_list(options, sources)))
    return b


def _ci_table(table: pd.DataFrame, value: str, low: str, high: str, extra: Sequence[str]) -> pd.DataFrame:
    """The unit columns, ``value [low, high]`` and `extra` columns of a statistics table."""
    if table.empty:
        return table
    keys = _keys_shown(table)
    return with_interval(
        table[[*keys, value, low, high, *extra]], value, low, high, name=f"{value} [95 % CI]"
    )


def _temperature_blocks(analysis: Analysis) -> list[Block]:
    by_t = analysis.groups[analysis.groups["level"] == "temperature"]
    keys = _keys_shown(by_t)
    table = by_t[
        [
            *keys,
            tidy.TEMPERATURE,
            "n_prompts",
            MEAN_SSI,
            "ssi_ci_low",
            "ssi_ci_high",
            PCT_UNSTABLE,
            PCT_FLIPPED,
        ]
        + ["pct_comply", "pct_partial"]
    ]
    blocks: list[Block] = [
        ("table", with_interval(table, MEAN_SSI, "ssi_ci_low", "ssi_ci_high", name="mean SSI [95 % CI]")),
        ("h3", "Friedman test of within-temperature SSI across temperatures (prompts as blocks)"),
    ]
    friedman = analysis.friedman
    if len(friedman):
        blocks.append(
            ("table", friedman[[*_keys_shown(friedman), "n_blocks", "k", "chi2", "p", "kendalls_w", "note"]])
        )
    if len(analysis.posthoc):
        posthoc = analysis.posthoc
        blocks.append(("h3", "Post-hoc Wilcoxon signed-rank tests (Bonferroni)"))
        blocks.append(
            (
                "table",
                posthoc[
                    [*_keys_shown(posthoc), "temperature_a", "temperature_b", "n", "mean_diff", "p"]
                    + ["p_bonferroni", "significant"]
                ],
            )
        )
    return blocks


def _single_shot_blocks(analysis: Analysis, options: ReportOptions) -> list[Block]:
    if analysis.curves.empty:
        return [("p", "No prompt has two or more scored samples.")]
    n1 = analysis.curves[analysis.curves["n"] == 1]
    table = n1[
        [*_keys_shown(n1), "scope", tidy.TEMPERATURE, "n_prompts", "mean_agreement", "ci_low", "ci_high"]
    ]
    table = with_interval(
        table, "mean_agreement", "ci_low", "ci_high", name="agreement of 1 sample [95 % CI]"
    )
    needed = analysis.needed
    return [
        ("table", table.assign(tie_break=n1["tie_break"].to_numpy())),
        (
            "p",
            f"Agreement of a majority over n random sample slots with the majority over all of a "
            f"prompt's samples; {options.draws} draws per n (seed {options.seed}); ties in a draw "
            f"broken {single_shot.TIE_BREAK_RULES[options.tie_break]} (tie_break={options.tie_break}); "
            + (
                "the reference is the first-seen of its tied labels. "
                if options.tie_break == "study"
                else "a tied reference accepts any of its tied labels. "
            )
            + "Smallest n reaching each target:",
        ),
        ("table", _needed_table(needed)),
    ]


def _needed_table(needed: pd.DataFrame) -> pd.DataFrame:
    """The smallest n per target side by side (one column per target and criterion), one row per scope."""
    if needed.empty:
        return needed
    keys = [*_keys_shown(needed), "scope", tidy.TEMPERATURE]
    wide = needed.assign(
        **{
            tidy.TEMPERATURE: needed[tidy.TEMPERATURE]
            .astype(object)
            .where(needed[tidy.TEMPERATURE].notna(), "")
        }
    ).pivot_table(index=keys, columns="target", values=["n_mean", "n_ci_low"], aggfunc="first", sort=False)
    wide.columns = [
        f"n for {100 * target:g} % ({'mean' if kind == 'n_mean' else 'CI low'})"
        for kind, target in wide.columns
    ]
    order = sorted(wide.columns, key=lambda c: ("CI low" in c, c))
    return wide[order].reset_index()


def _category_blocks(by_c: pd.DataFrame) -> list[Block]:
    table = by_c.assign(**{tidy.CATEGORY: by_c[tidy.CATEGORY].astype(object).fillna(groups.UNCATEGORIZED)})
    return [
        (
            "table",
            table[
                [*_keys_shown(table), tidy.CATEGORY, "n_prompts", MEAN_SSI, PCT_UNSTABLE, PCT_FLIPPED]
                + [HARMFUL_PCT_COMPLY, BENIGN_PCT_REFUSE]
            ],
        ),
        ("p", f"{groups.UNCATEGORIZED}: prompts whose dataset gives no category (e.g. AdvBench's)."),
    ]


def _runs_blocks(analysis: Analysis) -> list[Block]:
    blocks: list[Block] = []
    if len(analysis.spread):
        blocks.append(("list", analysis.spread["summary"].tolist()))
        runs = analysis.runs
        keys = [k for k in ("dataset", "judge", "harmful", "run") if k in runs]
        table = runs[
            [*keys, "n_prompts", MEAN_SSI, "ssi_ci_low", "ssi_ci_high", PCT_UNSTABLE, PCT_FLIPPED]
            + [HARMFUL_PCT_COMPLY, BENIGN_PCT_REFUSE]
        ]
        blocks.append(
            ("table", with_interval(table, MEAN_SSI, "ssi_ci_low", "ssi_ci_high", name="mean SSI [95 % CI]"))
        )
    compare = analysis.publishable.get("compare_runs", pd.DataFrame())
    if len(compare):
        shown = compare[compare["scope"] == "all"] if "scope" in compare else compare
        blocks.append(
            ("h3", "Runs compared on the same prompts (paired; Holm across datasets and categories)")
        )
        blocks.append(
            (
                "table",
                with_interval(
                    shown[
                        ["run_a", "run_b", "dataset", "harmful", "metric", "n", "mean_a", "mean_b", "diff"]
                        + ["ci_low", "ci_high", "test", "p_holm"]
                    ],
                    "diff",
                    "ci_low",
                    "ci_high",
                    name="difference [95 % CI]",
                ),
            )
        )
    return blocks


def _determinism_blocks(analysis: Analysis) -> list[Block]:
    blocks: list[Block] = [("h2", "Greedy determinism (temperature 0) and judge noise")]
    det = analysis.determinism
    if det.empty:
        return [*blocks, ("p", "No sample at temperature 0.")]
    blocks.append(
        (
            "table",
            det[
                [*_keys_shown(det), tidy.TEMPERATURE, "n_prompts", "n_identical", "exact_match_pct"]
                + ["n_identical_flipped", "pct_identical_flipped"]
            ],
        )
    )
    blocks.append(
        (
            "p",
            "exact_match_pct = share of prompts (with >= 2 responses at T = 0) whose T = 0 responses "
            "are all byte-identical across seeds; identical_flipped = of those, prompts whose "
            "identical responses still got different verdicts (judge noise).",
        )
    )
    noise = analysis.publishable.get("judge_noise", pd.DataFrame())
    if len(noise):
        blocks.append(("h3", "Judge-noise rate (identical responses, different verdicts; Wilson 95 % CI)"))
        table = noise[
            [*_keys_shown(noise), "scope", "n_groups", "n_noisy", "pct_noisy", "wilson_low", "wilson_high"]
        ]
        blocks.append(
            ("table", with_interval(table, "pct_noisy", "wilson_low", "wilson_high", 1, "% noisy [95 % CI]"))
        )
    return blocks


def _ablation_blocks(overall: pd.DataFrame) -> list[Block]:
    keys = _keys_shown(overall)
    return [
        ("h2", "Binary ablations (PARTIAL merged)"),
        (
            "table",
            overall[
                [*keys, MEAN_SSI, "mean_ssi_partial_as_comply", "mean_ssi_partial_as_refuse", PCT_UNSTABLE]
                + ["pct_unstable_partial_as_comply", "pct_unstable_partial_as_refuse", PCT_FLIPPED]
                + ["pct_flipped_partial_as_comply", "pct_flipped_partial_as_refuse"]
            ].rename(columns=ABLATION_NAMES),
        ),
    ]


def _judge_blocks(analysis: Analysis) -> list[Block]:
    if analysis.agreement.empty:
        return []
    agreement = analysis.agreement
    keys = [k for k in _keys_shown(agreement) if k != tidy.JUDGE]
    blocks: list[Block] = [
        ("h2", "Judge agreement"),
        ("table", agreement[[*keys, *[c for c in agreement.columns if c not in tidy.RUN_KEYS]]]),
    ]
    for name, matrix in analysis.confusion.items():
        blocks.append(("h3", f"Confusion matrix: {name}"))
        blocks.append(("table", matrix.reset_index()))
    disagreement = analysis.publishable.get("judge_disagreement", pd.DataFrame())
    if len(disagreement):
        blocks.append(("h3", "Flips from judge disagreement; stability where both judges agree"))
        blocks.append(
            (
                "table",
                disagreement[
                    ["run", "dataset", "judge_a", "judge_b", "n_prompts", "flipped_a", "flipped_b"]
                    + ["flips_from_judges_a", "flips_from_judges_b", "mean_ssi_agree", "pct_unstable_agree"]
                ],
            )
        )
    return blocks


def assembly_blocks(parts: Sequence[RunParts], frame: pd.DataFrame) -> list[tuple[str, Any]]:
    """How runs were assembled from shards and stages; for adaptive runs, what that means for the figures."""
    if not any(p.adaptive or p.shards > 1 for p in parts):
        return []
    b: list[tuple[str, Any]] = [("h2", "Runs assembled from stages and shards")]
    b.extend(("p", p.describe()) for p in parts if p.adaptive or p.shards > 1)
    for p in parts:
        if not p.adaptive:
            continue
        rows = frame[(frame[tidy.RUN] == p.run) & (frame[tidy.DATASET] == p.dataset)]
        for judge, of_judge in rows.groupby(tidy.JUDGE, observed=True):
            shares = adaptive.prompt_label_shares(of_judge)
            b.append(
                (
                    "p",
                    f"{p.run} | {judge}: the label shares below pool samples, so they over-weight the "
                    "prompts the later stages sampled; weighted per prompt they are "
                    + ", ".join(f"{label} {share:.2f} %" for label, share in shares.items())
                    + ".",
                )
            )
    return b
