"""The whole analysis of a set of logs, written to one folder: CSVs, JSON, figures, report.md/.html.

`build_report` runs every step (per prompt -> per group -> statistics -> single-shot -> runs ->
figures) and writes:

    per_prompt.csv               one row per prompt (run, model, dataset, judge): SSI, flip, rates
    per_prompt_temperature.csv   the same within each temperature
    groups.csv                   per run / model / dataset / judge / harmful: overall, by category,
                                 by temperature
    determinism.csv              greedy (T = 0) exact-match check
    engine_floor.csv             same-seed engine repeats: response / verdict mismatch rates
    statistics.csv, .json        Friedman + Kendall's W, Wilcoxon post-hoc, Spearman, single-shot,
                                 judge agreement (+ confusion matrices), run-to-run spread
    single_shot.csv              agreement curves, pooled and per temperature
    runs.csv, run_spread.csv     each run's figures and the spread across runs
    judge_agreement.csv          kappa / % agreement per judge pair
    logs.csv                     every log read or skipped, with the reason
    unscored_prompts.csv         prompts without any scored sample (NaN SSI)
    error_bars.csv, share_intervals.csv, compare_runs.csv, detectable.csv, prompts_needed.csv,
    prompt_model.csv, tail_risk.csv, judge_noise.csv, judge_disagreement.csv, corrected_rates.csv
                                 the statistics to publish (`publishable.py`; tables with nothing
                                 to show, e.g. comparisons of a single run, are not written)
    figures/*.png, *.pdf
    report.md, report.html       self-contained (the HTML embeds the figures as base64)

An existing, non-empty output folder is never overwritten silently: `build_report` refuses unless
`overwrite=True` (files of the same name are replaced, others left alone) or `numbered=True` (the
report goes to the first free `<out>-2`, `<out>-3`, ...).
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from refusal_stability.analysis import (
    adaptive,
    bootstrap,
    figures,
    groups,
    per_prompt,
    publishable,
    runs,
    single_shot,
    stats,
    tidy,
)
from refusal_stability.analysis.agreement import judge_agreement
from refusal_stability.analysis.engine_floor import engine_floor
from refusal_stability.analysis.load import LoadResult
from refusal_stability.analysis.merge import RunParts
from refusal_stability.analysis.study_labels import STUDY_DATASET, STUDY_JUDGE
from refusal_stability.schema import (
    BENIGN_PCT_REFUSE,
    HARMFUL_PCT_COMPLY,
    MEAN_SSI,
    PCT_FLIPPED,
    PCT_UNSTABLE,
    UNSTABLE_THRESHOLD,
)
from refusal_stability.scorers.disclosure import is_rules_judge
from refusal_stability.scorers.offline import OFFLINE_AGREEMENT

PUBLISHED_STUDY: dict[str, float] = {
    MEAN_SSI: 0.9293,
    PCT_UNSTABLE: 14.04,
    PCT_FLIPPED: 24.09,
    "exact_match_pct": 17.6,
}
"""The study's published figures for Qwen2.5-7B-Instruct on its 876 prompts (UNKNOWN dropped from N)."""
STUDY_RULE = (
    f"Shown for every run on the study's prompt set (dataset `{STUDY_DATASET}`) judged by recorded "
    f"verdicts (judge `{STUDY_JUDGE}`): the study's own Qwen2.5-7B-Instruct responses and labels, "
    "replayed through the task or read from its CSVs. A subset of the prompts, or another model's "
    "recorded verdicts, matches the rule too: compare n_prompts with 876 before reading the differences."
)
"""Which runs are set beside the published figures, and why (printed with the table)."""
FLOAT_DIGITS = 4


class OutputExistsError(FileExistsError):
    """The output folder exists and holds files; the caller must choose overwrite or numbered."""


@dataclass
class ReportOptions:
    """Everything that changes the numbers, recorded in the report."""

    threshold: float = UNSTABLE_THRESHOLD
    n_boot: int = bootstrap.N_BOOTSTRAP
    draws: int = single_shot.DRAWS
    seed: int = 0
    tie_break: str = "random"
    targets: tuple[float, ...] = single_shot.TARGETS
    judges: tuple[str, ...] = ()
    figures: bool = True
    title: str = "Refusal stability report"


@dataclass
class Analysis:
    """Every table of the report."""

    prompts: pd.DataFrame
    prompts_by_temperature: pd.DataFrame
    groups: pd.DataFrame
    determinism: pd.DataFrame
    friedman: pd.DataFrame
    posthoc: pd.DataFrame
    spearman: pd.DataFrame
    curves: pd.DataFrame
    needed: pd.DataFrame
    agreement: pd.DataFrame
    confusion: dict[str, pd.DataFrame]
    runs: pd.DataFrame
    spread: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    engine: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The engine's non-determinism floor (empty when the logs hold no engine repeat)."""
    publishable: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The statistics to publish (`publishable.publishable_tables`), by table name."""


def analyse(frame: pd.DataFrame, options: ReportOptions) -> Analysis:
    """Run every analysis step over a tidy table."""
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[name] = time.perf_counter() - start
        return result

    if options.judges:
        known = sorted(frame[tidy.JUDGE].dropna().unique())
        frame = frame[frame[tidy.JUDGE].isin(options.judges)]
        if frame.empty:
            raise ValueError(f"no verdicts from judge(s) {list(options.judges)}; the logs have {known}")
    prompts = timed("per_prompt", per_prompt.per_prompt, frame, options.threshold)
    by_t = timed("per_prompt_temperature", per_prompt.per_prompt_temperature, frame, options.threshold)
    table = timed(
        "groups", groups.all_group_tables, prompts, by_t, options.threshold, options.n_boot, options.seed
    )
    determinism = timed("determinism", groups.greedy_determinism, frame)
    friedman, posthoc = timed("friedman", stats.temperature_tests, by_t)
    spearman = timed("spearman", stats.comply_ssi_correlation, prompts, options.n_boot, options.seed)
    curves, needed = timed(
        "single_shot",
        single_shot.single_shot,
        frame,
        options.draws,
        options.seed,
        options.tie_break,
        options.targets,
    )
    agreement, confusion = timed("agreement", judge_agreement, frame)
    overall = table[table["level"] == "overall"]
    run_rows = runs.run_table(overall)
    spread = runs.run_spread(run_rows)
    to_publish = timed(
        "publishable",
        publishable.publishable_tables,
        frame,
        prompts,
        by_t,
        options.threshold,
        options.n_boot,
        options.seed,
    )
    return Analysis(
        prompts,
        by_t,
        table,
        determinism,
        friedman,
        posthoc,
        spearman,
        curves,
        needed,
        agreement,
        confusion,
        run_rows,
        spread,
        timings,
        publishable=to_publish,
    )


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


def build_report(
    loaded: LoadResult,
    out: str | Path,
    options: ReportOptions | None = None,
    overwrite: bool = False,
    numbered: bool = False,
    sources: Sequence[str] = (),
    parts: Sequence[RunParts] = (),
) -> tuple[Path, Analysis]:
    """Analyse a loaded log set and write the report folder.

    Args:
        loaded: The tidy table and the per-log reports (from `load_logs`, or built for CSV input).
        out: The report folder.
        options: Analysis options.
        overwrite: Write into an existing non-empty folder (same-named files are replaced).
        numbered: If `out` holds files, write to the first free `<out>-2`, `<out>-3`, ... instead.
        sources: The inputs as given (recorded in the report).
        parts: How each run was assembled from stages and shards (`merge.check_parts`); adaptive runs
            get a section saying their estimates are adaptive.

    Returns:
        The folder written and the analysis.
    """
    options = options or ReportOptions()
    out_dir = prepare_out_dir(out, overwrite, numbered)
    analysis = analyse(loaded.frame, options)
    start = time.perf_counter()
    analysis.engine = engine_floor(_judges_kept(loaded.frame, options), _judges_kept(loaded.repeats, options))
    figure_paths = _figures(analysis, options, out_dir / "figures") if options.figures else []
    analysis.timings["figures"] = time.perf_counter() - start
    _write_tables(analysis, loaded, out_dir)
    blocks = _blocks(analysis, loaded, options, figure_paths, sources)
    blocks[2:2] = _assembly_blocks(parts, loaded.frame)
    (out_dir / "report.md").write_text(render_markdown(blocks, out_dir), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(blocks, options.title), encoding="utf-8")
    return out_dir, analysis


def _judges_kept(frame: pd.DataFrame, options: ReportOptions) -> pd.DataFrame:
    """The rows of the judges the report is restricted to (all when none is named)."""
    return frame[frame[tidy.JUDGE].isin(options.judges)] if options.judges else frame


def _assembly_blocks(parts: Sequence[RunParts], frame: pd.DataFrame) -> list[tuple[str, Any]]:
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


def _figures(analysis: Analysis, options: ReportOptions, out: Path) -> list[tuple[str, Path]]:
    """Draw every figure registered in `figures.REPORT_FIGURES`; return (caption, PNG path) pairs."""
    made = [(caption, draw(*args(analysis, options), out)) for caption, args, draw in figures.REPORT_FIGURES]
    return [(caption, paths[0]) for caption, paths in made if paths]


def _write_tables(analysis: Analysis, loaded: LoadResult, out: Path) -> None:
    """Write every CSV and statistics.json."""
    tables = {
        "per_prompt": analysis.prompts,
        "per_prompt_temperature": analysis.prompts_by_temperature,
        "groups": analysis.groups,
        "determinism": analysis.determinism,
        "engine_floor": analysis.engine,
        "single_shot": analysis.curves,
        "runs": analysis.runs,
        "run_spread": analysis.spread,
        "judge_agreement": analysis.agreement,
        "logs": loaded.report_frame(),
        "unscored_prompts": per_prompt.unscored_prompts(analysis.prompts),
        **analysis.publishable,
    }
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    statistics = {
        "friedman": analysis.friedman,
        "wilcoxon_posthoc": analysis.posthoc,
        "spearman_comply_vs_ssi": analysis.spearman,
        "determinism": analysis.determinism,
        "single_shot_needed": analysis.needed,
        "single_shot_n1": analysis.curves[analysis.curves["n"] == 1]
        if len(analysis.curves)
        else analysis.curves,
        "judge_agreement": analysis.agreement,
        "run_spread": analysis.spread,
    }
    long = [_long(name, table) for name, table in statistics.items() if len(table)]
    (pd.concat(long, ignore_index=True) if long else pd.DataFrame()).to_csv(
        out / "statistics.csv", index=False
    )
    payload: dict[str, Any] = {name: _records(table) for name, table in statistics.items()}
    payload["confusion_matrices"] = {
        name: {
            "rows": m.index.name,
            "columns": m.columns.name,
            "labels": list(m.index),
            "counts": m.to_numpy().tolist(),
        }
        for name, m in analysis.confusion.items()
    }
    payload["timings_s"] = analysis.timings
    (out / "statistics.json").write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON records (NaN -> null)."""
    if table.empty:
        return []
    return json.loads(table.to_json(orient="records", default_handler=str))


def _long(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """A statistics table in long form: test, the group's label columns, statistic, value."""
    labels = (
        *tidy.RUN_KEYS,
        tidy.HARMFUL,
        tidy.TEMPERATURE,
        "scope",
        "target",
        "temperature_a",
        "temperature_b",
        "judge_a",
        "judge_b",
        "metric",
        "n",
    )
    id_columns = [c for c in table.columns if c in labels or (table[c].dtype == object and c != "summary")]
    values = [c for c in table.columns if c not in id_columns]
    long = table.astype({c: str for c in id_columns if c in table}).melt(
        id_vars=id_columns, value_vars=values, var_name="statistic", value_name="value"
    )
    long.insert(0, "test", name)
    return long


# ---------------------------------------------------------------- report text


def _published_rows(analysis: Analysis) -> pd.DataFrame:
    """Measured beside published figures, for the runs `is_study_run` accepts (see `STUDY_RULE`)."""
    overall = analysis.groups[analysis.groups["level"] == "overall"]
    rows = []
    for _, g in overall.iterrows():
        if not is_study_run(g):
            continue
        det = analysis.determinism
        if len(det):
            det = det[(det[tidy.RUN] == g[tidy.RUN]) & (det[tidy.JUDGE] == g[tidy.JUDGE])]
        measured = {
            MEAN_SSI: g[MEAN_SSI],
            PCT_UNSTABLE: g[PCT_UNSTABLE],
            PCT_FLIPPED: g[PCT_FLIPPED],
            "exact_match_pct": det["exact_match_pct"].iloc[0] if len(det) else np.nan,
        }
        for metric, published in PUBLISHED_STUDY.items():
            rows.append(
                {
                    "run": g[tidy.RUN],
                    "judge": g[tidy.JUDGE],
                    "n_prompts": g["n_prompts"],
                    "figure": metric,
                    "published": published,
                    "measured": measured[metric],
                    "difference": measured[metric] - published,
                }
            )
    return pd.DataFrame(rows)


def is_study_run(group: pd.Series) -> bool:
    """Whether a row of the overall group table is the study's run: its prompt set, recorded verdicts."""
    return str(group[tidy.DATASET]) == STUDY_DATASET and str(group[tidy.JUDGE]) == STUDY_JUDGE


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


def _blocks(
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
    published = _published_rows(analysis)
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


def _fmt_value(value: Any) -> str:
    """One table cell for display: floats to 4 decimals (small ones to 3 significant digits)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.3g}"
        return f"{value:.{FLOAT_DIGITS}f}".rstrip("0").rstrip(".")
    return str(value)


def _fmt(table: pd.DataFrame) -> pd.DataFrame:
    """A table with every cell formatted for display."""
    return pd.DataFrame({c: [_fmt_value(v) for v in table[c].tolist()] for c in table.columns})


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
            shown = _fmt(content)
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
            body.append(_fmt(content).to_html(index=False, border=0, classes="t", escape=True))
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
