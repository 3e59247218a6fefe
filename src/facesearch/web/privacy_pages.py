"""Web pages for erasure by face: file a request, review its proposed faces, confirm."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from facesearch.api.deps import Caller
from facesearch.api.trail import record_refusal
from facesearch.api.uploads import read_image
from facesearch.auth import Action
from facesearch.errors import FaceSearchError
from facesearch.web.pages import _caller, _render, _see_other

router = APIRouter(prefix="/ui", include_in_schema=False)


def _list_page(request: Request, caller: Caller, status: int = 200, **context: Any) -> HTMLResponse:
    fs = caller.engine
    return _render(
        request,
        "erasures.html",
        caller,
        status,
        page="erasures",
        requests=fs.list_erasures(),
        suppressed=len(fs.list_suppressions()),
        can_manage=caller.principal.can(Action.ERASURE_MANAGE),
        target_fmr=fs.settings.privacy.erasure_target_fmr,
        **context,
    )


@router.get("/erasures")
def erasures_page(request: Request) -> HTMLResponse:
    return _list_page(request, _caller(request, Action.ERASURE_READ))


@router.post("/erasures")
def file_erasure(
    request: Request,
    photo: Annotated[UploadFile, File()],
    reference: Annotated[str, Form(max_length=200)],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    caller = _caller(request, Action.ERASURE_MANAGE)
    fs = caller.engine
    try:
        view = fs.request_erasure(
            read_image(photo, fs.settings), reference=reference, note=note, context=caller.context
        )
    except FaceSearchError as err:
        record_refusal(request, err.http_status, err.code, err.message)
        return _list_page(request, caller, err.http_status, error=err.message)
    return _see_other(f"/ui/erasures/{view.request.id}")


def _request_page(
    request: Request, caller: Caller, request_id: int, status: int = 200, **context: Any
) -> HTMLResponse:
    context.setdefault("hidden_face_ids", ())
    return _render(
        request,
        "erasure.html",
        caller,
        status,
        page="erasures",
        view=caller.engine.erasure(request_id),
        can_manage=caller.principal.can(Action.ERASURE_MANAGE),
        suppression_threshold=caller.engine.suppression.threshold,
        **context,
    )


@router.get("/erasures/{request_id}")
def erasure_page(request: Request, request_id: int) -> HTMLResponse:
    return _request_page(request, _caller(request, Action.ERASURE_READ), request_id)


@router.post("/erasures/{request_id}/confirm")
def confirm_erasure(
    request: Request,
    request_id: int,
    face_ids: Annotated[list[int] | None, Form()] = None,
) -> HTMLResponse:
    caller = _caller(request, Action.ERASURE_MANAGE)
    if not face_ids and caller.engine.store.privacy.get_erasure_request(request_id).proposed:
        return _request_page(
            request, caller, request_id, 422, error="tick at least one face to erase"
        )
    try:
        done = caller.engine.confirm_erasure(
            request_id, face_ids=face_ids or [], context=caller.context
        )
    except FaceSearchError as err:
        record_refusal(request, err.http_status, err.code, err.message)
        return _request_page(request, caller, request_id, err.http_status, error=err.message)
    hidden = len(done.hidden_face_ids)
    return _request_page(
        request,
        caller,
        request_id,
        notice=f"erased {len(done.record.erased_face_ids)} face(s); this person is now "
        f"suppressed. {hidden} kept face(s) stay stored but are hidden from every search "
        "by the suppression",
        hidden_face_ids=done.hidden_face_ids,
    )


@router.post("/erasures/{request_id}/cancel")
def cancel_erasure(request: Request, request_id: int) -> HTMLResponse:
    caller = _caller(request, Action.ERASURE_MANAGE)
    try:
        caller.engine.cancel_erasure(request_id, context=caller.context)
    except FaceSearchError as err:
        record_refusal(request, err.http_status, err.code, err.message)
        return _request_page(request, caller, request_id, err.http_status, error=err.message)
    return _request_page(request, caller, request_id, notice="request cancelled")
