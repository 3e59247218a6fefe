"""The one place where failures become HTTP responses: ``{"error": {"code", "message"}}``.

:class:`~facesearch.errors.FaceSearchError` subclasses carry their code and status;
request validation errors become ``422 invalid_input``; Starlette's own HTTP errors (an
unknown route, a wrong method) keep their status with a code of their own; anything else
is ``500 internal_error`` with a fixed message. No traceback, SQL or input value is ever
put in a response. A web UI page (under ``/ui``, asking for HTML) gets the same message on
an HTML page instead of the JSON body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from facesearch.api.trail import audit_refusal
from facesearch.errors import FaceSearchError

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "authentication_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    503: "unavailable",
}

ERROR_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "not_found"},
                "message": {"type": "string", "example": "gallery 'press' not found"},
            },
        }
    },
}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def response_for(err: FaceSearchError) -> JSONResponse:
    """The response of a facesearch error: its status, code and one-line message."""
    message = err.message.splitlines()[0] if err.message else err.code
    return error_response(err.http_status, err.code, message)


HtmlErrorPage = Callable[[Request, int, str], Response]


async def _respond(request: Request, status: int, code: str, message: str) -> Response:
    """The error response: the JSON shape, or for a web page that asked for HTML, the same
    message on a page (``app.state.html_error_page``, installed by the web UI).

    Every error passes here, so this is where a refused write that reached its write path
    and left no audit event is audited (:func:`facesearch.api.trail.audit_refusal`); if
    that fails, the answer is the audit failure (503)."""
    status, code, message = await audit_refusal(request, status, code, message)
    page = getattr(request.app.state, "html_error_page", None)
    wants_html = "text/html" in request.headers.get("accept", "")
    if page is not None and wants_html and request.url.path.startswith("/ui"):
        result: Response = page(request, status, message)
        return result
    return error_response(status, code, message)


def _validation_message(errors: Sequence[Any]) -> str:
    """``field: problem; ...`` from pydantic's errors, without echoing any input value."""
    parts = []
    for error in list(errors)[:5]:
        if error.get("type") == "json_invalid":
            # pydantic gives the character where parsing stopped as its location
            reason = str((error.get("ctx") or {}).get("error", "")).splitlines()[0:1]
            at = [p for p in error.get("loc", ()) if isinstance(p, int)]
            where = f" at character {at[0]}" if at else ""
            why = f" ({reason[0]})" if reason and reason[0] else ""
            parts.append(f"the request body is not valid JSON{why}{where}")
            continue
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        where = ".".join(loc) or "request"
        parts.append(f"{where}: {str(error.get('msg', 'invalid')).splitlines()[0]}")
    return "; ".join(parts) or "invalid request"


async def _facesearch_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, FaceSearchError):  # registered for this type only
        return await _unexpected(request, exc)
    if exc.http_status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc.code)
    message = exc.message.splitlines()[0] if exc.message else exc.code
    return await _respond(request, exc.http_status, exc.code, message)


async def _unread_body(request: Request) -> Response | None:
    """For a body FastAPI could not parse, which it does before the route's dependencies:
    the caller's 401/403/429/503 if authentication or authorization refuses it, so that
    they come first as on every other request (:func:`deps.authenticate_first`)."""
    from facesearch.api.deps import authenticate_first

    try:
        await run_in_threadpool(authenticate_first, request)
    except FaceSearchError as err:
        return await _facesearch_error(request, err)
    return None


async def refused_body(request: Request, status: int, code: str, message: str) -> Response | None:
    """For a body refused before it was read (``api/uploads.py``'s 413): the caller's
    401/403/429/503 if authentication or authorization refuses it; else the refusal is
    audited (:func:`facesearch.api.trail.audit_refusal`) and ``None`` returned, to answer
    ``(status, code, message)`` as it is, or the audit failure's 503 if that failed."""
    refused = await _unread_body(request)
    if refused is not None:
        return refused
    answer = await audit_refusal(request, status, code, message)
    if answer != (status, code, message):
        return error_response(*answer)
    return None


async def _validation_error(request: Request, exc: Exception) -> Response:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    if any(e.get("type") == "json_invalid" for e in errors):
        refused = await _unread_body(request)
        if refused is not None:
            return refused
    return await _respond(request, 422, "invalid_input", _validation_message(errors))


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    detail = getattr(exc, "detail", None)
    message = detail if isinstance(detail, str) and detail else "request refused"
    if status == 400:
        # FastAPI's answer to a body it cannot parse (not UTF-8, a broken form): the same
        # 422 invalid_input as any other unreadable input, after authentication
        refused = await _unread_body(request)
        if refused is not None:
            return refused
        status, message = 422, "the request body cannot be read (not UTF-8 JSON or a form)"
    if status == 404 and message == "Not Found":
        message = f"no such route: {request.url.path}"
    response = await _respond(request, status, _HTTP_CODES.get(status, "http_error"), message)
    for name, value in (getattr(exc, "headers", None) or {}).items():
        response.headers.setdefault(name, value)
    if status == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request))
    return response


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at the request's path (RFC 9110 section 15.5.6:
    a 405 lists them in ``Allow``); Starlette names only the first matching route's.
    Each method is tried against the app's routes (``BaseRoute.matches``)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected failure in %s %s", request.method, request.url.path)
    return await _respond(request, 500, "internal_error", "internal error; the failure was logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FaceSearchError, _facesearch_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
