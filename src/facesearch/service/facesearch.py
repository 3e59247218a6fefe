"""The one orchestrator: enroll, search, verify, delete and keep the index in step."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from types import TracebackType

import numpy as np
from numpy.typing import NDArray

from facesearch.audit import AuditContext, AuditLog
from facesearch.auth import Accounts
from facesearch.errors import InvalidInput, NoFaceFound
from facesearch.imaging import sha256_hex
from facesearch.index.ivf_index import IVFParams
from facesearch.index.registry import configure_backend
from facesearch.privacy import FieldKind, check_fields
from facesearch.service.accountability import Accountability
from facesearch.service.enrollment import Enrollment
from facesearch.service.grants import Grants, galleries_to_search
from facesearch.service.index_sync import IndexStatus, IndexSync, ReconcileReport
from facesearch.service.leads import LeadScorer
from facesearch.service.pipeline import AnalyzedFace, AnalyzedImage, FacePipeline
from facesearch.service.results import (
    Candidate,
    ProbeFace,
    SearchResult,
    VerifyResult,
)
from facesearch.service.retention import Retention
from facesearch.service.reviews import Reviews
from facesearch.settings import Settings
from facesearch.store import (
    AuditHook,
    FaceRecord,
    GalleryRecord,
    NewAuditEvent,
    Store,
    SubjectRecord,
)
from facesearch.store.tables import utcnow

logger = logging.getLogger(__name__)


class FaceSearch(Enrollment, Retention, Grants, Reviews):
    """facesearch's engine over one data folder (or database URL).

    Build it with :class:`Settings`; it opens the store (running migrations), builds the
    pipeline (models load lazily on first use) and reconciles the vector index with the
    store. Use it as a context manager, or call :meth:`close` to persist the index.

    Every search, verify, enroll and delete takes an :class:`AuditContext` (who, from where,
    and for search and verify why) and is audited (:mod:`facesearch.service.accountability`);
    :attr:`accounts` holds users and API keys, :attr:`audit` the hash-chained log.
    ``clock`` (aware UTC ``now``) drives retention; tests pass one they control.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        pipeline: FacePipeline | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Callable[[], datetime] = clock if clock is not None else utcnow
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(settings.resolved_database_url)
        self.pipeline = pipeline if pipeline is not None else FacePipeline(settings)
        self.model_id = self.pipeline.model_id
        self.leads = LeadScorer.for_model(
            self.model_id, settings.search, calibration_dir=settings.calibration_dir
        )
        configure_backend(settings.index.backend, threads=settings.index.threads)
        self._index = IndexSync(
            self.store,
            model_id=self.model_id,
            dim=self.pipeline.embedder.dim,
            backend=settings.index.backend,
            folder=settings.index_dir / self.model_id,
            save_every=settings.index.save_every,
            kind=settings.index.kind,
            auto_crossover=settings.index.auto_crossover,
            ivf_params=IVFParams(
                nprobe=settings.index.nprobe,
                rerank=settings.index.rerank,
                train_min=settings.index.train_min,
                exact_subset_max=settings.index.exact_subset_max,
            ),
        )
        self._write_lock = threading.Lock()
        self.audit = AuditLog(self.store, anchor_path=settings.audit_anchor_path)
        self.accounts = Accounts(self.store, self.audit, settings.auth)
        self._accountability = Accountability(self.audit, settings)
        self.reconcile_report: ReconcileReport = self._index.open()
        logger.info(
            "index %s: %s (%s)",
            self.model_id,
            self.reconcile_report.action,
            self.reconcile_report.reason,
        )

    # --- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._index.close()
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
        retention_days: int | None = None,
        context: AuditContext,
    ) -> GalleryRecord:
        check_fields(
            {
                # a gallery is not a person: a date in its name is an event's unless marked
                # as a birth ("booking-2024-03-15" passes)
                "name": (name, FieldKind.REFERENCE),
                "description": (description, FieldKind.NARRATIVE),
                "legal_basis": (legal_basis, FieldKind.NARRATIVE),
                "source_category": (source_category, FieldKind.REFERENCE),
            }
        )
        gallery = self.store.create_gallery(
            name.strip(),
            legal_basis=legal_basis.strip(),
            description=description,
            source_category=source_category,
            retention_days=retention_days,
            audit=lambda g: context.event(
                "gallery.create",
                target=f"gallery:{g.name}",
                galleries=(g.name,),
                details={"retention_days": g.retention_days},
            ),
        )
        self.audit.committed()
        return gallery

    def list_galleries(self) -> list[GalleryRecord]:
        return self.store.list_galleries()

    def delete_gallery(self, name: str, *, context: AuditContext) -> list[int]:
        target = f"gallery:{name}"
        with self._write_lock:
            ids = self.store.delete_gallery(
                name, audit=self._deletion_event(context, "gallery.delete", target, (name,))
            )
            self._index.apply_deletions()
        self.audit.committed()
        return ids

    def list_subjects(self, gallery: str | None = None) -> list[SubjectRecord]:
        return self.store.list_subjects(gallery)

    def delete_subject(self, gallery: str, label: str, *, context: AuditContext) -> list[int]:
        """Delete a subject and its faces. The audit event names the subject by its id, not
        its label (often a person's name, which the append-only log could never drop)."""

        def event(deleted: tuple[int, list[int]]) -> NewAuditEvent:
            subject_id, ids = deleted
            return context.event(
                "subject.delete",
                target=f"subject:{subject_id}",
                galleries=(gallery,),
                details={"face_ids": list(ids)},
            )

        with self._write_lock:
            ids = self.store.delete_subject(gallery, label, audit=event)
            self._index.apply_deletions()
        self.audit.committed()
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

    def delete_faces(self, ids: Sequence[int], *, context: AuditContext) -> list[int]:
        """Delete the faces of ``ids``; returns those that existed (ascending)."""
        event = self._deletion_event(context, "face.delete", None, ())
        with self._write_lock:
            deleted = self.store.delete_faces(list(ids), audit=event)
            self._index.apply_deletions()
        self.audit.committed()
        return deleted

    def delete_image(self, image_id: int, *, context: AuditContext) -> list[int]:
        event = self._deletion_event(context, "image.delete", f"image:{image_id}", ())
        with self._write_lock:
            deleted = self.store.delete_image(image_id, audit=event)
            self._index.apply_deletions()
        self.audit.committed()
        return deleted

    # --- search and verify --------------------------------------------------------------
    def search(
        self,
        data: bytes,
        *,
        context: AuditContext,
        k: int | None = None,
        galleries: Sequence[str] | None = None,
        all_faces: bool = False,
        threshold: float | None = None,
        face: int | None = None,
        allowed_galleries: Collection[str] | None = None,
    ) -> SearchResult:
        """Rank enrolled faces by similarity to the probe's largest face (or every face, or
        the ``face``-th face of ``pipeline.analyze(data).faces``).

        ``context`` must carry a purpose, a case reference and an authorization reference
        (else :class:`InvalidInput` and nothing runs). Returns at most ``k`` candidates per
        probe face whose similarity is at or above ``threshold`` (default: the search
        threshold setting). ``galleries`` restricts the search (default: all). Raises
        :class:`NoFaceFound` when the probe holds no face. The audit event (galleries, probe
        sha256, every candidate returned) is committed before this returns; if it cannot
        be, the search fails. Failures are audited too.
        """
        sha = sha256_hex(data)
        self._accountability.justify(context, "search", sha)
        searched: list[str] = []
        try:
            result = self._search(
                data,
                k=k,
                galleries=galleries_to_search(galleries, allowed_galleries),
                all_faces=all_faces,
                threshold=threshold,
                face_index=face,
                searched=searched,
            )
        except Exception as err:
            details = {
                "k": k,
                "threshold": threshold,
                "all_faces": all_faces,
                "face": face,
                "requested_galleries": list(galleries or ()),
            }
            # only the galleries actually searched (none when refused before searching)
            self._accountability.failed(
                context, "search", err, galleries=searched, probe_sha256=sha, details=details
            )
            raise
        record = self._accountability.searched(context, result)
        self._accountability.keep_probe(data, sha)
        return dataclasses.replace(result, audit_seq=record.seq)

    def _search(
        self,
        data: bytes,
        *,
        k: int | None,
        galleries: Sequence[str] | None,
        all_faces: bool,
        threshold: float | None,
        face_index: int | None = None,
        searched: list[str] | None = None,
    ) -> SearchResult:
        """See :meth:`search`; the names of the galleries searched are appended to
        ``searched`` once the index is about to be searched."""
        self.leads.require()  # no calibration table for this model: refused, audited
        k = self._check_k(k)
        analyzed = self.pipeline.analyze(data)
        probe_faces = self._probe_faces(analyzed, all_faces=all_faces, face=face_index)
        if galleries:
            records = [self.store.get_gallery(name) for name in galleries]
            subset = self.store.face_ids_in_galleries(self.model_id, [g.id for g in records])
            names = tuple(g.name for g in records)
        else:
            subset = None
            names = tuple(g.name for g in self.store.list_galleries())
        # after reading the subset: every face it lists that had committed is now indexed
        # (another request may have committed it and not yet added it to the index)
        self._index.catch_up()
        queries = np.stack([f.embedding for f in probe_faces]).astype(np.float32)
        if searched is not None:
            searched.extend(names)
        scores, ids, gallery_size = self._search_unsuppressed(
            queries, k, subset=subset, threshold=threshold
        )
        if threshold is None:
            threshold = self.leads.search_threshold(gallery_size)
        wanted = sorted({int(i) for i in ids.ravel() if i >= 0})
        records_by_id = self.store.get_faces(wanted)
        results = []
        for face, row_scores, row_ids in zip(probe_faces, scores, ids, strict=True):
            kept = [
                (float(score), records_by_id[int(face_id)])
                for score, face_id in zip(row_scores, row_ids, strict=True)
                # a face deleted between the index search and the row read is dropped
                if face_id >= 0 and float(score) >= threshold and int(face_id) in records_by_id
            ]
            est = self.leads.estimates([sim for sim, _ in kept], gallery_size)
            candidates = tuple(
                _candidate(
                    rank,
                    sim,
                    rec,
                    fmr=float(est.fmr[rank - 1]),
                    fpir=float(est.fpir[rank - 1]),
                    expected=float(est.expected_false_candidates[rank - 1]),
                )
                for rank, (sim, rec) in enumerate(kept, start=1)
            )
            results.append(
                ProbeFace(
                    box=face.detection.box,
                    detector_score=face.detection.score,
                    quality=face.quality,
                    candidates=candidates,
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
            threshold_fmr=self.leads.fmr(threshold),
            threshold_fpir=self.leads.fpir(threshold, gallery_size),
            calibration=self.leads.describe(),
        )

    def _search_unsuppressed(
        self,
        queries: NDArray[np.float32],
        k: int,
        *,
        subset: NDArray[np.int64] | None,
        threshold: float | None,
    ) -> tuple[NDArray[np.float32], NDArray[np.int64], int]:
        """The top ``k`` faces per query ``(m, d)`` that are not of a suppressed person:
        ``(scores (m, k), ids (m, k) with -1 where fewer, gallery size)``.

        Suppressed faces are dropped after the index search, so while a row has fewer
        than ``k`` faces left, holds no face below the threshold yet and the index holds
        more, the search is widened (at least doubled) and repeated."""
        fetch = k
        while True:
            scores, ids, gallery_size = self._index.search_counted(queries, fetch, subset=subset)
            limit = self.leads.search_threshold(gallery_size) if threshold is None else threshold
            kept = self.drop_suppressed(ids)  # never return a suppressed person's face
            valid = kept >= 0
            short = valid.sum(axis=1) < k
            # a row whose last fetched face is below the threshold cannot gain a candidate
            more_above = (ids[:, -1] >= 0) & (scores[:, -1] >= limit)
            if fetch >= gallery_size or not np.any(short & more_above):
                break
            dropped = int(((ids >= 0) & ~valid).sum(axis=1).max())
            fetch = min(max(2 * fetch, k + dropped), gallery_size)
        out_scores = np.full((len(kept), k), -np.inf, dtype=np.float32)
        out_ids = np.full((len(kept), k), -1, dtype=np.int64)
        for row in range(len(kept)):
            take = np.flatnonzero(valid[row])[:k]
            out_scores[row, : len(take)] = scores[row, take]
            out_ids[row, : len(take)] = kept[row, take]
        return out_scores, out_ids, gallery_size

    def verify(self, data_a: bytes, data_b: bytes, *, context: AuditContext) -> VerifyResult:
        """Compare the largest face of two images (1:1) at the verify threshold.

        Justified and audited like :meth:`search` (both probes' sha256, the similarity).
        """
        sha_a, sha_b = sha256_hex(data_a), sha256_hex(data_b)
        self._accountability.justify(context, "verify", sha_a)
        try:
            self.leads.require()  # no calibration table for this model: refused, audited
            face_a = self._largest(self.pipeline.analyze(data_a), "first")
            face_b = self._largest(self.pipeline.analyze(data_b), "second")
        except Exception as err:
            self._accountability.failed(
                context, "verify", err, probe_sha256=sha_a, details={"second_probe_sha256": sha_b}
            )
            raise
        similarity = float(np.dot(face_a.embedding, face_b.embedding))
        threshold = self.leads.verify_threshold
        result = VerifyResult(
            similarity=similarity,
            threshold=threshold,
            above_threshold=similarity >= threshold,
            model_id=self.model_id,
            fmr=self.leads.fmr(similarity),
            threshold_fmr=self.leads.fmr(threshold),
            face_a=_probe(face_a),
            face_b=_probe(face_b),
        )
        record = self._accountability.verified(context, result, sha_a, sha_b)
        self._accountability.keep_probe(data_a, sha_a)
        self._accountability.keep_probe(data_b, sha_b)
        return dataclasses.replace(result, audit_seq=record.seq)

    # --- index --------------------------------------------------------------------------
    def index_status(self) -> IndexStatus:
        return self._index.status()

    def rebuild_index(self) -> ReconcileReport:
        with self._write_lock:
            return self._index.rebuild()

    # --- helpers ------------------------------------------------------------------------
    @staticmethod
    def _deletion_event(
        context: AuditContext, action: str, target: str | None, galleries: tuple[str, ...]
    ) -> AuditHook[list[int]]:
        return lambda ids: context.event(
            action, target=target, galleries=galleries, details={"face_ids": list(ids)}
        )

    def _check_k(self, k: int | None) -> int:
        search = self.settings.search
        if k is None:
            return search.default_k
        if not 1 <= k <= search.max_k:
            raise InvalidInput(f"k must be between 1 and {search.max_k}, got {k}")
        return k

    @staticmethod
    def _probe_faces(
        analyzed: AnalyzedImage, *, all_faces: bool, face: int | None = None
    ) -> list[AnalyzedFace]:
        if not analyzed.faces:
            raise NoFaceFound("no face found in the probe image")
        if face is not None:
            if not 0 <= face < len(analyzed.faces):
                raise InvalidInput(f"face must be between 0 and {len(analyzed.faces) - 1}")
            return [analyzed.faces[face]]
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


def _candidate(
    rank: int, similarity: float, rec: FaceRecord, *, fmr: float, fpir: float, expected: float
) -> Candidate:
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
        fmr=fmr,
        expected_false_candidates=expected,
        fpir=fpir,
    )


def _probe(face: AnalyzedFace) -> ProbeFace:
    return ProbeFace(
        box=face.detection.box,
        detector_score=face.detection.score,
        quality=face.quality,
        candidates=(),
    )
