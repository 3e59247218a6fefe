"""Request and response bodies of the search and verify routes.

Results are *candidates*: leads for a trained reviewer, each with its similarity. Field
names and texts never call a candidate a positive identification.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from facesearch.api.schemas.base import SHA_EXAMPLE, RecordOut, examples, record_schema
from facesearch.api.schemas.faces import Box, Quality
from facesearch.service import ProbeFace
from facesearch.service.reviews import LEAD_DISCLAIMER

CANDIDATE_EXAMPLE: dict[str, Any] = {
    "rank": 1,
    "face_id": 31,
    "similarity": 0.962,
    "gallery": "press-archive",
    "subject": "Alice Example",
    "image_id": 17,
    "source_uri": "archive://box-12/scan-0042",
    "legal_basis": "newsroom archive, editorial use",
    "box": {"x1": 40, "y1": 30, "x2": 130, "y2": 120},
    "quality": {"interocular_px": 36.0, "sharpness": 98.0, "frontalness": 0.9, "score": 0.85},
    "thumbnail_url": "/api/v1/faces/31/thumbnail",
    "fmr": 2.1e-6,
    "expected_false_candidates": 0.00074,
    "fpir": 0.00074,
}


# CandidateOut, SearchOut and VerifyOut show facesearch.service.results' Candidate,
# SearchResult and VerifyResult written out here, not derived: the API orders their fields
# its own way, describes most of them, and adds the thumbnail URL and the notice
# (tests/api/test_schemas.py checks that they still show every field of those classes).
class CandidateOut(BaseModel):
    """One ranked candidate: a lead to review, with its similarity, never a conclusion."""

    model_config = examples(CANDIDATE_EXAMPLE)

    rank: int
    face_id: int
    similarity: float = Field(description="Cosine similarity of the probe face and this face.")
    gallery: str
    subject: str | None
    image_id: int
    source_uri: str | None
    legal_basis: str
    box: Box
    quality: Quality
    thumbnail_url: str
    fmr: float = Field(
        description="Estimated FMR at this similarity: the share of comparisons "
        "of two different people that score at least this high (calibration table)."
    )
    expected_false_candidates: float = Field(
        description="Expected number of other people at or above this similarity in a "
        "search of this many faces (fmr x gallery_size)."
    )
    fpir: float = Field(
        description="Chance that a search of this many faces turns up anyone else at or "
        "above this similarity: 1 - (1 - fmr) ^ gallery_size."
    )


@record_schema(ProbeFace, fields={"box": Box, "quality": Quality, "candidates": list[CandidateOut]})
class ProbeFaceOut(RecordOut[ProbeFace]):
    pass


NOTICE = (
    "Candidates are investigative leads for a trained reviewer; a high similarity is not "
    "proof of who anyone is. " + LEAD_DISCLAIMER
)


class SearchOut(BaseModel):
    model_config = examples(
        {
            "probe_sha256": SHA_EXAMPLE,
            "model_id": "dlib-resnet-v1",
            "k": 10,
            "threshold": 0.9411,
            "threshold_fmr": 0.0001,
            "threshold_fpir": 0.0346,
            "calibration": "dlib-resnet-v1: LFW deep-funneled, View 1 peopleDevTrain.txt; "
            "45,140,413 impostor pairs; floor FMR 2.4e-07",
            "galleries": ["press-archive"],
            "gallery_size": 352,
            "audit_seq": 1207,
            "notice": NOTICE,
            "faces": [
                {
                    "box": {"x1": 80, "y1": 64, "x2": 170, "y2": 154},
                    "detector_score": 1.2,
                    "quality": {
                        "interocular_px": 38.5,
                        "sharpness": 120.0,
                        "frontalness": 0.93,
                        "score": 0.88,
                    },
                    "candidates": [CANDIDATE_EXAMPLE],
                }
            ],
        }
    )
    probe_sha256: str
    model_id: str
    k: int
    threshold: float
    threshold_fmr: float = Field(description="Estimated FMR at the threshold.")
    threshold_fpir: float = Field(
        description="Chance that a search of this many faces returns any false candidate "
        "at the threshold."
    )
    calibration: str = Field(description="Where the FMR estimates come from.")
    galleries: list[str]
    gallery_size: int
    audit_seq: int | None = Field(None, description="Seq of this search's audit event.")
    notice: str = NOTICE
    faces: list[ProbeFaceOut]


@record_schema(ProbeFace, omit=("candidates",), fields={"box": Box, "quality": Quality})
class VerifyFaceOut(RecordOut[ProbeFace]):
    pass


class VerifyOut(BaseModel):
    model_config = examples(
        {
            "similarity": 0.951,
            "threshold": 0.9259,
            "above_threshold": True,
            "fmr": 1.9e-5,
            "threshold_fmr": 0.001,
            "model_id": "dlib-resnet-v1",
            "audit_seq": 1208,
            "notice": NOTICE,
            "face_a": {
                "box": {"x1": 80, "y1": 64, "x2": 170, "y2": 154},
                "detector_score": 1.2,
                "quality": {
                    "interocular_px": 38.5,
                    "sharpness": 120.0,
                    "frontalness": 0.93,
                    "score": 0.88,
                },
            },
            "face_b": {
                "box": {"x1": 60, "y1": 50, "x2": 150, "y2": 140},
                "detector_score": 0.9,
                "quality": {
                    "interocular_px": 35.0,
                    "sharpness": 80.0,
                    "frontalness": 0.85,
                    "score": 0.8,
                },
            },
        }
    )
    similarity: float
    threshold: float
    above_threshold: bool = Field(description="Whether the similarity reaches the threshold.")
    fmr: float = Field(
        description="Estimated FMR at this similarity (share of comparisons of two "
        "different people scoring at least this high)."
    )
    threshold_fmr: float = Field(description="FMR the verify threshold is set to.")
    model_id: str
    audit_seq: int | None = None
    notice: str = NOTICE
    face_a: VerifyFaceOut
    face_b: VerifyFaceOut
