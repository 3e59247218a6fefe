"""Rows of one face or suppression under another model: ``facesearch models migrate`` and
``facesearch models drop`` in the store (``store.models``).

A re-embedded face is a new face row with the target model's id and embedding, a copy of
everything else of the row it came from (image, subject, box, landmarks, quality,
thumbnail, kept crop), and ``source_face_id`` naming that row; deleting either deletes the
other (``_rows.delete_faces_where``). A re-embedded suppression is a new suppression row
of the target model, with the request, reference and crop of the one it came from
(``source_suppression_id``). Each write is one transaction with its audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import aliased, undefer

from facesearch.errors import Conflict, InvalidInput
from facesearch.store import _rows, _validate
from facesearch.store.audit import append_event
from facesearch.store.database import Database
from facesearch.store.records import AuditHook
from facesearch.store.tables import Face, Suppression
from facesearch.types import BoundingBox


@dataclass(frozen=True, slots=True)
class SuppressionCrop:
    """A suppression to carry to another model: its provenance and the loose crop its
    embedding came from (``jpeg``/``box`` ``None`` for one confirmed before migration 0010,
    which cannot be re-embedded)."""

    id: int
    request_id: int
    reference: str
    jpeg: bytes | None
    box: BoundingBox | None


def _blob(vector: NDArray[np.float32]) -> tuple[bytes, int]:
    v = np.asarray(vector)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise InvalidInput("an embedding must be a finite, non-empty (d,) vector")
    return v.astype("<f4").tobytes(), int(v.size)


class ModelRowsRepository:
    """Faces and suppressions re-embedded under another model; dropping a model's faces."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_reembedded(
        self,
        target: str,
        vectors: Sequence[tuple[int, NDArray[np.float32]]],
        *,
        audit: AuditHook[list[int]] | None = None,
    ) -> list[int]:
        """Add, for each ``(source face id, (d,) float32 embedding)``, a face row of model
        ``target`` copied from the source row (one transaction). Sources gone meanwhile,
        or that already have a ``target`` row, are skipped. Returns the new ids."""
        _validate.text("model_id", target, 64)
        new: list[Face] = []
        with self._db.transaction("add_reembedded", write=True) as s:
            wanted = {int(i): v for i, v in vectors}
            for chunk in _rows.chunks(list(wanted)):
                done = set(
                    s.scalars(
                        select(Face.source_face_id).where(
                            Face.source_face_id.in_(chunk), Face.model_id == target
                        )
                    )
                )
                sources = s.scalars(
                    select(Face).options(undefer(Face.crop)).where(Face.id.in_(chunk))
                ).all()
                for f in sorted(sources, key=lambda f: f.id):
                    if f.id in done or f.model_id == target:
                        continue
                    blob, dim = _blob(wanted[f.id])
                    new.append(
                        Face(
                            image_id=f.image_id,
                            subject_id=f.subject_id,
                            x1=f.x1,
                            y1=f.y1,
                            x2=f.x2,
                            y2=f.y2,
                            landmarks=list(f.landmarks),
                            detector=f.detector,
                            detector_score=f.detector_score,
                            interocular_px=f.interocular_px,
                            sharpness=f.sharpness,
                            frontalness=f.frontalness,
                            quality_score=f.quality_score,
                            model_id=target,
                            embedding=blob,
                            embedding_dim=dim,
                            thumbnail=f.thumbnail,
                            crop=f.crop,
                            crop_box=None if f.crop_box is None else list(f.crop_box),
                            source_face_id=f.id,
                        )
                    )
            s.add_all(new)
            s.flush()
            ids = [int(f.id) for f in new]
            if audit is not None:
                append_event(s, audit(ids))
            return ids

    def unfollowed_suppressions(self, source: str, target: str) -> list[SuppressionCrop]:
        """``source``'s suppressions that have no ``target`` suppression re-embedded from
        them, by id, with their crops."""
        twin = aliased(Suppression)
        followed = exists().where(
            twin.source_suppression_id == Suppression.id, twin.model_id == target
        )
        with self._db.transaction("unfollowed_suppressions") as s:
            rows = s.scalars(
                select(Suppression)
                .options(undefer(Suppression.crop))
                .where(Suppression.model_id == source, ~followed)
                .order_by(Suppression.id)
            ).all()
            return [
                SuppressionCrop(
                    r.id,
                    r.request_id,
                    r.reference,
                    None if r.crop is None or r.crop_box is None else bytes(r.crop),
                    None if r.crop is None or r.crop_box is None else BoundingBox(*r.crop_box),
                )
                for r in rows
            ]

    def add_suppression_twins(
        self,
        target: str,
        vectors: Sequence[tuple[int, NDArray[np.float32]]],
        *,
        audit: AuditHook[int] | None = None,
    ) -> int:
        """Add, for each ``(source suppression id, (d,) float32 embedding)``, a suppression
        of model ``target`` with the source's request, reference and crop (one transaction;
        sources that already have one are skipped). Returns how many were added."""
        _validate.text("model_id", target, 64)
        added = 0
        with self._db.transaction("add_suppression_twins", write=True) as s:
            wanted = {int(i): v for i, v in vectors}
            done = set(
                s.scalars(
                    select(Suppression.source_suppression_id).where(
                        Suppression.source_suppression_id.in_(list(wanted)),
                        Suppression.model_id == target,
                    )
                )
            )
            sources = s.scalars(
                select(Suppression)
                .options(undefer(Suppression.crop))
                .where(Suppression.id.in_(list(wanted)))
                .order_by(Suppression.id)
            ).all()
            for r in sources:
                if r.id in done:
                    continue
                blob, dim = _blob(wanted[r.id])
                s.add(
                    Suppression(
                        request_id=r.request_id,
                        reference=r.reference,
                        model_id=target,
                        embedding=blob,
                        embedding_dim=dim,
                        crop=r.crop,
                        crop_box=None if r.crop_box is None else list(r.crop_box),
                        source_suppression_id=r.id,
                    )
                )
                added += 1
            s.flush()
            if audit is not None:
                append_event(s, audit(added))
            return added

    def drop_model(
        self, model_id: str, *, keep: str, audit: AuditHook[list[int]] | None = None
    ) -> list[int]:
        """Delete every face row of ``model_id`` (logged in ``face_deletions``, so its index
        drops them) but not the same faces' rows under other models: those re-embedded
        from a dropped row are unlinked first (``source_face_id`` cleared) and count as the
        faces from then on (``images.n_faces``). Returns the deleted ids.

        ``Conflict`` (nothing deleted) when a face of ``model_id`` has no row of model
        ``keep`` (the active one) linked to it: dropping would delete that face entirely."""
        twin = aliased(Face)
        kept = or_(
            exists().where(twin.source_face_id == Face.id, twin.model_id == keep),
            exists().where(twin.id == Face.source_face_id, twin.model_id == keep),
        )
        with self._db.transaction("drop_model", write=True) as s:
            alone = int(s.scalar(select(func.count()).where(Face.model_id == model_id, ~kept)) or 0)
            if alone:
                raise Conflict(
                    f"{alone} face(s) of {model_id} have no row under {keep} (not migrated, "
                    "or not found again in their crop) and would be deleted entirely; run "
                    "`facesearch models migrate` first, or delete them"
                )
            dropped = select(Face.id).where(Face.model_id == model_id)
            affected = list(
                s.scalars(select(Face.image_id).where(Face.model_id == model_id).distinct())
            )
            s.execute(
                update(Face)
                .where(Face.source_face_id.in_(dropped), Face.model_id != model_id)
                .values(source_face_id=None),
                execution_options=_rows.NO_SYNC,
            )
            ids = _rows.delete_faces_where(
                s, Face.model_id == model_id, recount_images=False, linked=False
            )
            _rows.recount_faces(s, affected)
            if audit is not None:
                append_event(s, audit(ids))
            return ids
