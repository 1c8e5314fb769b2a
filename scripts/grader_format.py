"""How often a real grader answers in the verdict format, per judge template.

A small grader often misses the verdict format. Our LLM judge must then leave the sample unscored with the
reason (never guess a verdict), and this script counts that: it replays real responses (the study's recorded
Qwen2.5 answers) through the task with the LLM judge, once per template, the grader being any Inspect model
(by default the bundled SmolLM2-135M on llama.cpp, offline), and prints per template the share of parseable
verdicts, the unscored reasons and the agreement of the parsed verdicts with the study's own labels.

    python scripts/grader_format.py --prompts 30 --grader local/smollm2 --log-dir logs/grader-format

Each template's run is an ordinary eval log (browse it in `inspect view`). The numbers are read from the logs.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from inspect_ai import eval
from inspect_ai.log import EvalLog

import refusal_stability._registry  # noqa: F401  (registers replay/ and local/)
from refusal_stability.scorers.templates import TEMPLATES
from refusal_stability.tasks.stability import stability

STUDY_FOLDER = "refusal_stability_paper"
REPLAY_MODEL = "replay/qwen2.5-7b-instruct"
CELL = {"temperatures": "0.7", "seeds": "42"}
"""One grid cell of the study (a sampled temperature), so every prompt is judged once per template."""

LLM_SCORER, RECORDED_SCORER = "llm_judge", "recorded_judge"


@dataclass(frozen=True)
class FormatCount:
    """One template's tally: verdicts parsed, unscored by reason, and agreement with the recorded labels."""

    template: str
    judged: int
    parsed: int
    reasons: Counter[str]
    agree: int

    @property
    def parseable_pct(self) -> float:
        """Share of judged responses that got a verdict, in percent."""
        return 100.0 * self.parsed / self.judged if self.judged else float("nan")


def count_formats(log: EvalLog, template: str) -> FormatCount:
    """Tally one log's LLM-judge scores; every sample must carry one (no silent drop)."""
    if log.status != "success":
        raise RuntimeError(f"{log.location}: eval ended with status {log.status}: {log.error}")
    reasons: Counter[str] = Counter()
    parsed = agree = 0
    for sample in log.samples or []:
        scores = sample.scores or {}
        if LLM_SCORER not in scores:
            where = f"{log.location}: sample {sample.id} epoch {sample.epoch}"
            raise RuntimeError(f"{where} has no {LLM_SCORER} score")
        score = scores[LLM_SCORER]
        if isinstance(score.value, str):
            parsed += 1
            recorded = scores.get(RECORDED_SCORER)
            agree += recorded is not None and recorded.value == score.value
        else:
            reasons[str(score.reason or "unscored")] += 1
    return FormatCount(template, len(log.samples or []), parsed, reasons, agree)


def run_template(template: str, args: argparse.Namespace, data_dir: Path) -> EvalLog:
    """Judge the replayed responses with one template; both the LLM judge and the recorded labels score."""
    [log] = eval(
        stability,
        task_args={
            "dataset": "paper",
            "sample": args.prompts,
            "judge": "llm,recorded",
            "judge_template": template,
            "data_dir": str(data_dir),
            **CELL,
        },
        model=REPLAY_MODEL,
        model_args={"path": str(data_dir / STUDY_FOLDER / "labels")},
        model_roles={"grader": args.grader},
        log_dir=str(args.log_dir / template),
        display="none",
    )
    return log


def markdown_table(counts: list[FormatCount], grader: str) -> str:
    """The per-template table for the README or a closing note."""
    lines = [
        f"grader `{grader}`; responses: the study's recorded Qwen2.5-7B answers (T=0.7, seed 42)",
        "",
        "| template | judged | parseable verdicts | unscored reasons | agree with study label (of parsed) |",
        "|---|---|---|---|---|",
    ]
    for c in counts:
        reasons = ", ".join(f"{r} {n}" for r, n in c.reasons.most_common()) or "—"
        agree = f"{c.agree}/{c.parsed}" if c.parsed else "—"
        parsed = f"{c.parsed} ({c.parseable_pct:.1f} %)"
        lines.append(f"| {c.template} | {c.judged} | {parsed} | {reasons} | {agree} |")
    return "\n".join(lines)


def main() -> None:
    """Judge with each template, then print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=30, help="study prompts judged per template")
    parser.add_argument("--grader", default="local/smollm2", help="Inspect model name of the grader")
    parser.add_argument("--templates", default=",".join(TEMPLATES), help="comma-separated template names")
    parser.add_argument("--log-dir", type=Path, default=Path("logs/grader-format"))
    args = parser.parse_args()
    data_dir = Path(os.environ.get("REFUSAL_STABILITY_DATA_DIR", "../shared/datasets"))
    counts = [count_formats(run_template(t, args, data_dir), t) for t in args.templates.split(",")]
    print(markdown_table(counts, args.grader))


if __name__ == "__main__":
    main()
