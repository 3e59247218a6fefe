"""GalleryMembership: the in-memory gallery map beside a local index, checked against a
brute-force model of the index over random sequences of adds, removals and resets.

The store is a dict here (the map's own logic is under test); the engine tests
(tests/service/test_engine.py) run the real map over real stores."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from facesearch.service.membership import GalleryMembership
from facesearch.types import IntArray


class _Rows:
    """The two store reads the map makes, over a dict face id -> gallery id."""

    def __init__(self) -> None:
        self.gallery: dict[int, int] = {}
        self.full_reads = 0
        self.lookups = 0

    def face_galleries(self, model_id: str) -> tuple[IntArray, IntArray]:
        self.full_reads += 1
        ids = np.asarray(sorted(self.gallery), dtype=np.int64)
        return ids, np.asarray([self.gallery[int(i)] for i in ids], dtype=np.int64)

    def galleries_of(self, model_id: str, ids: IntArray) -> IntArray:
        self.lookups += 1
        return np.asarray([self.gallery.get(int(i), -1) for i in ids], dtype=np.int64)


def _in_index_of(indexed: set[int]) -> Callable[[IntArray], NDArray[np.bool_]]:
    def in_index(ids: IntArray) -> NDArray[np.bool_]:
        return np.asarray([int(i) in indexed for i in ids], dtype=bool)

    return in_index


def _map(rows: _Rows) -> GalleryMembership:
    return GalleryMembership(rows, rows.galleries_of, "m")  # type: ignore[arg-type]


def test_random_adds_removals_and_resets_match_a_brute_force_index() -> None:
    rng = np.random.default_rng(7)
    rows = _Rows()
    members = _map(rows)
    indexed: set[int] = set()
    next_id = 1
    for step in range(400):
        op = rng.choice(
            ["add", "remove", "store-only", "reset", "query"], p=[0.35, 0.2, 0.1, 0.05, 0.3]
        )
        if op in ("add", "store-only"):
            n = int(rng.integers(1, 40))
            ids = np.arange(next_id, next_id + n, dtype=np.int64)
            next_id += n
            for i in ids:
                rows.gallery[int(i)] = int(rng.integers(0, 6))
            if op == "add":  # committed and indexed; "store-only": committed, not indexed yet
                rng.shuffle(ids)
                indexed.update(int(i) for i in ids)
                members.added(ids)
        elif op == "remove" and indexed:
            gone = rng.choice(sorted(indexed), size=min(len(indexed), int(rng.integers(1, 30))))
            for i in gone:  # the store deletes first, then the index
                rows.gallery.pop(int(i), None)
                indexed.discard(int(i))
            members.removed(np.asarray(gone, dtype=np.int64))
        elif op == "reset":
            members.reset()
        wanted = sorted({int(g) for g in rng.integers(0, 7, size=int(rng.integers(1, 4)))})
        got = members.face_ids(wanted, _in_index_of(indexed))
        expected = sorted(i for i in indexed if rows.gallery[i] in wanted)
        assert got.tolist() == expected, f"step {step} ({op}), galleries {wanted}"
        covers = members.covers(wanted, len(indexed), _in_index_of(indexed))
        assert covers == (len(expected) == len(indexed)), f"step {step}"


def test_new_ids_are_looked_up_by_id_and_many_by_one_full_read() -> None:
    rows = _Rows()
    rows.gallery = {i: i % 2 for i in range(1, 11)}
    members = _map(rows)
    everything = lambda ids: np.ones(len(ids), dtype=bool)  # noqa: E731
    assert members.face_ids([0], everything).tolist() == [2, 4, 6, 8, 10]
    assert (rows.full_reads, rows.lookups) == (1, 0)
    rows.gallery[11] = 1
    members.added(np.asarray([11]))
    assert members.face_ids([1], everything).tolist() == [1, 3, 5, 7, 9, 11]
    assert (rows.full_reads, rows.lookups) == (1, 1)
    assert members.face_ids([1], everything).tolist() == [1, 3, 5, 7, 9, 11]
    assert (rows.full_reads, rows.lookups) == (1, 1)  # nothing new: no store read
    big = np.arange(100, 100 + 60_000, dtype=np.int64)
    rows.gallery.update({int(i): 3 for i in big})
    members.added(big)
    assert len(members.face_ids([3], everything)) == 60_000
    assert (rows.full_reads, rows.lookups) == (2, 1)  # cheaper as one full read


def test_an_id_deleted_from_the_store_before_it_is_resolved_is_left_out() -> None:
    rows = _Rows()
    rows.gallery = {1: 0}
    members = _map(rows)
    everything = lambda ids: np.ones(len(ids), dtype=bool)  # noqa: E731
    members.face_ids([0], everything)
    members.added(np.asarray([2]))  # indexed, then deleted from the store at once
    assert members.face_ids([0], everything).tolist() == [1]


def test_covers_resolves_pending_ids_first() -> None:
    rows = _Rows()
    rows.gallery = {1: 0, 2: 0}
    members = _map(rows)
    everything = _in_index_of({1, 2, 3})
    assert members.covers([0], 2, everything)  # read whole: both faces are gallery 0's
    rows.gallery[3] = 1
    members.added(np.asarray([3]))  # pending: its gallery is read by covers
    assert not members.covers([0], 3, everything)
    assert members.covers([0, 1], 3, everything)
    assert not members.covers([0, 1], 4, everything)  # the index holds a face it does not
