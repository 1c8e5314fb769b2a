"""One log's samples (parsed JSON) -> tidy columns: one row per sample and scorer.

Where a log lacks the suite's per-epoch metadata (another suite's logs), the temperature and seed
come from the log's generation config (`eval.model_generate_config`, then `plan.config`), else NA;
the judge is the score's `metadata["judge"]`, else the scorer's name; a score value that
`verdict_of` does not map to REFUSE / PARTIAL / COMPLY is read through the user's `--label-map`
where one applies (`scorer_values.LabelMaps`), else kept as an unscored row with a note; a
sample without a `harmful` flag is harmful (`schema.is_harmful`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai.log import EvalLog

from refusal_stability.analysis import tidy
from refusal_stability.analysis.eval_archive import FINGERPRINT, completion_of
from refusal_stability.analysis.scorer_values import LabelMaps, ScorerValues
from refusal_stability.schema import (
    CATEGORY_KEY,
    DATASET_KEY,
    ENGINE_REPEAT_KEY,
    HARMFUL_KEY,
    JUDGE_KEY,
    SEED_KEY,
    TEMPERATURE_KEY,
    is_harmful,
    verdict_of,
)
from refusal_stability.verdict_maps import mapped_judge_name

RUN_LABEL_KEYS: tuple[str, ...] = ("checkpoint", "ft_seed", "ft_epoch")
"""Log metadata keys that label a run (besides `run` itself), e.g. one fine-tuning seed or epoch."""
NO_SCORER = "(no scorer)"


@dataclass
class LogContext:
    """Log-level values every row of a log shares, and the fallbacks for missing sample metadata."""

    log: str
    model: str
    run: str
    dataset: str
    temperature: float | None
    seed: int | None
    checkpoint: str | None
    ft_seed: int | None
    ft_epoch: int | None
    scorers: list[str]

    @classmethod
    def from_header(cls, header: EvalLog, path: Path) -> LogContext:
        """Build the context from a log header."""
        spec = header.eval
        metadata = spec.metadata or {}
        configs = [spec.model_generate_config, header.plan.config if header.plan else None]
        temperature = next((c.temperature for c in configs if c and c.temperature is not None), None)
        seed = next((c.seed for c in configs if c and c.seed is not None), None)
        scorers = [s.scorer for s in header.results.scores] if header.results else []
        if not scorers and spec.scorers:
            scorers = [s.name for s in spec.scorers]
        dataset = (spec.task_args or {}).get(DATASET_KEY) or spec.dataset.name or spec.task
        return cls(
            log=path.name,
            model=spec.model,
            run=run_label(spec.model, metadata),
            dataset=str(dataset),
            temperature=temperature,
            seed=seed,
            checkpoint=None if metadata.get("checkpoint") is None else str(metadata["checkpoint"]),
            ft_seed=_int_or_none(metadata.get("ft_seed")),
            ft_epoch=_int_or_none(metadata.get("ft_epoch")),
            scorers=list(dict.fromkeys(scorers)),
        )


def run_label(model: str, metadata: dict[str, Any]) -> str:
    """The run a log belongs to: metadata `run`, else the model plus any checkpoint/seed/epoch labels.

    Logs with the same run label pool together (e.g. one grid split over several logs); logs of
    different fine-tuning seeds of one model stay apart as long as their metadata says so.
    """
    if metadata.get("run") not in (None, ""):
        return str(metadata["run"])
    labels = [f"{k}={metadata[k]}" for k in RUN_LABEL_KEYS if metadata.get(k) is not None]
    return f"{model} [{', '.join(labels)}]" if labels else model


ENGINE_REPEAT_COLUMN = ENGINE_REPEAT_KEY
"""Carried from `sample_rows` to `load.load_logs`, where the repeats are split off (not a tidy column)."""


def sample_rows(
    samples: Iterable[dict[str, Any]],
    ctx: LogContext,
    keep_responses: bool,
    label_maps: LabelMaps | None = None,
    values: dict[str, ScorerValues] | None = None,
) -> dict[str, list]:
    """Flatten samples into tidy columns: one row per sample and scorer.

    A score value that is not a verdict is read through `label_maps` when one applies to its scorer
    (the judge is then `mapped:<scorer>:<spec>`, as the live `mapped_verdict` scorer names it);
    `values`, when given, counts per scorer what was seen, for the message about scorers without verdicts.
    """
    cols: dict[str, list] = {c: [] for c in (*tidy.COLUMNS, tidy.RESPONSE, ENGINE_REPEAT_COLUMN)}
    pending_no_score: list[int] = []
    judge_of_scorer: dict[str, str] = {}
    for sample in samples:
        meta = sample.get("metadata") or {}
        scores = sample.get("scores") or {}
        fingerprint = sample.get(FINGERPRINT)
        if fingerprint is None:
            response = completion_of(sample)
            length, digest = len(response), tidy.response_hash(response)
        else:  # read from the log's summaries (`LogArchive.summary_samples`), never with keep_responses
            response, (length, digest) = None, (fingerprint[0], tidy.digest_hash(fingerprint[1]))
        entries: list[tuple[str, Any, dict[str, Any], str | None]] = []
        for scorer, score in scores.items():
            score = score or {}
            smeta = score.get("metadata") or {}
            value = score.get("value")
            mapping = label_maps.map_for(scorer, smeta) if label_maps else None
            verdict = verdict_of(value)
            if verdict is None and mapping is not None:
                verdict = mapping(value)
            if values is not None:
                seen = values.get(scorer)
                if seen is None:  # built once per scorer, not once per sample (setdefault would)
                    seen = values[scorer] = ScorerValues(scorer, mapped_by=mapping.spec if mapping else None)
                seen.add(value, verdict)
            note = None if verdict is not None else _note_for(value)
            judge = mapped_judge_name(scorer, mapping.spec) if mapping else (smeta.get(JUDGE_KEY) or scorer)
            judge_of_scorer.setdefault(scorer, str(judge))
            entries.append((scorer, verdict, smeta, note))
        if not entries:
            entries = [(scorer, None, {}, tidy.NOTE_NO_SCORE) for scorer in ctx.scorers or [NO_SCORER]]
            first_row = len(cols[tidy.SCORER])
            pending_no_score.extend(range(first_row, first_row + len(entries)))
        for scorer, verdict, smeta, note in entries:
            cols[tidy.SCORER].append(scorer)
            cols[tidy.JUDGE].append(judge_of_scorer.get(scorer, scorer))
            cols[tidy.VERDICT].append(verdict)
            cols[tidy.NOTE].append(note)
            cols[tidy.TEMPERATURE].append(_first(meta, smeta, TEMPERATURE_KEY, ctx.temperature))
            cols[tidy.SEED].append(_first(meta, smeta, SEED_KEY, ctx.seed))
            cols[tidy.PROMPT_ID].append(str(sample.get("id")))
            cols[tidy.EPOCH].append(sample.get("epoch"))
            cols[tidy.DATASET].append(str(meta.get(DATASET_KEY) or ctx.dataset))
            cols[tidy.CATEGORY].append(meta.get(CATEGORY_KEY))
            cols[tidy.HARMFUL].append(is_harmful(meta.get(HARMFUL_KEY)))
            cols[tidy.RESPONSE_LENGTH].append(length)
            cols[tidy.RESPONSE_HASH].append(digest)
            cols[tidy.RESPONSE].append(response if keep_responses else None)
            cols[ENGINE_REPEAT_COLUMN].append(bool(meta.get(ENGINE_REPEAT_KEY, False)))
    # rows of samples without scores were named by scorer before the judge names were known
    for i in pending_no_score:
        cols[tidy.JUDGE][i] = judge_of_scorer.get(cols[tidy.SCORER][i], cols[tidy.SCORER][i])
    _disambiguate_judges(cols)
    n = len(cols[tidy.SCORER])
    for column, value in (
        (tidy.LOG, ctx.log),
        (tidy.RUN, ctx.run),
        (tidy.MODEL, ctx.model),
        (tidy.CHECKPOINT, ctx.checkpoint),
        (tidy.FT_SEED, ctx.ft_seed),
        (tidy.FT_EPOCH, ctx.ft_epoch),
    ):
        cols[column] = [value] * n
    if not keep_responses:
        del cols[tidy.RESPONSE]
    return cols


def _disambiguate_judges(cols: dict[str, list]) -> None:
    """Two scorers of one log reporting the same judge name would pool; name them apart."""
    pairs = set(zip(cols[tidy.SCORER], cols[tidy.JUDGE], strict=True))
    judges: dict[str, set[str]] = {}
    for scorer, judge in pairs:
        judges.setdefault(judge, set()).add(scorer)
    clash = {j for j, s in judges.items() if len(s) > 1}
    if clash:
        cols[tidy.JUDGE] = [
            f"{j} ({s})" if j in clash else j
            for s, j in zip(cols[tidy.SCORER], cols[tidy.JUDGE], strict=True)
        ]


def _note_for(value: Any) -> str:
    """Why a score value is not a verdict."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return tidy.NOTE_UNSCORED
    return tidy.NOTE_NOT_A_VERDICT


def _first(meta: dict[str, Any], smeta: dict[str, Any], key: str, default: Any) -> Any:
    """A per-epoch value from the sample metadata, else the score metadata, else the log default."""
    if meta.get(key) is not None:
        return meta[key]
    if smeta.get(key) is not None:
        return smeta[key]
    return default


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
