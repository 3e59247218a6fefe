"""Enrolling many files: discovery, resumability by sha256, and a process pool.

Workers (one per core by default) run the pipeline (decode, detect, align, embed); the
parent process alone writes to the store and the index, one transaction per image, so a
crash loses at most the images in flight and a re-run skips what was committed.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from facesearch.errors import AlreadyExists, FaceSearchError, ImageTooLarge, NoFaceFound
from facesearch.imaging import sha256_hex
from facesearch.service.enrollment import check_enroll_fields
from facesearch.service.pipeline import AnalyzedImage, FacePipeline
from facesearch.service.results import EnrollSummary
from facesearch.settings import Settings

if TYPE_CHECKING:
    from facesearch.audit import AuditContext
    from facesearch.service.enrollment import Enrollment

logger = logging.getLogger(__name__)

#: File name endings taken when walking a folder (files named explicitly are always tried).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


@dataclass(frozen=True, slots=True)
class FileTask:
    path: Path
    subject: str | None


def discover(
    paths: Sequence[Path], *, subject: str | None, subject_from_folder: bool
) -> Iterator[FileTask]:
    """Files to enroll, sorted per folder; with ``subject_from_folder`` each file's subject
    is the name of the folder that holds it (files directly in a named root get none)."""
    for root in paths:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                    if path.name.startswith("."):
                        continue
                    label = subject
                    if subject_from_folder:
                        label = path.parent.name if path.parent != root else None
                    yield FileTask(path, label)
        else:
            label = subject
            if subject_from_folder:
                label = root.parent.name or None
            yield FileTask(root, label)


# --- worker side ----------------------------------------------------------------------
_worker_pipeline: FacePipeline | None = None


def _init_worker(settings: Settings) -> None:
    global _worker_pipeline
    _worker_pipeline = FacePipeline(settings)


def _analyze_files(paths: list[str]) -> list[AnalyzedImage | FaceSearchError]:
    """One worker task: a batch of files whose chips are embedded in one call."""
    if _worker_pipeline is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker not initialised")
    return _worker_pipeline.analyze_many([Path(path).read_bytes() for path in paths])


# --- parent side ----------------------------------------------------------------------
def enroll_paths(
    engine: Enrollment,
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
    record = engine.store.get_gallery(gallery)
    check_enroll_fields(subject, None, source_uri, legal_basis)
    existing = engine.store.existing_sha256(record.id)
    summary = EnrollSummary()
    todo: list[FileTask] = []
    limit = engine.settings.imaging.max_bytes
    for task in discover(paths, subject=subject, subject_from_folder=subject_from_folder):
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
            result = engine.commit_analyzed(
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
        else:
            logger.exception("unexpected failure on %s", task.path, exc_info=err)
            summary.errors.append((str(task.path), f"{type(err).__name__}: {err}"))

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not progress,
        transient=False,
    )
    with bar:
        bar_task = bar.add_task(f"enrolling into {gallery}", total=len(todo))
        workers = min(engine.settings.workers, len(todo))
        if workers <= 1:
            for task in todo:
                try:
                    commit(task, engine.pipeline.analyze(task.path.read_bytes()))
                except Exception as err:
                    failed(task, err)
                bar.advance(bar_task)
        else:
            _run_pool(engine.settings, todo, workers, commit, failed, lambda: bar.advance(bar_task))
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
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(settings,)
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
                future = pool.submit(_analyze_files, [str(task.path) for task in tasks])
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
