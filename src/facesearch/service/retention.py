"""Retention, a part of the engine (:class:`~facesearch.service.FaceSearch` builds it),
and its periodic task.

Each gallery may have a retention period in days (``None``: images are kept until
deleted). An image expires ``retention_days`` after its ``collected_at`` (set at
enrollment, default the enrollment time). :meth:`Retention.apply_retention` deletes every
expired image with its faces and thumbnails (the face rows hold them), rejections and the
subjects left without faces, in one store transaction that logs the face deletions (so
every vector index drops them) and appends a ``retention.purge`` event with the counts;
then the index applies the deletions. :class:`RetentionTask` runs it every
``retention.interval_s`` seconds in the API server.

Time comes from the engine's clock (``FaceSearch(settings, clock=...)``), so tests move
it instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from facesearch.audit import AuditContext, AuditLog
from facesearch.service.accountability import Accountability
from facesearch.service.index_sync import IndexSync
from facesearch.store import ExpiredImage, GalleryRecord, NewAuditEvent, PurgedImages
from facesearch.store.retention import RetentionRepository

logger = logging.getLogger(__name__)

RETENTION_ACTOR = "system:retention"
"""Audit actor of the periodic purge."""


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What a retention run found (``dry_run``) or deleted, at ``now`` (aware UTC).

    ``face_ids``: ascending; empty on a dry run (nothing was deleted)."""

    now: datetime
    dry_run: bool
    images: tuple[ExpiredImage, ...]
    face_ids: tuple[int, ...]

    @property
    def n_faces(self) -> int:
        return sum(i.n_faces for i in self.images)

    def by_gallery(self) -> dict[str, dict[str, int]]:
        return PurgedImages(self.images, self.face_ids).by_gallery()


class Retention:
    """Retention periods and the purge of expired images, a part of the engine.

    ``write_lock`` is the engine's lock around store-then-index steps; ``clock`` (aware UTC
    ``now``) says which images have expired."""

    def __init__(
        self,
        *,
        retention: RetentionRepository,
        index: IndexSync,
        audit: AuditLog,
        accountability: Accountability,
        write_lock: threading.Lock,
        clock: Callable[[], datetime],
    ) -> None:
        self._retention = retention
        self._index = index
        self._audit = audit
        self._accountability = accountability
        self._write_lock = write_lock
        self._clock = clock

    def set_retention(
        self, gallery: str, days: int | None, *, context: AuditContext
    ) -> GalleryRecord:
        """Set ``gallery``'s retention period (``None``: keep). Audited (``gallery.retention``)."""
        try:
            record = self._retention.set_retention(
                gallery,
                days,
                audit=lambda g: context.event(
                    "gallery.retention",
                    target=f"gallery:{g.name}",
                    galleries=(g.name,),
                    details={"retention_days": g.retention_days},
                ),
            )
        except Exception as err:
            self._accountability.failed(context, "gallery.retention", err, galleries=(gallery,))
            raise
        self._audit.committed()
        return record

    def expired_images(self) -> list[ExpiredImage]:
        """The images past their gallery's retention period now (by the engine's clock)."""
        return self._retention.expired_images(self._clock())

    def apply_retention(
        self, *, context: AuditContext, dry_run: bool = False, quiet: bool = False
    ) -> RetentionReport:
        """Purge the expired images (see the module docstring); ``dry_run``: only list them.

        A purge is audited as ``retention.purge`` with its counts, also when nothing
        expired unless ``quiet`` (the periodic task records only purges that deleted
        something). A failure is audited with its code."""
        now = self._clock()
        if dry_run:
            return RetentionReport(now, True, tuple(self._retention.expired_images(now)), ())
        try:
            if quiet and not self._retention.expired_images(now):
                return RetentionReport(now, False, (), ())
            with self._write_lock:

                def event(p: PurgedImages) -> NewAuditEvent:
                    return context.event(
                        "retention.purge",
                        galleries=tuple(p.by_gallery()),
                        details={
                            "as_of": now.isoformat(),
                            "images": len(p.images),
                            "faces": len(p.face_ids),
                            "by_gallery": p.by_gallery(),
                            "image_ids": [i.image_id for i in p.images],
                            "face_ids": list(p.face_ids),
                        },
                    )

                purged = self._retention.purge_expired(now, audit=event)
                self._index.apply_deletions()
        except Exception as err:
            self._accountability.failed(context, "retention.purge", err)
            raise
        self._audit.committed()
        return RetentionReport(now, False, purged.images, purged.face_ids)


class RetentionTask:
    """Runs :meth:`Retention.apply_retention` every ``interval_s`` seconds in a thread,
    first right after :meth:`start`; :meth:`stop` ends it (waiting for a run in progress).
    A failed run is logged (and audited by the engine) and the next one runs on time."""

    def __init__(self, retention: Retention, interval_s: float) -> None:
        self._retention = retention
        self._interval = float(interval_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def run_once(self) -> RetentionReport | None:
        """One purge as ``system:retention``; ``None`` when it failed (logged)."""
        try:
            report = self._retention.apply_retention(
                context=AuditContext(actor=RETENTION_ACTOR), quiet=True
            )
        except Exception:
            logger.exception("retention purge failed")
            return None
        finally:
            self.runs += 1
        if report.images:
            logger.info(
                "retention: purged %d image(s), %d face(s)",
                len(report.images),
                len(report.face_ids),
            )
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            if self._stop.wait(self._interval):
                break

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="facesearch-retention", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
