"""Enrolling many files: discovery, resumability by sha256, and a process pool.

Workers (one per core by default) run the pipeline (decode, detect, align, embed); the
parent process alone writes to the store and the index, one transaction per image, so a
crash loses at most the images in flight and a re-run skips what was committed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from facesearch.audit import AuditContext, AuditLog
from facesearch.errors import AlreadyExists, FaceSearchError, ImageTooLarge, NoFaceFound
from facesearch.imaging import ACCEPTED_FORMATS, SNIFF_BYTES, sha256_hex, sniff_format
from facesearch.service.accountability import Accountability
from facesearch.service.analysis_worker import analyze_files, init_worker
from facesearch.service.enrollment import Enrollment, check_enroll_fields
from facesearch.service.pipeline import AnalyzedImage, FacePipeline
from facesearch.service.results import EnrollSummary
from facesearch.settings import Settings
from facesearch.store.catalog import CatalogRepository

logger = logging.getLogger(__name__)

#: Names that announce an image (JPEG's .jfif/.jpe, Apple's .heic, ...). A folder walk
#: decides by content, never by name; a name only says whether a file that holds no
#: image is an error (``broken.jpg``: a failed file) or passed over (``notes.txt``).
IMAGE_NAME_SUFFIXES = frozenset(
    {
        *(".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".pjpeg", ".pjp"),
        *(".png", ".apng", ".webp", ".bmp", ".dib", ".gif", ".tif", ".tiff"),
        *(".heic", ".heif", ".hif", ".avif", ".jp2", ".j2k", ".jpx", ".jxl", ".psd"),
    }
)
_READABLE = ", ".join(("JPEG", "PNG", "WebP", "BMP", "GIF", "TIFF"))


@dataclass(frozen=True, slots=True)
class FileTask:
    """A file to enroll and the subject label of its face (None: every face, unlabelled)."""

    path: Path
    subject: str | None


@dataclass(frozen=True, slots=True)
class Passed:
    """A file or folder a folder walk did not enroll, and why. ``failed``: an image, or a
    file named like one, that cannot be enrolled, or a folder that cannot be read (an
    error of the run); otherwise no image, only counted (hidden, not an image, empty, not
    a regular file, a hidden folder or a link to a folder). ``is_file``: counts as a file
    found (folders do not)."""

    path: Path
    reason: str
    failed: bool = False
    is_file: bool = True


def discover(
    paths: Sequence[Path], *, subject: str | None, subject_from_folder: bool
) -> Iterator[FileTask | Passed]:
    """Files to enroll, sorted per folder; with ``subject_from_folder`` each file's subject
    is the name of the folder that holds it (files directly in a named root get none).

    A named file is always tried. In a folder, every file is judged by its first bytes
    (:func:`facesearch.imaging.sniff_format`), whatever its name: a JPEG called
    ``photo.jfif``, ``photo.jpe`` or ``photo`` is enrolled. Everything else is reported
    as :class:`Passed`, never dropped silently: hidden files and folders (a leading dot;
    hidden folders are not entered), links to folders (not followed), files that are not
    regular, empty or not an image, unreadable files and images of a format facesearch
    does not read (HEIC, AVIF, JPEG 2000, ...), the last two as failed.
    """
    for root in paths:
        if not root.is_dir():
            label = subject
            if subject_from_folder:
                label = root.parent.name or None
            yield FileTask(root, label)
            continue
        for item in _walk(root):
            if isinstance(item, Passed):
                yield item
                continue
            label = subject
            if subject_from_folder:
                label = item.parent.name if item.parent != root else None
            yield FileTask(item, label)


def _walk(root: Path) -> Iterator[Path | Passed]:
    """Every entry under ``root``, sorted: image files as paths, the rest as Passed."""
    problems: list[OSError] = []
    for folder, dirs, files in os.walk(root, onerror=problems.append):
        here = Path(folder)
        while problems:  # a folder os.walk could not list
            err = problems.pop()
            where = Path(err.filename) if err.filename else here
            yield Passed(where, f"cannot read folder: {err.strerror}", failed=True, is_file=False)
        for name in sorted(dirs):
            path = here / name
            if name.startswith("."):
                yield Passed(path, "hidden folder (not searched)", is_file=False)
            elif path.is_symlink():
                yield Passed(path, "link to a folder (not followed)", is_file=False)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (here / d).is_symlink())
        for name in sorted(files):
            yield _judge(here / name)
    while problems:
        err = problems.pop()
        yield Passed(Path(err.filename or root), f"cannot read folder: {err.strerror}", True, False)


def _judge(path: Path) -> Path | Passed:
    """``path`` if its content starts an image facesearch reads, else why not."""
    if path.name.startswith("."):
        return Passed(path, "hidden file")
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return Passed(path, "not a regular file")
        with path.open("rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError as err:
        return Passed(path, f"cannot read file: {err.strerror or err}", failed=True)
    found = sniff_format(head)
    if found in ACCEPTED_FORMATS:
        return path
    if found is not None:
        return Passed(
            path, f"unsupported image format {found} (facesearch reads {_READABLE})", True
        )
    what = "empty file" if not head else "not an image"
    return Passed(path, what, failed=path.suffix.lower() in IMAGE_NAME_SUFFIXES)


# --- parent side ----------------------------------------------------------------------
class FolderEnrollment:
    """Enrolling files and folders: a part of the engine over :class:`Enrollment` (which
    commits each analysed image), the catalog (the gallery and the sha256 already in it)
    and the pipeline (run here or in the worker processes)."""

    def __init__(
        self,
        settings: Settings,
        *,
        enrollment: Enrollment,
        catalog: CatalogRepository,
        pipeline: FacePipeline,
        audit: AuditLog,
        accountability: Accountability,
    ) -> None:
        self._settings = settings
        self._enrollment = enrollment
        self._catalog = catalog
        self._pipeline = pipeline
        self._audit = audit
        self._accountability = accountability

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
        """Enroll files and folders (recursively); see :func:`enroll_paths`.

        Each image is audited as it commits (``enroll``); the run ends with an
        ``enroll.batch`` event holding the summary."""
        try:
            summary = enroll_paths(
                self._settings,
                self._enrollment,
                self._catalog,
                self._pipeline,
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
        except Exception as err:
            self._accountability.failed(context, "enroll.batch", err, galleries=(gallery,))
            raise
        self._audit.record(
            context.event(
                "enroll.batch",
                galleries=(gallery,),
                details={
                    "files": summary.files,
                    "images": summary.images,
                    "faces": summary.faces,
                    "skipped_existing": summary.skipped_existing,
                    "images_without_faces": summary.images_without_faces,
                    "errors": len(summary.errors),
                    "skipped": len(summary.skipped),
                },
            )
        )
        return summary


def enroll_paths(
    settings: Settings,
    enrollment: Enrollment,
    catalog: CatalogRepository,
    pipeline: FacePipeline,
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
    """Enroll every image under ``paths``; see the module docstring. ``collected_at``: when
    the images were collected (retention counts from it; default: when each commits).

    The fields shared by every file are checked for sensitive identifiers first (the whole
    run is refused); a file whose own label (folder name) or path holds one is reported in
    ``errors`` by field and kind, and nothing of it is stored."""
    started = time.perf_counter()
    record = catalog.get_gallery(gallery)
    check_enroll_fields(subject, None, source_uri, legal_basis)
    pipeline.warm_up()  # a model that fails its checksum: one error, before any file
    existing = catalog.existing_sha256(record.id)
    summary = EnrollSummary()
    todo: list[FileTask] = []
    limit = settings.imaging.max_bytes
    for task in discover(paths, subject=subject, subject_from_folder=subject_from_folder):
        if isinstance(task, Passed):
            summary.files += task.is_file
            if task.failed:
                summary.errors.append((str(task.path), task.reason))
            else:
                summary.skipped.append((str(task.path), task.reason))
            continue
        summary.files += 1
        try:
            if task.path.stat().st_size > limit:
                raise ImageTooLarge(f"file is larger than {limit} bytes")
            digest = sha256_hex(task.path.read_bytes())
        except OSError as err:
            summary.errors.append((str(task.path), f"cannot read file: {err.strerror}"))
            continue
        except FaceSearchError as err:
            summary.errors.append((str(task.path), err.message))
            continue
        if digest in existing:
            summary.skipped_existing += 1
            continue
        existing.add(digest)
        todo.append(task)

    def commit(task: FileTask, analyzed: AnalyzedImage) -> None:
        try:
            # commit_analyzed checks every text it stores (folder names become subject
            # labels, file paths source URIs): a refusal is this file's error
            result = enrollment.commit_analyzed(
                analyzed,
                gallery=record,
                subject=task.subject,
                source_uri=source_uri or task.path.resolve().as_uri(),
                legal_basis=legal_basis,
                collected_at=collected_at,
                context=context,
            )
        except NoFaceFound:
            summary.images_without_faces += 1
            return
        except AlreadyExists:
            summary.skipped_existing += 1
            return
        summary.images += 1
        summary.faces += len(result.face_ids)
        summary.faces_rejected += len(result.rejected)

    def failed(task: FileTask, err: BaseException) -> None:
        if isinstance(err, FaceSearchError):
            summary.errors.append((str(task.path), err.message))
            summary.server_errors += err.http_status >= 500
        else:
            summary.server_errors += 1
            logger.exception("unexpected failure on %s", task.path, exc_info=err)
            summary.errors.append((str(task.path), f"{type(err).__name__}: {err}"))

    bar = Progress(
        # the gallery's name is shown as it is, never read as console markup
        TextColumn("{task.description}", style="progress.description", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not progress,
        transient=False,
    )
    with bar:
        bar_task = bar.add_task(f"enrolling into {gallery}", total=len(todo))
        workers = min(settings.workers, len(todo))
        if workers <= 1:
            for task in todo:
                try:
                    commit(task, pipeline.analyze(task.path.read_bytes()))
                except Exception as err:
                    failed(task, err)
                bar.advance(bar_task)
        else:
            _run_pool(settings, todo, workers, commit, failed, lambda: bar.advance(bar_task))
    summary.seconds = time.perf_counter() - started
    return summary


def _run_pool(
    settings: Settings,
    todo: list[FileTask],
    workers: int,
    on_result: Callable[[FileTask, AnalyzedImage], None],
    on_error: Callable[[FileTask, BaseException], None],
    advance: Callable[[], None],
) -> None:
    """Analyse ``todo`` in a spawn-started pool, committing results in the parent.

    Each worker task is a batch of ``embedding.batch_size`` files (fewer when there are not
    enough to keep every worker busy), whose chips the worker embeds in one call."""
    batch = max(1, min(settings.embedding.batch_size, len(todo) // (workers * 2) or 1))
    batches = [todo[i : i + batch] for i in range(0, len(todo), batch)]
    window = workers * 2
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=init_worker, initargs=(settings,)
    ) as pool:
        pending: dict[Future[list[AnalyzedImage | FaceSearchError]], list[FileTask]] = {}
        queue = iter(batches)
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < window:
                tasks = next(queue, None)
                if tasks is None:
                    exhausted = True
                    break
                future = pool.submit(analyze_files, [str(task.path) for task in tasks])
                pending[future] = tasks
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                tasks = pending.pop(future)
                try:
                    outcomes = future.result()
                except Exception as err:
                    for task in tasks:
                        on_error(task, err)
                        advance()
                    continue
                for task, outcome in zip(tasks, outcomes, strict=True):
                    try:
                        if isinstance(outcome, BaseException):
                            raise outcome
                        on_result(task, outcome)
                    except Exception as err:
                        on_error(task, err)
                    advance()
