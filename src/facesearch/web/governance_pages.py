"""The web UI's gallery grants: a section of the keys page (administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from facesearch.auth import Action
from facesearch.web.pages import _caller, _keys_page

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.post("/grants")
def add_grant(
    request: Request,
    user: Annotated[str, Form(max_length=200)],
    gallery: Annotated[str, Form(max_length=200)],
) -> HTMLResponse:
    caller = _caller(request, Action.GRANTS_MANAGE)
    caller.engine.grant(user, gallery, context=caller.context)
    return _keys_page(request, caller, notice=f"{user} may search gallery {gallery!r}")


@router.post("/grants/remove")
def remove_grant(
    request: Request,
    user: Annotated[str, Form(max_length=200)],
    gallery: Annotated[str, Form(max_length=200)],
) -> HTMLResponse:
    caller = _caller(request, Action.GRANTS_MANAGE)
    caller.engine.revoke_grant(user, gallery, context=caller.context)
    return _keys_page(request, caller, notice=f"{user} may no longer search gallery {gallery!r}")
