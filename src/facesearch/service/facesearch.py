"""The one orchestrator: enroll, search, verify, delete and keep the index in step."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

import numpy as np

from facesearch.errors import InvalidInput, NoFaceFound
from facesearch.index.registry import configure_backend
from facesearch.privacy import FieldKind, check_fields
from facesearch.quality import enrollment_failures
from facesearch.service.index_sync import IndexStatus, IndexSync, ReconcileReport
from facesearch.service.pipeline import AnalyzedFace, AnalyzedImage, FacePipeline
from facesearch.service.results import (
    Candidate,
    EnrollResult,
    EnrollSummary,
    ProbeFace,
    RejectedFace,
    SearchResult,
    VerifyResult,
)
from facesearch.settings import Settings
from facesearch.store import (
    FaceRecord,
    GalleryRecord,
    NewFace,
    NewImage,
    NewRejection,
    Store,
    SubjectRecord,
)

logger = logging.getLogger(__name__)


class FaceSearch:
    """facesearch's engine over one data folder (or database URL).

    Build it with :class:`Settings`; it opens the store (running migrations), builds the
    pipeline (models load lazily on first use) and reconciles the vector index with the
    store. Use it as a context manager, or call :meth:`close` to persist the index.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        pipeline: FacePipeline | None = None,
    ) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(settings.resolved_database_url)
        self.pipeline = pipeline if pipeline is not None else FacePipeline(settings)
        self.model_id = self.pipeline.model_id
        configure_backend(settings.index.backend, threads=settings.index.threads)
        self._index = IndexSync(
            self.store,
            model_id=self.model_id,
            dim=self.pipeline.embedder.dim,
            backend=settings.index.backend,
            folder=settings.index_dir / self.model_id,
            save_every=settings.index.save_every,
        )
        self._write_lock = threading.Lock()
        self.reconcile_report: ReconcileReport = self._index.open()
        logger.info(
            "index %s: %s (%s)",
            self.model_id,
            self.reconcile_report.action,
            self.reconcile_report.reason,
        )

    # --- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._index.save()
        self.store.close()

    def __enter__(self) -> FaceSearch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- galleries and subjects ---------------------------------------------------------
    def create_gallery(
        self,
        name: str,
        *,
        legal_basis: str,
        description: str = "",
        source_category: str = "unspecified",
    ) -> GalleryRecord:
        check_fields(
            {
                "name": (name, FieldKind.IDENTITY),
                "description": (description, FieldKind.NARRATIVE),
                "legal_basis": (legal_basis, FieldKind.NARRATIVE),
                "source_category": (source_category, FieldKind.IDENTITY),
            }
        )
        return self.store.create_gallery(
            name.strip(),
            legal_basis=legal_basis.strip(),
            description=description,
            source_category=source_category,
        )

    def list_galleries(self) -> list[GalleryRecord]:
        return self.store.list_galleries()

    def delete_gallery(self, name: str) -> list[int]:
        with self._write_lock:
            ids = self.store.delete_gallery(name)
            self._index.apply_deletions()
        return ids

    def list_subjects(self, gallery: str | None = None) -> list[SubjectRecord]:
        return self.store.list_subjects(gallery)

    def delete_subject(self, gallery: str, label: str) -> list[int]:
        with self._write_lock:
            ids = self.store.delete_subject(gallery, label)
            self._index.apply_deletions()
        return ids

    # --- faces and images ---------------------------------------------------------------
    def list_faces(
        self,
        *,
        gallery: str | None = None,
        subject: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FaceRecord]:
        return self.store.list_faces(gallery=gallery, subject=subject, limit=limit, offset=offset)

    def get_face(self, face_id: int) -> FaceRecord:
        return self.store.get_face(face_id)

    def delete_faces(self, ids: Sequence[int]) -> list[int]:
        with self._write_lock:
            deleted = self.store.delete_faces(list(ids))
            self._index.apply_deletions()
        return deleted

    def delete_image(self, image_id: int) -> list[int]:
        with self._write_lock:
            deleted = self.store.delete_image(image_id)
            self._index.apply_deletions()
        return deleted

    # --- enrollment ---------------------------------------------------------------------
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
    ) -> EnrollResult:
        """Enroll the faces of one image into ``gallery`` (one store transaction).

        Without ``subject`` every face is enrolled; with one, only the largest face is (the
        others are recorded as rejected, so bystanders never carry the subject's label).

        Raises imaging errors for bad bytes, :class:`NoFaceFound` when no face is detected,
        :class:`AlreadyExists` when this image (by sha256) is already in the gallery. Faces
        that fail the quality gate are recorded with their reasons and not indexed.
        """
        record = self.store.get_gallery(gallery)
        self._check_enroll_fields(subject, subject_reference, source_uri, legal_basis)
        analyzed = self.pipeline.analyze(data)
        return self.commit_analyzed(
            analyzed,
            gallery=record,
            subject=subject,
            subject_reference=subject_reference,
            source_uri=source_uri,
            legal_basis=legal_basis,
            captured_at=captured_at,
        )

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
    ) -> EnrollResult:
        """Store an analysed image and index its accepted faces (store first, then index)."""
        if analyzed.model_id != self.model_id:
            raise InvalidInput(
                f"image analysed with {analyzed.model_id}, this engine uses {self.model_id}"
            )
        if not analyzed.faces:
            raise NoFaceFound("no face found in the image")
        subject = subject.strip() if subject else None
        accepted: list[AnalyzedFace] = []
        rejected: list[RejectedFace] = []
        primary = analyzed.largest_face()
        for face in analyzed.faces:
            reasons = enrollment_failures(face.quality, self.settings.quality)
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
            )
            for f in accepted
        ]
        rejections = [
            NewRejection(box=r.box, reason="; ".join(r.reasons), quality=r.quality)
            for r in rejected
        ]
        with self._write_lock:
            enrolled = self.store.add_image(
                gallery.id,
                image,
                new_faces,
                rejections,
                subject_label=subject,
                subject_external_reference=subject_reference,
            )
            if enrolled.face_ids:
                vectors = np.stack([f.embedding for f in accepted]).astype(np.float32)
                self._index.add(np.asarray(enrolled.face_ids, dtype=np.int64), vectors)
        return EnrollResult(
            image_id=enrolled.image_id,
            sha256=analyzed.sha256,
            gallery=gallery.name,
            subject=subject,
            face_ids=tuple(enrolled.face_ids),
            rejected=tuple(rejected),
        )

    def enroll_paths(
        self,
        paths: Sequence[Path],
        *,
        gallery: str,
        subject: str | None = None,
        subject_from_folder: bool = False,
        source_uri: str | None = None,
        legal_basis: str | None = None,
        progress: bool = False,
    ) -> EnrollSummary:
        """Enroll files and folders (recursively); see :mod:`facesearch.service.folder`."""
        from facesearch.service.folder import enroll_paths

        return enroll_paths(
            self,
            paths,
            gallery=gallery,
            subject=subject,
            subject_from_folder=subject_from_folder,
            source_uri=source_uri,
            legal_basis=legal_basis,
            progress=progress,
        )

    # --- search and verify --------------------------------------------------------------
    def search(
        self,
        data: bytes,
        *,
        k: int | None = None,
        galleries: Sequence[str] | None = None,
        all_faces: bool = False,
        threshold: float | None = None,
    ) -> SearchResult:
        """Rank enrolled faces by similarity to the probe's largest face (or every face).

        Returns at most ``k`` candidates per probe face whose similarity is at or above
        ``threshold`` (default: the search threshold setting). ``galleries`` restricts the
        search (default: all). Raises :class:`NoFaceFound` when the probe holds no face.
        """
        k = self._check_k(k)
        threshold = self.settings.search.search_threshold if threshold is None else threshold
        analyzed = self.pipeline.analyze(data)
        probe_faces = self._probe_faces(analyzed, all_faces=all_faces)
        self._index.catch_up()
        if galleries:
            records = [self.store.get_gallery(name) for name in galleries]
            subset = self.store.face_ids_in_galleries(self.model_id, [g.id for g in records])
            names = tuple(g.name for g in records)
            gallery_size = len(subset)
        else:
            subset = None
            names = tuple(g.name for g in self.store.list_galleries())
            gallery_size = len(self._index)
        queries = np.stack([f.embedding for f in probe_faces]).astype(np.float32)
        if subset is not None and len(subset) == 0:
            scores = np.full((len(probe_faces), k), -np.inf, dtype=np.float32)
            ids = np.full((len(probe_faces), k), -1, dtype=np.int64)
        else:
            scores, ids = self._index.search(queries, k, subset=subset)
        wanted = sorted({int(i) for i in ids.ravel() if i >= 0})
        records_by_id = self.store.get_faces(wanted)
        results = []
        for face, row_scores, row_ids in zip(probe_faces, scores, ids, strict=True):
            candidates: list[Candidate] = []
            for score, face_id in zip(row_scores, row_ids, strict=True):
                if face_id < 0 or float(score) < threshold:
                    continue
                rec = records_by_id.get(int(face_id))
                if rec is None:  # deleted between the index search and the row read
                    continue
                candidates.append(_candidate(len(candidates) + 1, float(score), rec))
            results.append(
                ProbeFace(
                    box=face.detection.box,
                    detector_score=face.detection.score,
                    quality=face.quality,
                    candidates=tuple(candidates),
                )
            )
        return SearchResult(
            probe_sha256=analyzed.sha256,
            model_id=self.model_id,
            k=k,
            threshold=threshold,
            galleries=names,
            gallery_size=gallery_size,
            faces=tuple(results),
        )

    def verify(self, data_a: bytes, data_b: bytes) -> VerifyResult:
        """Compare the largest face of two images (1:1) at the verify threshold."""
        face_a = self._largest(self.pipeline.analyze(data_a), "first")
        face_b = self._largest(self.pipeline.analyze(data_b), "second")
        similarity = float(np.dot(face_a.embedding, face_b.embedding))
        threshold = self.settings.search.verify_threshold
        return VerifyResult(
            similarity=similarity,
            threshold=threshold,
            above_threshold=similarity >= threshold,
            model_id=self.model_id,
            face_a=_probe(face_a),
            face_b=_probe(face_b),
        )

    # --- index --------------------------------------------------------------------------
    def index_status(self) -> IndexStatus:
        return self._index.status()

    def rebuild_index(self) -> ReconcileReport:
        with self._write_lock:
            return self._index.rebuild()

    # --- helpers ------------------------------------------------------------------------
    @staticmethod
    def _check_enroll_fields(
        subject: str | None,
        subject_reference: str | None,
        source_uri: str | None,
        legal_basis: str | None,
    ) -> None:
        """Refuse sensitive identifiers in any free text that enrollment would store."""
        check_fields(
            {
                "subject": (subject, FieldKind.IDENTITY),
                "subject_reference": (subject_reference, FieldKind.IDENTITY),
                "source_uri": (source_uri, FieldKind.IDENTITY),
                "legal_basis": (legal_basis, FieldKind.NARRATIVE),
            }
        )

    def _check_k(self, k: int | None) -> int:
        search = self.settings.search
        if k is None:
            return search.default_k
        if not 1 <= k <= search.max_k:
            raise InvalidInput(f"k must be between 1 and {search.max_k}, got {k}")
        return k

    @staticmethod
    def _probe_faces(analyzed: AnalyzedImage, *, all_faces: bool) -> list[AnalyzedFace]:
        if not analyzed.faces:
            raise NoFaceFound("no face found in the probe image")
        if all_faces:
            return list(analyzed.faces)
        largest = analyzed.largest_face()
        return [largest] if largest is not None else []

    @staticmethod
    def _largest(analyzed: AnalyzedImage, which: str) -> AnalyzedFace:
        face = analyzed.largest_face()
        if face is None:
            raise NoFaceFound(f"no face found in the {which} image")
        return face


def _candidate(rank: int, similarity: float, rec: FaceRecord) -> Candidate:
    return Candidate(
        rank=rank,
        face_id=rec.id,
        similarity=similarity,
        gallery=rec.gallery_name,
        subject=rec.subject_label,
        image_id=rec.image_id,
        source_uri=rec.source_uri,
        legal_basis=rec.legal_basis,
        box=rec.box,
        quality=rec.quality,
    )


def _probe(face: AnalyzedFace) -> ProbeFace:
    return ProbeFace(
        box=face.detection.box,
        detector_score=face.detection.score,
        quality=face.quality,
        candidates=(),
    )
