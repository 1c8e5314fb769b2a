"""Paired comparison of runs and power analysis, against scipy, hand formulas and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from refusal_stability.analysis import paired, per_prompt, power, tidy
from refusal_stability.analysis.study_labels import STUDY_JUDGE

R, P, C = "REFUSE", "PARTIAL", "COMPLY"


# ----------------------------------------------------------------------------- paired differences


def test_paired_difference_hand_t():
    a = np.array([0.0, 0.2, 0.5, 0.1, 0.9])
    b = np.array([0.1, 0.2, 0.8, 0.3, 0.9])
    res = paired.paired_difference(a, b)
    d = b - a
    se = d.std(ddof=1) / np.sqrt(5)
    t = d.mean() / se
    assert res["diff"] == pytest.approx(d.mean()) and res["se"] == pytest.approx(se)
    assert res["statistic"] == pytest.approx(t) and res["p"] == pytest.approx(2 * sps.t.sf(abs(t), 4))
    half = sps.t.ppf(0.975, 4) * se
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    constant = paired.paired_difference(a, a + 0.1)
    assert constant["se"] == pytest.approx(0.0) and np.isnan(constant["p"])


def test_mcnemar_exact_and_chi2_against_hand():
    a = np.array([True] * 7 + [False] * 2 + [True] * 10 + [False] * 30)
    b = np.array([False] * 7 + [True] * 2 + [True] * 10 + [False] * 30)
    res = paired.mcnemar_test(a, b)
    assert (res["only_a"], res["only_b"], res["test"]) == (7, 2, "exact")
    assert res["p"] == pytest.approx(sps.binomtest(2, 9, 0.5).pvalue)
    a2 = np.array([True] * 30 + [False] * 10 + [False] * 50)
    b2 = np.array([False] * 30 + [True] * 10 + [False] * 50)
    res2 = paired.mcnemar_test(a2, b2)
    chi2 = (abs(30 - 10) - 1) ** 2 / 40
    assert res2["test"] == "chi2" and res2["statistic"] == pytest.approx(chi2)
    assert res2["p"] == pytest.approx(sps.chi2.sf(chi2, 1))
    assert paired.mcnemar_test(a, a)["p"] == 1.0


def test_holm_hand_worked():
    # sorted 0.01, 0.02, 0.03, 0.5 -> x4, x3, x2, x1 with running maximum: 0.04, 0.06, 0.06, 0.5
    adjusted = paired.holm([0.03, 0.01, 0.5, np.nan, 0.02])
    assert adjusted[:3] == pytest.approx([0.06, 0.04, 0.5]) and np.isnan(adjusted[3])
    assert adjusted[4] == pytest.approx(0.06)


def test_holm_against_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(9).uniform(0, 0.2, 40) ** 2
    p[[3, 7]] = p[5]  # ties
    assert paired.holm(p) == pytest.approx(multipletests(p, method="holm")[1])


def test_compare_runs_pairs_prompts_and_scopes(verdict_frame):
    spec_a = {"p1": [R, R, R, R], "p2": [R, R, C, C], "p3": [C, C, C, C], "p4": [R, R, R, R]}
    spec_b = {"p1": [R, R, R, C], "p2": [C, C, C, C], "p3": [C, C, C, C], "p5": [R, R, R, R]}
    cats = {"p1": "x", "p2": "x", "p3": "y", "p4": "y", "p5": "y"}
    prompts = per_prompt.per_prompt(verdict_frame({"a": spec_a, "b": spec_b}, run=None, categories=cats))
    table = paired.compare_runs(prompts)
    overall = table[table["scope"] == "all"].set_index("metric")
    assert overall.loc["comply_rate", "n"] == 3 and overall.loc["comply_rate", "n_unmatched"] == 2
    # comply rate differences over p1, p2, p3: 0.25, 0.5, 0
    assert overall.loc["comply_rate", "diff"] == pytest.approx(0.25)
    assert overall.loc["comply_rate", "p"] == pytest.approx(
        sps.ttest_rel([0.25, 1.0, 1.0], [0.0, 0.5, 1.0]).pvalue
    )
    # unstable: a = (F, T, F), b = (T, F, F): one discordant each way
    assert (overall.loc["unstable", "only_a"], overall.loc["unstable", "only_b"]) == (1, 1)
    assert overall.loc["unstable", "diff"] == pytest.approx(0.0)
    # Holm's family for one metric spans the overall row and both categories
    comply = table[table["metric"] == "comply_rate"]
    assert set(comply["scope"]) == {"all", tidy.CATEGORY} and set(comply["value"].dropna()) == {"x", "y"}
    assert (comply["n_tests"] == comply["p"].notna().sum()).all()
    assert (comply["p_holm"].dropna() >= comply["p"].dropna()).all()
    assert paired.compare_runs(prompts[prompts[tidy.RUN] == "a"]).empty


def test_compare_runs_scopes_equal_compare_pair_on_each_scope(verdict_frame):
    """`compare_runs` matches prompts once per dataset and masks each category; the figures must be,
    to the bit, those of `compare_pair` run on each scope's own rows (the plain way): with prompts
    in one run only, unscored prompts, prompts without a category and a prompt whose category
    differs between runs."""
    import pandas as pd

    rng = np.random.default_rng(21)
    frames = []
    for run in ("a", "b", "c"):
        spec = {
            f"p{i}": list(rng.choice([R, R, R, P, C, None], size=6))
            for i in range(40)
            if not (run == "b" and i % 7 == 0)
        }
        spec["p3"] = [None] * 6  # unscored everywhere
        cats = {f"p{i}": ["x", "y", None][i % 3] for i in range(40)}
        if run == "c":
            cats["p4"] = "y"  # "x" in the other runs
        frames.append(verdict_frame(spec, run=run, categories=cats))
    prompts = per_prompt.per_prompt(tidy.concat(frames))
    table = paired.compare_runs(prompts)
    expected = []
    units = dict(list(prompts.groupby(list(paired.UNIT_KEYS), observed=True, sort=True)))
    for (ka, ga), (kb, gb) in [
        (x, y) for i, x in enumerate(units.items()) for y in list(units.items())[i + 1 :]
    ]:
        for scope, value in [("all", None), (tidy.CATEGORY, "x"), (tidy.CATEGORY, "y")]:
            pa = ga if scope == "all" else ga[ga[tidy.CATEGORY] == value]
            pb = gb if scope == "all" else gb[gb[tidy.CATEGORY] == value]
            label = {
                "run_a": paired.unit_name(ka),
                "run_b": paired.unit_name(kb),
                "scope": scope,
                "value": value,
            }
            expected += [{**label, **r} for r in paired.compare_pair(pa, pb)]
    expected = pd.DataFrame(expected)
    assert len(table) == len(expected) == 3 * 3 * 4
    got = table[expected.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert set(table["n_unmatched"]) != {0}


def test_study_against_offline_rejudge(study_two_judges):
    """The study's judge vs the offline judge on the same 17,520 responses: every prompt pairs."""
    prompts = per_prompt.per_prompt(study_two_judges)
    table = paired.compare_runs(prompts).set_index("metric")
    assert (table["n"] == 876).all() and (table["n_unmatched"] == 0).all()
    unstable = table.loc["unstable"]
    side = "a" if unstable["run_a"].endswith(STUDY_JUDGE) else "b"
    assert unstable[f"mean_{side}"] == pytest.approx(14.04, abs=0.01)
    assert unstable["only_a"] - unstable["only_b"] == pytest.approx(unstable["diff"] * -876 / 100)
    # pairing removes the between-prompt variance: the paired SE is below the unpaired one
    by_judge = prompts.groupby(tidy.JUDGE, observed=True)["comply_rate"].agg(lambda v: sps.sem(v))
    assert table.loc["comply_rate", "se"] < np.sqrt((by_judge**2).sum())


# ----------------------------------------------------------------------------- power


def test_standardised_effect_and_groups_needed_closed_form():
    za, zb = sps.norm.ppf(0.975), sps.norm.ppf(0.8)
    assert power.standardised_effect(876) == pytest.approx((za + zb) * np.sqrt(2 / 876), rel=1e-3)
    assert power.groups_needed(0.2) == pytest.approx(2 * (za + zb) ** 2 / 0.2**2, rel=1e-3)
    assert power.paired_mde(0.01) == pytest.approx((za + zb) * 0.01)


def test_share_mde_inverts_cohens_h():
    from statsmodels.stats.proportion import proportion_effectsize

    up, down = power.share_mde(0.14, 876)
    h = power.standardised_effect(876)
    assert abs(proportion_effectsize(0.14 + up, 0.14)) == pytest.approx(h)
    assert abs(proportion_effectsize(0.14 - down, 0.14)) == pytest.approx(h)
    assert up > down > 0  # the arcsine scale stretches near 0
    assert np.isnan(power.share_mde(0.0, 10)[1])


def test_mde_has_the_nominal_power_by_simulation():
    """Two runs of n prompts whose true rates differ by the MDE are told apart about 80 % of the time."""
    rng = np.random.default_rng(5)
    n, k, a, b = 300, 5, 0.4, 3.0  # beta(0.4, 3) prompt-level comply probabilities
    mean = a / (a + b)
    var_between = a * b / ((a + b) ** 2 * (a + b + 1))
    var_within = mean - (var_between + mean**2)  # E[p (1 - p)]
    sd = power.unit_sd(var_between, var_within, k)
    mde = power.standardised_effect(n) * sd
    hits = 0
    reps = 400
    for _ in range(reps):
        p1 = rng.beta(a, b, n)
        p2 = np.clip(rng.beta(a, b, n) + mde, 0, 1)
        r1, r2 = rng.binomial(k, p1) / k, rng.binomial(k, p2) / k
        hits += sps.ttest_ind(r2, r1).pvalue < 0.05
    assert 0.72 < hits / reps < 0.88


def test_power_tables_on_the_study(study_two_judges):
    prompts = per_prompt.per_prompt(study_two_judges)
    mde = power.detectable_differences(prompts).set_index([tidy.JUDGE, "metric"])
    study = mde.loc[(STUDY_JUDGE, "comply")]
    assert study["n_prompts"] == 876 and 1.0 < study["mde_up"] < 4.0
    needed = power.prompts_needed(prompts, differences=(0.05,))
    study_needed = needed[needed[tidy.JUDGE] == STUDY_JUDGE].set_index("k")["n_prompts"]
    assert study_needed.is_monotonic_decreasing and study_needed.loc[1] > study_needed.loc[50]
