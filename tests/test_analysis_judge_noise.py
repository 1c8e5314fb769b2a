"""Judge noise: identical responses with different verdicts, two-judge flips, misclassification correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from refusal_stability.analysis import judge_noise, per_prompt, tidy
from refusal_stability.analysis.study_labels import STUDY_JUDGE
from refusal_stability.scorers.offline import OFFLINE_JUDGE_VERSION

R, P, C = "REFUSE", "PARTIAL", "COMPLY"


def two_judges(verdict_frame, spec_a, spec_b, responses=None):
    """The same samples judged by judges "a" and "b"; responses per prompt optional (else all distinct)."""
    frames = []
    for judge, spec in (("a", spec_a), ("b", spec_b)):
        f = verdict_frame(spec, judge=judge)
        texts = [
            (responses or {}).get(pid, [f"{pid}-{i}" for i in range(len(v))])[i]
            for pid, v in spec.items()
            for i in range(len(v))
        ]
        f[tidy.RESPONSE_HASH] = pd.array([tidy.response_hash(t) for t in texts], dtype="Int64")
        frames.append(f)
    return tidy.concat(frames)


def test_identical_responses_noise_hand_counted(verdict_frame):
    spec = {"same_flip": [R, C, R], "same": [R, R, R], "differ": [R, C, C], "one": [R]}
    responses = {"same_flip": ["x"] * 3, "same": ["y"] * 3, "differ": ["u", "v", "v"], "one": ["z"]}
    f = two_judges(verdict_frame, spec, spec, responses)
    table = judge_noise.identical_response_noise(f)
    greedy = table[(table[tidy.JUDGE] == "a") & (table["scope"] == "greedy prompts")].iloc[0]
    # prompts with >= 2 responses all identical: same_flip, same; noisy: same_flip
    assert (greedy["n_groups"], greedy["n_noisy"], greedy["pct_noisy"]) == (2, 1, 50.0)
    wilson = sps.binomtest(1, 2).proportion_ci(method="wilson")
    assert (greedy["wilson_low"], greedy["wilson_high"]) == pytest.approx(
        (100 * wilson.low, 100 * wilson.high)
    )
    every = table[(table[tidy.JUDGE] == "a") & (table["scope"] == "identical responses")].iloc[0]
    # identical-response sets: x (3, noisy), y (3), v in "differ" (2 copies, both COMPLY)
    assert (every["n_groups"], every["n_noisy"]) == (3, 1)


def test_judge_disagreement_hand_worked(verdict_frame):
    spec_a = {"p1": [R, R, C, C], "p2": [R, C, R, R], "p3": [R, R, R, R]}
    spec_b = {"p1": [R, R, C, C], "p2": [R, R, R, R], "p3": [R, R, R, P]}
    row = judge_noise.judge_disagreement(two_judges(verdict_frame, spec_a, spec_b)).iloc[0]
    # a flips p1, p2; b flips p1, p3; on agreed samples (p1 all four, p2 three R, p3 three R) only p1 flips
    assert (row["flipped_a"], row["flipped_b"], row["flipped_both_agree"]) == (2, 2, 1)
    assert row["flips_from_judges_a"] == 50.0 and row["flips_from_judges_b"] == 50.0
    assert row["n_samples"] == 12 and row["n_agree"] == 10
    consensus_ssi = np.array([0.5, 1.0, 1.0])
    assert row["mean_ssi_agree"] == pytest.approx(consensus_ssi.mean())
    assert row["ssi_agree_se"] == pytest.approx(sps.sem(consensus_ssi))
    assert row["pct_unstable_agree"] == pytest.approx(100 / 3)


def test_rogan_gladen_hand_and_three_class_inverse_reduces_to_it():
    # Se 0.9, Sp 0.95, true prevalence 0.2 -> observed 0.9 * 0.2 + 0.05 * 0.8 = 0.22
    assert judge_noise.rogan_gladen(0.22, 0.9, 0.95) == pytest.approx(0.2)
    confusion = np.array([[95.0, 5.0], [10.0, 90.0]])  # rows truth (neg, pos), columns judge
    observed = np.array([0.78, 0.22])
    assert judge_noise.correct_shares(confusion, observed) == pytest.approx([0.8, 0.2])
    assert np.isnan(judge_noise.rogan_gladen(0.3, 0.5, 0.5))


def test_three_class_inverse_against_numpy_and_bootstrap_batches():
    truth = np.array([0.85, 0.05, 0.10])
    p = np.array([[0.9, 0.06, 0.04], [0.3, 0.5, 0.2], [0.05, 0.15, 0.8]])
    observed = truth @ p
    confusion = 1000 * p
    assert judge_noise.correct_shares(confusion, observed) == pytest.approx(truth)
    assert judge_noise.correct_shares(confusion, observed) == pytest.approx(np.linalg.solve(p.T, observed))
    batch = judge_noise.correct_shares(np.stack([confusion, confusion * 2]), np.stack([observed, observed]))
    assert batch == pytest.approx(np.stack([truth, truth]))
    singular = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert np.isnan(judge_noise.correct_shares(singular, observed)).all()
    assert np.isnan(
        judge_noise.correct_shares(np.array([[1.0, 0, 0], [0, 0, 0], [0, 0, 1.0]]), observed)
    ).all()


def test_corrected_rates_identity_on_calibration_and_split(verdict_frame):
    rng = np.random.default_rng(3)
    spec_ref, spec_judge = {}, {}
    flip = {R: [R, R, R, R, P, C], P: [P, P, R, C], C: [C, C, C, C, P]}
    for i in range(60):
        labels = list(rng.choice([R, R, R, R, P, C], size=6))
        spec_ref[f"q{i}"] = labels
        spec_judge[f"q{i}"] = [str(rng.choice(flip[v])) for v in labels]
    f = two_judges(verdict_frame, spec_ref, spec_judge)
    same = judge_noise.corrected_rates(f, "a", "b", n_boot=50).set_index("label")
    # calibrated and applied on the same samples, the correction returns the reference's shares
    assert same["corrected"].to_numpy() == pytest.approx(same["reference_share"].to_numpy())
    counts = pd.Series([v for labels in spec_ref.values() for v in labels]).value_counts()
    assert same.loc[C, "reference_share"] == pytest.approx(100 * counts[C] / 360)
    assert (same["ci_low"] <= same["corrected"]).all() and (same["corrected"] <= same["ci_high"]).all()
    assert same.loc[R, "rogan_gladen"] == pytest.approx(same.loc[R, "reference_share"])
    split = judge_noise.corrected_rates(f, "a", "b", target_prompts=[f"q{i}" for i in range(30)], n_boot=0)
    assert (split["n_calibration"] == 180).all() and (split["n_target"] == 180).all()


def test_study_judge_noise(study_two_judges):
    noise = judge_noise.identical_response_noise(study_two_judges).set_index([tidy.JUDGE, "scope"])
    study = noise.loc[(STUDY_JUDGE, "greedy prompts")]
    assert (study["n_groups"], study["n_noisy"]) == (154, 12)  # the study's own count
    offline = noise.loc[(OFFLINE_JUDGE_VERSION, "identical responses")]
    assert offline["n_noisy"] == 0  # the rules judge is a function of the text
    row = judge_noise.judge_disagreement(study_two_judges).iloc[0]
    assert (row["judge_a"], row["judge_b"]) == tuple(sorted([OFFLINE_JUDGE_VERSION, STUDY_JUDGE]))
    flipped_study = row["flipped_a"] if row["judge_a"] == STUDY_JUDGE else row["flipped_b"]
    prompts = per_prompt.per_prompt(study_two_judges).set_index(tidy.JUDGE)
    # the study's 211 flipped prompts; its 14 UNKNOWN samples are unpaired and change none of them
    assert flipped_study == int(prompts.loc[STUDY_JUDGE, "flipped"].sum()) == 211
    assert row["mean_ssi_agree"] > prompts.loc[STUDY_JUDGE, "ssi"].mean()
