"""Moving a gallery to another model: ``facesearch models migrate`` and ``models drop``.

:class:`ModelMigration` re-embeds, with a target model's :class:`FacePipeline`, the active
(source) model's faces that have a kept crop (:func:`~facesearch.service.reembed.reembed_crop`)
into new face rows of the target model (``store.models.add_reembedded``; each linked to
its source by ``faces.source_face_id``, so deleting one deletes the other). The target
model's index is its own folder (``index_dir/<model_id>``), built from those rows when an
engine of that model opens; searches keep using the active model until the operator
changes the embedding settings and restarts. Never mixed (invariant 3).

First, every suppression of the source model without a target twin is re-embedded from
the crop it keeps (``suppressions.crop``), so a person erased under one model stays erased
under the next. A suppression without a crop (confirmed before migration 0010) cannot
follow: the migration is refused (:class:`UnfollowedSuppressions`, naming how many and
their request references) and writes nothing, unless ``allow_unfollowed`` is given.

Resumable: faces that already have a target row are skipped, so an interrupted run
continues where it stopped. Each batch is one transaction with one ``models.migrate``
audit event (from/to model, gallery, counts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from facesearch.audit import AuditContext, AuditLog
from facesearch.errors import Conflict, InvalidInput, UnfollowedSuppressions
from facesearch.service.accountability import Accountability
from facesearch.service.pipeline import FacePipeline
from facesearch.service.reembed import reembed_crop
from facesearch.store import Store
from facesearch.store.crops import MigrationCounts
from facesearch.store.models import SuppressionCrop
from facesearch.store.records import NewAuditEvent

logger = logging.getLogger(__name__)

#: Faces re-embedded per transaction (and per audit event) unless told otherwise.
DEFAULT_BATCH = 64


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What one ``models migrate`` run did. ``faces``: the source model's faces in scope;
    ``without_crop``: how many cannot be re-embedded (``without_crop_ids``: the first of
    them); ``already``: re-embedded by an earlier run; ``migrated``: by this run;
    ``not_found``: the target's detector found no face at the stored box in the crop;
    ``suppressions``: suppressions carried over; ``unfollowed_references``: request
    references of suppressions that could not follow (only with ``allow_unfollowed``);
    ``index``: what the target model's index did when the run ended (``rebuilt``,
    ``caught-up``, ``loaded``; empty when the caller built none)."""

    source: str
    target: str
    gallery: str | None
    faces: int
    without_crop: int
    without_crop_ids: tuple[int, ...]
    already: int
    migrated: int
    not_found: tuple[int, ...]
    suppressions: int
    unfollowed_references: tuple[str, ...]
    index: str = ""


def _references(crops: Sequence[SuppressionCrop]) -> list[str]:
    return sorted({c.reference for c in crops})


class ModelMigration:
    """Re-embed the ``source`` model's faces and suppressions under another model."""

    def __init__(
        self,
        *,
        store: Store,
        source: str,
        audit: AuditLog,
        accountability: Accountability,
    ) -> None:
        self._store = store
        self._source = source
        self._audit = audit
        self._accountability = accountability

    def run(
        self,
        target: FacePipeline,
        *,
        context: AuditContext,
        gallery: str | None = None,
        batch: int = DEFAULT_BATCH,
        allow_unfollowed: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> MigrationReport:
        """Migrate (see the module doc). ``InvalidInput`` when the target is the source
        model or ``batch`` < 1; ``NotFound`` for an unknown gallery;
        :class:`UnfollowedSuppressions` (nothing written) as described above.
        ``progress(done, total)`` counts the faces to re-embed in this run."""
        to = target.model_id
        scope = f"model:{to}"
        base = {"from_model": self._source, "to_model": to, "gallery": gallery}
        try:
            if to == self._source:
                raise InvalidInput(f"model {to} is already the active model")
            if batch < 1:
                raise InvalidInput("--batch must be at least 1")
            gallery_ids = None
            if gallery is not None:
                gallery_ids = [self._store.catalog.get_gallery(gallery).id]
            pending = self._store.models.unfollowed_suppressions(self._source, to)
            blind = [c for c in pending if c.jpeg is None]
            if blind and not allow_unfollowed:
                refs = _references(blind)
                raise UnfollowedSuppressions(
                    f"{len(blind)} suppression(s) of {self._source} keep no face crop and "
                    f"cannot follow to {to} (erasure request(s) {', '.join(refs)}); nothing "
                    "was migrated (--allow-unfollowed-suppressions migrates anyway: those "
                    "people would not stay erased under the new model)"
                )
            carried = self._carry_suppressions(target, [c for c in pending if c.jpeg], context)
            counts = self._store.crops.migration_counts(self._source, to, gallery_ids=gallery_ids)
            migrated, missing = self._faces(target, counts, gallery_ids, batch, context, progress)
        except Exception as err:
            self._accountability.failed(context, "models.migrate", err, target=scope, details=base)
            raise
        return MigrationReport(
            source=self._source,
            target=to,
            gallery=gallery,
            faces=counts.faces,
            without_crop=counts.faces - counts.with_crop,
            without_crop_ids=counts.without_crop,
            already=counts.done,
            migrated=migrated,
            not_found=tuple(missing),
            suppressions=carried,
            unfollowed_references=tuple(_references(blind)),
        )

    def drop(self, model_id: str, *, context: AuditContext) -> list[int]:
        """Delete every face row of ``model_id`` (not the active model: ``InvalidInput``),
        keeping the rows re-embedded from them under other models, which stand alone from
        then on; audited ``models.drop``. ``Conflict`` when a face of ``model_id`` has no
        row under the active model (it would be lost). Returns the deleted face ids."""
        scope = f"model:{model_id}"
        try:
            if model_id == self._source:
                raise InvalidInput(
                    f"model {model_id} is the active model; switch the embedding settings "
                    "to another model first"
                )
            ids = self._store.models.drop_model(
                model_id,
                keep=self._source,
                audit=lambda deleted: context.event(
                    "models.drop",
                    target=scope,
                    details={"model": model_id, "active_model": self._source,
                             "faces_deleted": len(deleted)},
                ),
            )  # fmt: skip
        except Exception as err:
            self._accountability.failed(context, "models.drop", err, target=scope)
            raise
        self._audit.committed()
        return ids

    def _carry_suppressions(
        self, target: FacePipeline, crops: Sequence[SuppressionCrop], context: AuditContext
    ) -> int:
        """Re-embed ``crops`` under ``target`` (one transaction, one event). A crop in which
        the target's detector finds no face is a :class:`Conflict`: the suppression would
        be lost, so nothing more is done."""
        if not crops:
            return 0
        vectors: list[tuple[int, NDArray[np.float32]]] = []
        for c in crops:
            if c.jpeg is None or c.box is None:  # filtered by the caller
                continue
            vector = reembed_crop(target, c.jpeg, c.box)
            if vector is None:
                raise Conflict(
                    f"suppression {c.id} (erasure request {c.reference}): the face was not "
                    f"found again in its crop by {target.model_id}'s detector; nothing was "
                    "migrated"
                )
            vectors.append((c.id, vector))
        added = self._store.models.add_suppression_twins(
            target.model_id,
            vectors,
            audit=lambda n: context.event(
                "models.migrate",
                target=f"model:{target.model_id}",
                details={
                    "from_model": self._source,
                    "to_model": target.model_id,
                    "suppressions": n,
                    "references": _references(crops),
                },
            ),
        )
        self._audit.committed()
        return added

    def _faces(
        self,
        target: FacePipeline,
        counts: MigrationCounts,
        gallery_ids: list[int] | None,
        batch: int,
        context: AuditContext,
        progress: Callable[[int, int], None] | None,
    ) -> tuple[int, list[int]]:
        total = counts.with_crop - counts.done
        done, migrated, missing = 0, 0, []
        if progress is not None:
            progress(0, total)
        for crops in self._store.crops.batches(
            self._source, gallery_ids=gallery_ids, batch=batch, missing_in=target.model_id
        ):
            vectors: list[tuple[int, NDArray[np.float32]]] = []
            lost: list[int] = []
            for c in crops:
                vector = reembed_crop(target, c.jpeg, c.box)
                if vector is None:
                    lost.append(c.face_id)
                else:
                    vectors.append((c.face_id, vector))
            ids = self._store.models.add_reembedded(
                target.model_id,
                vectors,
                audit=self._batch_event(context, target.model_id, gallery_ids, len(crops), lost),
            )
            self._audit.committed()
            migrated += len(ids)
            missing += lost
            done += len(crops)
            if progress is not None:
                progress(done, max(done, total))
            if lost:
                logger.warning(
                    "%d face(s) not found again by %s in their crops: %s",
                    len(lost),
                    target.model_id,
                    lost[:10],
                )
        return migrated, missing

    def _batch_event(
        self,
        context: AuditContext,
        to: str,
        gallery_ids: list[int] | None,
        n: int,
        lost: list[int],
    ) -> Callable[[list[int]], NewAuditEvent]:
        """The audit hook of one batch: the event of ``models.migrate`` with its counts."""

        def event(new: list[int]) -> NewAuditEvent:
            return context.event(
                "models.migrate",
                target=f"model:{to}",
                details={
                    "from_model": self._source,
                    "to_model": to,
                    "gallery_ids": gallery_ids,
                    "faces": n,
                    "migrated": len(new),
                    "not_found": lost,
                },
            )

        return event
