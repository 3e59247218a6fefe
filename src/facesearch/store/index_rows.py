"""The store's queries for the vector index: the index is rebuilt from these."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select

from facesearch.errors import InvalidInput
from facesearch.store import _rows
from facesearch.store.database import Database
from facesearch.store.records import IndexState
from facesearch.store.tables import Face, FaceDeletion, Image


class IndexRowsRepository:
    """What the vector index reads: face ids, embeddings, deletions and change marks."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def face_galleries(
        self, model_id: str, *, batch_size: int = 100_000
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every face of the model and its gallery: ``(face ids (n,), gallery ids (n,))``,
        int64, ascending face id. Read in batches of ``batch_size`` faces (keyset pages,
        each its own short transaction), so a million faces never sit in one result set.
        """
        if batch_size <= 0:
            raise InvalidInput("batch_size must be positive")
        ids: list[NDArray[np.int64]] = []
        galleries: list[NDArray[np.int64]] = []
        last = 0
        while True:
            with self._db.transaction("face_galleries") as s:
                result = s.connection().execute(
                    select(Face.id, Image.gallery_id)
                    .join(Image, Image.id == Face.image_id)
                    .where(Face.model_id == model_id, Face.id > last)
                    .order_by(Face.id)
                    .limit(batch_size)
                )
                # the driver's plain tuples of two integers: SQLAlchemy's Row objects and
                # np.asarray over them cost 20 us a row (2 s for 100,000), these ~1 us
                page = np.array(result.cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
                result.close()
            if not len(page):
                break
            ids.append(page[:, 0])
            galleries.append(page[:, 1])
            last = int(ids[-1][-1])
        if not ids:
            return _rows.int_array([]), _rows.int_array([])
        return np.concatenate(ids), np.concatenate(galleries)

    def count_in_galleries(self, model_id: str, gallery_ids: Sequence[int]) -> int:
        """How many faces of the model are in any of the galleries (one ``COUNT``)."""
        n = 0
        with self._db.transaction("count_in_galleries") as s:
            for chunk in _rows.chunks(sorted(set(gallery_ids))):
                n += int(
                    s.scalar(
                        select(func.count())
                        .select_from(Face)
                        .join(Image, Image.id == Face.image_id)
                        .where(Face.model_id == model_id, Image.gallery_id.in_(chunk))
                    )
                    or 0
                )
        return n

    # --- vector-index support ------------------------------------------------------------
    def index_state(self, model_id: str) -> IndexState:
        with self._db.transaction("index_state") as s:
            max_id, n_faces = s.execute(
                select(func.coalesce(func.max(Face.id), 0), func.count()).where(
                    Face.model_id == model_id
                )
            ).one()
            last_seq = s.scalar(
                select(func.coalesce(func.max(FaceDeletion.seq), 0)).where(
                    FaceDeletion.model_id == model_id
                )
            )
            return IndexState(
                max_face_id=int(max_id), n_faces=int(n_faces), last_deletion_seq=int(last_seq or 0)
            )

    def change_marks(self, model_id: str) -> tuple[int, int]:
        """``(highest face id, last deletion seq)`` of the model: two index lookups, cheap
        enough to ask before every search (unlike :meth:`index_state`, which counts)."""
        with self._db.transaction("change_marks") as s:
            max_id = s.scalar(
                select(func.coalesce(func.max(Face.id), 0)).where(Face.model_id == model_id)
            )
            last_seq = s.scalar(
                select(func.coalesce(func.max(FaceDeletion.seq), 0)).where(
                    FaceDeletion.model_id == model_id
                )
            )
            return int(max_id or 0), int(last_seq or 0)

    def face_ids(self, model_id: str, *, after: int = 0) -> NDArray[np.int64]:
        """Face ids of the model greater than ``after``, ascending, ``(n,)`` int64."""
        with self._db.transaction("face_ids") as s:
            ids = s.scalars(
                select(Face.id).where(Face.model_id == model_id, Face.id > after).order_by(Face.id)
            )
            return _rows.int_array(list(ids))

    def iter_embeddings(
        self, model_id: str, *, ids: Sequence[int] | None = None, batch_size: int = 10000
    ) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
        """Batches of ``(ids (n,) int64, vectors (n, d) float32 C-contiguous)``, ascending id.

        All faces of the model, or with ``ids`` only those of them (unknown ids and ids
        of other models are skipped). Each batch is read in its own short transaction.
        """
        if batch_size <= 0:
            raise InvalidInput("batch_size must be positive")
        columns = (Face.id, Face.embedding, Face.embedding_dim)
        if ids is not None:
            for chunk in _rows.chunks(ids, min(batch_size, _rows.IN_CHUNK)):
                with self._db.transaction("iter_embeddings") as s:
                    rows = s.execute(
                        select(*columns)
                        .where(Face.model_id == model_id, Face.id.in_(chunk))
                        .order_by(Face.id)
                    ).all()
                if rows:
                    yield _rows.decode_embeddings(model_id, rows)
            return
        last = 0
        while True:
            with self._db.transaction("iter_embeddings") as s:
                rows = s.execute(
                    select(*columns)
                    .where(Face.model_id == model_id, Face.id > last)
                    .order_by(Face.id)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            last = int(rows[-1][0])
            yield _rows.decode_embeddings(model_id, rows)

    def deletions_since(self, model_id: str, seq: int) -> tuple[NDArray[np.int64], int]:
        """Face ids of the model deleted after ``seq`` (in deletion order), and the new seq.

        The new seq is the highest ``face_deletions.seq`` returned, or ``seq`` if none.
        """
        with self._db.transaction("deletions_since") as s:
            rows = s.execute(
                select(FaceDeletion.seq, FaceDeletion.face_id)
                .where(FaceDeletion.model_id == model_id, FaceDeletion.seq > int(seq))
                .order_by(FaceDeletion.seq)
            ).all()
        if not rows:
            return _rows.int_array([]), int(seq)
        return _rows.int_array([int(r.face_id) for r in rows]), int(rows[-1].seq)

    def count_faces(self, model_id: str | None = None) -> int:
        with self._db.transaction("count_faces") as s:
            query = select(func.count()).select_from(Face)
            if model_id is not None:
                query = query.where(Face.model_id == model_id)
            return int(s.scalar(query) or 0)
