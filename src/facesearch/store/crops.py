"""Reading the loose face crops kept for re-embedding (``faces.crop``, migration 0009).

A repository over a session factory (not a Store mixin): the crops are written with their
face by :meth:`Store.add_image` and deleted with it (erasure, retention, deletes), since
they live in the face's own row; this class only reads them, for re-embedding a gallery
with another model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker, undefer

from facesearch.errors import StoreError
from facesearch.store.tables import Face, Image
from facesearch.types import BoundingBox


@dataclass(frozen=True, slots=True)
class StoredCrop:
    """One face's kept crop: JPEG bytes and the face's box in the crop's pixels."""

    face_id: int
    model_id: str
    jpeg: bytes
    box: BoundingBox


@dataclass(frozen=True, slots=True)
class CropCounts:
    """Faces of one model, and how many of them have a crop (can be re-embedded)."""

    model_id: str
    faces: int
    with_crop: int


class FaceCrops:
    """Read access to kept crops. ``sessions``: the store's session factory."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get(self, face_id: int) -> StoredCrop | None:
        """The crop of face ``face_id``; ``None`` when the face has none or is gone."""
        try:
            with self._sessions() as s:
                row = s.execute(
                    select(Face.id, Face.model_id, Face.crop, Face.crop_box).where(
                        Face.id == int(face_id)
                    )
                ).one_or_none()
        except SQLAlchemyError as err:
            raise StoreError(f"reading a face crop failed: {type(err).__name__}") from err
        if row is None or row.crop is None or row.crop_box is None:
            return None
        return StoredCrop(
            int(row.id), str(row.model_id), bytes(row.crop), BoundingBox(*row.crop_box)
        )

    def batches(
        self,
        model_id: str,
        *,
        gallery_ids: Sequence[int] | None = None,
        after_id: int = 0,
        batch: int = 64,
    ) -> Iterator[list[StoredCrop]]:
        """Crops of ``model_id``'s faces with id above ``after_id``, ascending by id, in lists
        of at most ``batch`` (one short read transaction each, so a long re-embedding never
        holds the database); faces without a crop are skipped (see :meth:`counts`)."""
        last = int(after_id)
        while True:
            query = (
                select(Face)
                .options(undefer(Face.crop))
                .where(Face.model_id == model_id, Face.id > last, Face.crop.is_not(None))
                .order_by(Face.id)
                .limit(batch)
            )
            if gallery_ids is not None:
                query = query.join(Image, Image.id == Face.image_id).where(
                    Image.gallery_id.in_([int(g) for g in gallery_ids])
                )
            try:
                with self._sessions() as s:
                    rows = [
                        StoredCrop(f.id, f.model_id, bytes(f.crop or b""), BoundingBox(*f.crop_box))
                        for f in s.scalars(query)
                        if f.crop_box is not None
                    ]
            except SQLAlchemyError as err:
                raise StoreError(f"reading face crops failed: {type(err).__name__}") from err
            if not rows:
                return
            yield rows
            last = rows[-1].face_id

    def counts(self) -> list[CropCounts]:
        """Per model id: its faces and how many have a crop, by model id."""
        query = (
            select(Face.model_id, func.count(Face.id), func.count(Face.crop_box))
            .group_by(Face.model_id)
            .order_by(Face.model_id)
        )
        try:
            with self._sessions() as s:
                return [CropCounts(str(m), int(n), int(c)) for m, n, c in s.execute(query)]
        except SQLAlchemyError as err:
            raise StoreError(f"counting face crops failed: {type(err).__name__}") from err
