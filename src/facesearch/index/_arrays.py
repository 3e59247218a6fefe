"""Argument checks shared by the index backends: ids, vectors and ``k``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.errors import InvalidInput
from facesearch.types import FloatArray, IntArray


def as_ids(ids: Any, *, name: str = "ids") -> IntArray:
    """``ids`` as a C-contiguous int64 ``(n,)`` array of non-negative values.

    Any integer dtype (or a list of ints) is accepted; floats, bools and other kinds are
    not. Raises :class:`InvalidInput`.
    """
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise InvalidInput(f"{name} must be 1-D (n,), got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise InvalidInput(f"{name} must be integers, got dtype {arr.dtype}")
    if (
        arr.dtype.kind == "u"
        and arr.dtype.itemsize >= 8
        and int(arr.max()) > np.iinfo(np.int64).max
    ):
        raise InvalidInput(f"{name} do not fit in int64")
    out = np.ascontiguousarray(arr, dtype=np.int64)
    if int(out.min()) < 0:
        raise InvalidInput(f"{name} must be >= 0")
    return out


def as_vectors(vectors: Any, dim: int, *, name: str = "vectors") -> FloatArray:
    """``vectors`` as a C-contiguous float32 ``(n, dim)`` array of finite values.

    Floating dtypes are cast to float32 (a copy only when needed); other dtypes, other
    shapes and NaN or infinite values raise :class:`InvalidInput`.
    """
    arr = np.asarray(vectors)
    if arr.ndim != 2:
        raise InvalidInput(f"{name} must be 2-D (n, {dim}), got shape {arr.shape}")
    if arr.shape[1] != dim:
        raise InvalidInput(f"{name} must have dimension {dim}, got {arr.shape[1]}")
    if arr.dtype.kind != "f":
        raise InvalidInput(f"{name} must be floating point, got dtype {arr.dtype}")
    out = np.ascontiguousarray(arr, dtype=np.float32)
    if out.size and not bool(np.isfinite(out).all()):
        raise InvalidInput(f"{name} contain NaN or infinite values")
    return out


def as_rows(ids: Any, vectors: Any, dim: int) -> tuple[IntArray, FloatArray]:
    """``ids`` ``(n,)`` and ``vectors`` ``(n, dim)`` checked for an index ``add``: as
    :func:`as_ids` and :func:`as_vectors`, as many ids as vectors, no id twice
    (:class:`InvalidInput` otherwise)."""
    id_arr = as_ids(ids)
    vec = as_vectors(vectors, dim)
    if id_arr.size != vec.shape[0]:
        raise InvalidInput(f"got {id_arr.size} ids for {vec.shape[0]} vectors")
    if np.unique(id_arr).size != id_arr.size:
        raise InvalidInput("ids contain duplicates")
    return id_arr, vec


def check_k(k: Any) -> int:
    """``k`` as a positive ``int``; raises :class:`InvalidInput` otherwise."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise InvalidInput(f"k must be an integer, got {type(k).__name__}")
    if int(k) <= 0:
        raise InvalidInput(f"k must be > 0, got {k}")
    return int(k)


def unique_ids(ids: IntArray) -> IntArray:
    """``ids`` ``(n,)`` sorted and without repeats: itself when it already is (one O(n)
    pass, the case of a gallery's ids from the in-memory map), else ``np.unique``."""
    if ids.size < 2 or bool(np.all(ids[1:] > ids[:-1])):
        return ids
    return np.unique(ids)


def sorted_member(sorted_haystack: IntArray, needles: IntArray) -> NDArray[np.bool_]:
    """Whether each of ``needles`` is in ``sorted_haystack`` (ascending), bool ``(m,)``."""
    if sorted_haystack.size == 0 or needles.size == 0:
        return np.zeros(needles.shape, dtype=np.bool_)
    pos = np.searchsorted(sorted_haystack, needles)
    pos[pos == sorted_haystack.size] = 0
    return np.asarray(sorted_haystack[pos] == needles, dtype=np.bool_)


def search_members(
    search: Callable[[int], tuple[FloatArray, IntArray]],
    members: IntArray,
    k: int,
    n: int,
) -> tuple[FloatArray, IntArray]:
    """The best ``k`` of ``members`` (sorted ascending) per query by over-fetching:
    ``search(depth)`` is an unfiltered search returning ``(scores, labels)`` ``(m, depth)``
    (best first, ``-1`` padded) over ``n`` vectors; the depth starts where ``k`` members
    are expected (their share of ``n``, with a margin) and doubles until every row is
    settled (:func:`first_members`) or all ``n`` were fetched. Returns ``(scores, labels)``
    ``(m, k)``, ``-inf`` / ``-1`` padded: the same as a search restricted to ``members``."""
    fetch = min(n, max(2 * k, math.ceil(1.25 * k * n / max(members.size, 1))))
    while True:
        scores, labels = search(fetch)
        cols, settled = first_members(labels, members, k)
        if settled.all() or fetch >= n:
            break
        fetch = min(n, 2 * fetch)
    rows = np.arange(labels.shape[0])[:, None]
    take = np.maximum(cols, 0)
    out_scores = np.where(cols >= 0, scores[rows, take], -np.inf).astype(np.float32)
    out_labels = np.where(cols >= 0, labels[rows, take], -1).astype(np.int64)
    return out_scores, out_labels


def first_members(
    labels: IntArray, members: IntArray, k: int
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """For a filter applied after an unfiltered search (over-fetching): per row of
    ``labels`` ``(m, f)`` (best first, ``-1`` padded), the columns of its first ``k``
    labels that are in ``members`` (sorted ascending), ``(m, k)`` with ``-1`` where there
    are fewer; and whether each row is *settled*: it has ``k`` of them, or its labels ran
    out (its last is ``-1``), so fetching more cannot change its answer.

    Why this equals a search restricted to ``members``: the members among an unfiltered
    top-``f`` are the members' own top ranks, in order (every member ranked above the
    ``f``-th label is in it); once a row holds ``k`` of them, they are the filtered top-``k``
    (ties aside)."""
    keep = (labels >= 0) & sorted_member(members, labels)
    cols = np.full((labels.shape[0], k), -1, dtype=np.intp)
    for row in range(labels.shape[0]):
        found = np.flatnonzero(keep[row])[:k]
        cols[row, : found.size] = found
    settled = (keep.sum(axis=1) >= k) | (labels[:, -1] < 0)
    return cols, np.asarray(settled, dtype=np.bool_)
