"""The fitted face-embedding generator: fitting, seeding, the fit check (synthetic inputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facesearch.errors import InvalidInput
from facesearch.evaluation.synthetic import (
    FaceEmbeddingModel,
    fit_check,
    ks_distance,
    load_labelled,
)

D = 16


def _real_like(seed: int, n_ids: int = 400, per: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors of a known two-level Gaussian: centres spread 1.0, faces 0.3 around them."""
    rng = np.random.default_rng(seed)
    mean = np.zeros(D)
    mean[0] = 3.0
    centres = mean + rng.standard_normal((n_ids, D))
    who = np.repeat(np.arange(n_ids), per)
    x = centres[who] + 0.3 * rng.standard_normal((who.size, D))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), who


def test_fit_then_sample_reproduces_the_real_score_distributions() -> None:
    real, labels = _real_like(0)
    model = FaceEmbeddingModel.fit(real, labels)
    assert model.n_identities == 400 and model.n_faces == 1600
    held_out, held_labels = _real_like(1)
    syn, who = model.sample(400, 4.0, seed=3)
    check = fit_check(held_out, held_labels, syn, who, threshold=0.9, n_impostor=100_000)
    assert check.ks_genuine < 0.1
    assert check.ks_impostor < 0.1
    assert check.fmr_real > 0 and check.fmr_within_2x


def test_a_badly_fitted_set_fails_the_check() -> None:
    real, labels = _real_like(0)
    rng = np.random.default_rng(5)
    loose = rng.standard_normal((1600, D)).astype(np.float32)
    loose /= np.linalg.norm(loose, axis=1, keepdims=True)
    check = fit_check(real, labels, loose, np.repeat(np.arange(400), 4), threshold=0.9)
    assert check.ks_impostor > 0.5
    assert not check.fmr_within_2x


def test_sampling_is_seeded_and_unit_norm() -> None:
    model = FaceEmbeddingModel.fit(*_real_like(0))
    a, wa = model.sample(50, 3.0, seed=7)
    b, wb = model.sample(50, 3.0, seed=7)
    c, _ = model.sample(50, 3.0, seed=8)
    assert np.array_equal(a, b) and np.array_equal(wa, wb)
    assert not np.array_equal(a[: len(c)], c[: len(a)])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    fixed, who = model.sample(10, 1.0, seed=1, n_faces=123)
    assert fixed.shape == (123, D) and who.max() < 10


def test_ks_distance() -> None:
    assert ks_distance(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert ks_distance(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    with pytest.raises(InvalidInput):
        ks_distance(np.array([]), np.array([1.0]))


def test_fit_needs_identities_with_two_faces() -> None:
    x, _ = _real_like(0)
    with pytest.raises(InvalidInput):
        FaceEmbeddingModel.fit(x, np.arange(len(x)))
    with pytest.raises(InvalidInput):
        FaceEmbeddingModel.fit(x, np.zeros(3))


def test_load_labelled_reads_an_embedding_cache(tmp_path: Path) -> None:
    x, _ = _real_like(0, n_ids=3, per=2)
    x[1] = 0.0  # a failed image
    paths = np.array([f"P{i // 2}/P{i // 2}_000{i % 2 + 1}.jpg" for i in range(6)])
    np.savez(tmp_path / "cache.npz", embeddings=x, paths=paths)
    emb, labels = load_labelled(tmp_path / "cache.npz")
    assert emb.shape == (5, D) and list(labels) == ["P0", "P1", "P1", "P2", "P2"]
    np.savez(tmp_path / "bad.npz", vectors=x)
    with pytest.raises(InvalidInput):
        load_labelled(tmp_path / "bad.npz")
