"""Reading the loose face crops kept for re-embedding (``faces.crop``, migration 0009).

A repository over a session factory (not a Store mixin): the crops are written with their
face by :meth:`Store.add_image` and deleted with it (erasure, retention, deletes), since
they live in the face's own row; this class only reads them, for re-embedding a gallery
with another model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased, sessionmaker, undefer

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


#: Most face ids :meth:`FaceCrops.migration_counts` names among those without a crop.
MIGRATION_SAMPLE = 20


@dataclass(frozen=True, slots=True)
class MigrationCounts:
    """A model's faces in a migration's scope: ``faces``, ``with_crop`` (re-embeddable),
    ``done`` (already re-embedded under the target model), and up to
    :data:`MIGRATION_SAMPLE` ids of faces ``without_crop`` (not re-embeddable)."""

    faces: int
    with_crop: int
    done: int
    without_crop: tuple[int, ...]


def _twin_exists(target: str) -> ColumnElement[bool]:
    """Whether the outer ``Face`` row has a row of model ``target`` re-embedded from it."""
    twin = aliased(Face)
    return exists().where(twin.source_face_id == Face.id, twin.model_id == target)


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
        missing_in: str | None = None,
    ) -> Iterator[list[StoredCrop]]:
        """Crops of ``model_id``'s faces with id above ``after_id``, ascending by id, in lists
        of at most ``batch`` (one short read transaction each, so a long re-embedding never
        holds the database); faces without a crop are skipped (see :meth:`counts`). With
        ``missing_in`` (a model id), only faces that have no row of that model re-embedded
        from them (``faces.source_face_id``): what a resumed migration has left to do."""
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
            if missing_in is not None:
                query = query.where(~_twin_exists(missing_in))
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

    def migration_counts(
        self, source: str, target: str, *, gallery_ids: Sequence[int] | None = None
    ) -> MigrationCounts:
        """``source``'s faces (of ``gallery_ids`` when given): how many, how many with a
        crop, how many already have a ``target`` row re-embedded from them, and the ids
        (ascending, at most ``sample``) of those without a crop."""
        face = select(Face.id).where(Face.model_id == source)
        if gallery_ids is not None:
            face = face.join(Image, Image.id == Face.image_id).where(
                Image.gallery_id.in_([int(g) for g in gallery_ids])
            )
        scope = face.subquery()
        in_scope = Face.id.in_(select(scope.c.id))
        try:
            with self._sessions() as s:
                total = int(s.scalar(select(func.count()).where(in_scope)) or 0)
                with_crop = int(
                    s.scalar(select(func.count()).where(in_scope, Face.crop_box.is_not(None))) or 0
                )
                done = int(
                    s.scalar(select(func.count()).where(in_scope, _twin_exists(target))) or 0
                )
                without = [
                    int(i)
                    for i in s.scalars(
                        select(Face.id)
                        .where(in_scope, Face.crop_box.is_(None))
                        .order_by(Face.id)
                        .limit(MIGRATION_SAMPLE)
                    )
                ]
        except SQLAlchemyError as err:
            raise StoreError(f"counting faces to migrate failed: {type(err).__name__}") from err
        return MigrationCounts(total, with_crop, done, tuple(without))

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
