"""A compact set of int64 ids: 8 bytes an id, vectorised membership tests.

Two sorted arrays: a large ``main`` and a small ``delta`` that takes new ids; the delta
is merged into main when it outgrows about ``sqrt(len)``, so adding one id at a time
costs O(sqrt(n)) amortised instead of a copy of every id. Not thread-safe: the owning
index guards it with its lock.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from facesearch.errors import InvalidInput
from facesearch.index._arrays import sorted_member
from facesearch.types import IntArray

_MIN_DELTA = 1024


class IdSet:
    __slots__ = ("_delta", "_main")

    def __init__(self, ids: IntArray | None = None) -> None:
        """``ids`` must be unique; they are copied and sorted."""
        self._main: IntArray = (
            np.sort(np.asarray(ids, dtype=np.int64)) if ids is not None else _empty()
        )
        self._delta: IntArray = _empty()

    def __len__(self) -> int:
        return int(self._main.size + self._delta.size)

    def contains(self, ids: IntArray) -> NDArray[np.bool_]:
        """Membership of each of ``ids`` (any order, may repeat), bool ``(m,)``."""
        return sorted_member(self._main, ids) | sorted_member(self._delta, ids)

    def refuse_present(self, ids: IntArray) -> None:
        """:class:`InvalidInput` naming (up to 5 of) ``ids`` already in the set: an index
        never holds an id twice (FAISS would silently keep both)."""
        present = self.contains(ids)
        if present.any():
            dup = ids[present]
            shown = ", ".join(str(int(i)) for i in dup[:5])
            more = f" and {dup.size - 5} more" if dup.size > 5 else ""
            raise InvalidInput(f"ids already in the index: {shown}{more}")

    def present(self, ids: IntArray) -> IntArray:
        """The distinct ids of ``ids`` that are in the set, ascending."""
        return np.unique(ids[self.contains(ids)])

    def add(self, ids: IntArray) -> None:
        """Add ``ids``, which the caller has checked are unique and absent."""
        if ids.size == 0:
            return
        delta = np.concatenate([self._delta, ids])
        delta.sort()
        if delta.size > max(_MIN_DELTA, math.isqrt(self._main.size)):
            self._main = _merge(self._main, delta)
            self._delta = _empty()
        else:
            self._delta = delta

    def remove(self, ids: IntArray) -> None:
        """Drop whichever of ``ids`` are present."""
        if ids.size == 0:
            return
        gone = np.unique(ids)
        self._main = self._main[~sorted_member(gone, self._main)]
        self._delta = self._delta[~sorted_member(gone, self._delta)]

    def max(self) -> int | None:
        """The largest id, or ``None`` when empty."""
        tops = [int(a[-1]) for a in (self._main, self._delta) if a.size]
        return max(tops) if tops else None

    def to_array(self) -> IntArray:
        """Every id, sorted ascending (a new array)."""
        if self._delta.size == 0:
            return self._main.copy()
        return _merge(self._main, self._delta)


def _empty() -> IntArray:
    return np.empty(0, dtype=np.int64)


def _merge(a: IntArray, b: IntArray) -> IntArray:
    """Merge two sorted, disjoint arrays into a new sorted array."""
    if a.size == 0:
        return b.copy()
    return np.insert(a, np.searchsorted(a, b), b)
