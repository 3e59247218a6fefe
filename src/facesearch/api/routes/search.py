"""Search and verify: multipart probes plus the justification every search must carry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from facesearch.api.deps import Caller, Searcher, Verifier
from facesearch.api.schemas.faces import Box, Quality
from facesearch.api.schemas.search import (
    CandidateOut,
    ProbeFaceOut,
    SearchOut,
    VerifyFaceOut,
    VerifyOut,
)
from facesearch.api.uploads import read_image
from facesearch.audit import AuditContext
from facesearch.service import ProbeFace, SearchResult

router = APIRouter(prefix="/api/v1", tags=["search"])

Purpose = Annotated[
    str,
    Form(
        max_length=4000,
        description="Why this search is run (at least `audit.min_purpose_length` characters).",
        examples=["armed robbery on 3 May: CCTV still from the bank's lobby camera"],
    ),
]
CaseReference = Annotated[
    str,
    Form(max_length=200, description="The case this search serves.", examples=["CASE-2026-0113"]),
]
AuthorizationReference = Annotated[
    str,
    Form(
        max_length=200,
        description="The warrant, order or approval that allows it.",
        examples=["WARRANT-77"],
    ),
]


def _justified(caller: Caller, purpose: str, case: str, authorization: str) -> AuditContext:
    return caller.context.with_justification(
        purpose=purpose, case_reference=case, authorization_reference=authorization
    )


def search_out(result: SearchResult) -> SearchOut:
    return SearchOut(
        probe_sha256=result.probe_sha256,
        model_id=result.model_id,
        k=result.k,
        threshold=result.threshold,
        threshold_fmr=result.threshold_fmr,
        threshold_fpir=result.threshold_fpir,
        calibration=result.calibration,
        galleries=list(result.galleries),
        gallery_size=result.gallery_size,
        audit_seq=result.audit_seq,
        faces=[_probe_face(face) for face in result.faces],
    )


def _probe_face(face: ProbeFace) -> ProbeFaceOut:
    return ProbeFaceOut.from_record(
        face,
        candidates=[
            CandidateOut(
                rank=c.rank,
                face_id=c.face_id,
                similarity=c.similarity,
                gallery=c.gallery,
                subject=c.subject,
                image_id=c.image_id,
                source_uri=c.source_uri,
                legal_basis=c.legal_basis,
                box=Box.of(c.box),
                quality=Quality.of(c.quality),
                thumbnail_url=f"/api/v1/faces/{c.face_id}/thumbnail",
                fmr=c.fmr,
                expected_false_candidates=c.expected_false_candidates,
                fpir=c.fpir,
            )
            for c in face.candidates
        ],
    )


@router.post("/search", summary="Search a probe photo for candidates")
def search(
    caller: Searcher,
    probe: Annotated[UploadFile, File(description="The probe photo.")],
    purpose: Purpose,
    case_reference: CaseReference,
    authorization_reference: AuthorizationReference,
    k: Annotated[
        int | None,
        Form(
            ge=1,
            le=50,
            description="Candidates per probe face: default 10, at most 50.",
            examples=[10],
        ),
    ] = None,
    galleries: Annotated[
        list[str] | None,
        Form(
            description="Search only these galleries (repeat the field); each needs a grant "
            "(403 otherwise). Default: every gallery granted to the caller.",
            examples=[["press-archive"]],
        ),
    ] = None,
    all_faces: Annotated[
        bool,
        Form(
            description="Search every face of the probe, not only the largest.",
            examples=[False],
        ),
    ] = False,
    threshold: Annotated[
        float | None,
        Form(
            ge=-1.0,
            le=1.0,
            description="Minimum similarity (default: set from the configured target "
            "FMR by the calibration table).",
            examples=[0.93],
        ),
    ] = None,
    face: Annotated[
        int | None,
        Form(
            ge=0,
            le=1000,
            description="Search only this face (0-based, detection order).",
            examples=[0],
        ),
    ] = None,
) -> SearchOut:
    """Ranks enrolled faces by similarity to the probe's face. Refused (422) without a purpose,
    a case reference and an authorization reference. The search, its justification, the
    probe's sha256 and every candidate returned are committed to the audit log before the
    response is sent (`audit_seq`); the probe image itself is not kept."""
    fs = caller.engine
    data = read_image(probe, fs.settings)
    result = fs.search(
        data,
        k=k,
        galleries=[g for g in galleries or [] if g] or None,
        all_faces=all_faces,
        threshold=threshold,
        face=face,
        allowed_galleries=fs.granted_galleries(caller.principal.name),
        context=_justified(caller, purpose, case_reference, authorization_reference),
    )
    return search_out(result)


@router.post("/verify", summary="Compare the largest face of two photos (1:1)")
def verify(
    caller: Verifier,
    image_a: Annotated[UploadFile, File(description="First photo.")],
    image_b: Annotated[UploadFile, File(description="Second photo.")],
    purpose: Purpose,
    case_reference: CaseReference,
    authorization_reference: AuthorizationReference,
) -> VerifyOut:
    """The cosine similarity of the two largest faces and whether it reaches the verify
    threshold; justified and audited like a search."""
    fs = caller.engine
    a, b = read_image(image_a, fs.settings), read_image(image_b, fs.settings)
    result = fs.verify(
        a, b, context=_justified(caller, purpose, case_reference, authorization_reference)
    )

    return VerifyOut(
        similarity=result.similarity,
        threshold=result.threshold,
        above_threshold=result.above_threshold,
        fmr=result.fmr,
        threshold_fmr=result.threshold_fmr,
        model_id=result.model_id,
        audit_seq=result.audit_seq,
        face_a=VerifyFaceOut.of(result.face_a),
        face_b=VerifyFaceOut.of(result.face_b),
    )
