"""The web UI's two-person review page: a search's candidates, their lead state and, for
reviewers, a form to record a judgement (same rules as the API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from facesearch.api.deps import Caller
from facesearch.auth import Action
from facesearch.service.reviews import LEAD_DISCLAIMER, WITHHELD, Viewer
from facesearch.web.pages import _caller, _render

router = APIRouter(prefix="/ui", include_in_schema=False)


def _page(request: Request, caller: Caller, seq: int, notice: str | None = None) -> HTMLResponse:
    can_judge = caller.principal.can(Action.REVIEW_JUDGE)
    review = caller.engine.review(seq, Viewer(caller.principal.name, blind=can_judge))
    return _render(
        request, "review.html", caller, page="review", review=review,
        can_judge=can_judge, disclaimer=LEAD_DISCLAIMER, notice=notice, withheld=WITHHELD,
    )  # fmt: skip


@router.get("/reviews/{seq}")
def review_page(request: Request, seq: int) -> HTMLResponse:
    return _page(request, _caller(request, Action.REVIEW_READ), seq)


@router.post("/reviews/{seq}/{face_id}")
def judge(
    request: Request,
    seq: int,
    face_id: int,
    judgement: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> HTMLResponse:
    caller = _caller(request, Action.REVIEW_JUDGE)
    caller.engine.judge(seq, face_id, judgement, note, context=caller.context)
    return _page(request, caller, seq, notice=f"Your judgement of face {face_id} is recorded")
