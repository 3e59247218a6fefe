"""The web UI's gallery grants and groups: sections of the keys page (administrators)."""

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


# --- groups ------------------------------------------------------------------------------
NameField = Annotated[str, Form(max_length=200)]


@router.post("/groups")
def create_group(request: Request, name: NameField) -> HTMLResponse:
    caller = _caller(request, Action.GROUPS_MANAGE)
    group = caller.engine.create_group(name, context=caller.context)
    return _keys_page(request, caller, notice=f"created group {group.name!r}")


@router.post("/groups/delete")
def delete_group(request: Request, name: NameField) -> HTMLResponse:
    caller = _caller(request, Action.GROUPS_MANAGE)
    group = caller.engine.delete_group(name, context=caller.context)
    return _keys_page(request, caller, notice=f"deleted group {group.name!r}")


@router.post("/groups/members")
def add_group_member(request: Request, group: NameField, user: NameField) -> HTMLResponse:
    caller = _caller(request, Action.GROUPS_MANAGE)
    caller.engine.add_group_member(group, user, context=caller.context)
    return _keys_page(request, caller, notice=f"{user} is a member of group {group!r}")


@router.post("/groups/members/remove")
def remove_group_member(request: Request, group: NameField, user: NameField) -> HTMLResponse:
    caller = _caller(request, Action.GROUPS_MANAGE)
    caller.engine.remove_group_member(group, user, context=caller.context)
    return _keys_page(request, caller, notice=f"{user} is no longer a member of group {group!r}")


@router.post("/groups/grants")
def add_group_grant(request: Request, group: NameField, gallery: NameField) -> HTMLResponse:
    caller = _caller(request, Action.GRANTS_MANAGE)
    caller.engine.grant_group(group, gallery, context=caller.context)
    return _keys_page(
        request, caller, notice=f"members of group {group!r} may search gallery {gallery!r}"
    )


@router.post("/groups/grants/remove")
def remove_group_grant(request: Request, group: NameField, gallery: NameField) -> HTMLResponse:
    caller = _caller(request, Action.GRANTS_MANAGE)
    caller.engine.revoke_group_grant(group, gallery, context=caller.context)
    return _keys_page(
        request, caller, notice=f"group {group!r} may no longer search gallery {gallery!r}"
    )
