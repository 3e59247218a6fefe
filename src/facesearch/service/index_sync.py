"""Keeps one model's vector index in step with the store (the store is the truth).

The index is saved under ``data_dir/index/<model_id>/`` with a :class:`Watermark` (highest
face id, vector count, last applied ``face_deletions.seq``). On open it is reconciled:
rebuilt when missing or corrupt; otherwise deletions logged since its watermark are applied
and the id sets of store and index are compared, adding what the index lacks and dropping
what the store no longer has. Faces are added to the index only after their transaction
commits, so a crash at any instant loses nothing that a reconcile cannot restore.

The kind of index (``index.kind``): ``flat`` (exact), ``ivf`` (approximate candidates,
re-ranked exactly; :mod:`facesearch.index.ivf_index`) or ``auto``: ``ivf`` from
``auto_crossover`` faces up, ``flat`` below half of it (the gap keeps a gallery near the
crossover from switching back and forth). When the kind in use is not the one wanted, or an
``ivf`` index has grown past its retraining rule, a new index is built from the store in a
background thread while the current one keeps serving (and taking writes); it is then
reconciled with the store under the lock, swapped in and saved.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facesearch.errors import IndexUnavailable
from facesearch.index import IndexCorrupt, IndexMissing, PersistentIndex, Watermark
from facesearch.index.ivf_index import FaissIVFIndex, IVFParams
from facesearch.index.registry import create_index, load_index
from facesearch.service.membership import GalleryMembership
from facesearch.settings import IndexBackend, IndexKind
from facesearch.store import Store
from facesearch.types import FloatArray, IntArray

logger = logging.getLogger(__name__)


class _Cancelled(Exception):
    """A background rebuild was cancelled by :meth:`IndexSync.close`."""


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
        kind: IndexKind = IndexKind.FLAT,
        auto_crossover: int = 100_000,
        ivf_params: IVFParams | None = None,
    ) -> None:
        self._store = store
        self.model_id = model_id
        self.dim = dim
        self._backend = backend
        self.folder = folder
        self._save_every = save_every
        self.kind = IndexKind(kind)
        self._crossover = auto_crossover
        self._ivf_params = ivf_params
        self._lock = threading.RLock()
        self._index: PersistentIndex | None = None
        # the gallery of each indexed face, for gallery-restricted searches; told of every
        # change to the serving index below, under the lock
        self._members = GalleryMembership(
            store.index_rows, store.index_watermarks.galleries_of, model_id
        )
        self._deletion_seq = 0
        self._known_max_id = 0
        self._unsaved = 0
        self._builder: threading.Thread | None = None
        self._cancel = threading.Event()
        self.last_switch: ReconcileReport | None = None

    # --- kinds ----------------------------------------------------------------------
    def wanted_kind(self, n_faces: int) -> IndexKind:
        """The kind of index a gallery of ``n_faces`` should have now (``auto`` resolved)."""
        if self.kind is not IndexKind.AUTO:
            return self.kind
        if n_faces >= self._crossover:
            return IndexKind.IVF
        if n_faces < self._crossover // 2:
            return IndexKind.FLAT
        current = self.current_kind
        return current if current is not None else IndexKind.FLAT

    @property
    def current_kind(self) -> IndexKind | None:
        """The kind of the index serving now (``None`` before :meth:`open`)."""
        index = self._index
        if index is None:
            return None
        return IndexKind.IVF if isinstance(index, FaissIVFIndex) else IndexKind.FLAT

    def _new_index(self, kind: IndexKind) -> PersistentIndex:
        return create_index(
            self._backend,
            self.dim,
            kind=kind,
            staging=self.folder.parent,
            params=self._ivf_params,
        )

    # --- opening --------------------------------------------------------------------
    def open(self) -> ReconcileReport:
        """Load the saved index and reconcile it with the store (or rebuild it)."""
        with self._lock:
            try:
                index, watermark = load_index(self._backend, self.folder, params=self._ivf_params)
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
            if not self._rows_match_store(index):
                logger.warning("index for %s disagrees with the store; rebuilding", self.model_id)
                return self._rebuild("re-rank vectors disagree with the store")
            self._index = index
            self._members.reset()
            self._deletion_seq = watermark.deletion_seq
            state = self._store.index_rows.index_state(self.model_id)
            if (
                state.max_face_id == watermark.max_face_id
                and state.n_faces == watermark.n_vectors
                and state.last_deletion_seq == watermark.deletion_seq
            ):
                self._known_max_id = state.max_face_id
                report = ReconcileReport("loaded", "watermark matches the store", 0, 0)
            else:
                added, removed = self._full_diff()
                self.save()
                report = ReconcileReport("caught-up", "index was behind the store", added, removed)
            self._maybe_switch()
            return report

    def _rows_match_store(self, index: PersistentIndex, sample: int = 32) -> bool:
        """Whether a seeded sample of an ``ivf`` index's re-rank rows equal the store's
        embeddings (the re-rank file is never trusted over the store). Flat: True."""
        if not isinstance(index, FaissIVFIndex) or len(index) == 0:
            return True
        ids = index.ids()
        pick = np.sort(
            np.random.default_rng().choice(ids, size=min(sample, ids.size), replace=False)
        )
        for got_ids, vectors in self._store.index_rows.iter_embeddings(
            self.model_id, ids=pick.tolist()
        ):
            if not np.array_equal(index.vectors(got_ids), vectors):
                return False
        return True

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> ReconcileReport:
        """Rebuild from the store; ``progress(done, total)`` after each batch of faces."""
        with self._lock:
            return self._rebuild("requested", progress)

    def _rebuild(
        self, reason: str, progress: Callable[[int, int], None] | None = None
    ) -> ReconcileReport:
        n_faces = self._store.index_rows.index_state(self.model_id).n_faces
        kind = self.wanted_kind(n_faces)
        logger.info("rebuilding %s %s index from the store (%s)", self.model_id, kind, reason)
        index, seq, added = self._build(
            kind, None if progress is None else lambda done: progress(done, max(done, n_faces))
        )
        self._index = index
        self._members.reset()
        self._deletion_seq = seq
        self._known_max_id = int(index.ids().max()) if len(index) else 0
        self.save()
        return ReconcileReport("rebuilt", reason, added, 0)

    def _build(
        self, kind: IndexKind, progress: Callable[[int], None] | None = None
    ) -> tuple[PersistentIndex, int, int]:
        """A new ``kind`` index of every stored face: ``(index, deletion seq read before the
        faces, faces added)``. An ``ivf`` index trains once, at the end."""
        index = self._new_index(kind)
        _, seq = self._store.index_rows.deletions_since(self.model_id, 0)
        added = 0
        bulk = index.bulk() if isinstance(index, FaissIVFIndex) else contextlib.nullcontext()
        try:
            with bulk:
                for ids, vectors in self._store.index_rows.iter_embeddings(self.model_id):
                    if self._cancel.is_set():
                        raise _Cancelled
                    index.add(ids, vectors)
                    added += len(ids)
                    if progress is not None:
                        progress(added)
        except BaseException:
            if isinstance(index, FaissIVFIndex):
                index.discard()
            raise
        return index, seq, added

    def _maybe_switch(self) -> None:
        """Start a background rebuild when the kind in use is not the one wanted, or an
        ``ivf`` index needs retraining (more than 4x the faces it was trained on, or codes
        other than the settings ask for)."""
        index = self._index
        if index is None or (self._builder is not None and self._builder.is_alive()):
            return
        wanted = self.wanted_kind(len(index))
        if wanted is not self.current_kind:
            reason = f"gallery of {len(index):,} faces wants a {wanted} index"
        elif isinstance(index, FaissIVFIndex) and index.needs_retraining:
            wanted_codes = index.params.codes
            reason = (
                f"ivf index has {index.codes} codes, the settings ask for {wanted_codes}: "
                "retraining"
                if index.codes is not wanted_codes
                else f"ivf index trained on {index.n_trained:,} faces now holds "
                f"{len(index):,}: retraining"
            )
        else:
            return
        logger.info("%s index: %s; rebuilding in the background", self.model_id, reason)
        self._builder = threading.Thread(
            target=self._background_build,
            args=(wanted, reason),
            name=f"index-rebuild-{self.model_id}",
            daemon=True,
        )
        self._builder.start()

    def _background_build(self, kind: IndexKind, reason: str) -> None:
        try:
            index, seq, _ = self._build(kind)
            with self._lock:
                added, removed, seq = self._diff_into(index, seq)
                self._index = index
                self._members.reset()
                self._deletion_seq = seq
                self._known_max_id = max(self._known_max_id, int(index.ids().max(initial=0)))
                self.save()
                self.last_switch = ReconcileReport("rebuilt", reason, len(index), removed)
            logger.info(
                "%s index now %s (%s; +%d -%d caught up)",
                self.model_id,
                kind,
                reason,
                added,
                removed,
            )
        except _Cancelled:
            logger.info("%s background rebuild cancelled", self.model_id)
        except Exception:
            logger.exception(
                "%s background index rebuild failed; the old index serves on", self.model_id
            )

    def wait_for_rebuild(self, timeout: float | None = None) -> bool:
        """Wait for a background rebuild to finish; True when none is running."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
            return not builder.is_alive()
        return True

    def close(self) -> None:
        """Cancel a background rebuild (its files are removed) and save the index."""
        self._cancel.set()
        self.wait_for_rebuild()
        self._cancel.clear()
        if self._index is not None:
            self.save()

    def _full_diff(self) -> tuple[int, int]:
        """Apply logged deletions, then make the index's id set equal the store's."""
        added, removed, self._deletion_seq = self._diff_into(self._require(), self._deletion_seq)
        self._members.reset()
        return added, removed

    def _diff_into(self, index: PersistentIndex, since_seq: int) -> tuple[int, int, int]:
        """Apply deletions logged after ``since_seq`` to ``index``, then make its id set
        equal the store's: ``(added, removed, deletion seq applied)``."""
        gone, seq = self._store.index_rows.deletions_since(self.model_id, since_seq)
        removed = index.remove(gone) if len(gone) else 0
        store_ids = self._store.index_rows.face_ids(self.model_id)
        index_ids = index.ids()
        extra = np.setdiff1d(index_ids, store_ids, assume_unique=True)
        if len(extra):
            removed += index.remove(extra)
        missing = np.setdiff1d(store_ids, index_ids, assume_unique=True)
        added = 0
        if len(missing):
            for ids, vectors in self._store.index_rows.iter_embeddings(
                self.model_id, ids=missing.tolist()
            ):
                index.add(ids, vectors)
                added += len(ids)
        self._known_max_id = int(store_ids.max()) if len(store_ids) else 0
        logger.info("reconciled %s index: +%d -%d", self.model_id, added, removed)
        return added, removed, seq

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
            self._members.added(ids)
            if len(ids):
                self._known_max_id = max(self._known_max_id, int(np.max(ids)))
            self._count_change(len(ids))

    def apply_deletions(self) -> int:
        """Remove from the index every face the store logged as deleted since we last looked."""
        with self._lock:
            index = self._require()
            gone, seq = self._store.index_rows.deletions_since(self.model_id, self._deletion_seq)
            removed = index.remove(gone) if len(gone) else 0
            self._members.removed(gone)
            self._deletion_seq = seq
            self._count_change(max(removed, 1) if len(gone) else 0)
            return removed

    def catch_up(self) -> None:
        """Pick up faces and deletions written to the store by other processes."""
        with self._lock:
            index = self._require()
            max_id, deletion_seq = self._store.index_rows.change_marks(self.model_id)
            if deletion_seq != self._deletion_seq:
                self.apply_deletions()
            if max_id > self._known_max_id:
                fresh = self._store.index_rows.face_ids(self.model_id, after=self._known_max_id)
                fresh = fresh[~index.contains(fresh)] if len(fresh) else fresh
                for ids, vectors in self._store.index_rows.iter_embeddings(
                    self.model_id, ids=fresh.tolist()
                ):
                    index.add(ids, vectors)
                    self._members.added(ids)
                self._known_max_id = max_id
                self._count_change(len(fresh))

    def _count_change(self, n: int) -> None:
        self._unsaved += n
        if self._unsaved >= self._save_every:
            self.save()
        if n:
            self._maybe_switch()

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
        self,
        queries: FloatArray,
        k: int,
        *,
        subset: IntArray | None = None,
        galleries: Sequence[int] | None = None,
    ) -> tuple[FloatArray, IntArray]:
        """Top-``k`` ``(scores (m, k), ids (m, k))`` among all faces, the faces of
        ``subset`` ``(n,)`` or, when only ``galleries`` (gallery ids) is given, the indexed
        faces of those galleries (:class:`GalleryMembership`)."""
        with self._lock:
            index = self._require()
            return index.search(queries, k, subset=self._subset_of(index, subset, galleries))

    def search_counted(
        self,
        queries: FloatArray,
        k: int,
        *,
        subset: IntArray | None = None,
        galleries: Sequence[int] | None = None,
    ) -> tuple[FloatArray, IntArray, int]:
        """:meth:`search` and the number of faces it searched (all, those of ``subset`` the
        index holds, or the indexed faces of ``galleries``), read together under the lock
        so that a concurrent add or removal cannot fall between them: a result never holds
        more or fewer faces than it says.

        A gallery filter that covers every indexed face (one gallery holding them all, or
        a user granted every gallery) searches without a filter: same result, without
        FAISS's per-id selector."""
        with self._lock:
            index = self._require()
            if subset is None and galleries is not None:
                subset = self._subset_of(index, None, galleries)  # indexed faces only
                n = len(index) if subset is None else len(subset)
            else:
                n = len(index) if subset is None else int(np.count_nonzero(index.contains(subset)))
            scores, ids = index.search(queries, k, subset=subset)
            return scores, ids, n

    def _subset_of(
        self, index: PersistentIndex, subset: IntArray | None, galleries: Sequence[int] | None
    ) -> IntArray | None:
        """The ids to search: ``subset`` when given; else the indexed faces of
        ``galleries`` from the gallery map, ``None`` (no filter) when they are every
        indexed face or no galleries are given. Caller holds the lock."""
        if subset is not None or galleries is None:
            return subset
        if self._members.covers(galleries, len(index), index.contains):
            return None
        return self._members.face_ids(galleries, index.contains)

    def __len__(self) -> int:
        return len(self._require())

    def health(self) -> str | None:
        """Why the index cannot serve now (for ``/readyz``), ``None`` when it can."""
        return None if self._index is not None else "the vector index is not open yet"

    def status(self) -> IndexStatus:
        with self._lock:
            index = self._require()
            state = self._store.index_rows.index_state(self.model_id)
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
