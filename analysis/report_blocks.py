"""The report's text: its sections as (kind, content) blocks, rendered alike to Markdown and HTML.

Every number shown comes from the `Analysis` tables (the statistics modules); this module picks,
orders and explains them (`report_render` formats them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from refusal_stability.analysis import adaptive, groups, per_prompt, publishable, single_shot, tidy
from refusal_stability.analysis.load import LoadResult
from refusal_stability.analysis.merge import RunParts
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


def report_blocks(
    analysis: Analysis,
    loaded: LoadResult,
    options: ReportOptions,
    figure_paths: list[tuple[str, Path]],
    sources: Sequence[str],
) -> list[tuple[str, Any]]:
    """The report as a list of (kind, content) blocks, rendered to Markdown and HTML alike."""
    b: list[tuple[str, Any]] = [("h1", options.title)]
    logs = loaded.report_frame()
    frame = loaded.frame
    b.append(
        (
            "p",
            f"Inputs: {', '.join(map(str, sources)) or '(in-memory)'}. Generated "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}. Options: {json.dumps(asdict(options))}.",
        )
    )
    caveat = rules_caveat(frame[tidy.JUDGE].dropna().unique())
    if caveat:
        b.append(("p", caveat))
    used = int(logs["included"].sum()) if len(logs) else 0
    b.append(
        (
            "p",
            f"{len(logs)} log file(s) considered, {used} used, {len(logs) - used} skipped; "
            f"{len(frame):,} rows (prompt x sample x judge), "
            f"{int(frame[tidy.VERDICT].isna().sum()):,} of them unscored (kept, dropped from N).",
        )
    )
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
    published = published_rows(analysis)
    b.append(("h2", "Headline figures"))
    b.append(
        (
            "table",
            overall[[*groups.GROUP_KEYS, *groups.HEADLINE_COLUMNS]],
        )
    )
    b.append(
        (
            "p",
            f"SSI = share of the modal verdict among a prompt's scored samples; unstable = SSI < "
            f"{options.threshold:g}; flipped = more than one distinct verdict; intervals: "
            f"{options.n_boot} bootstrap resamples of prompts, seed {options.seed}.",
        )
    )
    if len(published):
        b.append(("h3", "Beside the study's published figures (Qwen2.5-7B-Instruct, 876 prompts)"))
        b.append(("p", STUDY_RULE))
        shown = published.copy()
        for column in ("published", "measured", "difference"):
            shown[column] = shown[column].map(lambda v: f"{v:.6g}")
        b.append(("table", shown))
    by_t = analysis.groups[analysis.groups["level"] == "temperature"]
    b.append(("h2", "Within-temperature stability"))
    b.append(
        (
            "table",
            by_t[
                [
                    *groups.GROUP_KEYS,
                    tidy.TEMPERATURE,
                    "n_prompts",
                    MEAN_SSI,
                    "ssi_ci_low",
                    "ssi_ci_high",
                    PCT_UNSTABLE,
                    PCT_FLIPPED,
                    "pct_comply",
                    "pct_partial",
                ]
            ],
        )
    )
    b.append(("h2", "Statistics"))
    b.append(("h3", "Friedman test of within-temperature SSI across temperatures (prompts as blocks)"))
    b.append(("table", analysis.friedman))
    if len(analysis.posthoc):
        b.append(("h3", "Post-hoc Wilcoxon signed-rank tests (Bonferroni)"))
        b.append(("table", analysis.posthoc))
    b.append(("h3", "Spearman's rho: comply rate vs SSI (per prompt, bootstrap 95 % CI)"))
    b.append(("table", analysis.spearman))
    b.append(("h2", "Greedy determinism (temperature 0)"))
    if len(analysis.determinism):
        b.append(("table", analysis.determinism))
        b.append(
            (
                "p",
                "exact_match_pct = share of prompts (with >= 2 responses at T = 0) whose T = 0 responses "
                "are all byte-identical across seeds; identical_flipped = of those, prompts whose "
                "identical responses still got different verdicts (judge noise).",
            )
        )
    else:
        b.append(("p", "No sample at temperature 0."))
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
    b.append(("h2", "Single-shot vs multi-sample agreement"))
    if len(analysis.curves):
        n1 = analysis.curves[analysis.curves["n"] == 1]
        b.append(
            (
                "table",
                n1[
                    [
                        *tidy.RUN_KEYS,
                        "scope",
                        tidy.TEMPERATURE,
                        "n_prompts",
                        "mean_agreement",
                        "ci_low",
                        "ci_high",
                        "n_tied_reference",
                    ]
                ],
            )
        )
        b.append(
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
            )
        )
        b.append(("table", analysis.needed))
    b.append(("h2", "Binary ablations (PARTIAL merged)"))
    b.append(
        (
            "table",
            overall[
                [
                    *groups.GROUP_KEYS,
                    MEAN_SSI,
                    "mean_ssi_partial_as_comply",
                    "mean_ssi_partial_as_refuse",
                    PCT_UNSTABLE,
                    "pct_unstable_partial_as_comply",
                    "pct_unstable_partial_as_refuse",
                    PCT_FLIPPED,
                    "pct_flipped_partial_as_comply",
                    "pct_flipped_partial_as_refuse",
                ]
            ],
        )
    )
    by_c = analysis.groups[analysis.groups["level"] == "category"]
    if len(by_c):
        b.append(("h2", "By category"))
        b.append(
            (
                "table",
                by_c[
                    [
                        *groups.GROUP_KEYS,
                        tidy.CATEGORY,
                        "n_prompts",
                        MEAN_SSI,
                        PCT_UNSTABLE,
                        PCT_FLIPPED,
                        HARMFUL_PCT_COMPLY,
                        BENIGN_PCT_REFUSE,
                    ]
                ],
            )
        )
    if len(analysis.agreement):
        b.append(("h2", "Judge agreement"))
        b.append(("table", analysis.agreement))
        for name, matrix in analysis.confusion.items():
            b.append(("h3", f"Confusion matrix: {name}"))
            b.append(("table", matrix.reset_index()))
    if len(analysis.spread):
        b.append(("h2", "Run-to-run variance"))
        b.append(("list", analysis.spread["summary"].tolist()))
        b.append(("table", analysis.runs))
    if analysis.publishable:
        b.append(("h2", "Statistics to publish"))
        b.append(
            (
                "list",
                [f"{name}.csv: {publishable.TABLES[name]}" for name in analysis.publishable],
            )
        )
    if figure_paths:
        b.append(("h2", "Figures"))
        for caption, path in figure_paths:
            b.append(("figure", (caption, path)))
    return b


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
                    "prompts stage 2 completed; weighted per prompt they are "
                    + ", ".join(f"{label} {share:.2f} %" for label, share in shares.items())
                    + ".",
                )
            )
    return b
