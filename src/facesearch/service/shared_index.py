"""Keeps a shared vector index (Milvus) in step with the store, from any number of processes.

A shared index has no local file: every API process writes its enrollments and deletions
to the one collection, and the watermark lives in the store
(:mod:`facesearch.store.index_state`). Faces reach the collection after their transaction
commits (:meth:`SharedIndexSync.add`, an upsert); a process killed between the commit and
the write leaves the face above the watermark, where the next reconcile, in this process
at start-up or in any process every ``index.milvus.reconcile_interval_s``, finds and adds
it. Deletions are applied by the process that deleted and again by a reconcile (from the
watermark's ``deletion_seq``), so a process killed between the two loses nothing either.

A reconcile (:meth:`SharedIndexSync.reconcile`): apply the deletions logged after the
watermark; list the faces above it and add those the collection lacks; apply the
deletions logged meanwhile again (a face read just before another process deleted it must
not come back); then move the watermark forward. Reconciles in several processes at once
are safe: writes are idempotent and the watermark only moves forward.

A face that search returns but the store no longer holds (an upsert racing a deletion in
another process) is dropped by the search itself (:class:`~facesearch.index.milvus_index.
MilvusIndex` re-scores candidates from the store), so nothing unknown to the store is ever
returned.

:class:`SharedIndexSync` subclasses :class:`~facesearch.service.index_sync.IndexSync` only
to be usable wherever the service expects one: it overrides every public method and never
uses the base class's local index.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from facesearch.errors import FaceSearchError, IndexUnavailable
from facesearch.index.milvus_index import MilvusIndex
from facesearch.index.registry import open_shared_index
from facesearch.service.index_sync import IndexStatus, IndexSync, ReconcileReport
from facesearch.settings import IndexBackend, IndexKind, IndexSettings
from facesearch.store import Store
from facesearch.store.index_state import SharedWatermark
from facesearch.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""``progress(done, total)``: faces written so far of the total to write."""


class StoreFaceSource:
    """:class:`~facesearch.index.milvus_index.FaceSource` over the store, for one model."""

    def __init__(self, store: Store, model_id: str) -> None:
        self._store = store
        self._model_id = model_id

    def galleries_of(self, ids: IntArray) -> IntArray:
        return self._store.index_watermarks.galleries_of(self._model_id, ids)

    def vectors_of(self, ids: IntArray) -> tuple[IntArray, FloatArray]:
        got_ids: list[IntArray] = []
        got_vecs: list[FloatArray] = []
        for batch_ids, vectors in self._store.index_rows.iter_embeddings(
            self._model_id, ids=ids.tolist()
        ):
            got_ids.append(batch_ids)
            got_vecs.append(vectors)
        if not got_ids:
            return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
        return np.concatenate(got_ids), np.concatenate(got_vecs)


_COUNTS_KEPT = 256  # gallery combinations whose face count is kept


class SharedIndexSync(IndexSync):
    """The shared index of one model: reconcile at :meth:`open` and every
    ``reconcile_interval_s`` seconds (started by :meth:`catch_up`, in the background)."""

    def __init__(
        self,
        store: Store,
        *,
        model_id: str,
        dim: int,
        index: MilvusIndex,
        reconcile_interval_s: float,
        batch_size: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            store,
            model_id=model_id,
            dim=dim,
            backend=IndexBackend.MILVUS,
            folder=Path(index.collection),
            save_every=1,
            kind=IndexKind.FLAT,
        )
        self.shared = index
        self._interval = float(reconcile_interval_s)
        self._clock = clock
        self._next_reconcile = float("inf")
        self._reconcile_lock = threading.Lock()
        self._reconciler: threading.Thread | None = None
        self._opened = False
        self._batch = int(batch_size)
        # gallery ids -> (store change marks, faces in them): see search_counted
        self._counts: dict[tuple[int, ...], tuple[tuple[int, int], int]] = {}
        self._counts_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, store: Store, settings: IndexSettings, *, model_id: str, dim: int
    ) -> SharedIndexSync:
        index = open_shared_index(
            settings, model_id=model_id, dim=dim, source=StoreFaceSource(store, model_id)
        )
        return cls(
            store,
            model_id=model_id,
            dim=dim,
            index=index,
            reconcile_interval_s=settings.milvus.reconcile_interval_s,
            batch_size=settings.milvus.batch_size,
        )

    @property
    def key(self) -> str:
        """The watermark's key in the store: the collection name."""
        return self.shared.collection

    # --- opening and reconciling ----------------------------------------------------
    def open(self) -> ReconcileReport:
        """Connect (creating the collection when missing) and reconcile it with the store:
        ``rebuilt`` when it was just created, ``loaded`` when nothing was missing,
        ``caught-up`` otherwise. Raises :class:`IndexUnavailable` when Milvus fails."""
        with self._reconcile_lock:
            created = self.shared.open()
            watermark = self._store.index_watermarks.get(self.key)
            if created:
                report = self._rebuild_locked(
                    "no collection" if watermark is None else "collection was missing", None
                )
            elif watermark is None:
                added, removed = self._full_diff_locked()
                report = ReconcileReport(
                    "caught-up", "no watermark in the store: compared every id", added, removed
                )
            else:
                added, removed = self._reconcile_locked(watermark)
                if added or removed:
                    report = ReconcileReport(
                        "caught-up", "collection was behind the store", added, removed
                    )
                else:
                    report = ReconcileReport("loaded", "watermark matches the store", 0, 0)
            self._opened = True
            self._schedule()
            return report

    def _schedule(self) -> None:
        self._next_reconcile = (
            self._clock() + self._interval if self._interval > 0 else float("inf")
        )

    def reconcile(self) -> ReconcileReport:
        """Reconcile now, from the watermark in the store (see the module docstring)."""
        self._require_open()
        with self._reconcile_lock:
            watermark = self._store.index_watermarks.get(self.key)
            if watermark is None:
                added, removed = self._full_diff_locked()
            else:
                added, removed = self._reconcile_locked(watermark)
            self._schedule()
        return ReconcileReport("caught-up", "reconcile", added, removed)

    def _reconcile_locked(self, watermark: SharedWatermark) -> tuple[int, int]:
        store, index = self._store, self.shared
        gone, seq = store.index_rows.deletions_since(self.model_id, watermark.deletion_seq)
        removed = index.remove(gone) if len(gone) else 0
        fresh = store.index_rows.face_ids(self.model_id, after=watermark.max_face_id)
        added = 0
        if len(fresh):
            missing = fresh[~index.contains(fresh)]
            added = self._add_from_store(missing, None)
        # deletions logged while we read: a face read before it was deleted must not stay
        again, seq = store.index_rows.deletions_since(self.model_id, seq)
        if len(again):
            removed += index.remove(again)
        top = int(fresh.max()) if len(fresh) else watermark.max_face_id
        store.index_watermarks.advance(
            self.key, model_id=self.model_id, max_face_id=top, deletion_seq=seq
        )
        self._deletion_seq = max(self._deletion_seq, seq)
        if added or removed:
            logger.info(
                "reconciled %s collection %s: +%d -%d", self.model_id, self.key, added, removed
            )
        return added, removed

    def _full_diff_locked(self) -> tuple[int, int]:
        """Make the collection's id set the store's (a full scan of both)."""
        store, index = self._store, self.shared
        _, seq = store.index_rows.deletions_since(self.model_id, 0)
        store_ids = store.index_rows.face_ids(self.model_id)
        index_ids = index.ids()
        extra = np.setdiff1d(index_ids, store_ids, assume_unique=True)
        removed = index.remove(extra) if len(extra) else 0
        missing = np.setdiff1d(store_ids, index_ids, assume_unique=True)
        added = self._add_from_store(missing, None)
        again, seq = store.index_rows.deletions_since(self.model_id, seq)
        if len(again):
            removed += index.remove(again)
        top = int(store_ids.max()) if len(store_ids) else 0
        store.index_watermarks.advance(
            self.key, model_id=self.model_id, max_face_id=top, deletion_seq=seq
        )
        self._deletion_seq = max(self._deletion_seq, seq)
        logger.info("compared %s collection %s: +%d -%d", self.model_id, self.key, added, removed)
        return added, removed

    def _add_from_store(self, ids: IntArray | None, progress: Progress | None) -> int:
        """Write the store's embeddings of ``ids`` (all faces of the model when ``None``)."""
        total = (
            len(ids)
            if ids is not None
            else self._store.index_rows.index_state(self.model_id).n_faces
        )
        if ids is not None and total == 0:
            return 0
        batches = self._store.index_rows.iter_embeddings(
            self.model_id,
            ids=None if ids is None else ids.tolist(),
            batch_size=self._batch,
        )
        done = 0
        if progress is not None:
            progress(0, total)
        for batch_ids, vectors in batches:
            self.shared.add(batch_ids, vectors)
            done += len(batch_ids)
            if progress is not None:
                progress(done, max(total, done))
        return done

    def rebuild(self, progress: Progress | None = None) -> ReconcileReport:
        """Drop the collection and write every stored face again, in batches, calling
        ``progress(done, total)``; then set the watermark. Other processes see an empty or
        missing collection meanwhile (their searches find less, or answer 503)."""
        with self._reconcile_lock:
            self.shared.drop()
            self.shared.open()
            report = self._rebuild_locked("requested", progress)
            self._opened = True
            return report

    def _rebuild_locked(self, reason: str, progress: Progress | None) -> ReconcileReport:
        store = self._store
        _, seq = store.index_rows.deletions_since(self.model_id, 0)  # before reading the faces
        top = store.index_rows.index_state(self.model_id).max_face_id
        logger.info("filling %s collection %s from the store (%s)", self.model_id, self.key, reason)
        added = self._add_from_store(None, progress)
        again, seq = store.index_rows.deletions_since(self.model_id, seq)
        removed = self.shared.remove(again) if len(again) else 0
        self.shared.flush()
        store.index_watermarks.set(
            self.key, model_id=self.model_id, max_face_id=top, deletion_seq=seq
        )
        self._deletion_seq = seq
        self._schedule()
        return ReconcileReport("rebuilt", reason, added, removed)

    # --- keeping up -----------------------------------------------------------------
    def _require_open(self) -> MilvusIndex:
        if not self._opened:
            raise IndexUnavailable("the vector index is not open yet")
        return self.shared

    def add(self, ids: IntArray, vectors: FloatArray) -> None:
        """Write faces just committed to the store (an upsert; see the module docstring)."""
        self._require_open().add(ids, vectors)

    def apply_deletions(self) -> int:
        """Remove every face the store logged as deleted since this process last looked,
        and move the shared watermark's deletion seq forward."""
        index = self._require_open()
        gone, seq = self._store.index_rows.deletions_since(self.model_id, self._deletion_seq)
        if not len(gone):
            return 0
        removed = index.remove(gone)
        self._deletion_seq = seq
        self._store.index_watermarks.advance(
            self.key, model_id=self.model_id, max_face_id=0, deletion_seq=seq
        )
        return removed

    def catch_up(self) -> None:
        """Start a background reconcile when one is due. Writes of other processes need no
        catch-up: they are in the collection already."""
        self._require_open()
        if self._clock() < self._next_reconcile:
            return
        with self._lock:
            if self._reconciler is not None and self._reconciler.is_alive():
                return
            self._next_reconcile = self._clock() + max(self._interval, 1.0)
            self._reconciler = threading.Thread(
                target=self._background_reconcile, name=f"reconcile-{self.key}", daemon=True
            )
            self._reconciler.start()

    def _background_reconcile(self) -> None:
        try:
            self.reconcile()
        except FaceSearchError as err:
            logger.warning("reconcile of %s failed: %s", self.key, err.message)
        except Exception:
            logger.exception("reconcile of %s failed", self.key)

    def wait_for_rebuild(self, timeout: float | None = None) -> bool:
        """Wait for a background reconcile to finish; True when none is running."""
        worker = self._reconciler
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def save(self) -> None:
        """Nothing to save: writes are in Milvus; only a reconcile moves the watermark."""

    def close(self) -> None:
        self.wait_for_rebuild()
        self.shared.close()
        self._opened = False

    # --- reading --------------------------------------------------------------------
    def search(
        self,
        queries: FloatArray,
        k: int,
        *,
        subset: IntArray | None = None,
        galleries: Sequence[int] | None = None,
    ) -> tuple[FloatArray, IntArray]:
        return self._require_open().search(queries, k, subset=subset, galleries=galleries)

    def search_counted(
        self,
        queries: FloatArray,
        k: int,
        *,
        subset: IntArray | None = None,
        galleries: Sequence[int] | None = None,
    ) -> tuple[FloatArray, IntArray, int]:
        """:meth:`search` and the number of faces searched: with ``galleries`` (filtered
        by gallery inside Milvus) the store's count of their faces, with ``subset`` its
        length, else the collection's count (read at ``Bounded``: it may lag by seconds).
        The gallery count is kept until the store's change marks move (two index lookups a
        search instead of a ``COUNT`` over the galleries' faces)."""
        index = self._require_open()
        if galleries is not None:
            n = self._count_in(galleries)
        elif subset is not None:
            n = len(subset)
        else:
            n = index.count(bounded=True)
        if galleries is not None:
            scores, ids = index.search(queries, k, galleries=galleries)
        else:
            scores, ids = index.search(queries, k, subset=subset)
        return scores, ids, n

    def _count_in(self, galleries: Sequence[int]) -> int:
        key = tuple(sorted(set(galleries)))
        marks = self._store.index_rows.change_marks(self.model_id)
        with self._counts_lock:
            cached = self._counts.get(key)
            if cached is not None and cached[0] == marks:
                return cached[1]
        n = self._store.index_rows.count_in_galleries(self.model_id, key)
        with self._counts_lock:
            if len(self._counts) >= _COUNTS_KEPT:
                self._counts.clear()
            self._counts[key] = (marks, n)
        return n

    def __len__(self) -> int:
        return len(self._require_open())

    @property
    def current_kind(self) -> IndexKind | None:
        return None

    def health(self) -> str | None:
        if not self._opened:
            return "the vector index is not open yet"
        return self.shared.health()

    def status(self) -> IndexStatus:
        index = self._require_open()
        state = self._store.index_rows.index_state(self.model_id)
        watermark = self._store.index_watermarks.get(self.key)
        return IndexStatus(
            model_id=self.model_id,
            backend=IndexBackend.MILVUS.value,
            path=f"{index.uri} collection {index.collection}",
            n_index=len(index),
            n_store=state.n_faces,
            # faces up to the watermark were checked; above the store's highest there is none
            max_face_id_index=min(watermark.max_face_id, state.max_face_id) if watermark else 0,
            max_face_id_store=state.max_face_id,
            deletion_seq_index=watermark.deletion_seq if watermark else 0,
            deletion_seq_store=state.last_deletion_seq,
        )
