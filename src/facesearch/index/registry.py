"""Index backends keyed by :class:`facesearch.settings.IndexBackend`.

Backend modules are imported when first asked for, so an optional engine's client is
only needed by deployments that configure it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from facesearch.errors import ConfigurationError
from facesearch.index.base import PersistentIndex, Watermark
from facesearch.settings import IndexBackend, IndexKind, IndexSettings

if TYPE_CHECKING:
    from facesearch.index.ivf_index import IVFParams
    from facesearch.index.milvus_index import FaceSource, MilvusIndex

__all__ = [
    "configure_backend",
    "create_index",
    "is_shared",
    "load_index",
    "open_shared_index",
    "saved_kind",
]


def _faiss_create(
    dim: int, kind: IndexKind, staging: Path | None, params: IVFParams | None
) -> PersistentIndex:
    if kind is IndexKind.IVF:
        from facesearch.index.ivf_index import FaissIVFIndex

        return FaissIVFIndex(dim, params=params, staging=staging)
    from facesearch.index.faiss_index import FaissFlatIndex

    return FaissFlatIndex(dim)


def _faiss_load(folder: Path, params: IVFParams | None) -> tuple[PersistentIndex, Watermark]:
    if saved_kind(folder) is IndexKind.IVF:
        from facesearch.index.ivf_index import FaissIVFIndex

        return FaissIVFIndex.load(folder, params)
    from facesearch.index.faiss_index import FaissFlatIndex

    return FaissFlatIndex.load(folder)


def saved_kind(folder: Path) -> IndexKind | None:
    """The kind of index saved in ``folder`` (by its watermark), ``None`` if unknown."""
    from facesearch.index.ivf_index import BACKEND_NAMES

    try:
        meta = json.loads((Path(folder) / "watermark.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    return IndexKind.IVF if meta.get("backend") in BACKEND_NAMES else IndexKind.FLAT


_CREATE: dict[
    IndexBackend, Callable[[int, IndexKind, Path | None, IVFParams | None], PersistentIndex]
] = {
    IndexBackend.FAISS: _faiss_create,
}
_LOAD: dict[IndexBackend, Callable[[Path, IVFParams | None], tuple[PersistentIndex, Watermark]]] = {
    IndexBackend.FAISS: _faiss_load,
}


def _milvus_open(
    settings: IndexSettings, model_id: str, dim: int, source: FaceSource
) -> MilvusIndex:
    from facesearch.index.milvus_index import MilvusIndex

    return MilvusIndex(
        settings.milvus, model_id=model_id, dim=dim, source=source, rerank=settings.rerank
    )


_SHARED: dict[IndexBackend, Callable[[IndexSettings, str, int, FaceSource], MilvusIndex]] = {
    IndexBackend.MILVUS: _milvus_open,
}
"""Shared backends: one index every process reads and writes (no folder, no local copy)."""


def _backend(backend: IndexBackend | str) -> IndexBackend:
    try:
        key = IndexBackend(backend)
    except ValueError as err:
        raise ConfigurationError(f"unknown index backend: {backend!r}") from err
    if key not in _CREATE and key not in _SHARED:  # pragma: no cover - enum member only
        raise ConfigurationError(f"index backend {key.value!r} is not implemented")
    return key


def is_shared(backend: IndexBackend | str) -> bool:
    """Whether ``backend`` is one index shared by every process (``milvus``), rather than
    a copy in each process saved under ``data_dir`` (``faiss``)."""
    return _backend(backend) in _SHARED


def _local(backend: IndexBackend | str) -> IndexBackend:
    key = _backend(backend)
    if key not in _CREATE:
        raise ConfigurationError(
            f"index backend {key.value!r} is shared: open it with open_shared_index"
        )
    return key


def open_shared_index(
    settings: IndexSettings, *, model_id: str, dim: int, source: FaceSource
) -> MilvusIndex:
    """The shared index of ``model_id`` (not yet connected: call its ``open``).

    ``source`` answers the gallery ids and stored embeddings of faces. Raises
    :class:`ConfigurationError` when ``settings.backend`` is not a shared backend, or its
    settings do not fit ``dim``.
    """
    key = _backend(settings.backend)
    if key not in _SHARED:
        raise ConfigurationError(f"index backend {key.value!r} is not a shared backend")
    return _SHARED[key](settings, model_id, dim, source)


def create_index(
    backend: IndexBackend | str,
    dim: int,
    *,
    kind: IndexKind = IndexKind.FLAT,
    staging: Path | None = None,
    params: IVFParams | None = None,
) -> PersistentIndex:
    """A new, empty index of ``dim``-dimensional vectors, of ``kind`` (``flat`` or ``ivf``;
    an ``ivf`` index keeps its re-rank file under ``staging`` until first saved, and
    ``params`` are its knobs).

    Raises :class:`ConfigurationError` for an unknown backend or ``kind`` ``auto`` (the
    caller resolves it), :class:`InvalidInput` for ``dim <= 0``.
    """
    if IndexKind(kind) is IndexKind.AUTO:
        raise ConfigurationError("create_index needs a concrete kind, not auto")
    return _CREATE[_local(backend)](dim, IndexKind(kind), staging, params)


def load_index(
    backend: IndexBackend | str, folder: Path, *, params: IVFParams | None = None
) -> tuple[PersistentIndex, Watermark]:
    """The index saved in ``folder`` (of whichever kind was saved) and its watermark.

    Raises :class:`ConfigurationError` for an unknown backend, :class:`IndexMissing`,
    :class:`IndexCorrupt` or :class:`IndexUnavailable` as the backend's ``load``.
    """
    return _LOAD[_local(backend)](Path(folder), params)


FAISS_BLAS_THRESHOLD = 8 * 128
"""FAISS's flat search switches from its per-query SIMD scan to blocked BLAS when the
batch's ``n_queries * dim`` reaches this (FAISS 1.15's default, 128,000, meant 1,000
queries of 128-d). Measured on 2 cores, one thread, 1M faces: one query 38 ms SIMD vs
130 ms BLAS, 8 queries 330 vs 165 ms, 64 queries 2.9 s vs 0.43 s; at 100k the two meet
near 4 queries. So batches of 8 or more 128-d queries go to BLAS. Results are exact
either way."""


def configure_backend(backend: IndexBackend | str, *, threads: int) -> None:
    """Process-wide tuning of a backend: ``threads`` for its search (FAISS: OpenMP threads)."""
    if _backend(backend) is IndexBackend.FAISS:
        import faiss

        faiss.omp_set_num_threads(max(1, threads))
        faiss.cvar.distance_compute_blas_threshold = FAISS_BLAS_THRESHOLD
