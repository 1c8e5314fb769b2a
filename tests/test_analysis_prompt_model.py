"""The beta-binomial prompt model and tail risk, against scipy's betabinom, quadrature and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy import stats as sps

from refusal_stability.analysis import per_prompt, prompt_model, tidy, workers
from refusal_stability.analysis.study_labels import STUDY_JUDGE


def test_fit_matches_a_direct_fit_of_scipy_betabinom_and_recovers_truth():
    rng = np.random.default_rng(0)
    a_true, b_true, n = 0.3, 2.5, 20
    p = rng.beta(a_true, b_true, 3000)
    k = rng.binomial(n, p).astype(float)
    samples = np.full_like(k, n)
    a, b = prompt_model.fit_beta_binomial(k, samples)

    def nll(theta):  # the plain way: every prompt, scipy's own log-pmf
        return -sps.betabinom.logpmf(k, samples, *np.exp(theta)).sum()

    direct = np.exp(
        optimize.minimize(
            nll, np.log([1.0, 1.0]), method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10}
        ).x
    )
    assert (a, b) == pytest.approx(tuple(direct), rel=1e-3)
    assert a == pytest.approx(a_true, rel=0.1) and b == pytest.approx(b_true, rel=0.1)
    # the weighted fit over distinct (k, n) pairs is the same fit
    dk, dn, inverse = prompt_model._distinct(k, samples)
    weighted = prompt_model.fit_beta_binomial(dk, dn, np.bincount(inverse))
    assert weighted == pytest.approx((a, b), rel=1e-6)
    with pytest.raises(ValueError, match="at least one prompt"):
        prompt_model.fit_beta_binomial(np.array([]), np.array([]))


def test_likelihood_and_gradient_against_scipy():
    k, n, w = np.array([0.0, 3.0, 20.0]), np.array([20.0, 20.0, 20.0]), np.array([5.0, 2.0, 1.0])
    theta = np.log([0.4, 1.7])
    value, grad = prompt_model._negative_log_likelihood(theta, k, n, w)
    log_binom = sps.binom.logpmf(k, n, 0.5) - n * np.log(0.5)  # log C(n, k)
    full = -(w * (sps.betabinom.logpmf(k, n, 0.4, 1.7) - log_binom)).sum()
    assert value == pytest.approx(full)
    numeric = optimize.approx_fprime(
        theta, lambda t: prompt_model._negative_log_likelihood(t, k, n, w)[0], 1e-7
    )
    assert grad == pytest.approx(numeric, rel=1e-4)


@pytest.mark.parametrize(("a", "b"), [(0.05, 1.0), (0.5, 0.5), (2.0, 3.0)])
def test_model_quantities_against_quadrature(a, b):
    dist = sps.beta(a, b)
    share = integrate.quad(dist.pdf, 0.05, 0.95, limit=200)[0]
    assert prompt_model.share_between(a, b) == pytest.approx(share, rel=1e-6)
    for k in (5, 20):
        flip = integrate.quad(lambda p, k=k: (1 - p**k - (1 - p) ** k) * dist.pdf(p), 0, 1, limit=200)[0]
        assert prompt_model.expected_flip(a, b, k) == pytest.approx(flip, rel=1e-5, abs=1e-9)
    for asks in (1, 10, 100):
        risk = integrate.quad(lambda p, m=asks: (1 - (1 - p) ** m) * dist.pdf(p), 0, 1, limit=200)[0]
        assert prompt_model.any_in(a, b, asks) == pytest.approx(risk, rel=1e-5)


def test_expected_flip_matches_simulated_flips():
    """The model's % flipped at K equals what K samples of prompts drawn from it show."""
    rng = np.random.default_rng(1)
    p = rng.beta(0.2, 1.5, 200_000)
    flips = rng.binomial(20, p)
    observed = np.mean((flips > 0) & (flips < 20))
    assert prompt_model.expected_flip(0.2, 1.5, 20) == pytest.approx(observed, abs=0.004)


def test_instability_model_table_and_bootstrap(verdict_frame):
    rng = np.random.default_rng(2)
    spec = {}
    for i, pi in enumerate(rng.beta(0.3, 2.0, 150)):
        spec[f"p{i}"] = ["COMPLY" if x < pi else "REFUSE" for x in rng.random(10)]
    prompts = per_prompt.per_prompt(verdict_frame(spec))
    table = prompt_model.instability_model(prompts, outcomes=("comply",), n_boot=60)
    row = table.iloc[0]
    assert row["n_prompts"] == 150 and row["n_boot_failed"] == 0
    for name in ("share_mid", "flip_k20", "population_any_10", "prompts_any_100"):
        assert row[f"{name}_low"] <= row[name] <= row[f"{name}_high"]
    assert row["population_any_1"] == pytest.approx(row["mean_p"])
    assert row["flip_k5"] < row["flip_k20"] < row["flip_k100"]
    again = prompt_model.instability_model(prompts, outcomes=("comply",), n_boot=60)
    assert again.equals(table)  # seeded


def test_groups_fitted_in_worker_processes_equal_the_serial_fits(verdict_frame, monkeypatch):
    """Many groups are fitted in worker processes; the table must be the serial one to the bit."""
    import pandas as pd

    rng = np.random.default_rng(5)
    frames = []
    for run in ("r1", "r2", "r3"):
        spec = {
            f"p{i}": ["COMPLY" if x < pi else "REFUSE" for x in rng.random(8)]
            for i, pi in enumerate(rng.beta(0.4, 2.0, 60))
        }
        frames.append(verdict_frame(spec, run=run))
    prompts = per_prompt.per_prompt(tidy.concat(frames))
    monkeypatch.setattr(prompt_model, "PARALLEL_MIN_GROUPS", 10**9)
    serial = prompt_model.instability_model(prompts, n_boot=30)
    monkeypatch.setattr(prompt_model, "PARALLEL_MIN_GROUPS", 2)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    parallel = prompt_model.instability_model(prompts, n_boot=30)
    assert len(serial) == 6
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)


def test_per_prompt_tail_risk_posterior(verdict_frame):
    spec = {"never": ["REFUSE"] * 10, "once": ["COMPLY"] + ["REFUSE"] * 9, "always": ["COMPLY"] * 10}
    spec.update({f"r{i}": ["REFUSE"] * 10 for i in range(20)})
    prompts = per_prompt.per_prompt(verdict_frame(spec))
    risk = prompt_model.per_prompt_tail_risk(prompts).set_index(tidy.PROMPT_ID)
    k, n = np.array([p.count("COMPLY") for p in spec.values()], float), np.full(len(spec), 10.0)
    a, b = prompt_model.fit_beta_binomial(k, n)
    post = sps.beta(a + 1, b + 9)
    expected = integrate.quad(lambda p: (1 - (1 - p) ** 10) * post.pdf(p), 0, 1, limit=200)[0]
    assert risk.loc["once", "any_10"] == pytest.approx(expected, rel=1e-5)
    assert risk.loc["once", "any_10_high"] == pytest.approx(1 - (1 - post.ppf(0.975)) ** 10)
    assert risk.loc["never", "any_100"] < risk.loc["once", "any_100"] < risk.loc["always", "any_100"]
    assert (risk["any_1"] <= risk["any_10"]).all() and (risk["any_10"] <= risk["any_100"]).all()


def test_study_model(study_two_judges):
    prompts = per_prompt.per_prompt(study_two_judges)
    study = prompts[prompts[tidy.JUDGE] == STUDY_JUDGE]
    row = prompt_model.instability_model(study, outcomes=("comply",), n_boot=40).iloc[0]
    # the model reproduces the observed binary flip rate at the study's K = 20
    assert row["flip_k20"] == pytest.approx(row["observed_flip"], abs=0.02)
    assert 0.05 < row["share_mid"] < 0.25 and row["share_mid_low"] < row["share_mid"] < row["share_mid_high"]
