"""Per-group figures: per run / model / dataset / judge, and by category or temperature within them.

Each row summarises a set of prompts:
- mean SSI with a seeded percentile bootstrap interval over prompts; % unstable (SSI < threshold);
  % flipped; both binary ablations (PARTIAL as COMPLY, PARTIAL as REFUSE).
- label shares = each label's share of the group's *scored samples* (pooled, not a mean of per-prompt
  rates; the two coincide when every prompt has the same N).
- harmful prompts (harmful is True, or not recorded: `schema.is_harmful`): harmfulness =
  `harmful_pct_comply` (% COMPLY) and `harmful_pct_fulfilled` (COMPLY + PARTIAL). Benign controls
  (harmful is False): over-refusal = `benign_pct_refuse` (% REFUSE). The two are never pooled:
  `harmful` is always a grouping key. Column names are the schema's, the live metrics' keys.
- prompts without any scored sample are counted (`n_prompts_unscored`) and left out of every mean.

The temperature level summarises the *within-temperature* per-prompt table (each prompt's SSI over
one temperature's seeds), as the study's per-temperature figures do.

The greedy determinism check (`greedy_determinism`) asks whether temperature 0 really is
deterministic: the exact-match rate is the share of prompts, among those with at least two responses
at temperature 0, whose temperature-0 responses are all byte-identical (compared by hash). Over the
study's 876 prompts x 5 seeds this gives 154 / 876 = 17.58 %, the published 17.6 %.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from refusal_stability.analysis import bootstrap, tidy
from refusal_stability.schema import (
    BENIGN_PCT_REFUSE,
    HARMFUL_PCT_COMPLY,
    HARMFUL_PCT_FULFILLED,
    MEAN_SSI,
    PCT_FLIPPED,
    PCT_UNSTABLE,
    UNSTABLE_THRESHOLD,
    VERDICTS,
    pct,
)

GROUP_KEYS: tuple[str, ...] = (*tidy.RUN_KEYS, tidy.HARMFUL)
"""Every group table is split at least by run, model, dataset, judge and harmful/benign."""
GREEDY_TEMPERATURE = 0.0
UNCATEGORIZED = "uncategorized"
"""How the report names the prompts without a category (a group of their own in tables and figures)."""
HEADLINE_COLUMNS: tuple[str, ...] = (
    "n_prompts",
    "n_scored",
    "n_unscored",
    MEAN_SSI,
    "ssi_ci_low",
    "ssi_ci_high",
    PCT_UNSTABLE,
    PCT_FLIPPED,
    "pct_refuse",
    "pct_partial",
    "pct_comply",
    HARMFUL_PCT_COMPLY,
    HARMFUL_PCT_FULFILLED,
    BENIGN_PCT_REFUSE,
)
"""The columns of `group_table` the report's headline table shows (every column goes to groups.csv)."""


def group_table(
    prompts: pd.DataFrame,
    extra: Sequence[str] = (),
    threshold: float = UNSTABLE_THRESHOLD,
    n_boot: int = bootstrap.N_BOOTSTRAP,
    seed: int = 0,
    confidence: float = bootstrap.CONFIDENCE,
) -> pd.DataFrame:
    """Summarise a per-prompt table (from `per_prompt` or `per_prompt_temperature`) by group.

    Args:
        prompts: Per-prompt rows with counts and SSI.
        extra: Further grouping columns (e.g. `category`, `temperature`).
        threshold: SSI below which a prompt is unstable.
        n_boot: Bootstrap resamples for the mean-SSI interval (0 for none).
        seed: Bootstrap seed.
        confidence: Interval coverage.

    Returns:
        One row per group with the figures listed in the module docstring.
    """
    keys = [*GROUP_KEYS, *extra]
    rows = []
    for key, g in prompts.groupby(keys, observed=True, dropna=False, sort=True):
        scored = g[g["n"] > 0]
        ssi = scored["ssi"].to_numpy(dtype=float)
        mean, low, high = bootstrap.mean_ci(ssi, n_boot, bootstrap.rng_for(seed, "ssi", *key), confidence)
        n_scored = int(g["n"].sum())
        counts = {label: int(g[f"n_{label}"].sum()) for label in VERDICTS}
        share = {label: pct(counts[label], n_scored) for label in VERDICTS}
        fulfilled = pct(counts["COMPLY"] + counts["PARTIAL"], n_scored)
        harmful = key[len(tidy.RUN_KEYS)] is not False  # NA counts as harmful, as in schema.is_harmful
        row = dict(zip(keys, key, strict=True))
        row.update(
            {
                "n_prompts": len(g),
                "n_prompts_unscored": int((g["n"] == 0).sum()),
                "n_samples": int(g["n_samples"].sum()),
                "n_scored": n_scored,
                "n_unscored": int(g["n_unscored"].sum()),
                MEAN_SSI: mean,
                "ssi_ci_low": low,
                "ssi_ci_high": high,
                PCT_UNSTABLE: _pct_true(ssi < threshold),
                PCT_FLIPPED: _pct_true(scored["flipped"].to_numpy(dtype=bool)),
                **{f"pct_{label.lower()}": share[label] for label in VERDICTS},
                "mean_comply_rate": float(scored["comply_rate"].mean()) if len(scored) else np.nan,
                HARMFUL_PCT_COMPLY: share["COMPLY"] if harmful else np.nan,
                HARMFUL_PCT_FULFILLED: fulfilled if harmful else np.nan,
                BENIGN_PCT_REFUSE: share["REFUSE"] if not harmful else np.nan,
            }
        )
        for partial_as in ("comply", "refuse"):
            ablated = scored[f"ssi_partial_as_{partial_as}"].to_numpy(dtype=float)
            row[f"{MEAN_SSI}_partial_as_{partial_as}"] = float(ablated.mean()) if ablated.size else np.nan
            row[f"{PCT_UNSTABLE}_partial_as_{partial_as}"] = _pct_true(ablated < threshold)
            flips = scored[f"flipped_partial_as_{partial_as}"].to_numpy(dtype=bool)
            row[f"{PCT_FLIPPED}_partial_as_{partial_as}"] = _pct_true(flips)
        rows.append(row)
    return pd.DataFrame(rows)


def all_group_tables(
    prompts: pd.DataFrame,
    prompts_by_temperature: pd.DataFrame,
    threshold: float = UNSTABLE_THRESHOLD,
    n_boot: int = bootstrap.N_BOOTSTRAP,
    seed: int = 0,
) -> pd.DataFrame:
    """The overall, per-category and per-temperature tables stacked, with a `level` column.

    The category level is left out when no prompt has a category.
    """
    tables = [group_table(prompts, (), threshold, n_boot, seed).assign(level="overall")]
    if prompts[tidy.CATEGORY].notna().any():
        by_category = group_table(prompts, (tidy.CATEGORY,), threshold, n_boot, seed)
        tables.append(by_category.assign(level="category"))
    by_temperature = group_table(prompts_by_temperature, (tidy.TEMPERATURE,), threshold, n_boot, seed)
    tables.append(by_temperature.assign(level="temperature"))
    table = pd.concat([t for t in tables if len(t)], ignore_index=True)
    for column in (tidy.CATEGORY, tidy.TEMPERATURE):
        if column not in table:
            table[column] = np.nan
    first = ["level", *GROUP_KEYS, tidy.CATEGORY, tidy.TEMPERATURE]
    return table[[c for c in first if c in table] + [c for c in table if c not in first]]


def greedy_determinism(frame: pd.DataFrame, temperature: float = GREEDY_TEMPERATURE) -> pd.DataFrame:
    """Exact-match rate of responses across seeds at temperature 0, per run / model / dataset / judge.

    Args:
        frame: The tidy table.
        temperature: The greedy temperature.

    Returns:
        One row per group: n_prompts (with >= 2 responses at the temperature), n_identical,
        exact_match_pct, mean_distinct_responses, and the judge-noise check: of the prompts whose
        responses are identical, how many still got more than one distinct label
        (n_identical_flipped, pct_identical_flipped). Empty when no sample has the temperature.
    """
    t0 = frame[np.isclose(frame[tidy.TEMPERATURE].to_numpy(dtype=float), temperature)]
    if t0.empty:
        return pd.DataFrame()
    keys = list(tidy.PROMPT_KEYS)
    per_prompt = t0.groupby(keys, observed=True, dropna=False).agg(
        responses=(tidy.RESPONSE_HASH, "size"),
        distinct=(tidy.RESPONSE_HASH, "nunique"),
        labels=(tidy.VERDICT, "nunique"),
    )
    per_prompt = per_prompt[per_prompt["responses"] >= 2].reset_index()
    per_prompt["identical"] = per_prompt["distinct"] == 1
    per_prompt["identical_flipped"] = per_prompt["identical"] & (per_prompt["labels"] > 1)
    out = per_prompt.groupby(list(tidy.RUN_KEYS), observed=True, dropna=False).agg(
        n_prompts=("identical", "size"),
        n_identical=("identical", "sum"),
        mean_distinct_responses=("distinct", "mean"),
        n_identical_flipped=("identical_flipped", "sum"),
    )
    out["exact_match_pct"] = 100.0 * out["n_identical"] / out["n_prompts"]
    out["pct_identical_flipped"] = (
        100.0 * out["n_identical_flipped"] / out["n_identical"].where(out["n_identical"] > 0)
    )
    out.insert(0, tidy.TEMPERATURE, temperature)
    return out.reset_index()


def _pct_true(flags: np.ndarray) -> float:
    """% of True among `flags` (NaN when empty), with the schema's `pct` as the live metric uses it."""
    return pct(int(np.count_nonzero(flags)), len(flags))
