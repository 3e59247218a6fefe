"""Per-identity counting, group rates and ratios on hand-made embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from facesearch.evaluation.calibrate import impostor_scores
from facesearch.evaluation.demographics import (
    cap_per_identity,
    group_rates,
    per_identity_counts,
    with_ratios,
)


def _unit(angles_deg: list[float]) -> np.ndarray:
    a = np.radians(angles_deg)
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)


def test_per_identity_counts_match_brute_force() -> None:
    rng = np.random.default_rng(4)
    e = rng.normal(size=(40, 8)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    codes = rng.integers(0, 9, 40).astype(np.int64)
    t = 0.3
    (counts,) = per_identity_counts(e, codes, [t], n_identities=9, block=7)
    sims = e @ e.T
    for c in range(9):
        mine = codes == c
        others = ~mine
        assert counts.false_matches[c] == np.count_nonzero(sims[np.ix_(mine, others)] >= t)
        assert counts.impostor_pairs[c] == mine.sum() * others.sum()
        g = sims[np.ix_(mine, mine)][np.triu_indices(mine.sum(), 1)]
        assert counts.genuine_pairs[c] == g.size
        assert counts.misses[c] == np.count_nonzero(g < t)


def test_impostor_scores_cover_every_cross_identity_pair_once() -> None:
    e = _unit([0, 10, 90, 100, 180])
    labels = ["a", "a", "b", "b", "c"]
    scores = impostor_scores(e, labels, block=2)
    assert scores.size == 10 - 2  # 5 choose 2, minus the two same-identity pairs
    expected = sorted(
        float(e[i] @ e[j]) for i in range(5) for j in range(i + 1, 5) if labels[i] != labels[j]
    )
    assert np.allclose(np.sort(scores), expected, atol=1e-6)


def test_group_rates_and_ratios() -> None:
    # identity 0 and 1 collide (10 degrees apart), identity 2 is far away
    e = _unit([0, 2, 10, 12, 120, 150])
    codes = np.array([0, 0, 1, 1, 2, 2])
    (counts,) = per_identity_counts(e, codes, [float(np.cos(np.radians(11)))], n_identities=3)
    result = group_rates(counts, group="g", images=6, n_boot=200)
    assert result.fmr is not None and result.fnmr is not None
    # impostor pairs: 12 in all; at or above cos(11 deg): (0,10) (2,10) (2,12) -> 3
    assert (result.fmr.events, result.fmr.comparisons) == (3, 12)
    assert result.fmr.estimate == pytest.approx(3 / 12)
    # genuine pairs: 3; identity 2 is 30 degrees apart -> one miss
    assert (result.fnmr.events, result.fnmr.comparisons) == (1, 3)
    assert result.fmr.low <= result.fmr.estimate <= result.fmr.high
    other = group_rates(counts, group="h", images=6, n_boot=200)
    ratios = with_ratios([result, other])
    assert ratios[0].fmr_ratio_to_lowest == pytest.approx(1.0)


def test_cap_per_identity_is_seeded_and_caps() -> None:
    ids = ["a"] * 30 + ["b"] * 3
    paths = [f"p{i}" for i in range(33)]
    kept = cap_per_identity(paths, ids, 10, seed=1)
    assert len(kept) == 13
    assert sum(ids[i] == "a" for i in kept) == 10
    assert kept == cap_per_identity(paths, ids, 10, seed=1)
    assert cap_per_identity(paths, ids, None, seed=1) == list(range(33))


def test_a_group_without_errors_gets_an_upper_bound_not_zero_width() -> None:
    e = _unit([0, 1, 90, 91, 180, 181])
    codes = np.array([0, 0, 1, 1, 2, 2])
    (counts,) = per_identity_counts(e, codes, [0.5], n_identities=3)
    result = group_rates(counts, group="g", images=6, n_boot=100)
    assert result.fmr is not None and result.fmr.events == 0 and result.fmr.comparisons == 12
    assert result.fmr.high == pytest.approx(1 - 0.025 ** (1 / 12))
    assert with_ratios([result])[0].fmr_ratio_to_lowest is None
