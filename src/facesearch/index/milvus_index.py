"""The ``milvus`` backend: one Milvus collection per embedding model, shared by every process.

A collection is named ``<prefix><model id, sanitised>_d<dim>`` (models never mix) and has
three fields: ``id`` (int64 primary key, ``faces.id``), ``gallery_id`` (int64 scalar, so
gallery-filtered and grant-restricted searches filter inside Milvus with
``gallery_id in [...]``) and ``vector`` (float32, metric IP). The index type is HNSW by
default (IVF_FLAT, IVF_SQ8, IVF_PQ or FLAT by setting); whatever it is, the candidates it
returns are re-scored with the exact cosine of the embeddings the store holds
(:class:`FaceSource`), so the similarities shown, and the calibration read from them, are
those of the model, not of a quantiser. A candidate the store no longer has is dropped.

Writes are upserts: several processes may add the same committed face (an enrollment and a
reconcile), and the result is one row. Errors from Milvus become :class:`IndexUnavailable`
subclasses (HTTP 503 with the reason): :class:`IndexUnreachable`, :class:`IndexTimeout`,
:class:`~facesearch.index.base.IndexMissing` (collection missing) and
:class:`IndexMismatch` (a collection of that name with another schema or dimension).

``pymilvus`` is imported only here, when the backend is configured (extra ``.[milvus]``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from facesearch.errors import ConfigurationError, IndexUnavailable, InvalidInput
from facesearch.index._arrays import as_ids, as_rows, as_vectors, check_k
from facesearch.index.base import IndexMissing
from facesearch.settings import MilvusIndexType, MilvusSettings
from facesearch.types import FloatArray, IntArray

__all__ = [
    "FaceSource",
    "IndexMismatch",
    "IndexTimeout",
    "IndexUnreachable",
    "MilvusIndex",
    "collection_name",
]

logger = logging.getLogger(__name__)

ID_FIELD = "id"
GALLERY_FIELD = "gallery_id"
VECTOR_FIELD = "vector"
MAX_TOPK = 16384
"""Milvus's largest ``limit`` of one search (``quotaAndLimits``: topK up to 16,384)."""
DEFAULT_RERANK = 256
"""Candidates fetched from an approximate Milvus index unless ``rerank`` is set (HNSW at
1M faces: re-scored recall@10 0.99, docs/scale.md)."""
LOAD_WAIT_S = 30.0
"""Seconds :meth:`MilvusIndex.open` retries loading a collection another process is creating."""
EXPR_CHUNK = 10_000
"""Ids (or gallery ids) per ``in [...]`` filter expression; larger filters are split and
their results merged (an expression is parsed by the proxy: keep it well under its size
limit)."""


class IndexUnreachable(IndexUnavailable):
    """The vector database cannot be reached (refused, DNS, TLS, authentication)."""

    code = "index_unreachable"


class IndexTimeout(IndexUnavailable):
    """A call to the vector database took longer than ``index.milvus.timeout_s``."""

    code = "index_timeout"


class IndexMismatch(IndexUnavailable):
    """The collection exists with another dimension or schema than this model needs."""

    code = "index_mismatch"


class FaceSource(Protocol):
    """What the store tells the index about faces (the store is the truth)."""

    def galleries_of(self, ids: IntArray) -> IntArray:
        """The gallery id of each of ``ids`` ``(n,)``, int64 ``(n,)``; -1 where the store
        holds no such face of this model."""
        ...

    def vectors_of(self, ids: IntArray) -> tuple[IntArray, FloatArray]:
        """``(ids found (m,) int64 ascending, their embeddings (m, dim) float32)``."""
        ...


def collection_name(prefix: str, model_id: str, dim: int) -> str:
    """``prefix`` + ``model_id`` with every character outside ``[A-Za-z0-9_]`` as ``_`` +
    ``_d<dim>``: ``facesearch_dlib_resnet_v1_d128``. Milvus names allow letters, digits
    and underscores, starting with a letter or underscore, at most 255 characters."""
    name = f"{prefix}{re.sub(r'[^A-Za-z0-9_]', '_', model_id)}_d{int(dim)}"
    if not re.match(r"^[A-Za-z_]", name):
        name = f"_{name}"
    if len(name) > 255:
        raise ConfigurationError(f"milvus collection name too long ({len(name)} > 255)")
    return name


def _chunks(values: Sequence[int] | IntArray, size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield [int(v) for v in values[start : start + size]]


def _map_error(op: str, uri: str, err: BaseException) -> IndexUnavailable:
    """The :class:`IndexUnavailable` subclass for an error from ``pymilvus`` or gRPC."""
    text = str(err)
    lowered = text.lower()
    code = getattr(err, "code", None)
    grpc_code = code() if callable(code) else None
    grpc_name = getattr(grpc_code, "name", "")
    if grpc_name == "DEADLINE_EXCEEDED" or "deadline" in lowered or "timeout" in lowered:
        return IndexTimeout(f"milvus {op} at {uri} timed out")
    if (
        grpc_name == "UNAVAILABLE"
        or "fail connecting" in lowered
        or "unavailable" in lowered
        or "connection refused" in lowered
        or "failed to connect" in lowered
    ):
        return IndexUnreachable(f"milvus at {uri} is unreachable ({op})")
    if "collection not found" in lowered or "can't find collection" in lowered:
        return IndexMissing(f"milvus collection is missing ({op})")
    if "not loaded" in lowered:
        return IndexUnavailable(f"milvus collection is not loaded ({op})")
    short = text.splitlines()[0][:200] if text else type(err).__name__
    return IndexUnavailable(f"milvus {op} failed: {short}")


class MilvusIndex:
    """A :class:`~facesearch.index.base.VectorIndex` over one Milvus collection.

    Build it, then :meth:`open` (connects, creates the collection when missing, checks its
    schema, loads it). Every method may raise :class:`IndexUnavailable` (or a subclass) when
    Milvus fails. Thread-safe: ``MilvusClient`` is, and the lock only guards (re)connecting.

    ``rerank``: candidates fetched per query from an approximate index (at least ``k``;
    ``None``: ``DEFAULT_RERANK``) and re-scored exactly from ``source``.
    """

    kind = "milvus"

    def __init__(
        self,
        settings: MilvusSettings,
        *,
        model_id: str,
        dim: int,
        source: FaceSource,
        rerank: int | None = None,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise InvalidInput(f"index dim must be a positive integer, got {dim!r}")
        if settings.index_type is MilvusIndexType.IVF_PQ and dim % settings.pq_m:
            raise ConfigurationError(
                f"index.milvus.pq_m ({settings.pq_m}) must divide the dimension ({dim})"
            )
        self._settings = settings
        self.model_id = model_id
        self._dim = dim
        self._source = source
        self._rerank = max(1, int(rerank)) if rerank is not None else DEFAULT_RERANK
        self.collection = collection_name(settings.collection_prefix, model_id, dim)
        self._client: Any = None
        self._lock = threading.Lock()
        self._timeout = float(settings.timeout_s)

    # --- connection -------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return self._settings.uri

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def approximate(self) -> bool:
        """Whether the index type returns approximate neighbours (all but FLAT)."""
        return self._settings.index_type is not MilvusIndexType.FLAT

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``client.<method>(collection, *args, timeout=..., **kwargs)``, errors mapped."""
        client = self._connect()
        try:
            return getattr(client, method)(self.collection, *args, timeout=self._timeout, **kwargs)
        except (InvalidInput, IndexUnavailable):
            raise
        except Exception as err:
            raise _map_error(method, self.uri, err) from err

    def _connect(self) -> Any:
        with self._lock:
            if self._client is not None:
                return self._client
            try:
                from pymilvus import MilvusClient
            except ImportError as err:
                raise ConfigurationError(
                    "index.backend is milvus but pymilvus is not installed "
                    "(pip install 'facesearch[milvus]')"
                ) from err
            s = self._settings
            kwargs: dict[str, Any] = {"uri": s.uri, "timeout": self._timeout}
            if s.token is not None:
                kwargs["token"] = s.token.get_secret_value()
            if s.user is not None:
                kwargs["user"] = s.user
                kwargs["password"] = s.password.get_secret_value() if s.password else ""
            try:
                self._client = MilvusClient(**kwargs)
            except Exception as err:
                raise _map_error("connect", s.uri, err) from err
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a broken channel: nothing left to do
                logger.debug("closing the milvus client failed", exc_info=True)

    def open(self, *, create: bool = True) -> bool:
        """Connect, create the collection when missing (``create``; else
        :class:`IndexMissing`), check its schema and load it. True when it was created."""
        created = False
        exists = bool(self._call("has_collection"))
        if not exists:
            if not create:
                raise IndexMissing(f"milvus collection {self.collection} does not exist")
            try:
                self._create()
                created = True
            except IndexUnavailable:
                # another process may have created it first (two servers starting at once)
                if not self._call("has_collection"):
                    raise
        if not created:
            self._check_schema()
        # another process creating the collection at this moment may not have built its
        # index yet (load refuses a collection without one): wait for it, briefly
        deadline = time.monotonic() + LOAD_WAIT_S
        while True:
            try:
                self._call("load_collection")
                return created
            except (IndexUnreachable, IndexTimeout):
                raise
            except IndexUnavailable as err:
                if time.monotonic() >= deadline:
                    raise
                logger.info("loading %s: %s; retrying", self.collection, err.message)
                time.sleep(0.5)

    def _create(self) -> None:
        from pymilvus import DataType, MilvusClient

        s = self._settings
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID_FIELD, DataType.INT64, is_primary=True)
        # a plain scalar: Milvus 2.3.5 answered gallery filters wrongly with it as the
        # partition key (tried here), and a scalar index races a second process's load
        schema.add_field(GALLERY_FIELD, DataType.INT64)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=self._dim)
        index_params = MilvusClient.prepare_index_params()
        index_params.add_index(
            field_name=VECTOR_FIELD,
            index_type=s.index_type.value,
            metric_type="IP",
            params=self._build_params(),
        )
        logger.info(
            "creating milvus collection %s (%s, dim %d) at %s",
            self.collection,
            s.index_type.value,
            self._dim,
            s.uri,
        )
        self._call(
            "create_collection",
            schema=schema,
            index_params=index_params,
            consistency_level=s.consistency_level.value,
        )

    def _build_params(self) -> dict[str, Any]:
        s = self._settings
        t = s.index_type
        if t is MilvusIndexType.HNSW:
            return {"M": s.hnsw_m, "efConstruction": s.hnsw_ef_construction}
        if t is MilvusIndexType.IVF_PQ:
            return {"nlist": s.nlist, "m": s.pq_m, "nbits": s.pq_nbits}
        if t in (MilvusIndexType.IVF_FLAT, MilvusIndexType.IVF_SQ8):
            return {"nlist": s.nlist}
        return {}

    def _search_params(self, limit: int) -> dict[str, Any]:
        s = self._settings
        t = s.index_type
        if t is MilvusIndexType.HNSW:
            params: dict[str, Any] = {"ef": max(s.hnsw_ef, limit)}
        elif t is MilvusIndexType.FLAT:
            params = {}
        else:
            params = {"nprobe": min(s.nprobe, s.nlist)}
        return {"metric_type": "IP", "params": params}

    def _check_schema(self) -> None:
        info = self._call("describe_collection")
        fields = {f["name"]: f for f in info.get("fields", [])}
        problems = []
        pk = fields.get(ID_FIELD)
        if pk is None or not pk.get("is_primary") or getattr(pk.get("type"), "name", "") != "INT64":
            problems.append(f"no int64 primary key {ID_FIELD!r}")
        if GALLERY_FIELD not in fields:
            problems.append(f"no field {GALLERY_FIELD!r}")
        vec = fields.get(VECTOR_FIELD)
        if vec is None:
            problems.append(f"no vector field {VECTOR_FIELD!r}")
        else:
            got = int(vec.get("params", {}).get("dim", -1))
            if got != self._dim:
                problems.append(f"vector dimension {got}, expected {self._dim}")
        if problems:
            raise IndexMismatch(f"milvus collection {self.collection}: " + "; ".join(problems))

    def drop(self) -> None:
        """Drop the collection (a rebuild then re-creates it); missing is fine."""
        self._call("drop_collection")

    def flush(self) -> None:
        """Seal growing segments (so their index is built); not needed for visibility."""
        self._call("flush")

    def health(self) -> str | None:
        """``None`` when the collection answers a count, else the reason (for ``/readyz``)."""
        try:
            self.count(bounded=True)
        except IndexUnavailable as err:
            return err.message
        return None

    # --- writes -----------------------------------------------------------------------
    def add(self, ids: IntArray, vectors: FloatArray) -> None:
        """Upsert ``vectors`` ``(n, dim)`` under ``ids`` ``(n,)`` with their gallery ids from
        the store; faces the store no longer holds are skipped (they were deleted).

        Unlike the FAISS indexes, an id already present is replaced rather than refused:
        another process (or a reconcile) may have added the same committed face."""
        id_arr, vec = as_rows(ids, vectors, self._dim)
        if id_arr.size == 0:
            return
        galleries = self._source.galleries_of(id_arr)
        keep = galleries >= 0
        if not bool(keep.all()):
            logger.info("skipping %d face(s) the store no longer holds", int((~keep).sum()))
        self.upsert(id_arr[keep], galleries[keep], vec[keep])

    def upsert(self, ids: IntArray, galleries: IntArray, vectors: FloatArray) -> None:
        """Write rows ``(id, gallery id, vector)`` as they are, in batches."""
        batch = self._settings.batch_size
        for start in range(0, len(ids), batch):
            rows = [
                {ID_FIELD: int(i), GALLERY_FIELD: int(g), VECTOR_FIELD: v}
                for i, g, v in zip(
                    ids[start : start + batch],
                    galleries[start : start + batch],
                    vectors[start : start + batch],
                    strict=True,
                )
            ]
            self._call("upsert", rows)

    def remove(self, ids: IntArray) -> int:
        """Delete ``ids`` ``(m,)``; returns how many were present. Unknown ids are ignored."""
        id_arr = np.unique(as_ids(ids))
        if id_arr.size == 0:
            return 0
        present = id_arr[self.contains(id_arr)]
        for chunk in _chunks(id_arr, EXPR_CHUNK):
            self._call("delete", ids=chunk)
        return int(present.size)

    # --- reads ------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.count()

    def count(self, *, bounded: bool = False) -> int:
        """Rows in the collection, at the configured consistency level, or with ``bounded``
        at ``Bounded`` (may lag by a few seconds, without waiting for the newest writes as
        a ``Strong`` read does: for gallery sizes and health checks)."""
        level = "Bounded" if bounded else self._settings.consistency_level.value
        rows = self._call(
            "query", filter=f"{ID_FIELD} >= 0", output_fields=["count(*)"], consistency_level=level
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def contains(self, ids: IntArray) -> NDArray[np.bool_]:
        """Whether each of ``ids`` ``(m,)`` is in the collection, bool ``(m,)``."""
        id_arr = as_ids(ids)
        found: set[int] = set()
        for chunk in _chunks(np.unique(id_arr), EXPR_CHUNK):
            rows = self._call(
                "query",
                filter=f"{ID_FIELD} in {chunk}",
                output_fields=[ID_FIELD],
                consistency_level=self._settings.consistency_level.value,
            )
            found.update(int(r[ID_FIELD]) for r in rows)
        return np.fromiter((int(i) in found for i in id_arr), dtype=np.bool_, count=id_arr.size)

    def ids(self) -> IntArray:
        """Every id in the collection, ascending, int64 ``(n,)`` (iterates the collection:
        a full scan, for reconciling at start-up and for tests)."""

        it = self._call(
            "query_iterator",
            batch_size=MAX_TOPK,
            filter=f"{ID_FIELD} >= 0",
            output_fields=[ID_FIELD],
            consistency_level=self._settings.consistency_level.value,
        )
        got: list[int] = []
        try:
            while True:
                page = it.next()
                if not page:
                    break
                got.extend(int(r[ID_FIELD]) for r in page)
        except Exception as err:
            raise _map_error("query_iterator", self.uri, err) from err
        finally:
            it.close()
        return np.unique(np.asarray(got, dtype=np.int64))

    def search(
        self,
        queries: FloatArray,
        k: int,
        *,
        subset: IntArray | None = None,
        galleries: Sequence[int] | None = None,
    ) -> tuple[FloatArray, IntArray]:
        """The ``k`` best faces by exact cosine for each of ``queries`` ``(q, dim)``.

        Returns float32 ``(q, k)`` scores (descending, re-scored from the store) and int64
        ``(q, k)`` ids, padded with ``-inf`` / ``-1``. ``galleries`` restricts the search to
        faces of those gallery ids (filtered inside Milvus); ``subset`` to those face ids
        (an ``id in [...]`` filter, split into chunks of :data:`EXPR_CHUNK` whose results
        are merged). Both may be given (their intersection).
        """
        k = check_k(k)
        q = as_vectors(queries, self._dim, name="queries")
        n_q = q.shape[0]
        out_scores = np.full((n_q, k), -np.inf, dtype=np.float32)
        out_ids = np.full((n_q, k), -1, dtype=np.int64)
        if n_q == 0:
            return out_scores, out_ids
        base: list[str] = []
        if galleries is not None:
            gal = sorted({int(g) for g in galleries})
            if not gal:
                return out_scores, out_ids
            base.append(f"{GALLERY_FIELD} in {gal}")
        if subset is not None:
            sub = np.unique(as_ids(subset, name="subset"))
            if sub.size == 0:
                return out_scores, out_ids
            filters = [
                " and ".join([*base, f"{ID_FIELD} in {ch}"]) for ch in _chunks(sub, EXPR_CHUNK)
            ]
        else:
            filters = [" and ".join(base)]
        limit = min(max(k, self._rerank) if self.approximate else k, MAX_TOPK)
        candidates: list[set[int]] = [set() for _ in range(n_q)]
        data = [row for row in q]
        for expr in filters:
            hits = self._call(
                "search",
                data=data,
                limit=limit,
                filter=expr,
                output_fields=[ID_FIELD],
                search_params=self._search_params(limit),
                consistency_level=self._settings.consistency_level.value,
            )
            for row, row_hits in enumerate(hits):
                candidates[row].update(int(h["id"]) for h in row_hits)
        everyone = np.unique(np.fromiter((i for c in candidates for i in c), dtype=np.int64))
        if everyone.size == 0:
            return out_scores, out_ids
        found_ids, vectors = self._source.vectors_of(everyone)
        position = {int(i): p for p, i in enumerate(found_ids)}
        for row, cands in enumerate(candidates):
            known = np.asarray(sorted(i for i in cands if i in position), dtype=np.int64)
            if known.size == 0:
                continue
            rows = np.fromiter((position[int(i)] for i in known), dtype=np.int64)
            exact = vectors[rows] @ q[row]
            order = np.lexsort((known, -exact))[:k]  # by score, ties by ascending id
            out_scores[row, : order.size] = exact[order]
            out_ids[row, : order.size] = known[order]
        return out_scores, out_ids
