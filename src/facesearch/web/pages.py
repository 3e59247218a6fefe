"""The web UI's pages: thin, server-rendered views over the same engine and permissions.

Signing in stores the API key in an HttpOnly, SameSite=Strict cookie that the REST API
also accepts, so the search page's JavaScript calls ``/api/v1/search`` directly. Every page
checks the same permission table as the API; a page without a valid key redirects to the
sign-in page, a page the user's roles do not allow shows why.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from facesearch.api.deps import (
    KEY_COOKIE,
    Caller,
    allowed_galleries,
    catalog_scope,
    check_gallery_scope,
    client_address,
    engine,
)
from facesearch.api.trail import note_caller, record_refusal
from facesearch.api.uploads import read_image
from facesearch.auth import Action, Role
from facesearch.errors import (
    AuthenticationRequired,
    FaceSearchError,
    InvalidInput,
    PermissionDenied,
    TooManyFailures,
)
from facesearch.store import AuditFilter

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(prefix="/ui", include_in_schema=False)


class SignInNeeded(Exception):
    """Raised by :func:`_caller` when the request carries no valid key."""


def _refuse_other_sites(request: Request) -> None:
    """``PermissionDenied`` for a form posted from another site (its ``Origin`` names
    another host): the session cookie is SameSite=Strict, and this covers what it does not,
    such as signing a browser in to someone else's account (login CSRF)."""
    if request.method == "POST":
        origin = request.headers.get("origin")
        if origin and origin.split("://", 1)[-1] != request.headers.get("host"):
            raise PermissionDenied("a form from another site was refused")


def _caller(request: Request, action: Action | None) -> Caller:
    """The signed-in caller, allowed ``action`` (``None``: any signed-in user)."""
    fs = engine(request)
    address = client_address(request)
    _refuse_other_sites(request)
    try:
        principal = fs.accounts.authenticate(
            request.cookies.get(KEY_COOKIE), client_address=address
        )
    except AuthenticationRequired as err:
        raise SignInNeeded from err
    if action is not None:
        fs.accounts.authorize(principal, action, client_address=address)
    context = principal.context(address)
    note_caller(request, context)  # a form's refusal is audited from here on
    return Caller(principal, context, fs)


def _render(
    request: Request, name: str, caller: Caller | None, status: int = 200, **context: Any
) -> HTMLResponse:
    user = None
    if caller is not None:
        user = {
            "name": caller.principal.name,
            "roles": sorted(r.value for r in caller.principal.roles),
        }
    return TEMPLATES.TemplateResponse(request, name, {"user": user, **context}, status_code=status)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- sign in -----------------------------------------------------------------------------
LANDINGS: tuple[tuple[Role, str], ...] = (
    (Role.INVESTIGATOR, "/ui/search"),
    (Role.CURATOR, "/ui/galleries"),
    (Role.AUDITOR, "/ui/audit"),
    (Role.ADMIN, "/ui/keys"),
)
"""Where signing in leads: the page of the user's first role in this order."""

HOME = "/ui/home"
"""The landing page of a user none of whose roles has a page of its own (a reviewer)."""


def landing_page(roles: Iterable[Role]) -> str:
    """The first page ``roles`` allow, from :data:`LANDINGS`; else :data:`HOME`."""
    held = set(roles)
    return next((url for role, url in LANDINGS if role in held), HOME)


@router.get("/signin")
def signin_page(request: Request) -> HTMLResponse:
    return _render(request, "signin.html", None)


@router.post("/signin")
def signin(request: Request, key: Annotated[str, Form(max_length=200)]) -> Response:
    fs = engine(request)
    _refuse_other_sites(request)
    try:
        principal = fs.accounts.authenticate(key, client_address=client_address(request))
    except (AuthenticationRequired, TooManyFailures) as err:
        return _render(request, "signin.html", None, status=err.http_status, error=err.message)
    response = _see_other(landing_page(principal.roles))
    response.set_cookie(
        KEY_COOKIE,
        key.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=8 * 3600,
        path="/",
    )
    return response


@router.get("/start")
def start(request: Request) -> Response:
    """Where ``/`` leads: the signed-in user's landing page (signing in first if needed)."""
    caller = _caller(request, None)
    return _see_other(landing_page(caller.principal.roles))


@router.get("/home")
def home_page(request: Request) -> HTMLResponse:
    """Any signed-in user: their roles, and the pages those roles open."""
    caller = _caller(request, None)  # a user without roles lands here too
    roles = caller.principal.roles
    pages = [url for role, url in LANDINGS if role in roles]
    return _render(
        request,
        "home.html",
        caller,
        page="home",
        pages=pages,
        reviewer=Role.REVIEWER in roles,
    )


@router.post("/signout")
def signout() -> Response:
    response = _see_other("/ui/signin")
    response.delete_cookie(KEY_COOKIE, path="/")
    return response


# --- search ------------------------------------------------------------------------------
@router.get("/search")
def search_page(request: Request) -> HTMLResponse:
    caller = _caller(request, Action.SEARCH)
    s = caller.engine.settings
    granted = set(allowed_galleries(caller))
    return _render(
        request,
        "search.html",
        caller,
        page="search",
        galleries=[g for g in caller.engine.list_galleries() if g.name in granted],
        min_purpose=s.audit.min_purpose_length,
        default_k=s.search.default_k,
        max_k=s.search.max_k,
        target_fmr=s.search.search_target_fmr,
        target_fpir=s.search.search_target_fpir,
    )


@router.post("/detect")
def detect(request: Request, probe: Annotated[UploadFile, File()]) -> JSONResponse:
    """The probe's faces (boxes and quality) for the user to pick one: they are found but
    not embedded, nothing is compared with any gallery and nothing is stored. The search
    that follows (audited, with the probe's sha256) names the face picked."""
    caller = _caller(request, Action.SEARCH)
    analyzed = caller.engine.pipeline.locate(read_image(probe, caller.engine.settings))
    if not analyzed.faces:
        raise InvalidInput("no face found in the probe image")
    faces = [
        {
            "box": {"x1": b.x1, "y1": b.y1, "x2": b.x2, "y2": b.y2},
            "quality": {"score": f.quality.score},
        }
        for f in analyzed.faces
        for b in [f.detection.box]
    ]
    return JSONResponse({"width": analyzed.width, "height": analyzed.height, "faces": faces})


# --- galleries ---------------------------------------------------------------------------
@router.get("/galleries")
def galleries_page(request: Request) -> HTMLResponse:
    caller = _caller(request, Action.CATALOG_READ)
    scope = catalog_scope(caller)
    return _render(
        request,
        "galleries.html",
        caller,
        page="galleries",
        galleries=[g for g in caller.engine.list_galleries() if scope is None or g.name in scope],
    )


@router.post("/galleries")
def create_gallery(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    legal_basis: Annotated[str, Form(max_length=2000)],
    source_category: Annotated[str, Form(max_length=100)] = "unspecified",
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    caller = _caller(request, Action.GALLERY_WRITE)
    try:
        record = caller.engine.create_gallery(
            name,
            legal_basis=legal_basis,
            description=description,
            source_category=source_category or "unspecified",
            context=caller.context,
        )
    except FaceSearchError as err:
        record_refusal(request, err.http_status, err.code, err.message)
        galleries = caller.engine.list_galleries()
        return _render(
            request, "galleries.html", caller, err.http_status, page="galleries",
            galleries=galleries, error=err.message,
        )  # fmt: skip
    return _see_other(f"/ui/galleries/{record.name}")


def _gallery_page(
    request: Request, caller: Caller, name: str, status: int = 200, **context: Any
) -> HTMLResponse:
    fs = caller.engine
    return _render(
        request,
        "gallery.html",
        caller,
        status,
        page="galleries",
        gallery=fs.store.catalog.get_gallery(name),
        subjects=fs.list_subjects(name),
        faces=fs.list_faces(gallery=name, limit=500),
        **context,
    )


@router.get("/galleries/{name}")
def gallery_page(request: Request, name: str) -> HTMLResponse:
    caller = _caller(request, Action.CATALOG_READ)
    name = check_gallery_scope(catalog_scope(caller), name, f"gallery {name!r} not found")
    return _gallery_page(request, caller, name)


@router.post("/galleries/{name}/upload")
def upload(
    request: Request,
    name: str,
    files: Annotated[list[UploadFile], File()],
    subject: Annotated[str, Form(max_length=200)] = "",
    source_uri: Annotated[str, Form(max_length=2000)] = "",
    legal_basis: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    caller = _caller(request, Action.ENROLL)
    fs = caller.engine
    fs.store.catalog.get_gallery(name)
    if len(files) > fs.settings.api.max_files:
        raise InvalidInput(f"at most {fs.settings.api.max_files} files per upload")
    try:  # fields shared by every file fail the upload, before any file is read
        fs.check_enroll_request(
            gallery=name,
            subject=subject.strip() or None,
            source_uri=source_uri.strip() or None,
            legal_basis=legal_basis.strip() or None,
            context=caller.context,
        )
    except InvalidInput as err:
        return _gallery_page(request, caller, name, err.http_status, error=err.message)
    results = []
    for upload_file in files:
        filename = (upload_file.filename or "upload")[:200]
        try:
            result = fs.enroll(
                read_image(upload_file, fs.settings),
                gallery=name,
                subject=subject.strip() or None,
                source_uri=source_uri.strip() or f"upload:{filename}",
                legal_basis=legal_basis.strip() or None,
                context=caller.context,
            )
            results.append(
                {"filename": filename, "outcome": "enrolled", "faces": len(result.face_ids),
                 "rejected": len(result.rejected)}
            )  # fmt: skip
        except FaceSearchError as err:
            results.append({"filename": filename, "outcome": "failed", "message": err.message})
    return _gallery_page(request, caller, name, results=results)


@router.post("/galleries/{name}/delete")
def delete_gallery(
    request: Request, name: str, confirm: Annotated[str, Form(max_length=200)]
) -> Response:
    caller = _caller(request, Action.GALLERY_WRITE)
    if confirm != name:
        return _gallery_page(
            request, caller, name, 422, error="type the gallery's exact name to delete it"
        )
    ids = caller.engine.delete_gallery(name, context=caller.context)
    galleries = caller.engine.list_galleries()
    return _render(
        request, "galleries.html", caller, page="galleries", galleries=galleries,
        notice=f"deleted gallery {name!r} and its {len(ids)} faces",
    )  # fmt: skip


@router.post("/faces/{face_id}/delete")
def delete_face(
    request: Request, face_id: int, gallery: Annotated[str, Form(max_length=200)]
) -> Response:
    caller = _caller(request, Action.DELETE)
    caller.engine.delete_faces([face_id], context=caller.context)
    return _see_other(f"/ui/galleries/{gallery}")


# --- audit -------------------------------------------------------------------------------
def _audit_page(request: Request, caller: Caller, **context: Any) -> HTMLResponse:
    q = request.query_params
    filters = {k: (q.get(k) or None) for k in ("actor", "action", "case", "outcome")}
    where = AuditFilter(
        actor=filters["actor"],
        action=filters["action"],
        case_reference=filters["case"],
        outcome=filters["outcome"],
    )
    events = (
        caller.engine.audit.list(where, limit=200)
        if caller.principal.can(Action.AUDIT_READ)
        else []
    )
    return _render(
        request, "audit.html", caller, page="audit", events=events, filters=filters, **context
    )


@router.get("/audit")
def audit_page(request: Request) -> HTMLResponse:
    return _audit_page(request, _caller(request, Action.AUDIT_READ))


@router.post("/audit/verify")
def audit_verify(request: Request) -> HTMLResponse:
    caller = _caller(request, Action.AUDIT_VERIFY)
    return _audit_page(request, caller, report=caller.engine.audit.verify())


# --- keys --------------------------------------------------------------------------------
def _keys_page(request: Request, caller: Caller, status: int = 200, **context: Any) -> HTMLResponse:
    fs = caller.engine
    return _render(
        request,
        "keys.html",
        caller,
        status,
        page="keys",
        users=fs.accounts.list_users(),
        keys=fs.accounts.list_keys(),
        roles=[r.value for r in Role],
        ttl=fs.settings.auth.key_ttl_days,
        grants=fs.list_grants(),
        groups=fs.list_groups(),
        galleries=[g.name for g in fs.list_galleries()],
        **context,
    )


@router.get("/keys")
def keys_page(request: Request) -> HTMLResponse:
    return _keys_page(request, _caller(request, Action.KEYS_MANAGE))


@router.post("/users")
def create_user(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    roles: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    caller = _caller(request, Action.USERS_MANAGE)
    user = caller.engine.accounts.create_user(name, roles or [], context=caller.context)
    return _keys_page(request, caller, notice=f"created user {user.name!r}")


@router.post("/keys")
def issue_key(
    request: Request,
    user: Annotated[str, Form(max_length=200)],
    label: Annotated[str, Form(max_length=200)] = "",
    days: Annotated[int | None, Form(ge=1, le=3650)] = None,
) -> HTMLResponse:
    caller = _caller(request, Action.KEYS_MANAGE)
    issued = caller.engine.accounts.issue_key(
        user, label=label, expires_in_days=days, context=caller.context
    )
    return _keys_page(request, caller, issued=issued)


@router.post("/keys/{prefix}/revoke")
def revoke_key(request: Request, prefix: str) -> HTMLResponse:
    caller = _caller(request, Action.KEYS_MANAGE)
    key = caller.engine.accounts.revoke_key(prefix, context=caller.context)
    return _keys_page(request, caller, notice=f"revoked key {key.prefix}")
