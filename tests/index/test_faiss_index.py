from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from facesearch.errors import InvalidInput
from facesearch.index import FaissFlatIndex, PersistentIndex, VectorIndex
from facesearch.index.faiss_index import OVERFETCH_SHARE
from facesearch.types import FloatArray, IntArray

DIM = 128  # as conftest's db fixture
N = 2000

BruteForce = Callable[..., tuple[FloatArray, IntArray]]
UnitVectors = Callable[..., FloatArray]


@pytest.fixture
def index(db: tuple[IntArray, FloatArray]) -> FaissFlatIndex:
    ids, vectors = db
    idx = FaissFlatIndex(DIM)
    idx.add(ids, vectors)
    return idx


def assert_same(got: tuple[FloatArray, IntArray], want: tuple[FloatArray, IntArray]) -> None:
    scores, ids = got
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    assert scores.shape == want[0].shape and ids.shape == want[1].shape
    assert scores.flags.c_contiguous and ids.flags.c_contiguous
    np.testing.assert_allclose(scores, want[0], atol=1e-5, rtol=0)
    # ids must agree except where two reference scores tie to float32 precision, as
    # happens deep in a full ranking (k ~ n)
    w = want[0].astype(np.float64)
    gap = np.full(w.shape, np.inf)
    with np.errstate(invalid="ignore"):  # -inf - -inf in the padding
        step = np.abs(np.diff(w, axis=1))
    step[np.isnan(step)] = np.inf
    gap[:, 1:] = step
    gap[:, :-1] = np.minimum(gap[:, :-1], step)
    differ = ids != want[1]
    assert (gap[differ] < 1e-5).all(), f"{int(differ.sum())} ids differ outside ties"
    np.testing.assert_array_equal(ids == -1, want[1] == -1)


def test_implements_protocols(index: FaissFlatIndex) -> None:
    assert isinstance(index, VectorIndex)
    assert isinstance(index, PersistentIndex)
    assert index.dim == DIM
    assert len(index) == N


@pytest.mark.parametrize("k", [1, 10])
@pytest.mark.parametrize("n_queries", [1, 50])
def test_search_equals_brute_force(
    index: FaissFlatIndex,
    db: tuple[IntArray, FloatArray],
    queries: FloatArray,
    k: int,
    n_queries: int,
    brute_force: BruteForce,
) -> None:
    q = queries[:n_queries]
    assert_same(index.search(q, k), brute_force(db[1], db[0], q, k))


def test_search_scores_descending(index: FaissFlatIndex, queries: FloatArray) -> None:
    scores, _ = index.search(queries, 25)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_k_larger_than_n_pads(
    db: tuple[IntArray, FloatArray], queries: FloatArray, brute_force: BruteForce
) -> None:
    ids, vectors = db
    small = FaissFlatIndex(DIM)
    small.add(ids[:30], vectors[:30])
    scores, got = small.search(queries, 45)
    assert_same((scores, got), brute_force(vectors[:30], ids[:30], queries, 45))
    assert (got[:, 30:] == -1).all()
    assert np.isneginf(scores[:, 30:]).all()
    assert np.isfinite(scores[:, :30]).all()


def test_k_larger_than_n_on_full_index(
    index: FaissFlatIndex,
    db: tuple[IntArray, FloatArray],
    queries: FloatArray,
    brute_force: BruteForce,
) -> None:
    q = queries[:3]
    assert_same(index.search(q, N + 7), brute_force(db[1], db[0], q, N + 7))


@pytest.mark.parametrize("k", [1, 10, 400])
def test_subset_search_equals_restricted_brute_force(
    index: FaissFlatIndex,
    db: tuple[IntArray, FloatArray],
    queries: FloatArray,
    k: int,
    brute_force: BruteForce,
) -> None:
    ids, vectors = db
    rng = np.random.default_rng(7)
    pick = rng.choice(N, size=300, replace=False)
    unknown = np.array([10 * N + 1, 10 * N + 2], dtype=np.int64)  # not in the index
    subset = np.concatenate([ids[pick], unknown, ids[pick[:5]]])  # repeats are harmless
    got = index.search(queries, k, subset=subset)
    assert_same(got, brute_force(vectors[pick], ids[pick], queries, k))
    assert np.isin(got[1][got[1] >= 0], ids[pick]).all()


@pytest.mark.parametrize("share", [0.5, 0.97, 1.0])
@pytest.mark.parametrize("k", [1, 10, 400])
def test_a_large_subset_applied_after_the_search_equals_restricted_brute_force(
    index: FaissFlatIndex,
    db: tuple[IntArray, FloatArray],
    queries: FloatArray,
    k: int,
    share: float,
    brute_force: BruteForce,
) -> None:
    """Subsets of at least OVERFETCH_SHARE of the index are filtered after unfiltered
    searches of a growing depth (no id selector): still exactly the restricted top-k,
    k = 400 included (more than the first depth holds for some rows)."""
    ids, vectors = db
    assert share >= OVERFETCH_SHARE
    pick = np.sort(np.random.default_rng(11).choice(N, size=round(share * N), replace=False))
    unknown = np.array([10 * N + 1], dtype=np.int64)
    got = index.search(queries, k, subset=np.concatenate([ids[pick], unknown]))
    assert_same(got, brute_force(vectors[pick], ids[pick], queries, k))


def test_empty_subset_returns_padding(index: FaissFlatIndex, queries: FloatArray) -> None:
    scores, ids = index.search(queries, 5, subset=np.empty(0, dtype=np.int64))
    assert (ids == -1).all() and np.isneginf(scores).all()


def test_empty_index_returns_padding(queries: FloatArray) -> None:
    idx = FaissFlatIndex(DIM)
    scores, ids = idx.search(queries, 4)
    assert ids.shape == (50, 4) and (ids == -1).all() and np.isneginf(scores).all()
    assert len(idx) == 0 and idx.ids().size == 0


def test_zero_queries(index: FaissFlatIndex) -> None:
    scores, ids = index.search(np.empty((0, DIM), dtype=np.float32), 3)
    assert scores.shape == (0, 3) and ids.shape == (0, 3)


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3"])
def test_bad_k_raises(index: FaissFlatIndex, queries: FloatArray, k: object) -> None:
    with pytest.raises(InvalidInput):
        index.search(queries, k)  # type: ignore[arg-type]


def test_k_accepts_numpy_integer(index: FaissFlatIndex, queries: FloatArray) -> None:
    assert index.search(queries, np.int64(3))[1].shape == (50, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, DIM - 1), dtype=np.float32),  # wrong dim
        np.zeros(DIM, dtype=np.float32),  # 1-D
        np.zeros((2, DIM), dtype=np.int32),  # not floating
        np.full((2, DIM), np.nan, dtype=np.float32),  # not finite
    ],
)
def test_bad_queries_raise(index: FaissFlatIndex, bad: FloatArray) -> None:
    with pytest.raises(InvalidInput):
        index.search(bad, 3)


def test_bad_subset_raises(index: FaissFlatIndex, queries: FloatArray) -> None:
    with pytest.raises(InvalidInput):
        index.search(queries, 3, subset=np.array([1.0, 2.0]))


def test_add_duplicate_of_present_id_raises_and_leaves_index_unchanged(
    index: FaissFlatIndex,
    db: tuple[IntArray, FloatArray],
    queries: FloatArray,
    unit_vectors: UnitVectors,
) -> None:
    ids, _ = db
    before = index.search(queries, 10)
    new_ids = np.array([10 * N + 5, ids[17]], dtype=np.int64)
    with pytest.raises(InvalidInput, match="already"):
        index.add(new_ids, unit_vectors(2, seed=99))
    assert len(index) == N
    assert not index.contains(new_ids[:1])[0]
    assert_same(index.search(queries, 10), before)
    np.testing.assert_array_equal(index.ids(), np.sort(ids))


def test_add_duplicate_within_batch_raises(queries: FloatArray, unit_vectors: UnitVectors) -> None:
    idx = FaissFlatIndex(DIM)
    with pytest.raises(InvalidInput, match="duplicates"):
        idx.add(np.array([3, 4, 3], dtype=np.int64), unit_vectors(3, seed=5))
    assert len(idx) == 0


@pytest.mark.parametrize(
    ("ids", "vectors"),
    [
        (np.array([1, 2]), np.zeros((2, DIM + 1), dtype=np.float32)),  # wrong dim
        (np.array([1, 2]), np.zeros((2, DIM), dtype=np.int64)),  # integer vectors
        (np.array([1, 2]), np.zeros(DIM, dtype=np.float32)),  # 1-D vectors
        (np.array([1, 2, 3]), np.zeros((2, DIM), dtype=np.float32)),  # count mismatch
        (np.array([1.0, 2.0]), np.zeros((2, DIM), dtype=np.float32)),  # float ids
        (np.array([[1, 2]]), np.zeros((2, DIM), dtype=np.float32)),  # 2-D ids
        (np.array([-1, 2]), np.zeros((2, DIM), dtype=np.float32)),  # negative id
        (np.array([1, 2]), np.array([[np.inf] * DIM] * 2, dtype=np.float32)),  # inf
    ],
)
def test_add_bad_input_raises(ids: IntArray, vectors: FloatArray) -> None:
    idx = FaissFlatIndex(DIM)
    with pytest.raises(InvalidInput):
        idx.add(ids, vectors)
    assert len(idx) == 0


def test_add_casts_float64_and_non_contiguous(
    queries: FloatArray, brute_force: BruteForce, unit_vectors: UnitVectors
) -> None:
    vec = unit_vectors(40, seed=11)
    ids = np.arange(100, 140, dtype=np.int32)  # any integer dtype is accepted
    idx = FaissFlatIndex(DIM)
    idx.add(ids[::2], np.asfortranarray(vec[::2].astype(np.float64)))  # type: ignore[arg-type]
    idx.add(ids[1::2], vec[1::2])  # type: ignore[arg-type]
    assert_same(idx.search(queries, 5), brute_force(vec, ids.astype(np.int64), queries, 5))


def test_add_empty_is_a_no_op() -> None:
    idx = FaissFlatIndex(DIM)
    idx.add(np.empty(0, dtype=np.int64), np.empty((0, DIM), dtype=np.float32))
    assert len(idx) == 0


@pytest.mark.parametrize("dim", [0, -3, 2.5, True])
def test_bad_dim_raises(dim: object) -> None:
    with pytest.raises(InvalidInput):
        FaissFlatIndex(dim)  # type: ignore[arg-type]


def test_remove_counts_and_removed_ids_never_return(
    index: FaissFlatIndex,
    db: tuple[IntArray, FloatArray],
    queries: FloatArray,
    brute_force: BruteForce,
) -> None:
    ids, vectors = db
    rng = np.random.default_rng(3)
    gone = rng.choice(N, size=500, replace=False)
    unknown = np.array([10 * N + 1, 10 * N + 3], dtype=np.int64)
    assert index.remove(np.concatenate([ids[gone], unknown, ids[gone[:3]]])) == 500
    assert index.remove(ids[gone]) == 0
    assert index.remove(np.empty(0, dtype=np.int64)) == 0
    assert len(index) == N - 500
    assert not index.contains(ids[gone]).any()
    keep = np.setdiff1d(np.arange(N), gone)
    np.testing.assert_array_equal(index.ids(), np.sort(ids[keep]))
    scores, got = index.search(queries, N)
    assert not np.isin(got, ids[gone]).any()
    assert_same((scores, got), brute_force(vectors[keep], ids[keep], queries, N))
    assert_same(index.search(queries, 10), brute_force(vectors[keep], ids[keep], queries, 10))
    # a subset made only of removed ids finds nothing
    _, sub_ids = index.search(queries, 5, subset=ids[gone])
    assert (sub_ids == -1).all()


def test_removed_id_can_be_added_again(
    index: FaissFlatIndex, db: tuple[IntArray, FloatArray]
) -> None:
    ids, vectors = db
    assert index.remove(ids[:1]) == 1
    index.add(ids[:1], vectors[:1])
    scores, got = index.search(vectors[:1], 1)
    assert got[0, 0] == ids[0] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_ids_and_contains(index: FaissFlatIndex, db: tuple[IntArray, FloatArray]) -> None:
    ids, _ = db
    got = index.ids()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.sort(ids))
    probe = np.array([ids[0], 10 * N + 9, ids[5], 0], dtype=np.int64)
    np.testing.assert_array_equal(index.contains(probe), [True, False, True, False])
    assert index.contains(np.empty(0, dtype=np.int64)).shape == (0,)


def test_many_small_adds_match_one_big_add(
    db: tuple[IntArray, FloatArray], queries: FloatArray, brute_force: BruteForce
) -> None:
    """Single-id adds (the enrollment pattern) go through the id set's merge path."""
    ids, vectors = db
    idx = FaissFlatIndex(DIM)
    for i in range(N):
        idx.add(ids[i : i + 1], vectors[i : i + 1])
    np.testing.assert_array_equal(idx.ids(), np.sort(ids))
    assert idx.contains(ids).all()
    with pytest.raises(InvalidInput):
        idx.add(ids[-1:], vectors[-1:])
    assert_same(idx.search(queries, 10), brute_force(vectors, ids, queries, 10))
