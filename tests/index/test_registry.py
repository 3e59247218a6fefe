from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facesearch.errors import ConfigurationError, InvalidInput
from facesearch.index import (
    FaissFlatIndex,
    IndexMissing,
    PersistentIndex,
    VectorIndex,
    create_index,
    load_index,
    watermark_for,
)
from facesearch.settings import IndexBackend


@pytest.mark.parametrize("key", [IndexBackend.FAISS, "faiss"])
def test_create_and_load(key: IndexBackend, tmp_path: Path) -> None:
    idx = create_index(key, 8)
    assert isinstance(idx, FaissFlatIndex)
    assert isinstance(idx, VectorIndex) and isinstance(idx, PersistentIndex)
    assert idx.dim == 8 and len(idx) == 0
    rng = np.random.default_rng(0)
    idx.add(np.arange(1, 6), rng.standard_normal((5, 8)).astype(np.float32))
    wm = watermark_for(idx, model_id="m", deletion_seq=1)
    idx.save(tmp_path, wm)
    loaded, got = load_index(key, tmp_path)
    assert isinstance(loaded, FaissFlatIndex) and got == wm and len(loaded) == 5


def test_unknown_backend_raises_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        create_index("annoy", 8)
    with pytest.raises(ConfigurationError):
        load_index("annoy", tmp_path)


def test_bad_dim_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        create_index(IndexBackend.FAISS, 0)
    with pytest.raises(IndexMissing):
        load_index(IndexBackend.FAISS, tmp_path)


def test_configure_backend_sends_batches_to_blas_and_results_stay_exact() -> None:
    """Batches of 8+ queries take FAISS's BLAS path, single queries its SIMD scan: both
    return the exact top-k that a numpy scan gives."""
    import faiss

    from facesearch.index.registry import FAISS_BLAS_THRESHOLD, configure_backend

    configure_backend(IndexBackend.FAISS, threads=1)
    assert faiss.omp_get_max_threads() == 1
    assert faiss.cvar.distance_compute_blas_threshold == FAISS_BLAS_THRESHOLD
    rng = np.random.default_rng(3)
    db = rng.standard_normal((5000, 128)).astype(np.float32)
    db /= np.linalg.norm(db, axis=1, keepdims=True)
    queries = db[:32] + 0.05 * rng.standard_normal((32, 128)).astype(np.float32)
    idx = create_index(IndexBackend.FAISS, 128)
    idx.add(np.arange(100, 5100), db)
    batch_scores, batch_ids = idx.search(queries, 5)  # 32 * 128 >= threshold: BLAS
    expected = np.argsort(-(queries @ db.T), axis=1)[:, :5] + 100
    np.testing.assert_array_equal(batch_ids, expected)
    for i in range(len(queries)):  # one query at a time: the SIMD scan
        scores, ids = idx.search(queries[i : i + 1], 5)
        np.testing.assert_array_equal(ids[0], batch_ids[i])
        np.testing.assert_allclose(scores[0], batch_scores[i], atol=1e-5)
