"""The service layer: the one place that orchestrates imaging, models, store and index.

The names below are imported on first use (PEP 562 ``__getattr__``), not with the package:
a process that needs only the pipeline (an enrollment worker, spawned per core) imports
``facesearch.service.pipeline`` without the engine, store, audit log and index behind
:class:`FaceSearch` (SQLAlchemy, Alembic, FAISS: about a second of CPU per process).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from facesearch.service.facesearch import FaceSearch
    from facesearch.service.index_sync import IndexStatus, ReconcileReport
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

_HOME = {
    "FaceSearch": "facesearch.service.facesearch",
    "IndexStatus": "facesearch.service.index_sync",
    "ReconcileReport": "facesearch.service.index_sync",
    "AnalyzedFace": "facesearch.service.pipeline",
    "AnalyzedImage": "facesearch.service.pipeline",
    "FacePipeline": "facesearch.service.pipeline",
    "Candidate": "facesearch.service.results",
    "EnrollResult": "facesearch.service.results",
    "EnrollSummary": "facesearch.service.results",
    "ProbeFace": "facesearch.service.results",
    "RejectedFace": "facesearch.service.results",
    "SearchResult": "facesearch.service.results",
    "VerifyResult": "facesearch.service.results",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


__all__ = [
    "AnalyzedFace",
    "AnalyzedImage",
    "Candidate",
    "EnrollResult",
    "EnrollSummary",
    "FacePipeline",
    "FaceSearch",
    "IndexStatus",
    "ProbeFace",
    "ReconcileReport",
    "RejectedFace",
    "SearchResult",
    "VerifyResult",
]
