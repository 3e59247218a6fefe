"""Approximate search with exact re-ranking: FAISS IVF with compressed codes.

Resident: an IVF index (inverted lists of compressed codes plus ids, and the coarse
centroids) and the id set. The codes (setting ``index.codes``, :class:`IVFCodes`):

- ``pq`` (default): product quantisation read by FAISS's 4-bit fast-scan kernels
  (``IndexIVFPQFastScan``), ``dim / 2`` sub-quantisers of 4 bits on the residual from the
  list's centroid: 32 bytes of code and 8 of id a 128-d face;
- ``sq8``: 8-bit scalar quantisation (``IndexIVFScalarQuantizer``, ``QT_8bit``): 128 bytes
  of code and 8 of id.

On disk, beside it: the **re-rank file**, float32 rows keyed by face id (row ``i`` is face
``i``; memory-mapped, so it stays in the page cache, not in the index's RAM). A search asks
the IVF for its best ``k' = max(rerank, k)`` candidates by the compressed estimate
(``nprobe`` lists), reads their full vectors from the re-rank file and ranks them by the
exact inner product: every similarity returned is the exact cosine, never the code's
estimate.

Why these codes (measured, docs/performance.md): on face embeddings fitted to real ones
what limits recall is the share of lists probed (the candidates above the search threshold
are mostly impostors anywhere in the space), so the cost that matters is the scan of a
probed list. Re-ranking ``k'`` = 1,024 candidates instead of 256, fast-scan PQ returns the
same candidates as SQ8 in less time (at 10M faces and nprobe 1,024: threshold recall 0.978
both, 7.7 ms against 17.9) and about half the resident memory (77 against 145 bytes a
face). HNSW costs ~780 bytes a face and was no better per millisecond.

- **Training** (coarse centroids by k-means, the codes' quantisers) uses a seeded sample of
  the stored vectors (read back from the re-rank file), ``nlist = nlist_for(n)`` lists.
  Below ``train_min`` faces (and below ``MIN_TRAIN``, 16 for ``pq``) the index is not
  trained and every search scans the re-rank rows exactly. Training happens on the add
  that reaches ``train_min`` (or by :meth:`train` after a bulk build) and is persisted
  with the index. **Retraining rule**:
  when the index holds more than ``RETRAIN_FACTOR`` (4) times the faces it was trained on,
  or its codes are not the ones the settings ask for, :attr:`needs_retraining` turns true;
  :class:`~facesearch.service.index_sync.IndexSync` then rebuilds it in the background
  (logged) while this one keeps serving.
- **Filters** (``subset``): at most ``exact_subset_max`` allowed faces (or an untrained
  index) are scanned exactly from the re-rank file, so the result is exactly the flat
  search's over those faces; larger subsets take the IVF's best ``k'`` candidates among
  the subset's faces, re-ranked like unfiltered searches: through FAISS's
  ``IDSelectorBatch`` inside the IVF search, or, for a subset of at least
  ``OVERFETCH_SHARE`` of the index, by filtering an unfiltered candidate list of a growing
  depth (:func:`~facesearch.index._arrays.search_members`: the same candidates, without a
  selector of that many ids).
- **Persistence**: ``ivf-<sha16>.index`` (ids and the serialised IVF, checksummed),
  ``vectors-<token>.f32`` (the re-rank rows, written in place and fsynced before each
  watermark, so every id a watermark counts has its row on disk; ids are never reused,
  so a row never changes) and ``watermark.json``. The re-rank file is a view of the store:
  a load checks its size and that a sample of rows are unit vectors, and
  :class:`IndexSync` compares a sample with the store's embeddings; a disagreement is
  :class:`IndexCorrupt`, which makes the service rebuild from the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from facesearch.atomicfile import fsync_dir, write_atomically
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
from facesearch.index.faiss_index import OVERFETCH_SHARE, WATERMARK_FILE
from facesearch.settings import IVFCodes
from facesearch.types import FloatArray, IntArray

__all__ = [
    "BACKEND_NAMES",
    "DEFAULT_RERANK",
    "NPROBE_SHARE",
    "RETRAIN_FACTOR",
    "FaissIVFIndex",
    "IVFCodes",
    "IVFParams",
    "nlist_for",
]

logger = logging.getLogger(__name__)

_BACKEND_BY_CODES = {IVFCodes.SQ8: "faiss-ivf-sq8-rerank", IVFCodes.PQ: "faiss-ivf-pq-rerank"}
BACKEND_NAMES = frozenset(_BACKEND_BY_CODES.values())
"""Backend names of saved IVF indexes, one a kind of codes (SQ8's is the name from before
PQ codes, so an older version still loads an SQ8 index saved by this one)."""
NPROBE_SHARE = 0.25
"""Share of the lists a search visits unless ``nprobe`` is set. Recall is set by the share
of lists probed (the impostors above the search threshold lie anywhere): a quarter
returned 99.9% of the candidates at or above the FMR 1e-4 threshold at 1M faces (1,024 of
4,096 lists) and 99.94% at 10M (4,096 of 16,384, PQ codes; docs/performance.md), where a
fixed 1,024 returned 97.8%."""
MIN_TRAIN = {IVFCodes.PQ: 16, IVFCodes.SQ8: 1}
"""Fewest faces each kind of codes trains on: 4-bit PQ learns 16 centroids a
sub-quantiser, and FAISS's k-means refuses fewer points than centroids."""
DEFAULT_RERANK = {IVFCodes.PQ: 1024, IVFCodes.SQ8: 256}
"""Candidates re-ranked (``k'``) unless set: what each kind of codes needs to return the
candidates its probed lists hold (at 1M fitted faces, docs/performance.md: re-ranking more
did not raise recall)."""
_FORMAT = 1
RETRAIN_FACTOR = 4.0
"""Retrain when the index holds more than this many times the faces it was trained on."""
_TRAIN_PER_LIST = 32  # k-means sample: 32 vectors a list (FAISS warns below 39; fine)
_NORM_TOLERANCE = 1e-3
_LUT_BUDGET = 1 << 28  # bytes of fast-scan float look-up tables one FAISS search may build
_CHUNK = 65536


def nlist_for(n: int) -> int:
    """Inverted lists for ``n`` faces: the power of two nearest ``4 * sqrt(n)``, within
    [1, 16384] and at most ``n / 8`` (FAISS's rule of thumb is 4 to 16 * sqrt(n))."""
    if n <= 0:
        return 1
    target = 4.0 * math.sqrt(n)
    p = 2 ** round(math.log2(max(target, 1.0)))
    return int(max(1, min(p, 16384, max(1, n // 8))))


@dataclass(frozen=True, slots=True)
class IVFParams:
    """Search and training knobs (settings ``index.*``; not persisted with the index).

    ``codes``: the codes a (re)training builds (a loaded index keeps the codes it was
    saved with until it is retrained). ``nprobe``: lists visited a search (``None``:
    ``NPROBE_SHARE`` of the index's lists). ``rerank``:
    candidates re-ranked exactly (``k'``; at least ``k``; ``None``: ``DEFAULT_RERANK`` of
    the index's codes). ``train_min``: faces before the index trains.
    ``exact_subset_max``: largest filter scanned exactly instead of through the IVF.
    """

    codes: IVFCodes = IVFCodes.PQ
    nprobe: int | None = None
    rerank: int | None = None
    train_min: int = 20_000
    exact_subset_max: int = 200_000

    def __post_init__(self) -> None:
        for name in ("nprobe", "rerank", "train_min", "exact_subset_max"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be >= 1")
        try:
            object.__setattr__(self, "codes", IVFCodes(self.codes))
        except ValueError as err:
            raise InvalidInput(f"unknown IVF codes {self.codes!r}") from err


class _RowFile:
    """float32 ``(capacity, dim)`` rows in a file, row = face id; grows by doubling."""

    def __init__(self, path: Path, dim: int, *, capacity: int = 0, create: bool) -> None:
        self.path = path
        self.dim = dim
        self._row_bytes = 4 * dim
        if create:
            with open(path, "wb") as f:
                f.truncate(max(capacity, 1024) * self._row_bytes)
        size = path.stat().st_size
        if size % self._row_bytes:
            raise IndexCorrupt("re-rank file size is not a whole number of rows")
        self.capacity = size // self._row_bytes
        self._map: np.memmap[Any, np.dtype[np.float32]] = np.memmap(
            path, dtype=np.float32, mode="r+", shape=(self.capacity, dim)
        )

    def ensure(self, max_id: int) -> None:
        if max_id < self.capacity:
            return
        new = max(2 * self.capacity, max_id + 1)
        self._map.flush()
        del self._map
        with open(self.path, "r+b") as f:
            f.truncate(new * self._row_bytes)
        self.capacity = new
        self._map = np.memmap(self.path, dtype=np.float32, mode="r+", shape=(new, self.dim))

    def write(self, ids: IntArray, vectors: FloatArray) -> None:
        self.ensure(int(ids.max()))
        self._map[ids] = vectors

    def read(self, ids: IntArray) -> FloatArray:
        return np.take(self._map.view(np.ndarray), ids, axis=0)

    def flush(self) -> None:
        self._map.flush()
        with open(self.path, "r+b") as f:
            os.fsync(f.fileno())


class FaissIVFIndex:
    """IVF candidates (PQ fast-scan or SQ8 codes), exact re-ranking from a memory-mapped
    re-rank file; thread-safe.

    ``dim``: vector dimension. The re-rank file starts in a private temporary folder made
    under ``staging`` (default: the system's temporary folder; best on the index folder's
    file system) and is moved into the first folder the index is saved to.
    """

    def __init__(
        self, dim: int, *, params: IVFParams | None = None, staging: Path | None = None
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise InvalidInput(f"index dim must be a positive integer, got {dim!r}")
        self._dim = dim
        self.params = params or IVFParams()
        if self.params.codes is IVFCodes.PQ and dim % 2:
            raise InvalidInput(f"pq codes need an even dimension, got {dim}; use sq8")
        self._owns_folder = True
        if staging is not None:
            Path(staging).mkdir(parents=True, exist_ok=True)
        where = Path(tempfile.mkdtemp(prefix=".facesearch-ivf-", dir=staging))
        path = where / f"vectors-{os.urandom(6).hex()}.f32"
        self._rows = _RowFile(path, dim, create=True)
        self._ivf: Any = None
        self._n_trained = 0
        self._ids = IdSet()
        self._defer_training = False
        self._lock = threading.RLock()
        self._save_lock = threading.Lock()

    # --- state ---------------------------------------------------------------------------
    kind = "ivf"

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def __repr__(self) -> str:
        return f"FaissIVFIndex(dim={self._dim}, n={len(self)}, trained_on={self._n_trained})"

    @property
    def trained(self) -> bool:
        return self._ivf is not None

    @property
    def n_trained(self) -> int:
        """Faces the index was trained on (0: not trained)."""
        return self._n_trained

    @property
    def nlist(self) -> int:
        return int(self._ivf.nlist) if self._ivf is not None else 0

    @property
    def codes(self) -> IVFCodes | None:
        """The codes of the trained IVF (``None``: not trained)."""
        return _codes_of(self._ivf) if self._ivf is not None else None

    @property
    def needs_retraining(self) -> bool:
        """Trained on fewer than ``1 / RETRAIN_FACTOR`` of the faces it now holds, or with
        other codes than ``params.codes`` (a loaded index keeps the codes it was saved with)."""
        with self._lock:
            return self._ivf is not None and (
                len(self._ids) > RETRAIN_FACTOR * self._n_trained
                or self.codes is not self.params.codes
            )

    @property
    def vectors_path(self) -> Path:
        return self._rows.path

    @contextlib.contextmanager
    def bulk(self) -> Any:
        """Add many faces without training on the way; :meth:`train` once at the end."""
        self._defer_training = True
        try:
            yield self
        finally:
            self._defer_training = False
        if self._train_due():
            self.train()

    # --- writes --------------------------------------------------------------------------
    def add(self, ids: IntArray, vectors: FloatArray) -> None:
        """Add ``vectors`` ``(n, dim)`` under ``ids`` ``(n,)``; see :class:`VectorIndex`.

        The rows go to the re-rank file, then (trained) their codes to the IVF, without
        retraining. The add that reaches ``train_min`` faces trains the index.
        """
        id_arr, vec = as_rows(ids, vectors, self._dim)
        if id_arr.size == 0:
            return
        with self._lock:
            self._ids.refuse_present(id_arr)
            self._rows.write(id_arr, vec)
            if self._ivf is not None:
                self._ivf.add_with_ids(vec, id_arr)
            self._ids.add(id_arr)
            if not self._defer_training and self._train_due():
                self.train()

    def remove(self, ids: IntArray) -> int:
        """Remove ``ids``; returns how many were present. Unknown ids are ignored (their
        re-rank rows stay, unused: ids are never reused)."""
        id_arr = as_ids(ids)
        if id_arr.size == 0:
            return 0
        with self._lock:
            hit = self._ids.present(id_arr)
            if hit.size == 0:
                return 0
            if self._ivf is not None:
                removed = int(self._ivf.remove_ids(faiss.IDSelectorBatch(hit)))
                if removed != hit.size:  # pragma: no cover - faiss and the id set disagree
                    raise IndexCorrupt(f"removed {removed} vectors, expected {hit.size}")
            self._ids.remove(hit)
            return int(hit.size)

    def _train_due(self) -> bool:
        """Untrained, and holding ``train_min`` faces (at least ``MIN_TRAIN`` of the codes)."""
        with self._lock:
            need = max(self.params.train_min, MIN_TRAIN[self.params.codes])
            return self._ivf is None and len(self._ids) >= need

    def train(self, *, seed: int = 0) -> None:
        """(Re)train on a seeded sample of the held vectors and index them all anew.

        ``nlist_for(n)`` lists, ``32 * nlist`` training vectors at most, the codes of
        ``params.codes``. Logged. Raises :class:`InvalidInput` (changing nothing) when the
        index holds fewer than ``MIN_TRAIN`` faces for those codes.
        """
        with self._lock:
            ids = self._ids.to_array()
            if ids.size < MIN_TRAIN[self.params.codes]:
                raise InvalidInput(
                    f"{self.params.codes} codes train on at least "
                    f"{MIN_TRAIN[self.params.codes]} faces, the index holds {ids.size}"
                )
            nlist = nlist_for(ids.size)
            rng = np.random.default_rng(seed)
            n_train = min(ids.size, _TRAIN_PER_LIST * nlist)
            sample = np.sort(rng.choice(ids, size=n_train, replace=False))
            ivf = _new_ivf(self._dim, nlist, self.params.codes)
            ivf.cp.niter = 20
            ivf.cp.seed = seed
            ivf.train(self._rows.read(sample))
            for s in range(0, ids.size, _CHUNK):
                chunk = ids[s : s + _CHUNK]
                ivf.add_with_ids(self._rows.read(chunk), chunk)
            self._ivf = ivf
            self._n_trained = int(ids.size)
            logger.info(
                "trained IVF index: %d lists, %s codes, on %d of %d faces",
                nlist,
                self.params.codes,
                n_train,
                ids.size,
            )

    # --- reads ---------------------------------------------------------------------------
    def search(
        self, queries: FloatArray, k: int, *, subset: IntArray | None = None
    ) -> tuple[FloatArray, IntArray]:
        """Top-``k`` by exact inner product among the IVF's re-ranked candidates; see
        :class:`VectorIndex`. Scores are exact (float32 dot products of the stored rows).

        ``subset``: at most ``exact_subset_max`` faces (or any subset while untrained) are
        scanned exactly, so the result is the flat search's over them.
        Raises :class:`IndexCorrupt` when a re-rank row is not a unit vector.
        """
        k = check_k(k)
        q = as_vectors(queries, self._dim, name="queries")
        sub = as_ids(subset, name="subset") if subset is not None else None
        scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        labels = np.full((q.shape[0], k), -1, dtype=np.int64)
        with self._lock:
            if sub is not None:
                sub = unique_ids(sub)
                if (
                    self._ivf is not None
                    and sub.size > self.params.exact_subset_max
                    and sub.size >= OVERFETCH_SHARE * len(self._ids)
                ):
                    return self._search_overfetch(q, k, sub, scores, labels)
                sub = sub[self._ids.contains(sub)]
            n = len(self._ids) if sub is None else int(sub.size)
            if q.shape[0] == 0 or n == 0:
                return scores, labels
            if self._ivf is None or (sub is not None and sub.size <= self.params.exact_subset_max):
                cand = self._ids.to_array() if sub is None else sub
                return self._scan(q, k, cand, scores, labels)
            k_prime = self._k_prime(k, n)
            params = self._search_params()
            selector = None
            if sub is not None:
                # keep `selector` referenced until the search returns (params.sel is a raw
                # pointer that does not own it)
                selector = faiss.IDSelectorBatch(sub)
                params.sel = selector
            _, cand_ids = self._ivf_search(q, k_prime, params)
            del selector
            return self._rerank(q, k, cand_ids, scores, labels)

    def _search_overfetch(
        self, q: FloatArray, k: int, sub: IntArray, scores: FloatArray, labels: IntArray
    ) -> tuple[FloatArray, IntArray]:
        """The IVF's best ``k'`` candidates among ``sub`` (sorted; ids not in the index are
        never returned), taken from unfiltered candidate lists of a growing depth, then
        re-ranked. Caller holds the lock and has checked the IVF is trained."""
        assert self._ivf is not None
        n = len(self._ids)
        k_prime = self._k_prime(k, n)
        params = self._search_params()
        _, cand_ids = search_members(
            lambda depth: self._ivf_search(q, depth, params), sub, k_prime, n
        )
        return self._rerank(q, k, cand_ids, scores, labels)

    def _ivf_search(self, q: FloatArray, k: int, params: Any) -> tuple[FloatArray, IntArray]:
        """``self._ivf.search`` in chunks of queries small enough for fast-scan's look-up
        tables: FAISS 1.15 indexes them with 32-bit offsets and crashes (SIGSEGV) once
        ``queries * nprobe * M2 * 16`` reaches 2^31 (found at 10M faces, 400 queries,
        nprobe 8,192); each chunk's float tables stay under ``_LUT_BUDGET`` bytes. Caller
        holds the lock."""
        ivf: Any = self._ivf
        assert ivf is not None
        step = q.shape[0]
        if isinstance(ivf, faiss.IndexIVFPQFastScan):
            step = max(1, _LUT_BUDGET // (int(params.nprobe) * int(ivf.M2) * int(ivf.ksub) * 4))
        if q.shape[0] <= step:
            return ivf.search(q, k, params=params)  # type: ignore[no-any-return]
        parts = [ivf.search(q[s : s + step], k, params=params) for s in range(0, len(q), step)]
        return (
            np.concatenate([d for d, _ in parts]),
            np.concatenate([i for _, i in parts]),
        )

    @property
    def nprobe(self) -> int:
        """Lists a search visits: ``params.nprobe``, or ``NPROBE_SHARE`` of the lists, at most
        ``nlist`` (0 while untrained)."""
        with self._lock:
            nlist = self.nlist
            return min(self.params.nprobe or max(1, round(NPROBE_SHARE * nlist)), nlist)

    @property
    def rerank(self) -> int:
        """Candidates a search re-ranks (before ``k`` and the faces searched bound them):
        ``params.rerank``, or ``DEFAULT_RERANK`` of the trained codes (of ``params.codes``
        while untrained)."""
        with self._lock:
            return self.params.rerank or DEFAULT_RERANK[self.codes or self.params.codes]

    def _search_params(self) -> Any:
        """FAISS IVF search parameters with :attr:`nprobe` lists. Caller holds the lock."""
        params = faiss.SearchParametersIVF()
        params.nprobe = self.nprobe
        return params

    def _k_prime(self, k: int, n: int) -> int:
        """Candidates to re-rank: :attr:`rerank`, at least ``k``, at most the ``n`` faces
        searched."""
        return min(max(self.rerank, k), n)

    def _scan(
        self, q: FloatArray, k: int, cand: IntArray, scores: FloatArray, labels: IntArray
    ) -> tuple[FloatArray, IntArray]:
        """Exact top-k over the rows of ``cand`` (sorted ids), in chunks."""
        best_s = np.full((q.shape[0], 0), -np.inf, dtype=np.float32)
        best_i = np.full((q.shape[0], 0), -1, dtype=np.int64)
        for s in range(0, cand.size, _CHUNK):
            ids = cand[s : s + _CHUNK]
            rows = self._checked_rows(ids)
            # a few queries: einsum's own loop (BLAS's thread start-up cost more than the
            # product on the loaded 2-core machine: 15 ms against 2 for 10,000 rows)
            sims = np.einsum("nd,qd->qn", rows, q) if q.shape[0] <= 4 else q @ rows.T
            all_s = np.concatenate([best_s, sims], axis=1)
            all_i = np.concatenate([best_i, np.broadcast_to(ids, sims.shape)], axis=1)
            top = _top_k(all_s, all_i, k)
            best_s = np.take_along_axis(all_s, top, axis=1)
            best_i = np.take_along_axis(all_i, top, axis=1)
        m = best_s.shape[1]
        scores[:, :m] = best_s
        labels[:, :m] = best_i
        return scores, labels

    def _rerank(
        self, q: FloatArray, k: int, cand_ids: IntArray, scores: FloatArray, labels: IntArray
    ) -> tuple[FloatArray, IntArray]:
        valid = cand_ids >= 0  # the IVF pads with -1 when it has fewer than k' candidates
        uniq, inverse = np.unique(cand_ids[valid], return_inverse=True)
        rows = self._checked_rows(uniq)
        which_query = np.nonzero(valid)[0]
        sims = np.full(cand_ids.shape, -np.inf, dtype=np.float32)
        sims[valid] = np.einsum("id,id->i", rows[inverse], q[which_query])
        top = _top_k(sims, cand_ids, k)
        m = top.shape[1]
        scores[:, :m] = np.take_along_axis(sims, top, axis=1)
        labels[:, :m] = np.take_along_axis(cand_ids, top, axis=1)
        labels[~np.isfinite(scores)] = -1
        return scores, labels

    def _checked_rows(self, ids: IntArray) -> FloatArray:
        rows = self._rows.read(ids)
        norms = np.einsum("ij,ij->i", rows, rows)
        if rows.size and not bool(np.all(np.abs(norms - 1.0) < 2 * _NORM_TOLERANCE)):
            raise IndexCorrupt("the re-rank file holds rows that are not unit vectors")
        return rows

    def vectors(self, ids: IntArray) -> FloatArray:
        """The re-rank rows of ``ids`` (present ids only), float32 ``(m, dim)``."""
        id_arr = as_ids(ids)
        with self._lock:
            if not bool(self._ids.contains(id_arr).all()):
                raise InvalidInput("ids not in the index")
            return self._rows.read(id_arr)

    def ids(self) -> IntArray:
        with self._lock:
            return self._ids.to_array()

    def contains(self, ids: IntArray) -> NDArray[np.bool_]:
        id_arr = as_ids(ids)
        with self._lock:
            return self._ids.contains(id_arr)

    # --- persistence ---------------------------------------------------------------------
    def save(self, folder: Path, watermark: Watermark) -> None:
        """Atomically replace the saved index in ``folder``; see :class:`PersistentIndex`.

        The re-rank file is fsynced first (moved into ``folder`` from a private temporary
        folder, or copied from another index folder), then the checksummed index file is
        written, then ``watermark.json`` names both; older files go last.
        """
        folder = Path(folder)
        with self._save_lock:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with self._lock:
                    self._check_watermark(watermark, InvalidInput)
                    self._rows.flush()
                    self._adopt_rows(folder)
                    ids = self._ids.to_array()
                    ivf = (
                        faiss.serialize_index(self._ivf)
                        if self._ivf is not None
                        else np.empty(0, np.uint8)
                    )
                    n_trained, nlist = self._n_trained, self.nlist
                    codes = str(self.codes) if self.codes is not None else None
                    backend = _BACKEND_BY_CODES[self.codes or self.params.codes]
                    rows_name, capacity = self._rows.path.name, self._rows.capacity
                header = np.asarray([ids.size], dtype=np.int64).tobytes()
                blob = header + ids.tobytes() + ivf.tobytes()
                del ivf
                digest = hashlib.sha256(blob).hexdigest()
                name = f"ivf-{digest[:16]}.index"
                meta = watermark.to_dict() | {
                    "format": _FORMAT,
                    "backend": backend,
                    "index_file": name,
                    "index_bytes": len(blob),
                    "index_sha256": digest,
                    "vectors_file": rows_name,
                    "vectors_rows": capacity,
                    "n_trained": n_trained,
                    "nlist": nlist,
                    "codes": codes,
                }
                write_atomically(folder / name, blob)
                del blob
                text = json.dumps(meta, sort_keys=True, indent=2) + "\n"
                write_atomically(folder / WATERMARK_FILE, text.encode("utf-8"))
                for stale in [*folder.glob("ivf-*.index"), *folder.glob("faiss*.index")]:
                    if stale.name != name:
                        stale.unlink(missing_ok=True)
                for stale in folder.glob("vectors-*.f32"):
                    if stale.name != rows_name:
                        stale.unlink(missing_ok=True)
            except OSError as err:
                raise IndexUnavailable(f"could not save the index: {err.strerror}") from err
        logger.info(
            "saved IVF index: %d vectors, trained on %d, %d lists",
            watermark.n_vectors,
            n_trained,
            nlist,
        )

    def _adopt_rows(self, folder: Path) -> None:
        """Put the re-rank file in ``folder`` (held lock): moved from a private folder,
        copied from another index's folder (then this index writes to the copy)."""
        src = self._rows.path
        if src.parent.resolve() == folder.resolve():
            return
        dst = folder / src.name
        if self._owns_folder:
            shutil.move(str(src), dst)
            with contextlib.suppress(OSError):
                src.parent.rmdir()
            self._owns_folder = False
            self._rows = _RowFile(dst, self._dim, create=False)
        else:
            tmp = folder / f".{src.name}.tmp"
            shutil.copyfile(src, tmp)
            with open(tmp, "r+b") as f:
                os.fsync(f.fileno())
            os.replace(tmp, dst)
            self._rows = _RowFile(dst, self._dim, create=False)
        fsync_dir(folder)

    @classmethod
    def load(cls, folder: Path, params: IVFParams | None = None) -> tuple[FaissIVFIndex, Watermark]:
        """Read what :meth:`save` wrote in ``folder``; see :class:`PersistentIndex`.

        Also :class:`IndexCorrupt` when the re-rank file is missing, too short for the
        highest id, or a seeded sample of its rows are not unit vectors.
        """
        folder = Path(folder)
        wm_path = folder / WATERMARK_FILE
        if not wm_path.is_file():
            if any(folder.glob("ivf-*.index")):
                raise IndexCorrupt("saved index has no watermark")
            raise IndexMissing("no saved index")
        try:
            text = wm_path.read_text("utf-8")
            meta = json.loads(text)
            watermark = Watermark.from_json(text)
        except (InvalidInput, ValueError) as err:
            raise IndexCorrupt(f"watermark unreadable: {err}") from err
        except OSError as err:
            raise IndexUnavailable(f"could not read the saved index: {err.strerror}") from err
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise IndexCorrupt("watermark has an unknown format")
        if meta.get("backend") not in BACKEND_NAMES:
            raise IndexCorrupt(f"watermark names another backend: {meta.get('backend')!r}")
        names = [meta.get("index_file"), meta.get("vectors_file")]
        if not all(isinstance(n, str) and n and Path(n).name == n for n in names):
            raise IndexCorrupt("watermark names an invalid index file")
        index_path, rows_path = folder / str(names[0]), folder / str(names[1])
        if not index_path.is_file() or not rows_path.is_file():
            raise IndexCorrupt("watermark names files that are missing")
        try:
            blob = index_path.read_bytes()
        except OSError as err:
            raise IndexUnavailable(f"could not read the saved index: {err.strerror}") from err
        if meta.get("index_bytes") != len(blob):
            raise IndexCorrupt("index file size does not match its watermark")
        if hashlib.sha256(blob).hexdigest() != meta.get("index_sha256"):
            raise IndexCorrupt("index file checksum does not match its watermark")
        n_ids = int(np.frombuffer(blob[:8], dtype=np.int64)[0]) if len(blob) >= 8 else -1
        if n_ids < 0 or len(blob) < 8 + 8 * n_ids:
            raise IndexCorrupt("index file is truncated")
        ids = np.frombuffer(blob[8 : 8 + 8 * n_ids], dtype=np.int64).copy()
        raw = np.frombuffer(blob[8 + 8 * n_ids :], dtype=np.uint8)
        if ids.size and (int(ids[0]) < 0 or bool((np.diff(ids) <= 0).any())):
            raise IndexCorrupt("index holds negative, unsorted or repeated ids")
        self = cls.__new__(cls)
        self._dim = watermark.dim
        self.params = params or IVFParams()
        self._owns_folder = False
        self._ivf = None
        if raw.size:
            try:
                ivf = faiss.deserialize_index(raw.copy())
            except RuntimeError as err:
                raise IndexCorrupt("index file is not a readable faiss index") from err
            if _codes_of(ivf) is None or ivf.ntotal != ids.size:
                raise IndexCorrupt("index file does not hold an IVF index of its ids")
            self._ivf = ivf
        self._n_trained = int(meta.get("n_trained", 0)) if raw.size else 0
        try:
            self._rows = _RowFile(rows_path, watermark.dim, create=False)
        except (OSError, ValueError) as err:
            raise IndexCorrupt(f"re-rank file unreadable: {err}") from err
        if ids.size and self._rows.capacity <= int(ids[-1]):
            raise IndexCorrupt("re-rank file is shorter than the highest id")
        self._ids = IdSet(ids)
        self._defer_training = False
        self._lock = threading.RLock()
        self._save_lock = threading.Lock()
        self._check_watermark(watermark, IndexCorrupt)
        if ids.size:
            sample = np.random.default_rng(0).choice(ids, size=min(1000, ids.size), replace=False)
            self._checked_rows(np.sort(sample))
        logger.info("loaded IVF index: %d vectors, trained on %d", len(self), self._n_trained)
        return self, watermark

    def discard(self) -> None:
        """Delete the private folder of an index never saved (an abandoned rebuild)."""
        with self._lock:
            if self._owns_folder:
                shutil.rmtree(self._rows.path.parent, ignore_errors=True)

    def _check_watermark(self, watermark: Watermark, error: type[Exception]) -> None:
        with self._lock:
            n = len(self._ids)
            if watermark.dim != self._dim:
                raise error(f"watermark dim {watermark.dim} != index dim {self._dim}")
            if watermark.n_vectors != n:
                raise error(f"watermark n_vectors {watermark.n_vectors} != index size {n}")
            max_id = self._ids.max() or 0
            if watermark.max_face_id < max_id:
                raise error(f"watermark max_face_id {watermark.max_face_id} < highest id {max_id}")


def _new_ivf(dim: int, nlist: int, codes: IVFCodes) -> Any:
    """An untrained IVF of ``nlist`` lists with ``codes`` (L2 on unit vectors ranks like the
    inner product) over a flat coarse quantiser."""
    quantizer = faiss.IndexFlatL2(dim)
    ivf: Any
    if codes is IVFCodes.PQ:
        # dim/2 sub-quantisers of 4 bits, encoding the residual from the list's centroid
        # (FAISS's index_factory "IVF<nlist>,PQ<m>x4fs" builds the same)
        ivf = faiss.IndexIVFPQFastScan(quantizer, dim, nlist, dim // 2, 4, faiss.METRIC_L2)
        ivf.by_residual = True
    else:
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_L2
        )
    return ivf  # FAISS's Python wrapper keeps `quantizer` referenced by `ivf`


def _codes_of(ivf: Any) -> IVFCodes | None:
    """The codes of a FAISS index, ``None`` when it is not an IVF this module builds."""
    if isinstance(ivf, faiss.IndexIVFPQFastScan):
        return IVFCodes.PQ
    if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
        return IVFCodes.SQ8
    return None


def _top_k(sims: FloatArray, ids: IntArray, k: int) -> NDArray[np.intp]:
    """Column positions of the ``k`` best of each row, best first (ties: lower id first)."""
    m = min(k, sims.shape[1])
    if m == 0:
        return np.empty((sims.shape[0], 0), dtype=np.intp)
    part = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < sims.shape[1] else None
    cols = part if part is not None else np.broadcast_to(np.arange(sims.shape[1]), sims.shape)
    s = np.take_along_axis(sims, cols, axis=1)
    i = np.take_along_axis(ids, cols, axis=1)
    order = np.lexsort((i, -s), axis=1)
    return np.take_along_axis(cols, order, axis=1)
