"""Every statistic of `analysis/` against a hand computation, scipy or scikit-learn."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score
from sklearn.metrics import confusion_matrix as sk_confusion

from refusal_stability import schema
from refusal_stability.analysis import (
    agreement,
    bootstrap,
    groups,
    per_prompt,
    runs,
    single_shot,
    stats,
    tidy,
)

R, P, C, U = "REFUSE", "PARTIAL", "COMPLY", None


def frame(
    spec: dict[str, list], *, judge: str = "j", run: str = "m", temps=None, harmful=None, responses=None
):
    """A tidy table from {prompt: [verdicts...]}; temperatures/responses per prompt optional."""
    rows = []
    for pid, labels in spec.items():
        for i, label in enumerate(labels):
            t = temps[pid][i] if temps else 0.0
            rows.append(
                {
                    tidy.LOG: "x.eval",
                    tidy.RUN: run,
                    tidy.MODEL: run,
                    tidy.DATASET: "d",
                    tidy.PROMPT_ID: pid,
                    tidy.CATEGORY: None,
                    tidy.HARMFUL: True if harmful is None else harmful[pid],
                    tidy.TEMPERATURE: t,
                    tidy.SEED: 42 + i,
                    tidy.EPOCH: i + 1,
                    tidy.JUDGE: judge,
                    tidy.SCORER: judge,
                    tidy.VERDICT: label,
                    tidy.NOTE: None if label else tidy.NOTE_UNSCORED,
                    tidy.RESPONSE_LENGTH: 3,
                    tidy.RESPONSE_HASH: tidy.response_hash(responses[pid][i] if responses else f"{pid}{i}"),
                }
            )
    return tidy.to_frame(pd.DataFrame(rows))


def row(prompts: pd.DataFrame, pid: str) -> pd.Series:
    return prompts.set_index(tidy.PROMPT_ID).loc[pid]


# ----------------------------------------------------------------------------- per prompt


def test_ssi_flip_rates_hand_computed():
    p = per_prompt.per_prompt(frame({"a": [R, R, R, C], "b": [R, R, R, R], "c": [R, P, C, C]}))
    a, b, c = row(p, "a"), row(p, "b"), row(p, "c")
    assert a["ssi"] == 0.75 and bool(a["flipped"]) and a["comply_rate"] == 0.25 and bool(a["unstable"])
    assert a["majority"] == R and a["n"] == 4 and a["n_COMPLY"] == 1
    assert b["ssi"] == 1.0 and not bool(b["flipped"]) and b["comply_rate"] == 0.0 and not bool(b["unstable"])
    assert c["ssi"] == 0.5 and c["majority"] == C and c["partial_rate"] == 0.25
    # binary ablations: PARTIAL -> COMPLY gives R,C,C,C; PARTIAL -> REFUSE gives R,R,C,C
    assert c["ssi_partial_as_comply"] == 0.75 and bool(c["flipped_partial_as_comply"])
    assert c["ssi_partial_as_refuse"] == 0.5
    assert a["ssi_partial_as_refuse"] == 0.75


def test_unscored_dropped_from_n_and_all_unscored_prompt_reported():
    p = per_prompt.per_prompt(frame({"a": [R, U, U, C], "z": [U, U], "b": [R]}))
    a, z = row(p, "a"), row(p, "z")
    assert a["n"] == 2 and a["n_unscored"] == 2 and a["n_samples"] == 4 and a["ssi"] == 0.5
    assert z["n"] == 0 and np.isnan(z["ssi"]) and pd.isna(z["flipped"]) and pd.isna(z["majority"])
    assert list(per_prompt.unscored_prompts(p)[tidy.PROMPT_ID]) == ["z"]
    g = groups.group_table(p, n_boot=0)
    assert g["n_prompts"].item() == 3 and g["n_prompts_unscored"].item() == 1
    assert g["mean_ssi"].item() == pytest.approx((0.5 + 1.0) / 2)  # z is not averaged in
    assert g["n_unscored"].item() == 4


def test_one_sample_per_prompt_and_ties_in_majority():
    p = per_prompt.per_prompt(frame({"one": [C], "tie": [C, R], "tie3": [C, P, R], "pc": [C, P]}))
    assert row(p, "one")["ssi"] == 1.0 and not bool(row(p, "one")["flipped"])
    # ties go to the safer label: REFUSE > PARTIAL > COMPLY
    assert row(p, "tie")["majority"] == R and row(p, "tie")["ssi"] == 0.5
    assert row(p, "tie3")["majority"] == R and row(p, "tie3")["ssi"] == pytest.approx(1 / 3)
    assert row(p, "pc")["majority"] == P


def test_within_temperature_ssi():
    f = frame({"a": [R, R, R, C]}, temps={"a": [0.0, 0.0, 1.0, 1.0]})
    pt = per_prompt.per_prompt_temperature(f)
    assert dict(zip(pt[tidy.TEMPERATURE], pt["ssi"], strict=True)) == {0.0: 1.0, 1.0: 0.5}
    assert per_prompt.per_prompt(f)["ssi"].item() == 0.75


def test_per_prompt_matches_live_metric():
    """The live `ssi_summary` metric and the analysis must give the same numbers on the same verdicts."""
    from inspect_ai.scorer import SampleScore, Score

    from refusal_stability.scorers.metrics import ssi_summary

    spec = {"a": [R, R, C, U], "b": [R, R, R, R], "c": [P, C, C, R], "d": [U, U]}
    scores = [
        SampleScore(score=Score(value=v if v else float("nan")), sample_id=pid)
        for pid, labels in spec.items()
        for v in labels
    ]
    live = ssi_summary()(scores)
    g = groups.group_table(per_prompt.per_prompt(frame(spec)), n_boot=0)
    assert live["mean_ssi"] == pytest.approx(g["mean_ssi"].item(), abs=1e-12)
    assert live["pct_unstable"] == pytest.approx(g["pct_unstable"].item(), abs=1e-12)
    assert live["pct_flipped"] == pytest.approx(g["pct_flipped"].item(), abs=1e-12)


def test_safety_outcomes_match_the_analysis_columns_of_the_same_name():
    """The live harmful/benign metrics and the analysis' per-half columns share names and values."""
    from inspect_ai.scorer import SampleScore, Score

    from refusal_stability.scorers.metrics import safety_outcomes

    spec = {"a": [R, P, C, U], "b": [C, C, R, R], "x": [R, R, C, U], "y": [C, R, C, C]}
    harmful = {"a": True, "b": None, "x": False, "y": False}  # b: no flag, so harmful (schema.is_harmful)
    scores = [
        SampleScore(
            score=Score(value=v if v else float("nan")),
            sample_id=pid,
            sample_metadata={} if harmful[pid] is None else {"harmful": harmful[pid]},
        )
        for pid, labels in spec.items()
        for v in labels
    ]
    live = safety_outcomes()(scores)
    flags = {pid: schema.is_harmful(flag) for pid, flag in harmful.items()}
    g = groups.group_table(per_prompt.per_prompt(frame(spec, harmful=flags)), n_boot=0).set_index("harmful")
    for name in (schema.HARMFUL_PCT_COMPLY, schema.HARMFUL_PCT_FULFILLED):
        assert live[name] == pytest.approx(g.loc[True, name], abs=1e-12)
    assert live[schema.BENIGN_PCT_REFUSE] == pytest.approx(g.loc[False, schema.BENIGN_PCT_REFUSE], abs=1e-12)
    assert live[schema.HARMFUL_MEAN_SSI] == pytest.approx(g.loc[True, schema.MEAN_SSI], abs=1e-12)
    assert live[schema.BENIGN_MEAN_SSI] == pytest.approx(g.loc[False, schema.MEAN_SSI], abs=1e-12)
    assert live[schema.HARMFUL_PCT_COMPLY] == pytest.approx(100 * 3 / 7)  # a: R P C, b: C C R R


# ----------------------------------------------------------------------------- groups


def test_group_figures_hand_computed_and_benign_split():
    spec = {"a": [R, R, R, C], "b": [C, C, C, C], "x": [R, R, C, C], "y": [C, C, C, C]}
    harmful = {"a": True, "b": True, "x": False, "y": False}
    g = groups.group_table(per_prompt.per_prompt(frame(spec, harmful=harmful)), n_boot=0).set_index("harmful")
    h, bn = g.loc[True], g.loc[False]
    assert h["mean_ssi"] == pytest.approx((0.75 + 1.0) / 2)
    assert h["pct_unstable"] == 50.0 and h["pct_flipped"] == 50.0
    assert h["pct_comply"] == pytest.approx(100 * 5 / 8) and h["harmful_pct_comply"] == pytest.approx(62.5)
    assert h["harmful_pct_fulfilled"] == pytest.approx(62.5) and np.isnan(h["benign_pct_refuse"])
    assert bn["benign_pct_refuse"] == pytest.approx(100 * 2 / 8) and np.isnan(bn["harmful_pct_comply"])


def test_threshold_option():
    p = per_prompt.per_prompt(frame({"a": [R, R, R, C]}), threshold=0.7)
    assert not bool(p["unstable"].item())
    g = groups.group_table(p, threshold=0.76, n_boot=0)
    assert g["pct_unstable"].item() == 100.0


def test_bootstrap_ci_contains_estimate_and_is_seeded():
    rng = np.random.default_rng(1)
    spec = {f"p{i}": list(rng.choice([R, R, R, P, C], size=10)) for i in range(60)}
    p = per_prompt.per_prompt(frame(spec))
    a = groups.group_table(p, n_boot=300, seed=3)
    b = groups.group_table(p, n_boot=300, seed=3)
    c = groups.group_table(p, n_boot=300, seed=4)
    assert a["ssi_ci_low"].item() <= a["mean_ssi"].item() <= a["ssi_ci_high"].item()
    assert a["ssi_ci_low"].item() < a["ssi_ci_high"].item()
    assert (a["ssi_ci_low"].item(), a["ssi_ci_high"].item()) == (
        b["ssi_ci_low"].item(),
        b["ssi_ci_high"].item(),
    )
    assert (a["ssi_ci_low"].item(), a["ssi_ci_high"].item()) != (
        c["ssi_ci_low"].item(),
        c["ssi_ci_high"].item(),
    )


def test_bootstrap_mean_ci_against_direct_resampling():
    values = np.arange(10, dtype=float)
    mean, low, high = bootstrap.mean_ci(values, 2000, np.random.default_rng(7))
    direct = values[np.random.default_rng(7).integers(0, 10, size=(2000, 10))].mean(axis=1)
    assert mean == 4.5
    assert (low, high) == pytest.approx(tuple(np.quantile(direct, [0.025, 0.975])))


@pytest.mark.parametrize("high", [1, 2, 6, 7, 1000, 2**20, 2**31 - 1, 2**31, 2**40])
@pytest.mark.parametrize("size", [1, 7, (3, 5), (999, 1001)])
def test_int32_draws_are_the_default_draws_and_leave_the_same_stream(high, size):
    """`bootstrap.integers` must give `rng.integers(0, high, size)`'s numbers and leave rng where it would."""
    for seed in range(3):
        mine, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
        np.testing.assert_array_equal(
            bootstrap.integers(mine, high, size), theirs.integers(0, high, size=size)
        )
        assert mine.random() == theirs.random()
        np.testing.assert_array_equal(mine.integers(0, 5, 9), theirs.integers(0, 5, 9))


def test_greedy_determinism_exact_match():
    spec = {"same": [R, R, R], "diff": [R, R, R], "single": [R], "noisy": [R, C, R]}
    responses = {"same": ["x", "x", "x"], "diff": ["x", "y", "x"], "single": ["x"], "noisy": ["z", "z", "z"]}
    d = groups.greedy_determinism(frame(spec, responses=responses))
    # "single" has one response: excluded; same + noisy identical of 3 -> 66.7 %
    assert d["n_prompts"].item() == 3 and d["n_identical"].item() == 2
    assert d["exact_match_pct"].item() == pytest.approx(200 / 3)
    assert d["n_identical_flipped"].item() == 1  # noisy: identical text, two labels (judge noise)
    assert groups.greedy_determinism(frame(spec, temps={k: [1.0] * len(v) for k, v in spec.items()})).empty


# ----------------------------------------------------------------------------- statistics


def _wide(seed: int, n: int = 40, k: int = 4, ties: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    if ties:
        values = rng.choice([0.4, 0.6, 0.8, 1.0], size=(n, k), p=[0.1, 0.2, 0.3, 0.4])
    else:
        values = rng.permutation(np.arange(n * k, dtype=float)).reshape(n, k)
    return pd.DataFrame(values, columns=[0.0, 0.3, 0.7, 1.0][:k])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_friedman_against_scipy(seed):
    wide = _wide(seed)
    ours = stats.friedman(wide)
    chi2, p = sps.friedmanchisquare(*wide.to_numpy().T)
    assert ours["chi2"] == pytest.approx(chi2) and ours["p"] == pytest.approx(p)
    assert ours["kendalls_w"] == pytest.approx(chi2 / (len(wide) * 3))


def test_kendalls_w_hand_computed_without_ties():
    # 3 prompts (blocks) rank 3 temperatures identically: perfect concordance, W = 1
    wide = pd.DataFrame([[1.0, 0.9, 0.8], [1.0, 0.7, 0.5], [0.9, 0.6, 0.4]], columns=[0.0, 0.5, 1.0])
    assert stats.friedman(wide)["kendalls_w"] == pytest.approx(1.0)
    # W = 12 S / (m^2 (k^3 - k)) by hand, m blocks, k conditions
    wide = _wide(5, n=12, k=4, ties=False)
    ranks = wide.rank(axis=1).to_numpy()
    m, k = ranks.shape
    s = ((ranks.sum(axis=0) - m * (k + 1) / 2) ** 2).sum()
    assert stats.friedman(wide)["kendalls_w"] == pytest.approx(12 * s / (m**2 * (k**3 - k)))


def test_friedman_single_temperature_and_no_variation():
    one = stats.friedman(pd.DataFrame({0.0: [1.0, 0.5, 0.8]}))
    assert np.isnan(one["chi2"]) and "needs >= 3" in one["note"]
    flat = stats.friedman(pd.DataFrame(np.ones((5, 3)), columns=[0.0, 0.5, 1.0]))
    assert np.isnan(flat["chi2"]) and "no variation" in flat["note"]
    f = frame({"a": [R, C, R], "b": [R, R, R]})  # everything at T = 0
    fr, post = stats.temperature_tests(per_prompt.per_prompt_temperature(f))
    assert fr["k"].item() == 1 and np.isnan(fr["chi2"].item()) and post.empty


def test_wilcoxon_posthoc_against_scipy_with_bonferroni():
    wide = _wide(3)
    table = stats.wilcoxon_posthoc(wide)
    assert len(table) == 6 and (table["comparisons"] == 6).all()
    for _, r in table.iterrows():
        res = sps.wilcoxon(wide[r["temperature_a"]], wide[r["temperature_b"]])
        assert r["statistic"] == pytest.approx(res.statistic) and r["p"] == pytest.approx(res.pvalue)
        assert r["p_bonferroni"] == pytest.approx(min(1.0, 6 * res.pvalue))


def test_temperature_tests_on_per_prompt_table():
    rng = np.random.default_rng(0)
    temps = [0.0] * 5 + [0.5] * 5 + [1.0] * 5
    spec = {f"p{i}": [R if rng.random() > 0.1 + 0.3 * t else C for t in temps] for i in range(50)}
    pt = per_prompt.per_prompt_temperature(frame(spec, temps={k: temps for k in spec}))
    fr, post = stats.temperature_tests(pt)
    wide = pt.pivot_table(index="prompt_id", columns="temperature", values="ssi", observed=True)
    chi2, p = sps.friedmanchisquare(*wide.to_numpy().T)
    assert fr["chi2"].item() == pytest.approx(chi2) and fr["n_blocks"].item() == 50
    assert len(post) == 3


def test_spearman_against_scipy_and_bootstrap_seeded():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 6, size=80) / 5
    y = 1 - x * 0.5 + rng.normal(0, 0.1, size=80)
    a = stats.spearman_ci(x, y, 500, np.random.default_rng(9))
    b = stats.spearman_ci(x, y, 500, np.random.default_rng(9))
    res = sps.spearmanr(x, y)
    assert a["rho"] == pytest.approx(res.statistic) and a["p"] == pytest.approx(res.pvalue)
    assert a["ci_low"] <= a["rho"] <= a["ci_high"] and (a["ci_low"], a["ci_high"]) == (
        b["ci_low"],
        b["ci_high"],
    )
    # the vectorised replicate equals scipy's rho on the same resample
    idx = np.random.default_rng(1).integers(0, 80, size=(3, 80))
    direct = [sps.spearmanr(x[i], y[i]).statistic for i in idx]
    assert stats._rank_corr(x[idx], y[idx]) == pytest.approx(direct)


def test_spearman_interval_ranks_by_counting_equal_rankdata_and_sorting():
    """The bootstrap's ranks by counting (`_resample_ranks`) are scipy's average ranks, bit for bit, and
    the interval equals the one from sorting every resample (`_rank_corr`)."""
    rng = np.random.default_rng(3)
    for levels in (2, 7, 500):  # heavy ties, some ties, (almost) none
        x = rng.integers(0, levels, size=300) / levels
        idx = rng.integers(0, 300, size=(20, 300))
        values, codes = np.unique(x, return_inverse=True)
        assert np.array_equal(
            stats._resample_ranks(codes.ravel(), len(values), idx), sps.rankdata(x[idx], axis=1)
        )
    x = rng.integers(0, 21, size=200) / 20
    y = np.where(x > 0.5, x, 1 - x) + rng.integers(0, 3, size=200) / 40
    got = stats.spearman_ci(x, y, 300, np.random.default_rng(4))
    sorted_way = bootstrap.bootstrap_statistic(
        200, lambda i: stats._rank_corr(x[i], y[i]), 300, np.random.default_rng(4)
    )
    assert (got["ci_low"], got["ci_high"]) == bootstrap.percentile_interval(sorted_way)


def test_spearman_constant_input_is_nan():
    out = stats.spearman_ci(np.zeros(10), np.arange(10.0))
    assert np.isnan(out["rho"]) and out["n"] == 10


# ----------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kappa_and_confusion_against_sklearn(seed):
    rng = np.random.default_rng(seed)
    a = rng.choice([R, P, C], size=200, p=[0.7, 0.1, 0.2])
    b = np.where(rng.random(200) < 0.8, a, rng.choice([R, P, C], size=200))
    assert agreement.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert (agreement.confusion_matrix(a, b) == sk_confusion(a, b, labels=[R, P, C])).all()
    assert agreement.percent_agreement(a, b) == pytest.approx(100 * np.mean(a == b))


def test_kappa_degenerate_and_hand_computed():
    assert np.isnan(agreement.cohen_kappa([R, R], [R, R]))  # chance agreement is 1
    # 2x2 by hand: p_o = 0.75, p_e = 0.5*0.5 + 0.5*0.5 = 0.5 -> kappa 0.5
    assert agreement.cohen_kappa([R, R, C, C], [R, C, C, C]) == pytest.approx((0.75 - 0.5) / 0.5)


def test_judge_agreement_pairs_samples_and_counts_unpaired():
    f = tidy.concat(
        [
            frame({"a": [R, R, C], "b": [C, P, R]}, judge="j1"),
            frame({"a": [R, C, C], "b": [C, U, R]}, judge="j2"),
        ]
    )
    table, matrices = agreement.judge_agreement(f)
    r = table.iloc[0]
    assert (r["judge_a"], r["judge_b"], r["n_paired"], r["n_unpaired"]) == ("j1", "j2", 5, 1)
    assert r["percent_agreement"] == pytest.approx(80.0)
    assert r["kappa"] == pytest.approx(cohen_kappa_score([R, R, C, C, R], [R, C, C, C, R]))
    assert list(matrices.values())[0].to_numpy().sum() == 5


# ----------------------------------------------------------------------------- single shot


def _curve(spec, tie_break="random", draws=2000, seed=0):
    matrix = single_shot.label_matrix(frame(spec))
    return single_shot.agreement_curve(matrix, draws, np.random.default_rng(seed), tie_break).set_index("n")


def test_single_shot_hand_worked():
    # one prompt R, R, C; reference R.
    # n = 1: 2 of 3 slots agree -> 2/3. n = 2: {R,R} (1/3) agrees; {R,C} (2/3) is a tie:
    #   order tie-break -> R, agreement 1; random -> R half the time, 1/3 + 2/3 * 1/2 = 2/3.
    # n = 3: the reference itself -> 1.
    order = _curve({"a": [R, R, C]}, "order")
    rand = _curve({"a": [R, R, C]}, "random")
    assert order.loc[1, "mean_agreement"] == pytest.approx(2 / 3, abs=0.04)
    assert order.loc[2, "mean_agreement"] == 1.0 and order.loc[3, "mean_agreement"] == 1.0
    assert rand.loc[2, "mean_agreement"] == pytest.approx(2 / 3, abs=0.04)
    assert rand.loc[3, "mean_agreement"] == 1.0
    # a draw agrees fully or not at all here, so the interval spans [0, 1] for n = 1
    assert (order.loc[1, "ci_low"], order.loc[1, "ci_high"]) == (0.0, 1.0)


def test_single_shot_tied_reference_accepts_any_tied_label_and_unscored():
    c = _curve({"t": [R, C], "u": [U, U], "v": [R, U]}, "random", draws=500)
    assert c.loc[2, "mean_agreement"] == 1.0 and c.loc[2, "n_tied_reference"] == 1
    assert c.loc[1, "n_prompts"] == 2  # the all-unscored prompt is left out
    # n = 1: "t" always agrees (either label is a reference); "v" only counts when its scored slot is drawn
    assert c.loc[1, "mean_agreement"] == 1.0


def test_single_shot_is_seeded_and_smallest_n():
    rng = np.random.default_rng(4)
    spec = {f"p{i}": list(rng.choice([R, R, R, R, C, P], size=8)) for i in range(40)}
    a = _curve(spec, draws=300, seed=1)
    b = _curve(spec, draws=300, seed=1)
    pd.testing.assert_frame_equal(a, b)
    needed = single_shot.smallest_n(a.reset_index(), (0.0, 0.999999, 2.0)).set_index("target")
    assert needed.loc[0.0, "n_mean"] == 1 and needed.loc[0.999999, "n_mean"] == 8
    assert pd.isna(needed.loc[2.0, "n_mean"])


def test_single_shot_draws_agree_with_a_loop():
    rng = np.random.default_rng(8)
    spec = {f"p{i}": list(rng.choice([R, R, P, C], size=6)) for i in range(15)}
    matrix = single_shot.label_matrix(frame(spec))
    onehot = single_shot._onehot(matrix)
    full = onehot.sum(axis=1)
    reference = full == full.max(axis=1, keepdims=True)
    got = single_shot._draw_agreements(onehot, reference, 3, 50, np.random.default_rng(2), "order")
    # the same slot choices, majorities by a plain loop
    gen = np.random.default_rng(2)
    expected = []
    for _ in range(50):
        slots = np.argsort(gen.random(6))[:3]
        agree = []
        for p in range(len(matrix)):
            counts = np.bincount(matrix[p, slots][matrix[p, slots] >= 0], minlength=3)
            agree.append(bool(reference[p, int(np.argmax(counts))]))
        expected.append(np.mean(agree))
    assert got == pytest.approx(expected)


def _loop_agreements(matrix, reference, n, draws, seed, tie_break, chunk):
    """`_draw_agreements` written plainly: the same random numbers, one draw and one prompt at a time.

    Per chunk of draws: the slot draws, then (random tie-break, n > 1, prompts with more than one
    label) one of the 6 label orderings per (draw, such prompt); a tie goes to the tied label that
    ordering ranks highest.
    """
    gen = np.random.default_rng(seed)
    n_slots = matrix.shape[1]
    labels = [set(row[row >= 0]) for row in matrix]
    varied = [p for p in range(len(matrix)) if len(labels[p]) > 1]
    out = []
    for start in range(0, draws, chunk):
        d = min(chunk, draws - start)
        slots = np.argsort(gen.random((d, n_slots)), axis=1)[:, :n]
        orderings = None
        if tie_break == "random" and n > 1 and varied:
            orderings = gen.integers(0, 6, size=(d, len(varied)))
        for i in range(d):
            agree = scored = 0
            for p in range(len(matrix)):
                chosen = matrix[p, slots[i]]
                chosen = chosen[chosen >= 0]
                if not len(chosen):
                    continue
                scored += 1
                counts = np.bincount(chosen, minlength=3)
                top = [k for k in range(3) if counts[k] == counts.max()]
                if len(top) > 1 and orderings is not None:
                    rank = single_shot.LABEL_ORDERINGS[orderings[i, varied.index(p)]]
                    winner = max(top, key=lambda k: rank[k])
                else:
                    winner = top[0]  # one modal label, or REFUSE > PARTIAL > COMPLY
                agree += bool(reference[p, winner])
            out.append(agree / scored)
    return out


@pytest.mark.parametrize("coded", [True, False])
@pytest.mark.parametrize("tie_break", ["random", "order"])
def test_single_shot_draws_with_ties_gaps_and_chunks_agree_with_a_loop(monkeypatch, tie_break, coded):
    """The vectorised draws (label counts coded in one number, or label by label for draws of many
    slots; ties resolved only where they occur, unscored slots checked only for the prompts that
    have them, draws in chunks and cells in blocks) give exactly what a plain loop over the same
    random numbers gives."""
    if not coded:
        monkeypatch.setattr(single_shot, "MAX_CODES", 1)
    rng = np.random.default_rng(11)
    matrix = rng.choice([0, 0, 0, 1, 2, 2, -1], size=(30, 8)).astype(np.int8)
    matrix[:8] = 0  # unanimous prompts ...
    matrix[3, [1, 5]] = -1  # ... some with unscored slots
    matrix[9] = -1  # a prompt without any verdict
    matrix[9, 2] = 2
    n_varied = sum(len(set(row[row >= 0])) > 1 for row in matrix)
    monkeypatch.setattr(single_shot, "CHUNK_CELLS", n_varied * 3 * 7)  # 7 draws a chunk
    monkeypatch.setattr(single_shot, "BLOCK_CELLS", n_varied * 3)  # worked through 3, 3, 1 draws at a time
    onehot = single_shot._onehot(matrix)
    full = onehot.sum(axis=1)
    reference = full == full.max(axis=1, keepdims=True)
    for n in (1, 2, 4, 7, 8):
        got = single_shot._draw_agreements(onehot, reference, n, 40, np.random.default_rng(5), tie_break)
        assert got.tolist() == _loop_agreements(matrix, reference, n, 40, 5, tie_break, 7), n


def test_single_shot_per_temperature_scopes():
    temps = [0.0, 0.0, 1.0, 1.0]
    f = frame({"a": [R, R, C, R], "b": [C, C, C, R]}, temps={"a": temps, "b": temps})
    curves, needed = single_shot.single_shot(f, draws=50, seed=0)
    assert set(curves["scope"]) == {"pooled", "temperature"}
    assert sorted(curves.loc[curves["scope"] == "temperature", "temperature"].unique()) == [0.0, 1.0]
    assert curves.loc[curves["scope"] == "pooled", "n"].max() == 4
    assert set(needed["target"]) == set(single_shot.TARGETS)


# ----------------------------------------------------------------------------- runs


def test_run_spread_against_numpy():
    overall = pd.DataFrame(
        {
            "dataset": "d",
            "judge": "j",
            "harmful": True,
            "run": [f"seed{i}" for i in range(5)],
            "model": "m",
            "n_prompts": 10,
            "harmful_pct_comply": [10.0, 21.4, 15.0, 12.5, 18.0],
            "harmful_pct_fulfilled": [20.0, 30.0, 25.0, 22.0, 28.0],
            "benign_pct_refuse": np.nan,
            "mean_ssi": [0.9, 0.85, 0.88, 0.91, 0.87],
            "pct_unstable": [10, 20, 15, 9, 17.0],
            "pct_flipped": [20, 30, 25, 19, 27.0],
            "ssi_ci_low": 0.8,
            "ssi_ci_high": 0.95,
        }
    )
    spread = runs.run_spread(runs.run_table(overall)).set_index("metric")
    h = spread.loc["harmful_pct_comply"]
    v = overall["harmful_pct_comply"].to_numpy()
    assert h["range"] == pytest.approx(11.4) and h["std"] == pytest.approx(np.std(v, ddof=1))
    assert (h["min"], h["max"], h["run_min"], h["run_max"], h["n_runs"]) == (10.0, 21.4, "seed0", "seed1", 5)
    assert "varies 11.4 points across 5 runs" in h["summary"]
    assert "benign_pct_refuse" not in spread.index  # no benign prompts
    assert runs.run_spread(runs.run_table(overall.head(1))).empty


def test_run_table_from_two_runs_end_to_end():
    f = tidy.concat(
        [frame({"a": [R, R, C, C], "b": [R] * 4}, run="ft0"), frame({"a": [R] * 4, "b": [R] * 4}, run="ft1")]
    )
    overall = groups.group_table(per_prompt.per_prompt(f), n_boot=0)
    spread = runs.run_spread(runs.run_table(overall)).set_index("metric")
    assert spread.loc["harmful_pct_comply", "range"] == pytest.approx(25.0)
    assert spread.loc["mean_ssi", "range"] == pytest.approx(0.25)


def test_tidy_concat_unifies_categoricals():
    f = tidy.concat([frame({"a": [R]}, judge="j1"), frame({"b": [C]}, judge="j2")])
    assert list(f[tidy.JUDGE]) == ["j1", "j2"] and isinstance(f[tidy.JUDGE].dtype, pd.CategoricalDtype)
    assert list(itertools.chain(f[tidy.VERDICT].astype(str))) == [R, C]
