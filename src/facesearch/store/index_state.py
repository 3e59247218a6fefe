"""The watermark of a shared vector index, kept in the store where every process sees it.

A shared backend (Milvus) has no local file to hold its watermark. Row ``index_key`` (the
collection name) of ``index_watermarks`` says: every face of ``model_id`` with an id up to
``max_face_id`` that the store held when it was checked is in the collection, and every
deletion up to ``deletion_seq`` has been applied to it. Only a reconcile that checked the
collection moves it, and only forward (:meth:`IndexStateRepository.advance`), so processes
reconciling at once never move it back; a rebuild sets it (:meth:`IndexStateRepository.set`).

Face ids and deletion seqs become visible in increasing order (the store serializes its
writers: :mod:`facesearch.store._base`), so a face committed after a reconcile read the
store always has an id above the watermark that reconcile wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import BigInteger, Engine, String, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from facesearch.errors import StoreError
from facesearch.store.engine import WRITE_OPTION
from facesearch.store.tables import Base, Face, Image, UTCDateTime, utcnow
from facesearch.types import IntArray

__all__ = ["IndexStateRepository", "IndexWatermark", "SharedWatermark"]

_IN_CHUNK = 1000


class IndexWatermark(Base):
    """One shared index's watermark (see the module docstring)."""

    __tablename__ = "index_watermarks"

    index_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(64), nullable=False)
    max_face_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    deletion_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


@dataclass(frozen=True, slots=True)
class SharedWatermark:
    """``max_face_id``: every face up to it was checked in the index; ``deletion_seq``: the
    last ``face_deletions.seq`` applied to it; ``updated_at``: aware UTC."""

    index_key: str
    model_id: str
    max_face_id: int
    deletion_seq: int
    updated_at: datetime


class IndexStateRepository:
    """Reads and moves shared-index watermarks, and answers the face-to-gallery lookups a
    shared index needs. Each method is one short transaction on ``engine``; database
    errors become :class:`StoreError`."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def _tx(self, op: str, *, write: bool = False) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                if write:  # SQLite: BEGIN IMMEDIATE, so the read-then-write never deadlocks
                    session.connection(execution_options={WRITE_OPTION: True})
                yield session
        except SQLAlchemyError as err:
            raise StoreError(f"{op} failed: {type(err).__name__}") from err

    def get(self, index_key: str) -> SharedWatermark | None:
        """The watermark of ``index_key``, ``None`` when no reconcile has written one."""
        with self._tx("index_watermark") as s:
            row = s.get(IndexWatermark, index_key)
            return None if row is None else _record(row)

    def advance(
        self, index_key: str, *, model_id: str, max_face_id: int, deletion_seq: int
    ) -> SharedWatermark:
        """Move the watermark forward to at least ``(max_face_id, deletion_seq)`` (each
        field keeps the larger of the stored and the given value); creates the row."""
        with self._tx("advance_index_watermark", write=True) as s:
            row = s.get(IndexWatermark, index_key, with_for_update=True)
            if row is None:
                try:
                    with s.begin_nested():
                        row = IndexWatermark(
                            index_key=index_key,
                            model_id=model_id,
                            max_face_id=int(max_face_id),
                            deletion_seq=int(deletion_seq),
                            updated_at=utcnow(),
                        )
                        s.add(row)
                        s.flush()
                    return _record(row)
                except IntegrityError:  # another process created it just now
                    row = s.get(
                        IndexWatermark, index_key, with_for_update=True, populate_existing=True
                    )
                    if row is None:  # pragma: no cover - created then deleted at once
                        raise StoreError("advance_index_watermark failed: row vanished") from None
            row.max_face_id = max(int(row.max_face_id), int(max_face_id))
            row.deletion_seq = max(int(row.deletion_seq), int(deletion_seq))
            row.updated_at = utcnow()
            s.flush()
            return _record(row)

    def set(
        self, index_key: str, *, model_id: str, max_face_id: int, deletion_seq: int
    ) -> SharedWatermark:
        """Set the watermark (after a rebuild), whatever it was."""
        with self._tx("set_index_watermark", write=True) as s:
            row = s.get(IndexWatermark, index_key, with_for_update=True)
            if row is None:
                row = IndexWatermark(index_key=index_key, model_id=model_id)
                s.add(row)
            row.model_id = model_id
            row.max_face_id = int(max_face_id)
            row.deletion_seq = int(deletion_seq)
            row.updated_at = utcnow()
            s.flush()
            return _record(row)

    def clear(self, index_key: str) -> None:
        """Forget the watermark (the next start-up reconciles the whole collection)."""
        with self._tx("clear_index_watermark", write=True) as s:
            s.execute(
                update(IndexWatermark)
                .where(IndexWatermark.index_key == index_key)
                .values(max_face_id=0, deletion_seq=0, updated_at=utcnow())
            )

    def galleries_of(self, model_id: str, ids: IntArray) -> IntArray:
        """The gallery id of each face of ``ids`` ``(n,)`` (int64 ``(n,)``), -1 where the
        store holds no face of ``model_id`` with that id."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        found: dict[int, int] = {}
        unique = sorted({int(i) for i in ids})
        with self._tx("face_galleries") as s:
            for start in range(0, len(unique), _IN_CHUNK):
                chunk = unique[start : start + _IN_CHUNK]
                rows = s.execute(
                    select(Face.id, Image.gallery_id)
                    .join(Image, Image.id == Face.image_id)
                    .where(Face.model_id == model_id, Face.id.in_(chunk))
                ).all()
                found.update((int(r[0]), int(r[1])) for r in rows)
        return np.fromiter((found.get(int(i), -1) for i in ids), dtype=np.int64, count=ids.size)


def _record(row: IndexWatermark) -> SharedWatermark:
    return SharedWatermark(
        index_key=row.index_key,
        model_id=row.model_id,
        max_face_id=int(row.max_face_id),
        deletion_seq=int(row.deletion_seq),
        updated_at=row.updated_at,
    )
