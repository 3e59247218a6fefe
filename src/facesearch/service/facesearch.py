"""The one entry point of the engine: :class:`FaceSearch` builds its parts and forwards
the operations the API, web UI and command line call to them.

Parts (each a class whose constructor takes what it uses; none imports this module):

* :class:`~facesearch.service.accountability.Accountability`: justification checks and
  audit events of search, verify and failures;
* :class:`~facesearch.service.index_sync.IndexSync`: the vector index, its persistence and
  reconciliation with the store;
* :class:`~facesearch.service.suppression.Suppression`: the suppression list's checks;
* :class:`~facesearch.service.catalog.Catalog`: galleries, subjects, images, faces;
* :class:`~facesearch.service.search.Searcher`: search and verify;
* :class:`~facesearch.service.enrollment.Enrollment` and
  :class:`~facesearch.service.folder.FolderEnrollment`: one image, many files;
* :class:`~facesearch.service.privacy.Privacy`: erasure requests;
* :class:`~facesearch.service.retention.Retention`: retention periods and purges;
* :class:`~facesearch.service.grants.Grants`: gallery grants and user groups;
* :class:`~facesearch.service.reviews.Reviews`: review of leads;
* :class:`~facesearch.service.migrate.ModelMigration`: re-embedding faces and
  suppressions under another model, dropping an old model's faces.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

from facesearch.audit import AuditContext, AuditLog
from facesearch.auth import Accounts
from facesearch.index.ivf_index import IVFParams
from facesearch.index.registry import configure_backend, is_shared
from facesearch.service.accountability import Accountability
from facesearch.service.catalog import Catalog
from facesearch.service.enrollment import Enrollment
from facesearch.service.folder import FolderEnrollment
from facesearch.service.grants import Grants
from facesearch.service.index_sync import IndexStatus, IndexSync, ReconcileReport
from facesearch.service.leads import LeadScorer
from facesearch.service.migrate import DEFAULT_BATCH, MigrationReport, ModelMigration
from facesearch.service.pipeline import AnalyzedImage, FacePipeline
from facesearch.service.privacy import ErasureConfirmation, ErasureView, Privacy
from facesearch.service.results import EnrollResult, EnrollSummary, SearchResult, VerifyResult
from facesearch.service.retention import Retention, RetentionReport
from facesearch.service.reviews import LeadView, Reviews, ReviewView, Viewer
from facesearch.service.search import Searcher
from facesearch.service.shared_index import SharedIndexSync
from facesearch.service.suppression import Suppression
from facesearch.settings import IVFCodes, Settings
from facesearch.store import (
    ErasureRecord,
    ExpiredImage,
    FaceRecord,
    GalleryRecord,
    GrantRecord,
    GroupGrantRecord,
    GroupRecord,
    Store,
    SubjectRecord,
    SuppressionRecord,
)
from facesearch.store.tables import utcnow

logger = logging.getLogger(__name__)


class FaceSearch:
    """facesearch's engine over one data folder (or database URL).

    Build it with :class:`Settings`; it opens the store (running migrations), builds the
    pipeline (models load lazily on first use) and reconciles the vector index with the
    store. Use it as a context manager, or call :meth:`close` to persist the index.

    Every search, verify, enroll and delete takes an :class:`AuditContext` (who, from where,
    and for search and verify why) and is audited (:mod:`facesearch.service.accountability`);
    :attr:`accounts` holds users and API keys, :attr:`audit` the hash-chained log.
    ``clock`` (aware UTC ``now``) drives retention; tests pass one they control.

    The engine's parts are attributes (:attr:`catalog`, :attr:`searcher`,
    :attr:`enrollment`, :attr:`folders`, :attr:`privacy`, :attr:`suppression`,
    :attr:`retention`, :attr:`grants`, :attr:`reviews`, :attr:`index`,
    :attr:`accountability`); the methods below only forward to them, so the adapters keep
    one entry point. Parts that write and then update the index share one
    ``threading.Lock`` (store first, then index, under that lock).
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
        self.index: IndexSync = self._index_of(self.model_id, self.pipeline.embedder.dim)
        write_lock = threading.Lock()
        self.audit = AuditLog(self.store, anchor_path=settings.audit_anchor_path)
        self.accounts = Accounts(self.store, self.audit, settings.auth)
        self.accountability = Accountability(self.audit, settings)
        self.suppression = Suppression(
            settings,
            model_id=self.model_id,
            privacy=self.store.privacy,
            index_rows=self.store.index_rows,
        )
        self.catalog = Catalog(
            catalog=self.store.catalog, index=self.index, audit=self.audit, write_lock=write_lock
        )
        self.searcher = Searcher(
            settings.search,
            catalog=self.store.catalog,
            pipeline=self.pipeline,
            index=self.index,
            leads=self.leads,
            suppression=self.suppression,
            accountability=self.accountability,
        )
        self.enrollment = Enrollment(
            settings,
            catalog=self.store.catalog,
            pipeline=self.pipeline,
            index=self.index,
            suppression=self.suppression,
            accountability=self.accountability,
            write_lock=write_lock,
            clock=self.clock,
        )
        self.folders = FolderEnrollment(
            settings,
            enrollment=self.enrollment,
            catalog=self.store.catalog,
            pipeline=self.pipeline,
            audit=self.audit,
            accountability=self.accountability,
        )
        self.privacy = Privacy(
            settings,
            store=self.store,
            pipeline=self.pipeline,
            index=self.index,
            suppression=self.suppression,
            audit=self.audit,
            accountability=self.accountability,
            write_lock=write_lock,
        )
        self.retention = Retention(
            retention=self.store.retention,
            index=self.index,
            audit=self.audit,
            accountability=self.accountability,
            write_lock=write_lock,
            clock=self.clock,
        )
        self.grants = Grants(
            groups=self.store.groups, audit=self.audit, accountability=self.accountability
        )
        self.reviews = Reviews(
            reviews=self.store.reviews,
            audit_events=self.store.audit,
            catalog=self.store.catalog,
            audit=self.audit,
            accountability=self.accountability,
        )
        self.models = ModelMigration(
            store=self.store,
            source=self.model_id,
            audit=self.audit,
            accountability=self.accountability,
        )
        self._write_lock = write_lock
        self._warn_unsuppressed()
        self.reconcile_report: ReconcileReport = self.index.open()
        logger.info(
            "index %s: %s (%s)",
            self.model_id,
            self.reconcile_report.action,
            self.reconcile_report.reason,
        )

    def _warn_unsuppressed(self) -> None:
        """Log a warning when erasures suppressed under another model have no suppression
        entry under this one (a switch made without ``models migrate`` carrying them)."""
        suppressed = self.store.privacy.suppressed_requests()
        missing = frozenset().union(*suppressed.values()) - suppressed.get(
            self.model_id, frozenset()
        )
        if missing:
            logger.warning(
                "%d erasure request(s) are suppressed under another model but not under "
                "%s (ids %s): with that model configured, run `facesearch models migrate "
                "--to` this one",
                len(missing),
                self.model_id,
                sorted(missing)[:20],
            )

    # --- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self.index.close()
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

    # --- index --------------------------------------------------------------------------
    def index_status(self) -> IndexStatus:
        return self.index.status()

    def index_health(self) -> str | None:
        """Why the vector index cannot serve now (``/readyz``), ``None`` when it can."""
        return self.index.health()

    def rebuild_index(self, progress: Callable[[int, int], None] | None = None) -> ReconcileReport:
        """Rebuild the index from the store; ``progress(done, total)`` after each batch."""
        with self._write_lock:
            return self.index.rebuild(progress)

    # --- models (ModelMigration) --------------------------------------------------------
    def migrate_model(
        self,
        target: FacePipeline,
        *,
        context: AuditContext,
        gallery: str | None = None,
        batch: int = DEFAULT_BATCH,
        allow_unfollowed: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> MigrationReport:
        """Re-embed this engine's (active) model's suppressions and faces under ``target``'s
        model (:meth:`ModelMigration.run`), then build or catch up that model's own index
        beside this one (saved in its folder, or its shared collection), so that an engine
        switched to it opens ready. This engine keeps searching its own model."""
        report = self.models.run(
            target,
            context=context,
            gallery=gallery,
            batch=batch,
            allow_unfollowed=allow_unfollowed,
            progress=progress,
        )
        index = self._index_of(target.model_id, target.embedder.dim)
        try:
            opened = index.open()
        finally:
            index.close()
        return dataclasses.replace(report, index=opened.action)

    def _index_of(self, model_id: str, dim: int) -> IndexSync:
        """An index of ``model_id`` on this engine's store and index settings."""
        if is_shared(self.settings.index.backend):
            return SharedIndexSync.from_settings(
                self.store, self.settings.index, model_id=model_id, dim=dim
            )
        return _local_index(self.store, self.settings, model_id, dim)

    def drop_model(self, model_id: str, *, context: AuditContext) -> list[int]:
        """Delete another model's face rows (:meth:`ModelMigration.drop`)."""
        return self.models.drop(model_id, context=context)

    # --- catalog (Catalog) -----------------------------------------------------
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
        """See :meth:`Catalog.create_gallery`."""
        return self.catalog.create_gallery(
            name,
            legal_basis=legal_basis,
            description=description,
            source_category=source_category,
            retention_days=retention_days,
            context=context,
        )

    def list_galleries(self) -> list[GalleryRecord]:
        """See :meth:`Catalog.list_galleries`."""
        return self.catalog.list_galleries()

    def delete_gallery(self, name: str, *, context: AuditContext) -> list[int]:
        """See :meth:`Catalog.delete_gallery`."""
        return self.catalog.delete_gallery(name, context=context)

    def list_subjects(self, gallery: str | None = None) -> list[SubjectRecord]:
        """See :meth:`Catalog.list_subjects`."""
        return self.catalog.list_subjects(gallery)

    def delete_subject(self, gallery: str, label: str, *, context: AuditContext) -> list[int]:
        """See :meth:`Catalog.delete_subject`."""
        return self.catalog.delete_subject(gallery, label, context=context)

    def list_faces(
        self,
        *,
        gallery: str | None = None,
        subject: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FaceRecord]:
        """See :meth:`Catalog.list_faces`."""
        return self.catalog.list_faces(gallery=gallery, subject=subject, limit=limit, offset=offset)

    def get_face(self, face_id: int) -> FaceRecord:
        """See :meth:`Catalog.get_face`."""
        return self.catalog.get_face(face_id)

    def delete_faces(self, ids: Sequence[int], *, context: AuditContext) -> list[int]:
        """See :meth:`Catalog.delete_faces`."""
        return self.catalog.delete_faces(ids, context=context)

    def delete_image(self, image_id: int, *, context: AuditContext) -> list[int]:
        """See :meth:`Catalog.delete_image`."""
        return self.catalog.delete_image(image_id, context=context)

    # --- searcher (Searcher) ---------------------------------------------------
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
        """See :meth:`Searcher.search`."""
        return self.searcher.search(
            data,
            context=context,
            k=k,
            galleries=galleries,
            all_faces=all_faces,
            threshold=threshold,
            face=face,
            allowed_galleries=allowed_galleries,
        )

    def verify(self, data_a: bytes, data_b: bytes, *, context: AuditContext) -> VerifyResult:
        """See :meth:`Searcher.verify`."""
        return self.searcher.verify(data_a, data_b, context=context)

    # --- enrollment (Enrollment) -----------------------------------------------
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
        """See :meth:`Enrollment.enroll`."""
        return self.enrollment.enroll(
            data,
            gallery=gallery,
            subject=subject,
            subject_reference=subject_reference,
            source_uri=source_uri,
            legal_basis=legal_basis,
            captured_at=captured_at,
            collected_at=collected_at,
            context=context,
        )

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
        """See :meth:`Enrollment.check_enroll_request`."""
        return self.enrollment.check_enroll_request(
            gallery=gallery,
            subject=subject,
            subject_reference=subject_reference,
            source_uri=source_uri,
            legal_basis=legal_basis,
            context=context,
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
        collected_at: datetime | None = None,
        context: AuditContext,
    ) -> EnrollResult:
        """See :meth:`Enrollment.commit_analyzed`."""
        return self.enrollment.commit_analyzed(
            analyzed,
            gallery=gallery,
            subject=subject,
            subject_reference=subject_reference,
            source_uri=source_uri,
            legal_basis=legal_basis,
            captured_at=captured_at,
            collected_at=collected_at,
            context=context,
        )

    # --- folders (FolderEnrollment) --------------------------------------------
    def enroll_paths(
        self,
        paths: Sequence[Path],
        *,
        gallery: str,
        subject: str | None = None,
        subject_from_folder: bool = False,
        source_uri: str | None = None,
        legal_basis: str | None = None,
        collected_at: datetime | None = None,
        progress: bool = False,
        context: AuditContext,
    ) -> EnrollSummary:
        """See :meth:`FolderEnrollment.enroll_paths`."""
        return self.folders.enroll_paths(
            paths,
            gallery=gallery,
            subject=subject,
            subject_from_folder=subject_from_folder,
            source_uri=source_uri,
            legal_basis=legal_basis,
            collected_at=collected_at,
            progress=progress,
            context=context,
        )

    # --- privacy (Privacy) -----------------------------------------------------
    def request_erasure(
        self, data: bytes, *, reference: str, note: str = "", context: AuditContext
    ) -> ErasureView:
        """See :meth:`Privacy.request_erasure`."""
        return self.privacy.request_erasure(data, reference=reference, note=note, context=context)

    def erasure(self, request_id: int) -> ErasureView:
        """See :meth:`Privacy.erasure`."""
        return self.privacy.erasure(request_id)

    def list_erasures(self, status: str | None = None) -> list[ErasureRecord]:
        """See :meth:`Privacy.list_erasures`."""
        return self.privacy.list_erasures(status)

    def list_suppressions(self) -> list[SuppressionRecord]:
        """See :meth:`Privacy.list_suppressions`."""
        return self.privacy.list_suppressions()

    def confirm_erasure(
        self,
        request_id: int,
        *,
        face_ids: Sequence[int] | None = None,
        context: AuditContext,
    ) -> ErasureConfirmation:
        """See :meth:`Privacy.confirm_erasure`."""
        return self.privacy.confirm_erasure(request_id, face_ids=face_ids, context=context)

    def cancel_erasure(self, request_id: int, *, context: AuditContext) -> ErasureRecord:
        """See :meth:`Privacy.cancel_erasure`."""
        return self.privacy.cancel_erasure(request_id, context=context)

    # --- retention (Retention) -------------------------------------------------
    def set_retention(
        self, gallery: str, days: int | None, *, context: AuditContext
    ) -> GalleryRecord:
        """See :meth:`Retention.set_retention`."""
        return self.retention.set_retention(gallery, days, context=context)

    def expired_images(self) -> list[ExpiredImage]:
        """See :meth:`Retention.expired_images`."""
        return self.retention.expired_images()

    def apply_retention(
        self, *, context: AuditContext, dry_run: bool = False, quiet: bool = False
    ) -> RetentionReport:
        """See :meth:`Retention.apply_retention`."""
        return self.retention.apply_retention(context=context, dry_run=dry_run, quiet=quiet)

    # --- grants (Grants) -------------------------------------------------------
    def grant(self, user: str, gallery: str, *, context: AuditContext) -> GrantRecord:
        """See :meth:`Grants.grant`."""
        return self.grants.grant(user, gallery, context=context)

    def revoke_grant(self, user: str, gallery: str, *, context: AuditContext) -> GrantRecord:
        """See :meth:`Grants.revoke_grant`."""
        return self.grants.revoke_grant(user, gallery, context=context)

    def list_grants(
        self, *, user: str | None = None, gallery: str | None = None
    ) -> list[GrantRecord]:
        """See :meth:`Grants.list_grants`."""
        return self.grants.list_grants(user=user, gallery=gallery)

    def granted_galleries(self, user: str) -> list[str]:
        """See :meth:`Grants.granted_galleries`."""
        return self.grants.granted_galleries(user)

    def create_group(self, name: str, *, context: AuditContext) -> GroupRecord:
        """See :meth:`Grants.create_group`."""
        return self.grants.create_group(name, context=context)

    def delete_group(self, name: str, *, context: AuditContext) -> GroupRecord:
        """See :meth:`Grants.delete_group`."""
        return self.grants.delete_group(name, context=context)

    def add_group_member(self, group: str, user: str, *, context: AuditContext) -> GroupRecord:
        """See :meth:`Grants.add_group_member`."""
        return self.grants.add_group_member(group, user, context=context)

    def remove_group_member(self, group: str, user: str, *, context: AuditContext) -> GroupRecord:
        """See :meth:`Grants.remove_group_member`."""
        return self.grants.remove_group_member(group, user, context=context)

    def get_group(self, name: str) -> GroupRecord:
        """See :meth:`Grants.get_group`."""
        return self.grants.get_group(name)

    def list_groups(self, *, user: str | None = None) -> list[GroupRecord]:
        """See :meth:`Grants.list_groups`."""
        return self.grants.list_groups(user=user)

    def grant_group(self, group: str, gallery: str, *, context: AuditContext) -> GroupGrantRecord:
        """See :meth:`Grants.grant_group`."""
        return self.grants.grant_group(group, gallery, context=context)

    def revoke_group_grant(
        self, group: str, gallery: str, *, context: AuditContext
    ) -> GroupGrantRecord:
        """See :meth:`Grants.revoke_group_grant`."""
        return self.grants.revoke_group_grant(group, gallery, context=context)

    def list_group_grants(
        self, *, group: str | None = None, gallery: str | None = None
    ) -> list[GroupGrantRecord]:
        """See :meth:`Grants.list_group_grants`."""
        return self.grants.list_group_grants(group=group, gallery=gallery)

    # --- reviews (Reviews) -----------------------------------------------------
    def judge(
        self,
        seq: int,
        face_id: int,
        judgement: str,
        note: str = "",
        *,
        context: AuditContext,
    ) -> LeadView:
        """See :meth:`Reviews.judge`."""
        return self.reviews.judge(seq, face_id, judgement, note, context=context)

    def review(self, seq: int, viewer: Viewer) -> ReviewView:
        """See :meth:`Reviews.review`."""
        return self.reviews.review(seq, viewer)

    def review_thumbnail(self, seq: int, face_id: int) -> bytes:
        """See :meth:`Reviews.review_thumbnail`."""
        return self.reviews.review_thumbnail(seq, face_id)

    def lead_state(self, seq: int, face_id: int, viewer: Viewer) -> LeadView:
        """See :meth:`Reviews.lead_state`."""
        return self.reviews.lead_state(seq, face_id, viewer)

    def lead_sheet(self, seq: int, face_id: int, viewer: Viewer) -> str:
        """See :meth:`Reviews.lead_sheet`."""
        return self.reviews.lead_sheet(seq, face_id, viewer)

    def set_blind_review(self, gallery: str, mask: bool, *, context: AuditContext) -> GalleryRecord:
        """See :meth:`Reviews.set_blind_review`."""
        return self.reviews.set_blind_review(gallery, mask, context=context)


def _local_index(store: Store, settings: Settings, model_id: str, dim: int) -> IndexSync:
    """The FAISS index of this process, kept in ``settings.index_dir``. ``pq`` codes need
    an even dimension: a model of odd ``dim`` gets ``sq8`` codes instead (logged)."""
    codes = settings.index.codes
    if codes is IVFCodes.PQ and dim % 2:
        logger.warning("model %s has %d dimensions: sq8 codes instead of pq", model_id, dim)
        codes = IVFCodes.SQ8
    return IndexSync(
        store,
        model_id=model_id,
        dim=dim,
        backend=settings.index.backend,
        folder=settings.index_dir / model_id,
        save_every=settings.index.save_every,
        kind=settings.index.kind,
        auto_crossover=settings.index.auto_crossover,
        ivf_params=IVFParams(
            codes=codes,
            nprobe=settings.index.nprobe,
            rerank=settings.index.rerank,
            train_min=settings.index.train_min,
            exact_subset_max=settings.index.exact_subset_max,
        ),
    )
