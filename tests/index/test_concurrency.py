from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from facesearch.index import FaissFlatIndex
from facesearch.types import FloatArray, IntArray

DIM = 128  # as conftest's db fixture

BruteForce = Callable[..., tuple[FloatArray, IntArray]]
UnitVectors = Callable[..., FloatArray]


def test_searches_while_another_thread_adds(
    db: tuple[IntArray, FloatArray], queries: FloatArray, brute_force: BruteForce
) -> None:
    ids, vectors = db
    base, extra = 1000, 1000
    idx = FaissFlatIndex(DIM)
    idx.add(ids[:base], vectors[:base])
    by_id = dict(zip(ids.tolist(), range(len(ids)), strict=True))
    floor, _ = brute_force(vectors[:base], ids[:base], queries, 10)
    errors: list[BaseException] = []
    stop = threading.Event()
    n_searches = [0] * 4

    def writer() -> None:
        try:
            for start in range(base, base + extra, 50):
                idx.add(ids[start : start + 50], vectors[start : start + 50])
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)
        finally:
            stop.set()

    def reader(slot: int) -> None:
        rng = np.random.default_rng(100 + slot)
        try:
            while not stop.is_set() or n_searches[slot] < 20:
                q = queries[rng.choice(len(queries), size=int(rng.integers(1, 40)))]
                rows = np.array([np.flatnonzero((queries == r).all(axis=1))[0] for r in q])
                scores, got = idx.search(q, 10)
                # every hit is a vector added so far, with its true score, in order
                assert (got >= 0).all()
                assert (np.diff(scores, axis=1) <= 0).all()
                true = np.einsum("qd,qkd->qk", q, vectors[[[by_id[i] for i in r] for r in got]])
                np.testing.assert_allclose(scores, true, atol=1e-5)
                # only additions happen, so results never get worse than the first 1000
                assert (scores >= floor[rows] - 1e-5).all()
                n_searches[slot] += 1
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    assert all(n >= 20 for n in n_searches)
    assert len(idx) == base + extra
    want = brute_force(vectors, ids, queries, 10)
    got_scores, got_ids = idx.search(queries, 10)
    np.testing.assert_array_equal(got_ids, want[1])
    np.testing.assert_allclose(got_scores, want[0], atol=1e-5)


def test_concurrent_adds_and_removes_keep_ids_consistent(unit_vectors: UnitVectors) -> None:
    idx = FaissFlatIndex(DIM)
    vec = unit_vectors(4000, seed=21)
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for j in range(0, 1000, 100):
                chunk = np.arange(w * 1000 + j, w * 1000 + j + 100, dtype=np.int64)
                idx.add(chunk, vec[chunk])
                assert idx.remove(chunk[::2]) == 50
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    want = np.arange(1, 4000, 2, dtype=np.int64)
    np.testing.assert_array_equal(idx.ids(), want)
    assert len(idx) == want.size
    _, got = idx.search(vec[want[:10]], 1)
    np.testing.assert_array_equal(got[:, 0], want[:10])
