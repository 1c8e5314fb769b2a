"""The publishable statistics over the study's responses, with the offline rules judge as a second run.

    python scripts/study_statistics.py [--labels-dir DIR] [--out DIR] [--n-boot 200]

The study's 17,520 Qwen2.5-7B-Instruct responses carry its LLM judge's labels (run 1). Run 2 is the
same responses labelled by the offline rules judge, applied in-process (the rules are a pure
function of the text, so this equals `inspect score` with `judge=offline` on the replayed log).
Prints the headline numbers and, with `--out`, writes every table as a CSV.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

from refusal_stability.analysis import (
    judge_noise,
    per_prompt,
    publishable,
    single_shot,
    study_labels,
    tidy,
)
from refusal_stability.scorers.offline import OFFLINE_JUDGE_VERSION, classify_response

STUDY_DIR = Path(__file__).resolve().parents[2] / "shared/datasets/refusal_stability_paper"
SPLIT_HALF = "holdout"
"""The prompts whose offline verdicts are corrected in the split-sample check (the offline judge was
tuned on the other half, which then serves as calibration)."""


def rejudged_study(directory: Path) -> pd.DataFrame:
    """The study's tidy table and the same responses judged by the offline rules judge, stacked."""
    study = study_labels.load_study_labels(directory, keep_responses=True)
    verdicts = [classify_response(text).label for text in study[tidy.RESPONSE]]
    offline = study.assign(
        **{
            tidy.JUDGE: OFFLINE_JUDGE_VERSION,
            tidy.SCORER: "offline_judge",
            tidy.VERDICT: verdicts,
            tidy.NOTE: [None if v else tidy.NOTE_UNSCORED for v in verdicts],
        }
    )
    return tidy.concat([tidy.to_frame(study), tidy.to_frame(offline)])


def holdout_prompts(prompt_ids: pd.Series) -> list[str]:
    """The offline judge's holdout half (odd sha256 of the prompt id; see scripts/judge_agreement.py)."""
    return [p for p in prompt_ids.astype(str).unique() if int(hashlib.sha256(p.encode()).hexdigest(), 16) % 2]


def tables(frame: pd.DataFrame, n_boot: int) -> dict[str, pd.DataFrame]:
    """The report's publishable tables, the split-sample judge correction and the three tie-breaks."""
    prompts = per_prompt.per_prompt(frame)
    result = publishable.publishable_tables(
        frame, prompts, per_prompt.per_prompt_temperature(frame), n_boot=n_boot
    )
    result["corrected_rates_split"] = judge_noise.corrected_rates(
        frame,
        study_labels.STUDY_JUDGE,
        OFFLINE_JUDGE_VERSION,
        target_prompts=holdout_prompts(frame[tidy.PROMPT_ID]),
        n_boot=n_boot,
    )
    matrix = single_shot.label_matrix(frame[frame[tidy.JUDGE] == study_labels.STUDY_JUDGE])
    result["single_shot_tie_breaks"] = pd.concat(
        [
            single_shot.agreement_curve(matrix, 1000, np.random.default_rng(0), rule).assign(tie_break=rule)
            for rule in single_shot.TIE_BREAKS
        ],
        ignore_index=True,
    )
    return result


def main() -> None:
    """Compute, print and optionally write the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels-dir", type=Path, default=STUDY_DIR)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    frame = rejudged_study(args.labels_dir)
    result = tables(frame, args.n_boot)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 40)
    drop = [tidy.RUN, tidy.MODEL, tidy.DATASET]
    for name, table in result.items():
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            table.to_csv(args.out / f"{name}.csv", index=False)
        shown = table.drop(columns=[c for c in drop if c in table])
        if name == "tail_risk":
            shown = shown.groupby(tidy.JUDGE, observed=True).mean(numeric_only=True)
        elif name == "single_shot_tie_breaks":
            shown = shown[shown["n"].isin([1, 2, 3, 5])]
        print(f"\n== {name}\n{shown.round(4).to_string()}")
    print(f"\n{len(frame)} rows, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
