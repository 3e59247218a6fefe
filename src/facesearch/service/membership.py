"""Which indexed faces belong to which gallery, kept in memory beside a local index.

A search restricted to some galleries (an investigator's grants, or the galleries asked
for) needs the ids of the indexed faces in them. Reading them from the store on every
search cost about 320 ms at a million faces (docs/performance.md); this map costs that
once, after which a filtered search reads its subset from memory.

It follows the index, not the store: :class:`~facesearch.service.index_sync.IndexSync`
tells it every id it adds to or removes from the index it serves, under its own lock, and
resets it when it swaps the index. New ids are resolved to their galleries lazily (one
store query for all ids pending at the next filtered search); after a reset the whole map
is re-read from the store (:meth:`IndexRowsRepository.face_galleries`) and cut to the ids
the index holds. A face's gallery never changes (images are not moved between galleries),
so an id once resolved stays right until it is removed. Not thread-safe: the owner's lock
guards it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from facesearch.index._idset import IdSet
from facesearch.store.index_rows import IndexRowsRepository
from facesearch.types import IntArray

logger = logging.getLogger(__name__)

# pending ids beyond which one full re-read beats looking them up by id (IN lists)
_FULL_READ_OVER = 50_000


class GalleryMembership:
    """The gallery of every face in one model's local index, by gallery."""

    def __init__(
        self,
        index_rows: IndexRowsRepository,
        galleries_of: Callable[[str, IntArray], IntArray],
        model_id: str,
    ) -> None:
        """``galleries_of(model_id, ids)``: each id's gallery id, -1 where the store has
        no such face (:meth:`IndexStateRepository.galleries_of`)."""
        self._rows = index_rows
        self._galleries_of = galleries_of
        self._model_id = model_id
        self._by_gallery: dict[int, IdSet] = {}
        self._pending: list[IntArray] = []
        self._stale = True  # nothing read yet: the first filtered search reads it all

    def reset(self) -> None:
        """Forget everything: the index was replaced (or reconciled wholesale)."""
        self._by_gallery = {}
        self._pending = []
        self._stale = True

    def added(self, ids: IntArray) -> None:
        """``ids`` ``(n,)`` were just added to the index (their galleries are read later)."""
        if not self._stale and len(ids):
            self._pending.append(np.asarray(ids, dtype=np.int64).copy())

    def removed(self, ids: IntArray) -> None:
        """``ids`` ``(n,)`` were just removed from the index (absent ids are ignored)."""
        if self._stale or not len(ids):
            return
        gone = np.unique(np.asarray(ids, dtype=np.int64))
        for members in self._by_gallery.values():
            members.remove(gone)
        self._pending = [p[~np.isin(p, gone)] for p in self._pending]

    def face_ids(
        self, gallery_ids: Sequence[int], in_index: Callable[[IntArray], NDArray[np.bool_]]
    ) -> IntArray:
        """The ids of the indexed faces in any of ``gallery_ids``: sorted, unique int64
        ``(n,)``. ``in_index(ids)`` (bool ``(n,)``) is asked only after a reset, to cut
        the store's faces down to those the index holds."""
        self._resolve(in_index)
        parts = [self._by_gallery[g].to_array() for g in set(gallery_ids) if g in self._by_gallery]
        if not parts:
            return np.empty(0, dtype=np.int64)
        if len(parts) == 1:
            return parts[0]
        out = np.concatenate(parts)  # galleries are disjoint: no id twice
        out.sort(kind="stable")  # timsort merges the sorted runs: ~10x a plain sort's speed
        return out

    def covers(
        self,
        gallery_ids: Sequence[int],
        n_index: int,
        in_index: Callable[[IntArray], NDArray[np.bool_]],
    ) -> bool:
        """Whether the faces of ``gallery_ids`` are every one of the index's ``n_index``
        faces: then a search needs no filter (and no subset is built). Resolves pending
        ids first, like :meth:`face_ids`."""
        self._resolve(in_index)
        wanted = set(gallery_ids)
        total = 0
        for gallery, members in self._by_gallery.items():
            if len(members) and gallery not in wanted:
                return False
            total += len(members)
        return total == n_index

    def _resolve(self, in_index: Callable[[IntArray], NDArray[np.bool_]]) -> None:
        pending = np.concatenate(self._pending) if self._pending else np.empty(0, np.int64)
        if self._stale or pending.size > _FULL_READ_OVER:
            ids, galleries = self._rows.face_galleries(self._model_id)
            keep = in_index(ids)
            self._by_gallery = {}
            self._add(ids[keep], galleries[keep])
            self._pending = []
            self._stale = False
            logger.info(
                "gallery map of %s: %d faces in %d galleries",
                self._model_id,
                int(keep.sum()),
                len(self._by_gallery),
            )
            return
        if pending.size:
            self._add(pending, self._galleries_of(self._model_id, pending))
            self._pending = []

    def _add(self, ids: IntArray, galleries: IntArray) -> None:
        """Add ``ids`` under their ``galleries`` (-1: deleted from the store since; the
        index drops them with the deletion, so they are skipped)."""
        order = np.argsort(galleries, kind="stable")
        ids, galleries = ids[order], galleries[order]
        cuts = np.flatnonzero(np.diff(galleries)) + 1
        for part_ids, part_g in zip(np.split(ids, cuts), np.split(galleries, cuts), strict=True):
            if not part_ids.size or int(part_g[0]) < 0:
                continue
            members = self._by_gallery.setdefault(int(part_g[0]), IdSet())
            fresh = part_ids[~members.contains(part_ids)]
            members.add(np.unique(fresh))
