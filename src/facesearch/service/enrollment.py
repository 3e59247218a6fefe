"""Enrollment of one image, a part of the engine (:class:`~facesearch.service.FaceSearch`
builds it); many files go through :mod:`facesearch.service.folder`.

Each image is one store transaction holding the image, its faces, its rejected faces and its
audit event; accepted faces are added to the vector index after that commits.

Every path that stores an image goes through :meth:`Enrollment.commit_analyzed`, which
checks all free text it stores (subject label and reference, source URI, legal basis) for
sensitive identifiers, and checks the faces against the suppression list under the write
lock, right before the store transaction, so a suppression completed meanwhile is seen.

Audit events keep no free text a person could be named by: an ``enroll`` event holds the
image's sha256, the subject's id (not its label), the face ids and the gallery; a failed
one holds the sha256 and, for a guard refusal, the field's name and the identifier's kind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from facesearch.audit import AuditContext
from facesearch.errors import (
    InvalidInput,
    NoFaceFound,
    SensitiveIdentifierFound,
    SuppressionListChanged,
)
from facesearch.imaging import sha256_hex
from facesearch.privacy import FieldKind, check_fields
from facesearch.quality import enrollment_failures
from facesearch.service.accountability import Accountability
from facesearch.service.index_sync import IndexSync
from facesearch.service.pipeline import AnalyzedFace, AnalyzedImage, FacePipeline
from facesearch.service.results import EnrollResult, RejectedFace
from facesearch.service.suppression import Suppression
from facesearch.settings import Settings
from facesearch.store import GalleryRecord, NewFace, NewImage, NewRejection, _validate
from facesearch.store.catalog import CatalogRepository

_CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a ``collected_at`` may lie (clocks of other machines)."""

_SUPPRESSION_RETRIES = 4
"""Checks of an image against the suppression list when other processes keep changing it
(the first against the list last read, the others against a fresh read)."""


class Enrollment:
    """Enrollment of one image: checks, quality gate, suppression check, one store
    transaction with its audit event, then the index.

    ``write_lock`` is the engine's lock around store-then-index steps (erasure takes it
    too); ``clock`` (aware UTC ``now``) dates ``collected_at`` when none is given."""

    def __init__(
        self,
        settings: Settings,
        *,
        catalog: CatalogRepository,
        pipeline: FacePipeline,
        index: IndexSync,
        suppression: Suppression,
        accountability: Accountability,
        write_lock: threading.Lock,
        clock: Callable[[], datetime],
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._pipeline = pipeline
        self._model_id = pipeline.model_id
        self._index = index
        self._suppression = suppression
        self._accountability = accountability
        self._write_lock = write_lock
        self._clock = clock

    def enroll(
        self,
        data: bytes,
        *,
        gallery: str,
        subject: str | None = None,
        subject_reference: str | None = None,
        source_uri: str | None = None,
        legal_basis: str | None = None,
        captured_at: datetime | None = None,
        collected_at: datetime | None = None,
        context: AuditContext,
    ) -> EnrollResult:
        """Enroll the faces of one image into ``gallery`` (one store transaction).

        Without ``subject`` every face is enrolled; with one, only the largest face is (the
        others are recorded as rejected, so bystanders never carry the subject's label).
        ``collected_at`` (aware; not in the future) starts the gallery's retention period
        (default: now); ``captured_at`` is when the photo was taken, kept as provenance.

        Raises imaging errors for bad bytes, :class:`NoFaceFound` when no face is detected,
        :class:`AlreadyExists` when this image (by sha256) is already in the gallery. Faces
        that fail the quality gate are recorded with their reasons and not indexed. The
        enrollment and its audit event commit together; a failure is audited with its code.
        """
        try:
            record = self._catalog.get_gallery(gallery)
            check_enroll_fields(subject, subject_reference, source_uri, legal_basis)
            analyzed = self._pipeline.analyze(data)
            return self.commit_analyzed(
                analyzed,
                gallery=record,
                subject=subject,
                subject_reference=subject_reference,
                source_uri=source_uri,
                legal_basis=legal_basis,
                captured_at=captured_at,
                collected_at=collected_at,
                context=context,
            )
        except Exception as err:
            # no free text: what the guard refused (or would) must not reach the log
            self._accountability.failed(
                context,
                "enroll",
                err,
                galleries=(gallery,),
                details={"image_sha256": sha256_hex(data)},
            )
            raise

    def check_enroll_request(
        self,
        *,
        gallery: str,
        subject: str | None = None,
        subject_reference: str | None = None,
        source_uri: str | None = None,
        legal_basis: str | None = None,
        context: AuditContext,
    ) -> None:
        """Refuse a request's shared fields before any of its files is read: a subject
        label no URL can carry (``InvalidInput``, the store's name rule), or
        :class:`SensitiveIdentifierFound` (audited as a failed ``enroll`` naming the field
        and the kind of identifier, not the value)."""
        if subject is not None:
            _validate.name("subject", subject)
        try:
            check_enroll_fields(subject, subject_reference, source_uri, legal_basis)
        except SensitiveIdentifierFound as err:
            self._accountability.failed(context, "enroll", err, galleries=(gallery,))
            raise

    def commit_analyzed(
        self,
        analyzed: AnalyzedImage,
        *,
        gallery: GalleryRecord,
        subject: str | None = None,
        subject_reference: str | None = None,
        source_uri: str | None = None,
        legal_basis: str | None = None,
        captured_at: datetime | None = None,
        collected_at: datetime | None = None,
        context: AuditContext,
    ) -> EnrollResult:
        """Store an analysed image and index its accepted faces (store first, then index).

        The image, its faces and its audit event (``enroll``) are one transaction. Raises
        :class:`SensitiveIdentifierFound` when any text to be stored holds a sensitive
        identifier, :class:`Suppressed` when a face is a suppressed person's."""
        check_enroll_fields(subject, subject_reference, source_uri, legal_basis)
        if analyzed.model_id != self._model_id:
            raise InvalidInput(
                f"image analysed with {analyzed.model_id}, this engine uses {self._model_id}"
            )
        if not analyzed.faces:
            raise NoFaceFound("no face found in the image")
        now = self._clock()
        if collected_at is None:
            collected_at = now  # the enrollment time, by the engine's clock
        elif collected_at.tzinfo is None or collected_at > now + _CLOCK_SKEW:
            raise InvalidInput("collected_at must be a timezone-aware time, not in the future")
        subject = subject.strip() if subject else None
        accepted: list[AnalyzedFace] = []
        rejected: list[RejectedFace] = []
        primary = analyzed.largest_face()
        for face in analyzed.faces:
            reasons = enrollment_failures(face.quality, self._settings.quality)
            if subject and face is not primary:
                # A photo enrolled for a subject shows that subject as its largest face;
                # bystanders are not enrolled under the subject's name.
                reasons = ["not the subject: a smaller face in a photo enrolled for a subject"]
            if reasons:
                rejected.append(RejectedFace(face.detection.box, face.quality, tuple(reasons)))
            else:
                accepted.append(face)
        image = NewImage(
            sha256=analyzed.sha256,
            width=analyzed.width,
            height=analyzed.height,
            n_bytes=analyzed.n_bytes,
            format=analyzed.format,
            legal_basis=(legal_basis or gallery.legal_basis).strip(),
            source_uri=source_uri,
            captured_at=captured_at,
            collected_at=collected_at,
        )
        new_faces = [
            NewFace(
                box=f.detection.box,
                landmarks=f.detection.landmarks,
                detector=f.detection.detector,
                detector_score=f.detection.score,
                quality=f.quality,
                model_id=analyzed.model_id,
                embedding=f.embedding,
                thumbnail=f.thumbnail,
                crop=None if f.crop is None else f.crop.jpeg,
                crop_box=None if f.crop is None else f.crop.box,
            )
            for f in accepted
        ]
        rejections = [
            NewRejection(box=r.box, reason="; ".join(r.reasons), quality=r.quality)
            for r in rejected
        ]
        with self._write_lock:
            # Under the lock that this process's erasures complete under, the list re-read
            # from the store; and the store refuses the write if an erasure of another
            # process completed since this check (then check again, at most a few times).
            for attempt in range(_SUPPRESSION_RETRIES):
                # the last list read, first: add_image compares its marks with the store's
                # in its transaction, and a change sends us round again with a fresh read
                marks = self._suppression.refuse_suppressed(
                    [f.embedding for f in analyzed.faces], fresh=attempt > 0
                )
                try:
                    enrolled = self._catalog.add_image(
                        gallery.id,
                        image,
                        new_faces,
                        rejections,
                        subject_label=subject,
                        subject_external_reference=subject_reference,
                        suppressions_checked=(self._model_id, marks),
                        audit=lambda e: context.event(
                            "enroll",
                            target=f"image:{e.image_id}",
                            galleries=(gallery.name,),
                            details={
                                "image_sha256": analyzed.sha256,
                                "subject_id": e.subject_id,
                                "face_ids": list(e.face_ids),
                                "faces_rejected": len(rejections),
                            },
                        ),
                    )
                    break
                except SuppressionListChanged:
                    if attempt + 1 == _SUPPRESSION_RETRIES:
                        raise
            if enrolled.face_ids:
                vectors = np.stack([f.embedding for f in accepted]).astype(np.float32)
                self._index.add(np.asarray(enrolled.face_ids, dtype=np.int64), vectors)
        # the store advanced the audit anchor when add_image (with its event) committed
        return EnrollResult(
            image_id=enrolled.image_id,
            sha256=analyzed.sha256,
            gallery=gallery.name,
            subject=subject,
            face_ids=tuple(enrolled.face_ids),
            rejected=tuple(rejected),
        )


def check_enroll_fields(
    subject: str | None,
    subject_reference: str | None,
    source_uri: str | None,
    legal_basis: str | None,
) -> None:
    """Refuse sensitive identifiers in any free text that enrollment would store
    (:class:`SensitiveIdentifierFound` naming the field and the kind)."""
    check_fields(
        {
            "subject": (subject, FieldKind.IDENTITY),
            "subject_reference": (subject_reference, FieldKind.REFERENCE),
            "source_uri": (source_uri, FieldKind.REFERENCE),
            "legal_basis": (legal_basis, FieldKind.NARRATIVE),
        }
    )
