"""Two-person review of leads: a search's candidates, judgements and lead sheets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import Response

from facesearch.api.deps import Caller, ReviewJudge, ReviewReader
from facesearch.api.schemas.reviews import JudgementIn, LeadOut, ReviewOut
from facesearch.auth import Action
from facesearch.service.reviews import LEAD_DISCLAIMER, Viewer

router = APIRouter(prefix="/api/v1")

Seq = Annotated[int, Path(ge=1, le=2**63 - 1, description="The search's audit event seq.")]
FaceId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A candidate face id.")]


def _viewer(caller: Caller) -> Viewer:
    return Viewer(caller.principal.name, blind=caller.principal.can(Action.REVIEW_JUDGE))


@router.get("/reviews/{seq}", tags=["review"], summary="A search's candidates with lead state")
def get_review(seq: Seq, caller: ReviewReader) -> ReviewOut:
    """Candidates of the search whose audit event is `seq`, in rank order. A reviewer sees
    others' judgements of a candidate only after recording their own judgement of it. When
    any candidate comes from a blind-review gallery, a reviewer sees every candidate's
    gallery, source category and subject label only after judging that candidate."""
    return ReviewOut.of(caller.engine.review(seq, _viewer(caller)), LEAD_DISCLAIMER)


@router.post(
    "/reviews/{seq}/{face_id}",
    tags=["review"],
    summary="Record a judgement of a candidate",
    status_code=status.HTTP_201_CREATED,
)
def judge(seq: Seq, face_id: FaceId, body: JudgementIn, caller: ReviewJudge) -> LeadOut:
    """One judgement per reviewer and candidate (409 for a second), two per candidate.
    Two `possible_lead` judgements by different reviewers make a confirmed lead. 404 when
    the face is no candidate of the search or is no longer stored (erased, purged)."""
    lead = caller.engine.judge(seq, face_id, body.judgement, body.note, context=caller.context)
    return LeadOut.of(lead)


@router.get(
    "/reviews/{seq}/{face_id}/thumbnail",
    tags=["review"],
    summary="A candidate's face thumbnail (JPEG), for review",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The thumbnail."}},
)
def review_thumbnail(seq: Seq, face_id: FaceId, caller: ReviewReader) -> Response:
    """The face only: no gallery or source category, so blind review is kept."""
    data = caller.engine.review_thumbnail(seq, face_id)
    return Response(content=data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get(
    "/reviews/{seq}/{face_id}/sheet",
    tags=["review"],
    summary="A candidate's lead sheet (Markdown)",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}, "description": "The lead sheet."}},
)
def lead_sheet(seq: Seq, face_id: FaceId, caller: ReviewReader) -> Response:
    """Starts with: "This is an investigative lead, not an identification. It is not
    sufficient on its own to justify an arrest." """
    text = caller.engine.lead_sheet(seq, face_id, _viewer(caller))
    return Response(content=text, media_type="text/markdown; charset=utf-8")
