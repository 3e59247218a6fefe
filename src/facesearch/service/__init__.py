"""The service layer: the one place that orchestrates imaging, models, store and index."""

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
