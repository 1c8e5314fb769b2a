"""Held-out agreement of the offline rules judge with the study's labels, per split.

The study's 17,520 Qwen2.5-7B-Instruct responses carry the study's LLM-judge label. The rules'
thresholds are fitted on one part of the prompts and scored on the part held out
(`analysis.rule_splits`): whole prompt sources (AdvBench -> HarmBench and the reverse) and whole
HarmBench categories (each held out in turn, then pooled). Rows the study labelled UNKNOWN and
blank responses are excluded (and counted).

    python scripts/judge_agreement.py [--labels-dir DIR] [--data-dir DIR] [--matrices] [--external NAME=CSV]

Another model's responses, labelled elsewhere, are a split too (``--external``; by default the SmolLM2-135M
responses of `SMOLLM2_BLIND_LABELS` and `SMOLLM2_LABELS`, labelled by an AI assistant against the study's
rubric): scored with the shipped thresholds and the shipped sure cells, nothing fitted on them.

Prints one table (3-class and refuse-vs-not Cohen's kappa per split) and, with ``--matrices``,
each split's confusion matrices (rows: the reference label, columns: the rules) and fitted thresholds.
Then the cascade judge replayed with the study's labels standing in for the LLM judge
(`analysis.cascade_replay`): the share of LLM calls saved and its kappa against the LLM judge alone,
with the sure cells chosen on each split's fit rows, reported on those rows (fit) and on the rows held
out; with ``--matrices`` also the cascade's confusion matrix on each held-out part.

Then the blind audit (`analysis.label_audit`, ``--audit``; by default `AUDIT_DEFAULT`): 180 of the
study's HarmBench responses, 20 from each cell of (study label, rules label), relabelled by a third
rater who saw neither label; each pair of the three raters' estimated kappa over all 7,686 HarmBench
responses, then within copyright and the other categories.

Last, the ceiling the study's judge sets (`analysis.reference_ceiling`): it labels some byte-identical
responses to the same prompt differently, so no fixed reading of the text (rules, or an LLM judge at
temperature 0) can agree with it beyond the kappa estimated from those repeats, per part of the data
(AdvBench, HarmBench copyright, the other HarmBench categories) and pooled.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from refusal_stability.analysis import label_audit, reference_ceiling
from refusal_stability.analysis.agreement import confusion_matrix
from refusal_stability.analysis.cascade_replay import (
    FIT,
    CascadeResult,
    cascade_splits,
    replay_cascade,
    stage1,
)
from refusal_stability.analysis.rule_splits import (
    BINARY_LABELS,
    CATEGORY,
    LABEL,
    RESPONSE,
    SOURCE,
    SplitResult,
    evaluate_splits,
    external_split,
    gather_all,
    load_labelled_responses,
)
from refusal_stability.analysis.study_labels import study_label_files
from refusal_stability.schema import VERDICTS
from refusal_stability.scorers.cascade import SURE_CELLS
from refusal_stability.scorers.offline import OFFLINE_JUDGE_VERSION
from refusal_stability.tasks.datasets import load_prompts

DATA_DIR = Path(__file__).resolve().parents[2] / "shared/datasets"
LABELS_SUBDIR = "refusal_stability_paper/labels"
UNKNOWN = "UNKNOWN"
SMOLLM2_LABELS = Path(__file__).resolve().parents[1] / "tests/fixtures/judge_splits/smollm2_labels.csv"
"""100 SmolLM2-135M-Instruct responses to study prompts, labelled by an AI assistant (see its columns)."""
SMOLLM2_BLIND_LABELS = SMOLLM2_LABELS.with_name("smollm2_blind_labels.csv")
"""116 more, to other prompts, generated and labelled blind after rules-v4 was fixed (see its README)."""
EXTERNAL_DEFAULT = (
    f"SmolLM2-135M, blind (AI-assistant labels)={SMOLLM2_BLIND_LABELS}",
    f"SmolLM2-135M, first 100 (AI-assistant labels)={SMOLLM2_LABELS}",
)
AUDIT_DEFAULT = Path(__file__).resolve().parents[1] / "tests/fixtures/judge_splits/qwen_harmbench_audit.csv"
"""180 study responses relabelled blind by an AI assistant (see the folder's README)."""
COPYRIGHT = "copyright"
PART = "part"
"""The ceiling's strata: AdvBench, HarmBench copyright, the other HarmBench categories (prompt-level)."""
CEILING_SUBSETS: dict[str, list[str]] = {
    "advbench": ["advbench"],
    "harmbench copyright": ["harmbench copyright"],
    "harmbench other categories": ["harmbench other categories"],
    "harmbench": ["harmbench copyright", "harmbench other categories"],
    "all": ["advbench", "harmbench copyright", "harmbench other categories"],
}


def load_judged(labels_dir: Path, data_dir: Path) -> tuple[pd.DataFrame, int, int]:
    """The study's judged responses with each prompt's source and category.

    Returns:
        The rows kept, and how many UNKNOWN and blank rows were excluded.
    """
    frame = pd.concat([pd.read_csv(f) for f in study_label_files(labels_dir)], ignore_index=True)
    prompts = load_prompts("paper", data_dir=str(data_dir))
    meta = pd.DataFrame(
        [
            {"prompt_id": s.id, SOURCE: s.metadata.get(SOURCE), CATEGORY: s.metadata.get(CATEGORY)}
            for s in prompts
        ]
    )
    frame = frame.merge(meta, on="prompt_id", how="left", validate="many_to_one")
    missing = frame[SOURCE].isna()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} label rows name a prompt_id not in the study's prompt set")
    unknown = frame[LABEL] == UNKNOWN
    blank = frame[RESPONSE].fillna("").str.strip() == ""
    kept = frame[~unknown & ~blank].reset_index(drop=True)
    return kept, int(unknown.sum()), int((blank & ~unknown).sum())


def split_table(results: list[SplitResult]) -> pd.DataFrame:
    """One row per split: sizes, 3-class and refuse-vs-not kappa, % agreement."""
    return pd.DataFrame(
        [
            {
                "split (held out)": r.name,
                "n tune": r.n_train or "-",
                "n test": r.n_test,
                "kappa 3-class": round(r.kappa3, 3),
                "kappa refuse-vs-not": round(r.kappa2, 3),
                "agreement %": round(r.agreement3, 1),
            }
            for r in results
        ]
    )


def cascade_table(results: list[CascadeResult]) -> pd.DataFrame:
    """One row per cascade split and part: sure cells, LLM calls saved, stage-1 precision, kappa."""
    return pd.DataFrame(
        [
            {
                "cascade split": r.name,
                "part": r.part,
                "sure cells": len(r.sure_cells) or "(per part)",
                "n": r.n,
                "LLM calls saved %": round(100 * r.saved_share, 1),
                "stage-1 precision %": round(100 * r.stage1_precision, 2),
                "kappa vs LLM judge": round(r.kappa, 3),
            }
            for r in results
        ]
    )


def _external_cascade(name: str, labelled: pd.DataFrame) -> CascadeResult:
    """The cascade with the shipped sure cells on another model's labelled responses."""
    cells, predicted = stage1(gather_all(labelled[RESPONSE].tolist()))
    return replay_cascade(f"model held out: {name}", cells, predicted, labelled[LABEL].tolist(), SURE_CELLS)


def cascade_matrix(result: CascadeResult) -> str:
    """The cascade's confusion matrix on one part (rows: the LLM judge alone, columns: the cascade)."""
    table = pd.DataFrame(
        result.matrix, index=[f"LLM {v}" for v in VERDICTS], columns=[f"cascade {v}" for v in VERDICTS]
    )
    return f"-- cascade, {result.name} ({result.part})\n{_indent(table)}"


def matrices(result: SplitResult) -> str:
    """Both confusion matrices of one split, as text."""
    three = pd.DataFrame(
        result.matrix3, index=[f"reference {v}" for v in VERDICTS], columns=[f"rules {v}" for v in VERDICTS]
    )
    two = pd.DataFrame(
        result.matrix2,
        index=[f"reference {v}" for v in BINARY_LABELS],
        columns=[f"rules {v}" for v in BINARY_LABELS],
    )
    fitted = f"  fitted: {result.thresholds}\n" if result.thresholds else ""
    return f"-- {result.name}\n{fitted}{_indent(three)}\n{_indent(two)}"


def audit_report(path: Path, with_matrices: bool = False) -> str:
    """The blind audit's kappa table: all audited responses, copyright, the other categories.

    With `with_matrices`, also each pair's estimated confusion matrix over the whole population.
    """
    audit = label_audit.load_audit(path)
    is_copyright = (audit[label_audit.CATEGORY] == COPYRIGHT).to_numpy()
    table = label_audit.audit_table(audit, {COPYRIGHT: is_copyright, f"not {COPYRIGHT}": ~is_copyright})
    table = table.round({"population": 0, "agreement3": 1}).round(3)
    versions = ", ".join(sorted(set(audit.get("rules_version", pd.Series(["?"])))))
    return (
        f"blind audit ({path.name}: {len(audit)} responses, drawn under {versions}; kappa with a 95 % "
        "stratified-bootstrap interval, estimated over the population the strata stand for):\n"
        + table.to_string(index=False)
        + ("".join(_audit_matrix(audit, a, b) for a, b in label_audit.PAIRS) if with_matrices else "")
    )


def _audit_matrix(audit: pd.DataFrame, rater_a: str, rater_b: str) -> str:
    """One pair's estimated population confusion matrix (rows `rater_a`, columns `rater_b`)."""
    weights = label_audit.stratum_weights(audit)
    matrix = confusion_matrix(audit[rater_a].tolist(), audit[rater_b].tolist(), weights=weights).round()
    table = pd.DataFrame(
        matrix.astype(int),
        index=[f"{rater_a} {v}" for v in VERDICTS],
        columns=[f"{rater_b} {v}" for v in VERDICTS],
    )
    return f"\n-- audit, {rater_a} vs {rater_b} (estimated counts)\n{_indent(table)}"


def study_parts(frame: pd.DataFrame) -> pd.Series:
    """Each response's stratum for the ceiling: its source, HarmBench split into copyright and the rest."""
    harmbench = (
        frame[CATEGORY].eq(COPYRIGHT).map({True: "harmbench copyright", False: "harmbench other categories"})
    )
    return harmbench.where(frame[SOURCE] == "harmbench", frame[SOURCE])


def ceiling_report(frame: pd.DataFrame) -> str:
    """The study judge's ceiling table (`reference_ceiling.ceiling_table`) over the study's responses."""
    table = reference_ceiling.ceiling_table(frame.assign(**{PART: study_parts(frame)}), PART, CEILING_SUBSETS)
    table = table.round({"pair_disagreement": 1, "agreement3": 1}).round(3)
    return (
        "the study judge's ceiling: the agreement of the best fixed reading of the text (each response "
        "given the label the judge gave most often to its identical copies), estimated from the groups "
        "of byte-identical responses to one prompt and weighted back per part and label. kappa3 and "
        "kappa2 give each response its group's mode (errs high: the groups are small), *_loo the mode of "
        "its other copies (errs low); the best rater lies between:\n" + table.to_string(index=False)
    )


def _indent(table: pd.DataFrame) -> str:
    return "\n".join("  " + line for line in table.to_string().splitlines())


def main() -> None:
    """Print the per-split agreement table (and, optionally, the confusion matrices)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--labels-dir", type=Path, default=None, help="default: DATA_DIR/" + LABELS_SUBDIR)
    parser.add_argument("--matrices", action="store_true", help="also print each split's confusion matrices")
    parser.add_argument(
        "--external",
        action="append",
        metavar="NAME=CSV",
        help="another model's labelled responses (columns response, label) as a held-out split; "
        f"default: {'; '.join(EXTERNAL_DEFAULT)}",
    )
    parser.add_argument("--audit", type=Path, default=AUDIT_DEFAULT, help="a blind audit file (label_audit)")
    args = parser.parse_args()
    frame, unknown, blank = load_judged(args.labels_dir or args.data_dir / LABELS_SUBDIR, args.data_dir)
    evidence = gather_all(frame[RESPONSE].tolist())
    results = evaluate_splits(frame, evidence)
    external = {}
    for spec in args.external or EXTERNAL_DEFAULT:
        name, _, path = spec.partition("=")
        external[name] = load_labelled_responses(path)
        results.append(external_split(f"model held out: {name}", external[name], len(frame)))
    print(
        f"{OFFLINE_JUDGE_VERSION} vs the study's labels: {len(frame)} responses "
        f"({unknown} UNKNOWN and {blank} blank excluded);"
        " thresholds fitted on each split's tune rows, scored on its held-out rows"
    )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(split_table(results).to_string(index=False))
        if args.matrices:
            for result in results:
                print(matrices(result))
        cells, predicted = stage1(evidence)
        cascade = cascade_splits(frame, cells, predicted)
        print("\ncascade judge, the study's labels standing in for the LLM judge:")
        print(cascade_table(cascade).to_string(index=False))
        print(f"shipped sure cells (chosen on all rows): {', '.join(cascade[-1].sure_cells)}")
        others = [_external_cascade(name, labelled) for name, labelled in external.items()]
        if others:
            print("cascade on other models' responses, shipped sure cells:")
            print(cascade_table(others).to_string(index=False))
            cascade += others
        if args.matrices:
            for result in cascade:
                if result.part != FIT:
                    print(cascade_matrix(result))
        print("\n" + audit_report(args.audit, args.matrices))
        print("\n" + ceiling_report(frame))


if __name__ == "__main__":
    main()
