"""Seeded unit vectors and a numpy brute-force reference for the index tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from facesearch.types import FloatArray, IntArray

DIM = 128
N = 2000

BruteForce = Callable[..., tuple[FloatArray, IntArray]]


def unit_vectors(n: int, dim: int = DIM, *, seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def brute_force(
    db: FloatArray, db_ids: IntArray, queries: FloatArray, k: int
) -> tuple[FloatArray, IntArray]:
    """Exact top-k by inner product, padded with -inf / -1 like the index."""
    scores = np.full((queries.shape[0], k), -np.inf, dtype=np.float32)
    ids = np.full((queries.shape[0], k), -1, dtype=np.int64)
    if db.shape[0] == 0:
        return scores, ids
    sims = queries.astype(np.float64) @ db.astype(np.float64).T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    m = order.shape[1]
    scores[:, :m] = np.take_along_axis(sims, order, axis=1)
    ids[:, :m] = db_ids[order]
    return scores, ids


@pytest.fixture(name="brute_force", scope="session")
def brute_force_fixture() -> BruteForce:
    """The numpy reference search (test modules can't import conftest in importlib mode)."""
    return brute_force


@pytest.fixture(name="unit_vectors", scope="session")
def unit_vectors_fixture() -> Callable[..., FloatArray]:
    return unit_vectors


@pytest.fixture(scope="session")
def db() -> tuple[IntArray, FloatArray]:
    """2000 seeded unit vectors under shuffled, non-contiguous ids."""
    rng = np.random.default_rng(1234)
    ids = rng.choice(np.arange(1, 10 * N, dtype=np.int64), size=N, replace=False)
    return ids, unit_vectors(N, seed=1)


@pytest.fixture(scope="session")
def queries() -> FloatArray:
    return unit_vectors(50, seed=2)
