"""Keeps one model's vector index in step with the store (the store is the truth).

The index is saved under ``data_dir/index/<model_id>/`` with a :class:`Watermark` (highest
face id, vector count, last applied ``face_deletions.seq``). On open it is reconciled:
rebuilt when missing or corrupt; otherwise deletions logged since its watermark are applied
and the id sets of store and index are compared, adding what the index lacks and dropping
what the store no longer has. Faces are added to the index only after their transaction
commits, so a crash at any instant loses nothing that a reconcile cannot restore.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facesearch.errors import IndexUnavailable
from facesearch.index import IndexCorrupt, IndexMissing, PersistentIndex, Watermark
from facesearch.index.registry import create_index, load_index
from facesearch.settings import IndexBackend
from facesearch.store import Store
from facesearch.types import FloatArray, IntArray

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """How the index of one model compares with the store."""

    model_id: str
    backend: str
    path: str
    n_index: int
    n_store: int
    max_face_id_index: int
    max_face_id_store: int
    deletion_seq_index: int
    deletion_seq_store: int

    @property
    def in_sync(self) -> bool:
        return (
            self.n_index == self.n_store
            and self.max_face_id_index == self.max_face_id_store
            and self.deletion_seq_index == self.deletion_seq_store
        )


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What opening the index took: ``action`` is ``loaded``, ``caught-up`` or ``rebuilt``."""

    action: str
    reason: str
    added: int
    removed: int


class IndexSync:
    """The vector index of one model, its persistence and its reconciliation with the store."""

    def __init__(
        self,
        store: Store,
        *,
        model_id: str,
        dim: int,
        backend: IndexBackend,
        folder: Path,
        save_every: int,
    ) -> None:
        self._store = store
        self.model_id = model_id
        self.dim = dim
        self._backend = backend
        self.folder = folder
        self._save_every = save_every
        self._lock = threading.RLock()
        self._index: PersistentIndex | None = None
        self._deletion_seq = 0
        self._known_max_id = 0
        self._unsaved = 0

    # --- opening --------------------------------------------------------------------
    def open(self) -> ReconcileReport:
        """Load the saved index and reconcile it with the store (or rebuild it)."""
        with self._lock:
            try:
                index, watermark = load_index(self._backend, self.folder)
            except IndexMissing:
                return self._rebuild("no saved index")
            except IndexCorrupt as err:
                logger.warning("index for %s is corrupt (%s); rebuilding", self.model_id, err)
                return self._rebuild(f"corrupt: {err}")
            if watermark.model_id != self.model_id or watermark.dim != self.dim:
                return self._rebuild(
                    f"saved for {watermark.model_id}/{watermark.dim}, "
                    f"expected {self.model_id}/{self.dim}"
                )
            self._index = index
            self._deletion_seq = watermark.deletion_seq
            state = self._store.index_state(self.model_id)
            if (
                state.max_face_id == watermark.max_face_id
                and state.n_faces == watermark.n_vectors
                and state.last_deletion_seq == watermark.deletion_seq
            ):
                self._known_max_id = state.max_face_id
                return ReconcileReport("loaded", "watermark matches the store", 0, 0)
            added, removed = self._full_diff()
            self.save()
            return ReconcileReport("caught-up", "index was behind the store", added, removed)

    def rebuild(self) -> ReconcileReport:
        with self._lock:
            return self._rebuild("requested")

    def _rebuild(self, reason: str) -> ReconcileReport:
        logger.info("rebuilding %s index from the store (%s)", self.model_id, reason)
        index = create_index(self._backend, self.dim)
        _, seq = self._store.deletions_since(self.model_id, 0)
        added = 0
        for ids, vectors in self._store.iter_embeddings(self.model_id):
            index.add(ids, vectors)
            added += len(ids)
        self._index = index
        self._deletion_seq = seq
        self._known_max_id = int(index.ids().max()) if len(index) else 0
        self.save()
        return ReconcileReport("rebuilt", reason, added, 0)

    def _full_diff(self) -> tuple[int, int]:
        """Apply logged deletions, then make the index's id set equal the store's."""
        index = self._require()
        gone, seq = self._store.deletions_since(self.model_id, self._deletion_seq)
        removed = index.remove(gone) if len(gone) else 0
        self._deletion_seq = seq
        store_ids = self._store.face_ids(self.model_id)
        index_ids = index.ids()
        extra = np.setdiff1d(index_ids, store_ids, assume_unique=True)
        if len(extra):
            removed += index.remove(extra)
        missing = np.setdiff1d(store_ids, index_ids, assume_unique=True)
        added = 0
        if len(missing):
            for ids, vectors in self._store.iter_embeddings(self.model_id, ids=missing.tolist()):
                index.add(ids, vectors)
                added += len(ids)
        self._known_max_id = int(store_ids.max()) if len(store_ids) else 0
        logger.info("reconciled %s index: +%d -%d", self.model_id, added, removed)
        return added, removed

    # --- keeping up -----------------------------------------------------------------
    def _require(self) -> PersistentIndex:
        if self._index is None:
            raise IndexUnavailable("the vector index is not open yet")
        return self._index

    def add(self, ids: IntArray, vectors: FloatArray) -> None:
        """Add faces just committed to the store.

        Ids the index already holds are skipped: a search's :meth:`catch_up` may have picked
        the committed rows up between the commit and this call (same rows, same vectors)."""
        with self._lock:
            index = self._require()
            if len(ids):
                fresh = ~index.contains(ids)
                ids, vectors = ids[fresh], vectors[fresh]
            index.add(ids, vectors)
            if len(ids):
                self._known_max_id = max(self._known_max_id, int(np.max(ids)))
            self._count_change(len(ids))

    def apply_deletions(self) -> int:
        """Remove from the index every face the store logged as deleted since we last looked."""
        with self._lock:
            index = self._require()
            gone, seq = self._store.deletions_since(self.model_id, self._deletion_seq)
            removed = index.remove(gone) if len(gone) else 0
            self._deletion_seq = seq
            self._count_change(max(removed, 1) if len(gone) else 0)
            return removed

    def catch_up(self) -> None:
        """Pick up faces and deletions written to the store by other processes."""
        with self._lock:
            index = self._require()
            max_id, deletion_seq = self._store.change_marks(self.model_id)
            if deletion_seq != self._deletion_seq:
                self.apply_deletions()
            if max_id > self._known_max_id:
                fresh = self._store.face_ids(self.model_id, after=self._known_max_id)
                fresh = fresh[~index.contains(fresh)] if len(fresh) else fresh
                for ids, vectors in self._store.iter_embeddings(self.model_id, ids=fresh.tolist()):
                    index.add(ids, vectors)
                self._known_max_id = max_id
                self._count_change(len(fresh))

    def _count_change(self, n: int) -> None:
        self._unsaved += n
        if self._unsaved >= self._save_every:
            self.save()

    def save(self) -> None:
        with self._lock:
            index = self._require()
            ids = index.ids()
            watermark = Watermark(
                model_id=self.model_id,
                dim=self.dim,
                max_face_id=int(ids.max()) if len(ids) else 0,
                n_vectors=len(index),
                deletion_seq=self._deletion_seq,
            )
            index.save(self.folder, watermark)
            self._unsaved = 0

    # --- reading --------------------------------------------------------------------
    def search(
        self, queries: FloatArray, k: int, *, subset: IntArray | None = None
    ) -> tuple[FloatArray, IntArray]:
        return self._require().search(queries, k, subset=subset)

    def search_counted(
        self, queries: FloatArray, k: int, *, subset: IntArray | None = None
    ) -> tuple[FloatArray, IntArray, int]:
        """:meth:`search` and the number of faces it searched (all, or those of ``subset``
        the index holds), read together under the lock so that a concurrent add or removal
        cannot fall between them: a result never holds more or fewer faces than it says."""
        with self._lock:
            index = self._require()
            n = len(index) if subset is None else int(np.count_nonzero(index.contains(subset)))
            scores, ids = index.search(queries, k, subset=subset)
            return scores, ids, n

    def __len__(self) -> int:
        return len(self._require())

    def status(self) -> IndexStatus:
        with self._lock:
            index = self._require()
            state = self._store.index_state(self.model_id)
            ids = index.ids()
            return IndexStatus(
                model_id=self.model_id,
                backend=self._backend.value,
                path=str(self.folder),
                n_index=len(index),
                n_store=state.n_faces,
                max_face_id_index=int(ids.max()) if len(ids) else 0,
                max_face_id_store=state.max_face_id,
                deletion_seq_index=self._deletion_seq,
                deletion_seq_store=state.last_deletion_seq,
            )
