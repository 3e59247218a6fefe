"""Metric functions on synthetic scores whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facesearch.evaluation.metrics import (
    best_accuracy_threshold,
    bootstrap_ratio_ci,
    cmc,
    det_curve,
    equal_error_rate,
    fmr_fnmr,
    fnir_at_fpir,
    fnir_at_threshold,
    kfold_accuracy,
    rate_at_or_above,
    roc_curve,
    tar_at_far,
    threshold_at_fmr,
)


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_rate_at_or_above_counts_ties_as_accepted() -> None:
    assert rate_at_or_above([1, 2, 3, 4], [2.5]).tolist() == [0.5]
    assert rate_at_or_above([1, 2, 2, 4], [2.0, 5.0, 0.0]).tolist() == [0.75, 0.0, 1.0]


def test_threshold_at_fmr_accepts_at_most_the_target_share() -> None:
    impostor = np.arange(100) / 100.0  # 0.00 .. 0.99
    t = threshold_at_fmr(impostor, 0.05)
    assert 0.94 < t <= 0.95
    assert np.mean(impostor >= t) == pytest.approx(0.05)
    assert threshold_at_fmr(impostor, 1.0) == -math.inf
    assert np.mean(impostor >= threshold_at_fmr(impostor, 0.0)) == 0.0


def test_threshold_at_fmr_is_exact_for_float32_scores() -> None:
    impostor = np.asarray([0.5, 0.5, 0.5, 0.1], dtype=np.float32)
    t = threshold_at_fmr(impostor, 0.25)  # one accepted at most; ties at 0.5 are three
    assert np.count_nonzero(impostor >= t) == 0
    assert np.count_nonzero(impostor.astype(np.float64) >= t) == 0


def test_fmr_fnmr_at_a_threshold() -> None:
    fmr, fnmr = fmr_fnmr([0.9, 0.8, 0.3, 0.7], [0.1, 0.6, 0.2, 0.0], 0.5)
    assert (fmr, fnmr) == (0.25, 0.25)


def test_roc_points_and_auc_equal_the_mann_whitney_statistic() -> None:
    genuine, impostor = [0.9, 0.8, 0.7], [0.1, 0.2, 0.75]
    roc = roc_curve(genuine, impostor)
    assert roc.far[0] == 0 and roc.tar[0] == 0 and roc.far[-1] == 1 and roc.tar[-1] == 1
    assert np.all(np.diff(roc.far) >= 0) and np.all(np.diff(roc.tar) >= 0)
    assert roc.auc() == pytest.approx(8 / 9)  # 8 of 9 (genuine, impostor) pairs ordered


def test_equal_error_rate_on_a_hand_worked_case() -> None:
    # at t = 0.6: impostors accepted 1/4 (0.65), genuine rejected 1/4 (0.2): FAR = FRR
    eer, t = equal_error_rate([0.2, 0.6, 0.7, 0.8], [0.1, 0.3, 0.4, 0.65])
    assert eer == pytest.approx(0.25)
    assert t == pytest.approx(0.6)


def test_separable_scores_have_zero_eer_and_full_tar() -> None:
    eer, _ = equal_error_rate([0.8, 0.9], [0.1, 0.2, 0.3])
    assert eer == 0.0
    tar, t = tar_at_far([0.8, 0.9], [0.1, 0.2, 0.3], 0.0)
    assert tar == 1.0 and 0.3 < t < 0.8


def test_gaussian_scores_match_theory() -> None:
    rng = np.random.default_rng(7)
    genuine = rng.normal(2.0, 1.0, 200_000)
    impostor = rng.normal(0.0, 1.0, 200_000)
    eer, t = equal_error_rate(genuine, impostor)
    assert eer == pytest.approx(_phi(-1.0), abs=0.005)  # crossing at 1.0
    assert t == pytest.approx(1.0, abs=0.02)
    tar, t01 = tar_at_far(genuine, impostor, 0.01)
    assert t01 == pytest.approx(2.3263, abs=0.03)
    assert tar == pytest.approx(_phi(2.0 - 2.3263), abs=0.01)
    folds = np.arange(genuine.size * 2) % 10
    scores = np.concatenate([genuine, impostor])
    same = np.concatenate([np.ones(genuine.size, bool), np.zeros(impostor.size, bool)])
    result = kfold_accuracy(scores, same, folds)
    assert result.mean == pytest.approx(1 - _phi(-1.0), abs=0.005)
    assert np.allclose(result.thresholds, 1.0, atol=0.05)


def test_best_accuracy_threshold_splits_the_classes() -> None:
    assert best_accuracy_threshold([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == pytest.approx(0.5)


def test_kfold_accuracy_fits_each_threshold_on_the_other_folds() -> None:
    # Fold 0 holds an impostor at 0.95: folds 1-2 put the threshold at 0.5, so fold 0
    # gets that pair wrong (5/6); fold 0's own data would not change folds 1-2's answer.
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.95] * 3)
    same = np.array([1, 1, 1, 0, 0, 0] * 3, dtype=bool)
    folds = np.repeat([0, 1, 2], 6)
    scores[6 + 5] = scores[12 + 5] = 0.3  # folds 1 and 2: separable
    result = kfold_accuracy(scores, same, folds)
    assert result.accuracies.tolist() == pytest.approx([5 / 6, 1.0, 1.0])
    assert result.thresholds[0] == pytest.approx(0.5)
    assert result.std == pytest.approx(np.std([5 / 6, 1, 1], ddof=1))
    assert result.sem == pytest.approx(result.std / math.sqrt(3))


def test_cmc_counts_ranks_and_misses() -> None:
    curve = cmc([1, 2, 0, 1, 5, 11], 10)
    assert curve.shape == (10,)
    assert curve[0] == pytest.approx(2 / 6)
    assert curve[1] == pytest.approx(3 / 6)
    assert curve[4] == pytest.approx(4 / 6)
    assert curve[9] == pytest.approx(4 / 6)  # rank 11 and "not found" never count


def test_fnir_at_fpir_sets_the_threshold_on_non_mated_searches() -> None:
    nonmated = np.arange(1000) / 1000.0  # best candidate scores 0.000 .. 0.999
    ranks = np.array([1, 1, 1, 2, 0])
    mate_scores = np.array([0.995, 0.95, 0.5, 0.99, -np.inf])
    points = fnir_at_fpir(ranks, mate_scores, nonmated, [0.1, 0.01])
    p10, p01 = points
    assert p10.fpir == pytest.approx(0.1) and 0.899 < p10.threshold <= 0.9
    assert p10.fnir == pytest.approx(3 / 5)  # only the two rank-1 mates above 0.9 hit
    assert p01.fpir == pytest.approx(0.01) and 0.989 < p01.threshold <= 0.99
    assert p01.fnir == pytest.approx(4 / 5)
    assert fnir_at_threshold(ranks, mate_scores, 0.0, max_rank=2) == pytest.approx(1 / 5)


def test_det_curve_is_monotone() -> None:
    rng = np.random.default_rng(3)
    ranks = rng.integers(0, 3, 500)
    mated = rng.normal(0.8, 0.1, 500)
    top = rng.normal(0.4, 0.1, 300)
    thresholds, fpir, fnir = det_curve(ranks, mated, top)
    assert np.all(np.diff(thresholds) < 0)
    assert np.all(np.diff(fpir) >= 0) and np.all(np.diff(fnir) <= 0)


def test_bootstrap_of_identical_clusters_has_no_width() -> None:
    est, low, high = bootstrap_ratio_ci([1] * 50, [10] * 50, n_boot=500, seed=1)
    assert est == low == high == pytest.approx(0.1)


def test_bootstrap_matches_the_binomial_interval() -> None:
    rng = np.random.default_rng(11)
    events = (rng.random(2000) < 0.2).astype(int)
    est, low, high = bootstrap_ratio_ci(events, np.ones(2000), n_boot=4000, seed=2)
    half = 1.96 * math.sqrt(est * (1 - est) / 2000)
    assert low == pytest.approx(est - half, abs=0.004)
    assert high == pytest.approx(est + half, abs=0.004)


def test_bootstrap_is_seeded() -> None:
    a = bootstrap_ratio_ci([0, 1, 3, 0, 2], [5, 5, 9, 4, 7], n_boot=300, seed=5)
    b = bootstrap_ratio_ci([0, 1, 3, 0, 2], [5, 5, 9, 4, 7], n_boot=300, seed=5)
    assert a == b


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        roc_curve([], [0.1])
    with pytest.raises(ValueError):
        equal_error_rate([np.nan], [0.1])
    with pytest.raises(ValueError):
        kfold_accuracy([0.1, 0.2], [True, False], [0, 0])
    with pytest.raises(ValueError):
        bootstrap_ratio_ci([1], [0])
