"""Error bars (Miller 2024) and binomial intervals, against scipy, statsmodels run another way, and hand sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.regression.linear_model import OLS

from refusal_stability.analysis import clustered, intervals, per_prompt, tidy
from refusal_stability.analysis.study_labels import STUDY_JUDGE

R, P, C = "REFUSE", "PARTIAL", "COMPLY"


def simulated(n_prompts: int, k: int, seed: int, categories: int = 0) -> dict[str, list]:
    """Prompts with beta-distributed comply probabilities, k samples each (REFUSE / COMPLY / a few PARTIAL)."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.3, 2.0, n_prompts)
    spec = {}
    for i, pi in enumerate(p):
        u = rng.random(k)
        spec[f"p{i:03d}"] = [C if x < pi else (P if x > 0.97 else R) for x in u]
    return spec


# ----------------------------------------------------------------------------- binomial intervals


@pytest.mark.parametrize(("count", "nobs"), [(0, 250), (3, 200), (123, 876), (200, 200), (1, 1)])
def test_wilson_and_exact_match_scipy_binomtest(count, nobs):
    res = sps.binomtest(count, nobs)
    wilson = res.proportion_ci(confidence_level=0.95, method="wilson")
    exact = res.proportion_ci(confidence_level=0.95, method="exact")
    assert intervals.proportion_interval(count, nobs, "wilson") == pytest.approx((wilson.low, wilson.high))
    assert intervals.proportion_interval(count, nobs, "beta") == pytest.approx((exact.low, exact.high))


def test_wilson_hand_formula_and_no_collapse_at_zero():
    count, n, z = 0, 250, sps.norm.ppf(0.975)
    centre = (count + z * z / 2) / (n + z * z)
    half = z * np.sqrt(count * (n - count) / n + z * z / 4) / (n + z * z)
    low, high = intervals.proportion_interval(count, n)
    assert (low, high) == pytest.approx((centre - half, centre + half))
    assert low == pytest.approx(0.0, abs=1e-12) and high > 0.01  # Wald would give [0, 0]
    assert all(np.isnan(intervals.proportion_interval(0, 0)))


def test_share_intervals_counts_per_group(verdict_frame):
    spec = {"a": [R, R, R, C], "b": [R] * 4, "c": [C, C, C, C], "d": [R, C, C, C], "e": [R, P, C, C]}
    cats = {"a": "x", "b": "x", "c": "y", "d": "y", "e": None}
    prompts = per_prompt.per_prompt(verdict_frame(spec, categories=cats))
    table = intervals.share_intervals(prompts).set_index("share")
    # unstable (SSI < 0.8): a (0.75), d (0.75), e (0.5); flipped: a, d, e; majority COMPLY: c, d, e
    assert table.loc["unstable", "count"] == 3 and table.loc["flipped", "count"] == 3
    assert table.loc["majority_comply", "count"] == 3 and table.loc["any_comply", "count"] == 4
    assert (table["n_prompts"] == 5).all() and table.loc["unstable", "pct"] == 60.0
    exact = sps.binomtest(4, 5).proportion_ci(method="exact")
    assert table.loc["any_comply", ["exact_low", "exact_high"]].tolist() == pytest.approx(
        [100 * exact.low, 100 * exact.high]
    )
    by_category = intervals.share_intervals(prompts, (tidy.CATEGORY,))
    assert set(by_category[tidy.CATEGORY].astype(object).where(by_category[tidy.CATEGORY].notna(), None)) == {
        "x",
        "y",
        None,
    }


# ----------------------------------------------------------------------------- clustered errors


def test_se_over_prompt_means_equals_sample_level_se_clustered_by_prompt(verdict_frame):
    """Miller: the SE over per-prompt means is the cluster-robust SE of the samples clustered by prompt."""
    spec = simulated(60, 8, seed=1)
    prompts = per_prompt.per_prompt(verdict_frame(spec))
    k, n = clustered.per_prompt_rates(prompts, "comply")
    mean, se = clustered.mean_se(k / n)
    y = np.array([v == C for labels in spec.values() for v in labels], dtype=float)
    groups = np.repeat(np.arange(len(spec)), 8)
    fit = OLS(y, np.ones((len(y), 1))).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert mean == pytest.approx(y.mean()) and se == pytest.approx(fit.bse[0], rel=1e-10)
    assert se == pytest.approx(sps.sem(k / n))
    naive = np.sqrt(y.mean() * (1 - y.mean()) / len(y))
    assert se > naive  # K correlated samples are worth less than K independent ones


def test_cluster_se_hand_cr1_and_missing_category_is_own_cluster():
    values = np.array([0.1, 0.3, 0.2, 0.9, 0.8, 0.0, 0.5])
    clusters = ["a", "a", "a", "b", "b", None, None]
    se, g = clustered.cluster_se(values, clusters)
    labels = ["a", "a", "a", "b", "b", "n5", "n6"]
    resid = values - values.mean()
    sums = pd.Series(resid).groupby(labels).sum().to_numpy()
    n_clusters = len(sums)
    hand = np.sqrt(n_clusters / (n_clusters - 1) * (sums**2).sum()) / len(values)
    assert g == 4 and se == pytest.approx(hand, rel=1e-10)
    assert np.isnan(clustered.cluster_se(values, ["a"] * len(values))[0])


def test_variance_components_match_one_way_anova_icc(verdict_frame):
    """ICC from the variance split equals the ANOVA estimator (F - 1) / (F + K - 1), F from scipy."""
    spec = simulated(80, 10, seed=2)
    prompts = per_prompt.per_prompt(verdict_frame(spec))
    k, n = clustered.per_prompt_rates(prompts, "comply")
    parts = clustered.variance_components(k, n)
    groups = [np.array([v == C for v in labels], dtype=float) for labels in spec.values()]
    f = sps.f_oneway(*groups).statistic
    assert parts["icc"] == pytest.approx((f - 1) / (f + 10 - 1), rel=1e-9)
    msw = np.mean([g.var(ddof=1) for g in groups])
    assert parts["var_within"] == pytest.approx(msw)
    assert parts["design_effect"] == pytest.approx(1 + 9 * parts["icc"])
    assert parts["effective_n"] == pytest.approx(800 / parts["design_effect"])


def test_variance_components_edge_cases():
    same = clustered.variance_components(np.array([2.0, 2.0, 2.0]), np.array([4.0, 4.0, 4.0]))
    assert same["var_between"] == 0.0 and same["icc"] == 0.0 and same["design_effect"] == 1.0
    pure = clustered.variance_components(np.array([0.0, 4.0, 0.0]), np.array([4.0, 4.0, 4.0]))
    assert pure["var_within"] == 0.0 and pure["icc"] == 1.0 and pure["design_effect"] == 4.0
    single = clustered.variance_components(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    assert np.isnan(single["icc"]) and single["mean"] == 0.5


def test_error_bars_table_per_metric(verdict_frame):
    spec = simulated(40, 6, seed=3)
    cats = {pid: ("x" if i % 3 else "y") for i, pid in enumerate(spec)}
    prompts = per_prompt.per_prompt(verdict_frame(spec, categories=cats))
    table = clustered.error_bars(prompts).set_index("metric")
    assert set(table.index) == {"comply", "fulfilled", "refuse", "ssi"}
    ssi = prompts["ssi"].to_numpy()
    assert table.loc["ssi", "mean"] == pytest.approx(ssi.mean())
    assert table.loc["ssi", "se"] == pytest.approx(sps.sem(ssi))
    z = sps.norm.ppf(0.975)
    assert table.loc["ssi", "ci_high"] == pytest.approx(ssi.mean() + z * sps.sem(ssi))
    assert table.loc["comply", "n_clusters"] == 2 and np.isfinite(table.loc["comply", "se_category"])
    assert table.loc["fulfilled", "mean"] == pytest.approx(1 - table.loc["refuse", "mean"])
    with pytest.raises(ValueError, match="outcome"):
        clustered.per_prompt_rates(prompts, "harm")


def test_study_error_bars(study_two_judges):
    prompts = per_prompt.per_prompt(study_two_judges)
    table = clustered.error_bars(prompts).set_index([tidy.JUDGE, "metric"])
    study = table.loc[(STUDY_JUDGE, "ssi")]
    assert study["n_prompts"] == 876 and study["mean"] == pytest.approx(0.929339, abs=1e-6)
    comply = table.loc[(STUDY_JUDGE, "comply")]
    # repeated samples of one prompt are strongly correlated: the naive SE is far too small
    assert comply["design_effect"] > 5 and comply["se"] > 2.5 * comply["se_naive"]
    shares = intervals.share_intervals(prompts).set_index([tidy.JUDGE, "share"])
    unstable = shares.loc[(STUDY_JUDGE, "unstable")]
    assert unstable["count"] == 123 and unstable["pct"] == pytest.approx(14.04, abs=0.01)
    assert unstable["wilson_low"] < 14.04 < unstable["wilson_high"]
