"""The worker side of enrolling many files: one :class:`FacePipeline` per spawned process.

Apart from :mod:`facesearch.service.folder` (the parent side) so that a worker imports the
pipeline and nothing of the engine: no store, audit log or index, whose libraries
(SQLAlchemy, Alembic, FAISS) cost about a second of CPU per process to import, every run.
``tests/service/test_folder.py`` checks what a worker imports.
"""

from __future__ import annotations

from pathlib import Path

from facesearch.errors import FaceSearchError
from facesearch.service.pipeline import AnalyzedImage, FacePipeline
from facesearch.settings import Settings

_worker_pipeline: FacePipeline | None = None


def init_worker(settings: Settings) -> None:
    """Pool initializer: this process's pipeline (models load on first use)."""
    global _worker_pipeline
    _worker_pipeline = FacePipeline(settings)


def analyze_files(paths: list[str]) -> list[AnalyzedImage | FaceSearchError]:
    """One worker task: a batch of files whose chips are embedded in one call."""
    if _worker_pipeline is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker not initialised")
    return _worker_pipeline.analyze_many([Path(path).read_bytes() for path in paths])
