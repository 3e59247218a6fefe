"""Request dependencies: the engine of this app, the caller, and the permission check.

A key is taken from ``Authorization: Bearer <key>``, else ``X-API-Key``, else the web UI's
``facesearch_key`` cookie. Every route but ``/healthz`` and ``/readyz`` depends on
:func:`require` with exactly one :class:`~facesearch.auth.Action`, which the OpenAPI
document names in ``x-permission`` (with the roles allowed, ``x-roles``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from facesearch.api.trail import note_caller
from facesearch.audit import AuditContext
from facesearch.auth import PERMISSIONS, Action, Principal
from facesearch.auth.roles import grant_scoped
from facesearch.errors import IndexUnavailable, NotFound
from facesearch.names import nfc
from facesearch.settings import Settings

if TYPE_CHECKING:
    from facesearch.service import FaceSearch
    from facesearch.service.retention import RetentionTask

logger = logging.getLogger(__name__)

KEY_COOKIE = "facesearch_key"

bearer_scheme = HTTPBearer(
    auto_error=False, description="An API key: `Authorization: Bearer fsk_xxxxxxxx.<secret>`."
)
header_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The same API key in an `X-API-Key` header."
)


@dataclass
class Runtime:
    """What one app holds: its settings and, once built and reconciled, its engine."""

    settings: Settings
    engine: FaceSearch | None = None
    failure: str | None = None
    retention: RetentionTask | None = None
    ready: threading.Event = field(default_factory=threading.Event)


def runtime(request: Request) -> Runtime:
    value = request.app.state.runtime
    if not isinstance(value, Runtime):  # pragma: no cover - create_app always sets it
        raise IndexUnavailable("the service is not set up")
    return value


def engine(request: Request) -> FaceSearch:
    """The engine, or ``503 index_unavailable`` while it is still starting."""
    state = runtime(request)
    if state.engine is None:
        if state.failure:
            raise IndexUnavailable(f"the service failed to start: {state.failure}")
        raise IndexUnavailable("the service is starting: the vector index is being reconciled")
    return state.engine


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def presented_key(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    header: str | None,
) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    if header:
        return header
    return request.cookies.get(KEY_COOKIE) or None


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated, authorized caller of a request and its audit context."""

    principal: Principal
    context: AuditContext
    engine: FaceSearch


def allowed_galleries(caller: Caller) -> list[str]:
    """The galleries the caller may search: their own grants and their groups', by name."""
    return caller.engine.granted_galleries(caller.principal.name)


def catalog_scope(caller: Caller) -> frozenset[str] | None:
    """The galleries whose catalog (galleries, subjects, images, faces, thumbnails) the
    caller may read, or ``None`` for all of them.

    A caller whose only catalog-read right comes from a grant-scoped role (the
    investigator) reads only the galleries they may search; curators and auditors read all.
    """
    if not grant_scoped(caller.principal.roles, Action.CATALOG_READ):
        return None
    return frozenset(allowed_galleries(caller))


def check_gallery_scope(scope: frozenset[str] | None, gallery: str, what: str) -> str:
    """The name to look ``gallery`` up by: ``gallery`` itself when ``scope`` is ``None``
    or holds it, else its NFC form when ``scope`` holds that (NFD input of a granted NFC
    name; an ungranted row stored under the NFD form reads as absent, so it is not the one
    named). ``NotFound`` with ``what`` (the store's own message for the thing asked for)
    when neither is in ``scope``, so an ungranted gallery's contents read as absent."""
    if scope is None or gallery in scope:
        return gallery
    if nfc(gallery) in scope:
        return nfc(gallery)
    raise NotFound(what)


def require(action: Action) -> Callable[..., Caller]:
    """A dependency that authenticates the caller and checks ``action`` against their roles."""

    def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
        header: Annotated[str | None, Security(header_scheme)],
    ) -> Caller:
        fs = engine(request)
        address = client_address(request)
        principal = fs.accounts.authenticate(
            presented_key(request, bearer, header), client_address=address
        )
        fs.accounts.authorize(principal, action, client_address=address)
        context = principal.context(address)
        note_caller(request, context)  # a write's refusal is audited from here on
        return Caller(principal, context, fs)

    dependency.__name__ = f"require_{action.name.lower()}"
    dependency.facesearch_action = action  # type: ignore[attr-defined]
    return dependency


def authenticate_first(request: Request) -> AuditContext | None:
    """Authenticate and authorize as the route's :func:`require` would, for a request
    whose body could not be read.

    FastAPI reads a request's body before it solves the route's dependencies, so a body
    that is not UTF-8 JSON (or not a form) would be refused as invalid input before the
    key is looked at. The error handlers call this first: a caller without a valid key
    gets 401 (429 when throttled), one without the role 403 (both audited as usual),
    whatever the body; only then is the body refused (422). Does nothing for a route
    without a permission (``/healthz``, ``/readyz``, the web UI's sign-in).

    Returns the caller's audit context, noted on the request (:func:`note_caller`) so a
    write refused for its body is audited like any other refusal; ``None`` for a route
    without a permission.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    action = route_action(route.dependant.dependencies)
    if action is None:
        return None
    fs = engine(request)
    address = client_address(request)
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else ""
    key = bearer or request.headers.get("x-api-key") or request.cookies.get(KEY_COOKIE)
    principal = fs.accounts.authenticate(key or None, client_address=address)
    fs.accounts.authorize(principal, action, client_address=address)
    context = principal.context(address)
    note_caller(request, context)  # its refusal is audited from here on
    return context


def route_action(dependencies: list[Any]) -> Action | None:
    """The action a route's dependencies require (see :func:`require`), if any."""
    for dependant in dependencies:
        action = getattr(dependant.call, "facesearch_action", None)
        if isinstance(action, Action):
            return action
        nested = route_action(dependant.dependencies)
        if nested is not None:
            return nested
    return None


def openapi_permission(action: Action) -> dict[str, Any]:
    return {
        "x-permission": action.value,
        "x-roles": sorted(r.value for r in PERMISSIONS[action]),
    }


# One alias per action: a route names the caller it needs by its parameter's type.
CatalogReader = Annotated[Caller, Depends(require(Action.CATALOG_READ))]
GalleryWriter = Annotated[Caller, Depends(require(Action.GALLERY_WRITE))]
Enroller = Annotated[Caller, Depends(require(Action.ENROLL))]
Deleter = Annotated[Caller, Depends(require(Action.DELETE))]
Searcher = Annotated[Caller, Depends(require(Action.SEARCH))]
Verifier = Annotated[Caller, Depends(require(Action.VERIFY))]
AuditReader = Annotated[Caller, Depends(require(Action.AUDIT_READ))]
ChainVerifier = Annotated[Caller, Depends(require(Action.AUDIT_VERIFY))]
UserManager = Annotated[Caller, Depends(require(Action.USERS_MANAGE))]
KeyManager = Annotated[Caller, Depends(require(Action.KEYS_MANAGE))]
SystemReader = Annotated[Caller, Depends(require(Action.SYSTEM_READ))]
SelfReader = Annotated[Caller, Depends(require(Action.SELF_READ))]
ErasureManager = Annotated[Caller, Depends(require(Action.ERASURE_MANAGE))]
ErasureReader = Annotated[Caller, Depends(require(Action.ERASURE_READ))]
RetentionManager = Annotated[Caller, Depends(require(Action.RETENTION_MANAGE))]
GrantManager = Annotated[Caller, Depends(require(Action.GRANTS_MANAGE))]
GroupManager = Annotated[Caller, Depends(require(Action.GROUPS_MANAGE))]
ReviewJudge = Annotated[Caller, Depends(require(Action.REVIEW_JUDGE))]
ReviewReader = Annotated[Caller, Depends(require(Action.REVIEW_READ))]
