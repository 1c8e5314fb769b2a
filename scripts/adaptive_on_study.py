"""Adaptive sampling replayed on a full grid: generations used, recall, and the bias of every headline figure.

    python scripts/adaptive_on_study.py [--labels-dir DIR] [--cells 0,1,5,...] [--draws 200]

Reads a complete grid (by default the study's 17,520 judged Qwen2.5-7B-Instruct responses) and replays the
two-stage rule of `analysis/adaptive.py` on it: stage 1 = the stage-1 cells (default `-T cells=stage1`),
stage 2 = every other cell for the prompts stage 1 left undecided. Prints the table the README shows, then
the spread of the results over `--draws` random stratified stage-1 choices (the same number of seeds per
temperature), so a lucky or unlucky choice of seeds is not mistaken for the rule's performance.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from refusal_stability.analysis.adaptive import AdaptiveComparison, compare_to_full, stratified_choices
from refusal_stability.analysis.report import render_markdown
from refusal_stability.analysis.study_labels import load_study_labels
from refusal_stability.solvers.cells import STAGE1_SEEDS_PER_TEMPERATURE, select_cells
from refusal_stability.solvers.grid import STUDY_SEEDS, STUDY_TEMPERATURES, make_grid

DEFAULT_LABELS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "refusal_stability_paper"
"""The study's label CSVs, beside the repository (as the tests find them)."""


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table, as the report writes them (floats to 4 decimals)."""
    return render_markdown([("table", table)], Path("."))


def summary_row(name: str, result: AdaptiveComparison) -> dict[str, object]:
    """One line of the adaptive table."""
    bias = result.headline.set_index("figure")["bias"]
    return {
        "stage 1": name,
        "undecided": f"{result.undecided} / {result.prompts}",
        "generations": f"{result.generations:,} ({result.generation_share:.1f} %)",
        "unstable recall %": f"{result.unstable_recall:.1f} ({result.unstable_found}/{result.unstable_full})",
        "flipped recall %": f"{result.flipped_recall:.1f} ({result.flipped_found}/{result.flipped_full})",
        "bias mean SSI": f"{bias['mean SSI']:+.4f}",
        "bias % unstable": f"{bias['% unstable']:+.2f}",
        "bias % flipped": f"{bias['% flipped']:+.2f}",
    }


def main() -> None:
    """Print the adaptive table, each choice's headline figures, and the spread over random choices."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels-dir", default=str(DEFAULT_LABELS))
    parser.add_argument("--cells", action="append", default=[], help="extra stage-1 cell sets to compare")
    parser.add_argument("--draws", type=int, default=200, help="random stratified stage-1 choices")
    args = parser.parse_args()
    full = load_study_labels(args.labels_dir)
    grid = make_grid(STUDY_TEMPERATURES, STUDY_SEEDS)
    choices = {"stage1 " + ",".join(map(str, select_cells(grid, "stage1"))): select_cells(grid, "stage1")}
    for cells in args.cells:
        choices[cells] = select_cells(grid, cells)
    results = {name: compare_to_full(full, cells) for name, cells in choices.items()}
    print(markdown(pd.DataFrame([summary_row(n, r) for n, r in results.items()])))
    for name, result in results.items():
        print(f"\nHeadline figures, {name}:")
        print(markdown(result.headline))
    if args.draws:
        draws = stratified_choices(
            len(grid.temperatures), len(grid.seeds), STAGE1_SEEDS_PER_TEMPERATURE, args.draws
        )
        spread = pd.DataFrame(
            [
                {
                    "generations %": r.generation_share,
                    "unstable recall %": r.unstable_recall,
                    "flipped recall %": r.flipped_recall,
                    **r.headline.set_index("figure")["bias"].add_prefix("bias ").to_dict(),
                }
                for r in (compare_to_full(full, cells) for cells in draws)
            ]
        )
        print(
            f"\nSpread over {args.draws} random stage-1 choices "
            f"({STAGE1_SEEDS_PER_TEMPERATURE} seeds per temperature):"
        )
        print(markdown(spread.describe().loc[["mean", "std", "min", "max"]].T.reset_index(names="figure")))


if __name__ == "__main__":
    main()
