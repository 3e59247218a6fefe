"""Which error statuses each operation can answer, from the one error mapping.

Every failure is a :class:`~facesearch.errors.FaceSearchError` whose class carries its
HTTP status (``api/errors.py`` renders it), a request validation error (422), or the
body limit's 413 (``api/uploads.py``). What an operation can meet follows from what the
route is:

- any route with a permission: its caller is authenticated and authorized first
  (``AuthenticationRequired`` 401, ``TooManyFailures`` 429, ``PermissionDenied`` 403),
  and it needs the engine and its store (``IndexUnavailable``/``StoreError`` 503);
- any input (path, query or body): ``InvalidInput`` 422, and ``NotFound`` 404 for an
  id or a name that names nothing (a body that cannot be read is 422 too);
- a request body: the body cap, 413 (``BodyTooLarge``; for a route that takes images,
  ``ImageTooLarge``, the cap being what its images may add up to);
- an uploaded image: ``ImageTooLarge`` 413, ``UnsupportedImageFormat`` 415, and the
  other image errors (422);
- a write (any method but GET, except search and verify, which only read the catalog):
  ``AlreadyExists``/``Conflict`` 409 (a duplicate name or a name that looks like a taken
  one, an image already in the gallery, a request no longer pending; the store maps any
  integrity error of a write to ``AlreadyExists``).

:func:`operation_errors` lists the classes; ``_openapi`` in ``api/app.py`` documents their
statuses on each operation, and ``tests/api/test_statuses.py`` checks the document
against these rules and against what the app answers.
"""

from __future__ import annotations

from typing import Any

from fastapi.datastructures import UploadFile
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from facesearch.api import deps
from facesearch.auth import Action
from facesearch.errors import (
    AlreadyExists,
    AuthenticationRequired,
    BodyTooLarge,
    Conflict,
    FaceSearchError,
    ImageDecodeError,
    ImageTooLarge,
    IndexUnavailable,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StoreError,
    TooManyFailures,
    UnsupportedImageFormat,
)

ErrorClass = type[FaceSearchError]

AUTHENTICATED: tuple[ErrorClass, ...] = (
    AuthenticationRequired,
    PermissionDenied,
    TooManyFailures,
    IndexUnavailable,
    StoreError,
)
WITH_INPUT: tuple[ErrorClass, ...] = (InvalidInput, NotFound)
WITH_BODY: tuple[ErrorClass, ...] = (BodyTooLarge,)  # the body cap (uploads: image_too_large)
WITH_IMAGE: tuple[ErrorClass, ...] = (ImageTooLarge, UnsupportedImageFormat, ImageDecodeError)
WRITING: tuple[ErrorClass, ...] = (AlreadyExists, Conflict)

READ_ONLY_POSTS = frozenset({Action.SEARCH, Action.VERIFY})
"""Actions sent as POST (they upload photos) that write nothing but their audit event."""

DESCRIPTIONS: dict[int, str] = {
    401: "No API key, or an invalid, expired or revoked one.",
    403: "The key's user holds no role allowed this action.",
    404: "An unknown id or name.",
    409: (
        "A duplicate (the name, or a name that looks like it, is taken; the image is "
        "already in the gallery), or the thing is not in a state that allows this."
    ),
    413: (
        "`body_too_large`: the body is larger than this operation takes; "
        "`image_too_large`: an image passes the per-image limit, or an upload's body "
        "passes what its images may add up to. Refused before the body is read whole "
        "(and after the key and permission check)."
    ),
    415: "An image in a format that is not supported.",
    422: (
        "Invalid input: a field out of range, a body that is not UTF-8 JSON or a form, "
        "a missing search justification."
    ),
    429: "Too many failed authentications from this address; try again later.",
    503: "The service is starting or failed to start, or its store is unavailable.",
}


def _params(dependant: Dependant, kind: str) -> list[Any]:
    """The ``kind`` params (``path_params``, ``body_params``, ...) of ``dependant`` and of
    every dependency below it."""
    found = list(getattr(dependant, kind))
    for sub in dependant.dependencies:
        found.extend(_params(sub, kind))
    return found


def _takes_upload(route: APIRoute) -> bool:
    for field in _params(route.dependant, "body_params"):
        annotation = field.field_info.annotation
        if annotation is UploadFile or "UploadFile" in str(annotation):
            return True
    return False


def operation_errors(route: APIRoute, method: str) -> set[ErrorClass]:
    """The error classes ``method`` on ``route`` can answer (see the module's rules)."""
    action = deps.route_action(route.dependant.dependencies)
    if action is None:
        return set()
    errors: set[ErrorClass] = set(AUTHENTICATED)
    body = _params(route.dependant, "body_params")
    if body or _params(route.dependant, "path_params") or _params(route.dependant, "query_params"):
        errors.update(WITH_INPUT)
    if body:
        errors.update(WITH_BODY)
    if _takes_upload(route):
        errors.update(WITH_IMAGE)
    if method.upper() != "GET" and action not in READ_ONLY_POSTS:
        errors.update(WRITING)
    return errors


def operation_statuses(route: APIRoute, method: str) -> set[int]:
    """The error statuses of :func:`operation_errors`."""
    return {cls.http_status for cls in operation_errors(route, method)}
