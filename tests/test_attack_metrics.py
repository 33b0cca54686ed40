"""Attack metrics against hand computations and chance."""

from __future__ import annotations

import numpy as np
import pytest

from privbench.attacks.shared.metrics import (
    balanced_accuracy,
    bayesian_bootstrap_weights,
    bootstrap_ci,
    equal_error_rate,
    permutation_p_value,
    proportion_interval,
    roc_auc,
    top_k_accuracy,
    tpr_at_fpr,
)


def test_top_k_counts_ties_against_the_attack():
    scores = np.array([[0.9, 0.1, 0.0], [0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])
    truth = np.array([0, 1, 0])
    assert top_k_accuracy(scores, truth, 1) == pytest.approx(1 / 3)  # probe 1 ties: not a hit
    assert top_k_accuracy(scores, truth, 2) == pytest.approx(2 / 3)
    assert top_k_accuracy(scores, truth, 3) == 1.0


def test_random_scores_sit_at_chance():
    rng = np.random.default_rng(0)
    scores, truth = rng.normal(size=(20_000, 20)), rng.integers(0, 20, 20_000)
    assert top_k_accuracy(scores, truth, 1) == pytest.approx(1 / 20, abs=0.005)
    assert top_k_accuracy(scores, truth, 5) == pytest.approx(5 / 20, abs=0.01)
    same = rng.random(20_000) < 0.1
    similarity = rng.normal(size=20_000)
    assert roc_auc(same, similarity) == pytest.approx(0.5, abs=0.02)
    assert equal_error_rate(same, similarity) == pytest.approx(0.5, abs=0.02)
    assert tpr_at_fpr(same, similarity, 0.01) == pytest.approx(0.01, abs=0.01)


def test_a_perfect_verifier():
    same = np.array([True, True, False, False, False])
    similarity = np.array([0.9, 0.8, 0.3, 0.2, 0.1])
    assert roc_auc(same, similarity) == 1.0
    assert equal_error_rate(same, similarity) == 0.0
    assert tpr_at_fpr(same, similarity, 0.01) == 1.0


def test_equal_error_rate_by_hand():
    # thresholds give (fpr, fnr): the curves cross between (0.5, 0.5) points: EER 0.5 for this symmetric case
    same = np.array([True, False, True, False])
    similarity = np.array([0.9, 0.8, 0.2, 0.1])
    assert equal_error_rate(same, similarity) == pytest.approx(0.5)


def test_balanced_accuracy_ignores_the_majority_share():
    truth = np.array([0] * 90 + [1] * 10)
    assert balanced_accuracy(truth, np.zeros(100)) == 0.5  # the majority baseline


def test_non_finite_scores_are_refused():
    with pytest.raises(ValueError, match="non-finite"):
        top_k_accuracy(np.array([[np.nan, 0.1]]), np.array([0]), 1)
    with pytest.raises(ValueError, match="non-finite"):
        roc_auc(np.array([True, False]), np.array([np.inf, 0.0]))


def test_bootstrap_interval_covers_the_mean_and_narrows_with_more_groups():
    rng = np.random.default_rng(1)

    def interval(people: int) -> tuple[float, float, float]:
        groups = np.repeat(np.arange(people), 10)
        values = rng.normal(0.3, 1.0, people)[groups] + rng.normal(0, 0.1, len(groups))
        low, high = bootstrap_ci(lambda rows: float(values[rows].mean()), groups, resamples=500, seed=0)
        return low, float(values.mean()), high

    small, large = interval(10), interval(200)
    assert small[0] < small[1] < small[2] and large[0] < large[1] < large[2]
    assert large[2] - large[0] < (small[2] - small[0]) / 2  # ~1/sqrt(participants), not 1/sqrt(rows)
    # participants, not rows, are the unit: 10 people x 10 rows is as uncertain as 10 people
    assert small[2] - small[0] > 0.5


def test_permutation_p_value_is_small_for_signal_and_uniform_ish_for_none():
    groups = np.repeat(np.arange(40), 5)
    labels = (np.arange(40) % 2)[groups]
    signal = labels + np.random.default_rng(2).normal(0, 0.3, len(labels))

    def agreement(candidate: np.ndarray) -> float:
        return float(np.corrcoef(candidate, signal)[0, 1])

    assert permutation_p_value(agreement, labels, groups, permutations=200) < 0.01
    noise = np.random.default_rng(3).normal(size=len(labels))
    p = permutation_p_value(lambda c: float(np.corrcoef(c, noise)[0, 1]), labels, groups, permutations=200)
    assert p > 0.05


def test_weighted_balanced_accuracy_equals_repeating_the_rows():
    truth, guess = np.array(["a", "a", "b", "b", "b"]), np.array(["a", "b", "b", "a", "b"])
    weights = np.array([2, 1, 1, 3, 1])
    repeated = np.repeat(np.arange(5), weights)
    assert balanced_accuracy(truth, guess, weights) == pytest.approx(balanced_accuracy(truth[repeated],
                                                                                       guess[repeated]))


def test_bayesian_bootstrap_keeps_everyone_with_mean_weight_one():
    rng = np.random.default_rng(0)
    draws = [bayesian_bootstrap_weights(["a", "b", "c", "d"], rng) for _ in range(2000)]
    assert all(set(w) == {"a", "b", "c", "d"} and min(w.values()) > 0 for w in draws)
    assert all(np.mean(list(w.values())) == pytest.approx(1.0) for w in draws)
    assert np.std([w["a"] for w in draws]) == pytest.approx(np.sqrt(3 / 5), rel=0.1)  # n*Dirichlet(1,..)


def test_a_proportion_interval_never_collapses_to_zero_hits():
    """24 probes of 24 people, none right: the bootstrap gives [0, 0]; chance 1/24 must stay inside."""
    hits, groups = np.zeros(24), np.arange(24)
    low, high = proportion_interval(lambda rows: float(hits[rows].mean()), groups, resamples=200, seed=0)
    assert low == 0.0 and 1 / 24 < high < 0.15
    many = np.r_[np.ones(12), np.zeros(12)]  # away from the edges the bootstrap interval is kept when wider
    low, high = proportion_interval(lambda rows: float(many[rows].mean()), groups, resamples=200, seed=0)
    assert 0.25 < low < 0.5 < high < 0.75
