"""Exact inner-product search with FAISS: ``IndexIDMap2(IndexFlatIP(dim))``.

Vectors are L2-normalised upstream, so scores are cosine similarities in ``[-1, 1]``.
Saved as two files in a folder: ``faiss.index`` (``faiss.serialize_index`` bytes) and
``watermark.json`` (the :class:`Watermark` plus the sha256 and size of the index file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from facesearch.atomicfile import write_atomically
from facesearch.errors import IndexUnavailable, InvalidInput
from facesearch.index._arrays import (
    as_ids,
    as_rows,
    as_vectors,
    check_k,
    search_members,
    unique_ids,
)
from facesearch.index._idset import IdSet
from facesearch.index.base import IndexCorrupt, IndexMissing, Watermark
from facesearch.types import FloatArray, IntArray

__all__ = ["INDEX_FILE", "WATERMARK_FILE", "FaissFlatIndex", "saved_index_path"]

logger = logging.getLogger(__name__)

#: Share of the index a ``subset`` must hold to be applied after an unfiltered search
#: (over-fetching) rather than by a FAISS id selector (see ``FaissFlatIndex.search``).
OVERFETCH_SHARE = 0.1

INDEX_FILE = "faiss.index"
"""Legacy fixed name; saves now name the file after its content (see :func:`_index_name`)."""
WATERMARK_FILE = "watermark.json"
_FORMAT = 1
_BACKEND_NAME = "faiss-idmap2-flat-ip"


class FaissFlatIndex:
    """Exact (brute-force) cosine search over int64 face ids; thread-safe.

    ``add``, ``remove``, ``search`` and the read accessors hold one re-entrant lock, so
    searches never run against a concurrent write (faiss parallelises each search
    internally with OpenMP).
    """

    def __init__(self, dim: int) -> None:
        """An empty index of ``dim``-dimensional vectors; ``dim`` must be > 0."""
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise InvalidInput(f"index dim must be a positive integer, got {dim!r}")
        self._init(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), IdSet())

    kind = "flat"

    def _init(self, index: Any, id_set: IdSet) -> None:
        self._dim: int = int(index.d)
        self._index = index
        self._ids = id_set
        self._lock = threading.RLock()
        self._save_lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        with self._lock:
            return int(self._index.ntotal)

    def __repr__(self) -> str:
        return f"FaissFlatIndex(dim={self._dim}, n={len(self)})"

    # --- writes --------------------------------------------------------------------------
    def add(self, ids: IntArray, vectors: FloatArray) -> None:
        """Add ``vectors`` ``(n, dim)`` under ``ids`` ``(n,)``; see :class:`VectorIndex`."""
        id_arr, vec = as_rows(ids, vectors, self._dim)
        if id_arr.size == 0:
            return
        with self._lock:
            self._ids.refuse_present(id_arr)
            self._index.add_with_ids(vec, id_arr)
            self._ids.add(id_arr)

    def remove(self, ids: IntArray) -> int:
        """Remove ``ids``; returns how many were present. Unknown ids are ignored."""
        id_arr = as_ids(ids)
        if id_arr.size == 0:
            return 0
        with self._lock:
            hit = self._ids.present(id_arr)
            if hit.size == 0:
                return 0
            removed = int(self._index.remove_ids(faiss.IDSelectorBatch(hit)))
            self._ids.remove(hit)
            if removed != hit.size:  # pragma: no cover - faiss and the id set disagree
                raise IndexCorrupt(f"removed {removed} vectors, expected {hit.size}")
            return removed

    # --- reads ---------------------------------------------------------------------------
    def search(
        self, queries: FloatArray, k: int, *, subset: IntArray | None = None
    ) -> tuple[FloatArray, IntArray]:
        """Exact top-``k`` by inner product; see :class:`VectorIndex`.

        ``subset`` is applied inside faiss (``IDSelectorBatch``), so the result equals a
        brute-force scan over exactly those ids; unknown subset ids are ignored. A subset
        of at least ``OVERFETCH_SHARE`` of the index is applied after an unfiltered search
        instead (:func:`search_members`: widened until every row has ``k`` of its ids), the
        same answer without a selector of that many ids (building it cost about 100 ms for
        990,000 ids).
        """
        k = check_k(k)
        q = as_vectors(queries, self._dim, name="queries")
        sub = as_ids(subset, name="subset") if subset is not None else None
        scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        labels = np.full((q.shape[0], k), -1, dtype=np.int64)
        with self._lock:
            n = int(self._index.ntotal)
            if sub is not None:
                sub = unique_ids(sub)
                n = min(n, int(sub.size))
            if q.shape[0] == 0 or n == 0:
                return scores, labels
            k_eff = min(k, n)  # faiss would pad anyway; this bounds its work and memory
            if sub is None:
                d, i = self._index.search(q, k_eff)
            elif sub.size >= OVERFETCH_SHARE * self._index.ntotal:
                d, i = search_members(
                    lambda depth: self._index.search(q, depth), sub, k_eff, self._index.ntotal
                )
            else:
                # keep `selector` referenced until the search returns: params.sel is a
                # raw pointer that does not own it
                selector = faiss.IDSelectorBatch(sub)
                params = faiss.SearchParameters()
                params.sel = selector
                d, i = self._index.search(q, k_eff, params=params)
        scores[:, :k_eff] = d
        labels[:, :k_eff] = i
        scores[labels < 0] = -np.inf
        return scores, labels

    def ids(self) -> IntArray:
        """The ids present, ascending int64 ``(n,)``."""
        with self._lock:
            return self._ids.to_array()

    def contains(self, ids: IntArray) -> NDArray[np.bool_]:
        """Whether each of ``ids`` ``(m,)`` is present, bool ``(m,)``."""
        id_arr = as_ids(ids)
        with self._lock:
            return self._ids.contains(id_arr)

    # --- persistence ---------------------------------------------------------------------
    def save(self, folder: Path, watermark: Watermark) -> None:
        """Atomically replace the saved index in ``folder`` with this one.

        The index goes to a new file named after its sha256 (temp file, fsync, rename),
        then ``watermark.json``, which names that file, is replaced the same way; only then
        are older index files removed. A crash at any point leaves a watermark that names
        a complete index file (the old one until the watermark is replaced), so a kill
        during a save costs a catch-up, never a rebuild. Raises :class:`InvalidInput` when
        ``watermark`` disagrees with this index.
        """
        folder = Path(folder)
        with self._save_lock:
            with self._lock:
                self._check_watermark(watermark, InvalidInput)
                blob = faiss.serialize_index(self._index)
            digest = hashlib.sha256(blob.data).hexdigest()
            name = _index_name(digest)
            meta = watermark.to_dict() | {
                "format": _FORMAT,
                "backend": _BACKEND_NAME,
                "index_file": name,
                "index_bytes": int(blob.size),
                "index_sha256": digest,
            }
            try:
                folder.mkdir(parents=True, exist_ok=True)
                write_atomically(folder / name, blob.data)
                del blob
                text = json.dumps(meta, sort_keys=True, indent=2) + "\n"
                write_atomically(folder / WATERMARK_FILE, text.encode("utf-8"))
                for stale in [*folder.glob("faiss*.index"), *folder.glob("ivf-*.index")]:
                    if stale.name != name:
                        stale.unlink(missing_ok=True)
                for stale in folder.glob("vectors-*.f32"):  # an approximate index's
                    stale.unlink(missing_ok=True)
            except OSError as err:
                raise IndexUnavailable(f"could not save the index: {err.strerror}") from err
        logger.info("saved index: %d vectors, dim %d", watermark.n_vectors, watermark.dim)

    @classmethod
    def load(cls, folder: Path) -> tuple[FaissFlatIndex, Watermark]:
        """Read what :meth:`save` wrote in ``folder``; see :class:`PersistentIndex`."""
        folder = Path(folder)
        wm_path = folder / WATERMARK_FILE
        if not wm_path.is_file():
            if any(folder.glob("faiss*.index")):
                raise IndexCorrupt("saved index has no watermark")
            raise IndexMissing("no saved index")
        try:
            wm_bytes = wm_path.read_bytes()
        except OSError as err:
            raise IndexUnavailable(f"could not read the saved index: {err.strerror}") from err
        try:
            meta = json.loads(wm_bytes.decode("utf-8"))
            watermark = Watermark.from_json(wm_bytes.decode("utf-8"))
        except (InvalidInput, ValueError) as err:
            raise IndexCorrupt(f"watermark unreadable: {err}") from err
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise IndexCorrupt("watermark has an unknown format")
        if meta.get("backend") != _BACKEND_NAME:
            raise IndexCorrupt(f"watermark names another backend: {meta.get('backend')!r}")
        index_name = meta.get("index_file", INDEX_FILE)
        if not isinstance(index_name, str) or Path(index_name).name != index_name:
            raise IndexCorrupt("watermark names an invalid index file")
        index_path = folder / index_name
        if not index_path.is_file():
            raise IndexCorrupt("watermark has no saved index")
        try:
            blob = np.fromfile(index_path, dtype=np.uint8)
        except OSError as err:
            raise IndexUnavailable(f"could not read the saved index: {err.strerror}") from err
        if meta.get("index_bytes") != blob.size:
            raise IndexCorrupt("index file size does not match its watermark")
        if hashlib.sha256(blob.data).hexdigest() != meta.get("index_sha256"):
            raise IndexCorrupt("index file checksum does not match its watermark")

        try:
            raw = faiss.deserialize_index(blob)
        except RuntimeError as err:
            raise IndexCorrupt("index file is not a readable faiss index") from err
        del blob
        if not isinstance(raw, faiss.IndexIDMap2) or not isinstance(
            faiss.downcast_index(raw.index), faiss.IndexFlatIP
        ):
            raise IndexCorrupt(f"index file holds {type(raw).__name__}, not IDMap2(FlatIP)")
        id_arr = faiss.vector_to_array(raw.id_map).astype(np.int64, copy=False)
        id_arr.sort()
        if id_arr.size and (int(id_arr[0]) < 0 or bool((id_arr[1:] == id_arr[:-1]).any())):
            raise IndexCorrupt("index holds negative or repeated ids")
        self = cls.__new__(cls)
        self._init(raw, IdSet(id_arr))
        self._check_watermark(watermark, IndexCorrupt)
        logger.info("loaded index: %d vectors, dim %d", len(self), self.dim)
        return self, watermark

    def _check_watermark(self, watermark: Watermark, error: type[Exception]) -> None:
        with self._lock:
            n = int(self._index.ntotal)
            if watermark.dim != self._dim:
                raise error(f"watermark dim {watermark.dim} != index dim {self._dim}")
            if watermark.n_vectors != n:
                raise error(f"watermark n_vectors {watermark.n_vectors} != index size {n}")
            max_id = self._ids.max() or 0
            if watermark.max_face_id < max_id:
                raise error(f"watermark max_face_id {watermark.max_face_id} < highest id {max_id}")


def _index_name(digest: str) -> str:
    return f"faiss-{digest[:16]}.index"


def saved_index_path(folder: Path) -> Path:
    """The index file the watermark in ``folder`` names (for tools and tests)."""
    meta = json.loads((Path(folder) / WATERMARK_FILE).read_text("utf-8"))
    return Path(folder) / str(meta.get("index_file", INDEX_FILE))
