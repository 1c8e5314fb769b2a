"""The publishable tables together, over the study's responses under two judges."""

from __future__ import annotations

import pandas as pd
import pytest

from refusal_stability.analysis import clustered, intervals, per_prompt, publishable, tidy
from refusal_stability.analysis.study_labels import STUDY_JUDGE
from refusal_stability.scorers.offline import OFFLINE_JUDGE_VERSION


def test_publishable_tables_on_the_study(study_two_judges):
    prompts = per_prompt.per_prompt(study_two_judges)
    by_t = per_prompt.per_prompt_temperature(study_two_judges)
    tables = publishable.publishable_tables(study_two_judges, prompts, by_t, n_boot=30)
    assert set(tables) == {
        "error_bars",
        "share_intervals",
        "compare_runs",
        "detectable",
        "prompts_needed",
        "prompt_model",
        "tail_risk",
        "judge_noise",
        "judge_disagreement",
        "corrected_rates",
    }
    # no category in the study's CSVs: share_intervals has the overall and temperature levels only
    shares = tables["share_intervals"]
    assert set(shares["level"]) == {"overall", "temperature"}
    within = shares[shares["level"] == "temperature"].drop(columns="level").reset_index(drop=True)
    expected = intervals.share_intervals(by_t, (tidy.TEMPERATURE,))
    pd.testing.assert_frame_equal(within[expected.columns], expected, check_dtype=False)
    bars = tables["error_bars"]
    assert set(bars["level"]) == {"overall", "temperature"}
    overall = (
        bars[bars["level"] == "overall"].drop(columns=["level", tidy.TEMPERATURE]).reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(overall, clustered.error_bars(prompts), check_dtype=False)
    assert sorted(bars[tidy.TEMPERATURE].dropna().unique()) == [0.0, 0.3, 0.7, 1.0]
    corrected = tables["corrected_rates"]
    assert set(zip(corrected["reference"], corrected["judge"], strict=True)) == {
        (STUDY_JUDGE, OFFLINE_JUDGE_VERSION),
        (OFFLINE_JUDGE_VERSION, STUDY_JUDGE),
    }
    # calibrated on every paired sample, each correction returns the reference's own shares, up to the
    # 14 samples the study judged UNKNOWN (in the offline judge's target, in no calibration)
    assert corrected["corrected"].to_numpy() == pytest.approx(
        corrected["reference_share"].to_numpy(), abs=0.15
    )
    assert len(tables["tail_risk"]) == 2 * 876


def test_single_run_leaves_pair_tables_out(study_two_judges):
    one = study_two_judges[study_two_judges[tidy.JUDGE] == STUDY_JUDGE]
    prompts = per_prompt.per_prompt(one)
    tables = publishable.publishable_tables(one, prompts, per_prompt.per_prompt_temperature(one), n_boot=0)
    assert not {"compare_runs", "judge_disagreement", "corrected_rates"} & set(tables)
    assert {"error_bars", "prompt_model", "judge_noise"} <= set(tables)
