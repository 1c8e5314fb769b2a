"""Adaptive sampling replayed on a full grid: generations used, recall, and the bias of every headline figure.

    python scripts/adaptive_on_study.py [--labels-dir DIR] [--data-dir DIR] [--draws 300]

Reads a complete grid (by default the study's 17,520 judged Qwen2.5-7B-Instruct responses) and replays the
three-stage rule of `analysis/adaptive.py` on it (`-T cells=stage1`, then `stage2` and `stage3` on the
prompts `refusal-stability undecided` names). Prints:

1. where dissent lives: each temperature's share of the cells that disagree with their prompt's majority,
   the Neyman allocation of a first pass over temperatures, whether the T = 0 cells repeat across seeds, and
   the share of unclear refusals per temperature and seed;
2. the adaptive table: the whole study with the shipped sure cells, and each prompt source held out (the
   sure cells chosen on the other source only, `cascade_replay.choose_sure_cells`, and the rule run on the
   held-out source as a run of its own). Rows: the default stages (each prompt's seed order drawn from its
   id, `solvers/cells.py`) and their spread over `--draws` other draws of the per-prompt orders (other
   salts); then one seed order for the whole run, as the rule had before: the grid's order (seed 42 first)
   and the spread over `--draws` random stratified choices;
3. every headline figure of the whole study, full grid against adaptive.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from refusal_stability.analysis import tidy
from refusal_stability.analysis.adaptive import (
    CELL,
    RULES_VERDICT,
    AdaptiveComparison,
    StagePlan,
    clear_refusals,
    compare_to_full,
    default_plan,
    fixed_plan,
    rules_verdicts,
    stratified_stages,
)
from refusal_stability.analysis.cascade_replay import choose_sure_cells
from refusal_stability.analysis.per_prompt import per_prompt
from refusal_stability.analysis.report import render_markdown
from refusal_stability.analysis.study_labels import load_study_labels
from refusal_stability.scorers.cascade import SURE_CELLS
from refusal_stability.solvers.cells import STAGE_SEEDS_PER_TEMPERATURE, STAGES, ordered_stage_cells
from refusal_stability.solvers.grid import STUDY_SEEDS, STUDY_TEMPERATURES, SamplingGrid, make_grid
from refusal_stability.tasks.datasets import load_prompts

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LABELS = REPO.parent / "shared" / "datasets" / "refusal_stability_paper"
"""The study's label CSVs, beside the repository (as the tests find them)."""
DEFAULT_DATA = REPO.parent / "shared" / "datasets"
SOURCE = "source"
WHOLE = "whole study"
PER_PROMPT_DRAWS = "seed order drawn per prompt (other salts)"
RUN_WIDE_DRAWS = "one random seed order for the run"
GOAL_GENERATIONS, GOAL_UNSTABLE, GOAL_FLIPPED, GOAL_SSI_BIAS = 50.0, 99.0, 95.0, 0.01
"""Issue 12's goals: at most 50 % of the generations, 99 % / 95 % recall, mean SSI within 0.01."""


def meets_goals(result: AdaptiveComparison) -> bool:
    """Whether one replay meets all four of the issue's goals."""
    bias = result.headline.set_index("figure")["bias"]
    return (
        result.generation_share <= GOAL_GENERATIONS
        and result.unstable_recall >= GOAL_UNSTABLE
        and result.flipped_recall >= GOAL_FLIPPED
        and abs(bias["mean SSI"]) <= GOAL_SSI_BIAS
    )


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table, as the report writes them (floats to 4 decimals)."""
    return render_markdown([("table", table)], Path("."))


def load_study(labels_dir: str | Path, data_dir: str | Path) -> pd.DataFrame:
    """The study's tidy table with responses, prompt category and source, and the rules' cell and verdict."""
    full = load_study_labels(labels_dir, keep_responses=True)
    meta = {s.id: s.metadata or {} for s in load_prompts("paper", data_dir=str(data_dir))}
    full[tidy.CATEGORY] = full[tidy.PROMPT_ID].map(lambda p: meta[p].get("category"))
    full[SOURCE] = full[tidy.PROMPT_ID].map(lambda p: meta[p].get("source"))
    return pd.concat([full, rules_verdicts(full)], axis=1)


def dissent_by_temperature(full: pd.DataFrame) -> pd.DataFrame:
    """Per temperature: cells that disagree with their prompt's majority, and the Neyman allocation.

    A cell dissents when its verdict differs from its prompt's majority over the whole grid (ties to the
    safer label, as `per_prompt`). Neyman allocation gives stratum t a share of a first pass in proportion
    to the standard deviation of the dissent indicator there, sqrt(p_t (1 - p_t)).
    """
    majority = per_prompt(full).set_index(tidy.PROMPT_ID)["majority"]
    scored = full[full[tidy.VERDICT].notna()]
    dissent = scored[tidy.VERDICT].astype(str) != scored[tidy.PROMPT_ID].map(majority).astype(str)
    table = dissent.groupby(scored[tidy.TEMPERATURE]).agg(["sum", "size", "mean"])
    table.columns = ["dissenting cells", "scored cells", "dissent rate"]
    table["share of all dissent %"] = 100 * table["dissenting cells"] / table["dissenting cells"].sum()
    spread = np.sqrt(table["dissent rate"] * (1 - table["dissent rate"]))
    table["Neyman share %"] = 100 * spread / spread.sum()
    return table.reset_index()


def repeats_at_zero(full: pd.DataFrame) -> dict[str, int]:
    """At T = 0: prompts whose responses (and verdicts) are the same under every seed."""
    zero = full[full[tidy.TEMPERATURE] == 0.0]
    by_prompt = zero.groupby(tidy.PROMPT_ID)
    return {
        "prompts": int(by_prompt.ngroups),
        "same response under every seed": int((by_prompt[tidy.RESPONSE].nunique() == 1).sum()),
        "same verdict under every seed": int((by_prompt[tidy.VERDICT].nunique(dropna=False) == 1).sum()),
    }


def unclear_by_cell(full: pd.DataFrame) -> pd.DataFrame:
    """The share (%) of responses that are not clear refusals, per temperature (rows) and seed (columns).

    A seed's random stream is shared by every prompt, so a seed that gives more unclear refusals gives them
    to all prompts at once: which seed each stage takes moves the whole run's cost.
    """
    unclear = ~clear_refusals(full, full[CELL])
    share = 100 * unclear.groupby([full[tidy.TEMPERATURE], full[tidy.SEED]]).mean()
    table = share.unstack().round(1)
    table.columns = [f"seed {seed}" for seed in table.columns]
    return table.reset_index()


def summary_row(name: str, stages: str, result: AdaptiveComparison) -> dict[str, object]:
    """One line of the adaptive table."""
    bias = result.headline.set_index("figure")["bias"]
    return {
        "prompts": name,
        "stages": stages,
        "prompts per stage": " / ".join(map(str, result.stage_prompts)),
        "generations": f"{result.generations:,} ({result.generation_share:.1f} %)",
        "unstable found": f"{result.unstable_found}/{result.unstable_full} ({result.unstable_recall:.1f} %)",
        "flipped found": f"{result.flipped_found}/{result.flipped_full} ({result.flipped_recall:.1f} %)",
        "bias mean SSI": f"{bias['mean SSI']:+.4f}",
        "bias % unstable": f"{bias['% unstable']:+.2f}",
        "bias % flipped": f"{bias['% flipped']:+.2f}",
    }


def spread_row(name: str, stages: str, results: list[AdaptiveComparison]) -> dict[str, object]:
    """Mean (5th-95th percentile) of the rule's figures over random stage choices."""

    def span(values: list[float], digits: int = 1, sign: str = "") -> str:
        v = np.asarray(values)
        p5, p95 = np.percentile(v, [5, 95])
        return f"{v.mean():{sign}.{digits}f} ({p5:{sign}.{digits}f} to {p95:{sign}.{digits}f})"

    bias = [r.headline.set_index("figure")["bias"] for r in results]
    return {
        "prompts": name,
        "stages": f"{stages}, {len(results)} draws: mean (5th to 95th percentile)",
        "prompts per stage": " / ".join(
            f"{np.mean([r.stage_prompts[k] for r in results]):.0f}" for k in range(3)
        ),
        "generations": span([r.generation_share for r in results]) + " %",
        "unstable found": span([r.unstable_recall for r in results]) + " %",
        "flipped found": span([r.flipped_recall for r in results]) + " %",
        "bias mean SSI": span([b["mean SSI"] for b in bias], 4, "+"),
        "bias % unstable": span([b["% unstable"] for b in bias], 2, "+"),
        "bias % flipped": span([b["% flipped"] for b in bias], 2, "+"),
    }


def held_out_sure_cells(full: pd.DataFrame, fit_source: str) -> tuple[str, ...]:
    """The sure cells chosen on one prompt source's responses only (scored, non-blank)."""
    fit = full[(full[SOURCE] == fit_source) & full[tidy.VERDICT].notna() & full[RULES_VERDICT].notna()]
    return choose_sure_cells(
        fit[CELL].tolist(), fit[RULES_VERDICT].astype(str).tolist(), fit[tidy.VERDICT].astype(str).tolist()
    )


def grid_order_plan(grid: SamplingGrid) -> StagePlan:
    """One seed order for the whole run, the grid's own (seed 42 first): the rule's stages before this one."""
    orders = [range(len(grid.seeds))] * len(grid.temperatures)
    return fixed_plan([ordered_stage_cells(grid, stage, orders) for stage in STAGES])


def adaptive_table(full: pd.DataFrame, draws: int) -> tuple[pd.DataFrame, AdaptiveComparison, dict[str, int]]:
    """The adaptive table (whole study, each source held out; default stages and other draws).

    Returns:
        The table, the whole study's default replay, and how many draws of each kind met every goal on it.
    """
    grid = make_grid(STUDY_TEMPERATURES, STUDY_SEEDS)
    choices = stratified_stages(len(grid.temperatures), len(grid.seeds), STAGE_SEEDS_PER_TEMPERATURE, draws)
    spreads: list[tuple[str, list[StagePlan]]] = [
        (PER_PROMPT_DRAWS, [default_plan(grid, salt=f"draw-{k}") for k in range(draws)]),
        (RUN_WIDE_DRAWS, [fixed_plan(stages) for stages in choices]),
    ]
    sources = sorted(full[SOURCE].unique())
    parts = [(WHOLE, full, SURE_CELLS)]
    for held in sources:
        (fit,) = [s for s in sources if s != held]
        parts.append(
            (
                f"{held} (sure cells chosen on {fit})",
                full[full[SOURCE] == held],
                held_out_sure_cells(full, fit),
            )
        )
    rows, whole, met = [], None, {}
    for name, frame, sure in parts:
        frame = frame.reset_index(drop=True)
        clear = clear_refusals(frame, frame[CELL], sure)
        for label, plan, (kind, plans) in (
            ("default: seed order drawn per prompt", None, spreads[0]),
            ("one seed order for the run: the grid's (seed 42 first)", grid_order_plan(grid), spreads[1]),
        ):
            result = compare_to_full(frame, grid, clear, plan)
            whole = result if name == WHOLE and plan is None else whole
            rows.append(summary_row(name, label, result))
            if plans:
                results = [compare_to_full(frame, grid, clear, p) for p in plans]
                rows.append(spread_row(name, kind, results))
                if name == WHOLE:
                    met[kind] = sum(map(meets_goals, results))
    assert whole is not None
    return pd.DataFrame(rows), whole, met


def main() -> None:
    """Print where dissent lives, the adaptive table and the whole study's headline figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels-dir", default=str(DEFAULT_LABELS))
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA), help="the datasets folder (for categories)")
    parser.add_argument("--draws", type=int, default=300, help="draws of each kind of seed order")
    args = parser.parse_args()
    full = load_study(args.labels_dir, args.data_dir)
    print("Where dissent lives (cells whose verdict differs from their prompt's majority):")
    print(markdown(dissent_by_temperature(full)))
    print(f"\nT = 0 across seeds: {repeats_at_zero(full)}")
    print("\nResponses that are not clear refusals (%), per temperature and seed:")
    print(markdown(unclear_by_cell(full)))
    table, whole, met = adaptive_table(full, args.draws)
    print("\nAdaptive sampling against the full grid:")
    print(markdown(table))
    for kind, count in met.items():
        print(f"\n{kind}: {count} of {args.draws} draws meet all four goals on the whole study")
    print("\nHeadline figures, whole study, default stages:")
    print(markdown(whole.headline))


if __name__ == "__main__":
    main()
