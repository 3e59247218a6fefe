"""One rule for refused writes: every request that reaches a write path is audited.

A request that may write (POST, PUT, PATCH, DELETE) gets a
:class:`~facesearch.audit.trail.RequestTrail` (:class:`AuditTrail`, an ASGI middleware).
Once the caller is authenticated and authorized, :func:`facesearch.api.deps.require` (and
the web UI's sign-in check) records who acts and the operation's audit action
(:data:`AUDIT_ACTIONS`), with :func:`note_caller`. When such a request ends in an error
and no audit event with that error's code as outcome was committed for it (say, a deletion
recorded as deleting nothing, then answered 404), the error mapping (:func:`audit_refusal`,
called from :mod:`facesearch.api.errors` for every error) appends one: the operation's
action, the error's code as outcome, the path as target, method and message in its
details. A web page that renders its own error calls :func:`record_refusal` itself.
Refusals before that point are audited by the permission check (``auth.failure``,
``auth.throttled``, a denied action), except a request without any key.
If that append fails, the answer is ``503 audit_unavailable`` (or ``audit_log_cut``): a
refusal is never left unaudited in silence.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from facesearch.audit import AuditContext, trail
from facesearch.errors import AuditUnavailable, FaceSearchError

logger = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATE_KEY = "audit_trail"

AUDIT_ACTIONS: dict[str, str] = {
    "create_gallery": "gallery.create",
    "delete_gallery": "gallery.delete",
    "delete_subject": "subject.delete",
    "enroll_images": "enroll",
    "delete_image": "image.delete",
    "delete_face": "face.delete",
    "search": "search",
    "verify": "verify",
    "request_erasure": "erasure.request",
    "confirm_erasure": "erasure.confirm",
    "cancel_erasure": "erasure.cancel",
    "set_retention": "gallery.retention",
    "set_blind_review": "gallery.blind_review",
    "apply_retention": "retention.purge",
    "add_grant": "grant.add",
    "remove_grant": "grant.remove",
    "create_group": "group.create",
    "delete_group": "group.delete",
    "add_group_member": "group.member.add",
    "remove_group_member": "group.member.remove",
    "add_group_grant": "grant.add",
    "remove_group_grant": "grant.remove",
    "judge": "review.judgement",
    "create_user": "user.create",
    "update_user": "user.update",
    "issue_key": "key.create",
    "revoke_key": "key.revoke",
}
"""The audit action of each write operation (by its route function's name), the same
action the service records when the operation succeeds or fails in it. A write route
missing here is audited as ``request.<name>`` (a test requires every one to be listed)."""


def audit_action(scope: Scope) -> str:
    """The audit action of the operation a request was routed to."""
    endpoint = scope.get("endpoint")
    name = getattr(endpoint, "__name__", "unknown")
    return AUDIT_ACTIONS.get(name, f"request.{name}"[:64])


def note_caller(request: Request, context: AuditContext) -> None:
    """Record that a write request passed the permission check, acting as ``context``: from
    here on its refusal is audited (a no-op for requests that cannot write)."""
    request_trail = request.scope.get("state", {}).get(STATE_KEY)
    if isinstance(request_trail, trail.RequestTrail):
        request_trail.context = context
        request_trail.action = audit_action(request.scope)


class AuditTrail:
    """ASGI middleware: a :class:`~facesearch.audit.trail.RequestTrail` for every request
    that may write, current while it is served and kept in ``request.state``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        request_trail = trail.RequestTrail()
        scope.setdefault("state", {})[STATE_KEY] = request_trail
        token = trail.begin(request_trail)
        try:
            await self.app(scope, receive, send)
        finally:
            trail.end(token)


def record_refusal(request: Request, status: int, code: str, message: str) -> None:
    """Audit the refusal of a write request that reached its write path and left no event
    with ``code`` as outcome (nothing for other requests). For a web page that renders its
    own error instead of raising. ``AuditUnavailable`` (503) when it cannot be recorded."""
    request_trail: Any = request.scope.get("state", {}).get(STATE_KEY)
    if not isinstance(request_trail, trail.RequestTrail) or status < 400:
        return
    context = request_trail.context
    if context is None or code in request_trail.outcomes:
        return  # not past the permission check, or on record
    engine = getattr(request.app.state.runtime, "engine", None)
    if engine is None:
        return
    engine.audit.record(
        context.event(
            request_trail.action or audit_action(request.scope),
            outcome=code,
            target=request.url.path,
            details={"method": request.method, "status": status, "error": message},
        )
    )


async def audit_refusal(
    request: Request, status: int, code: str, message: str
) -> tuple[int, str, str]:
    """:func:`record_refusal` for the error mapping; returns the ``(status, code,
    message)`` to answer: the same, or the audit failure's."""
    try:
        await run_in_threadpool(record_refusal, request, status, code, message)
    except FaceSearchError as err:
        audit_failure = err if isinstance(err, AuditUnavailable) else AuditUnavailable(err.message)
        logger.error("could not audit a refused %s: %s", request.method, err.code)
        return 503, audit_failure.code, audit_failure.message.splitlines()[0]
    return status, code, message
