"""What one request has written to the audit log, so that its refusal is audited once.

The API opens a :class:`RequestTrail` for each request that may write (POST, PUT, PATCH,
DELETE); the permission check fills in who is acting (:attr:`RequestTrail.context`) once
the caller is authenticated and authorized, and :class:`~facesearch.audit.AuditLog` notes
each event committed while the trail is current. The error mapping then audits a refusal
that left no event (see :mod:`facesearch.api.trail`).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from facesearch.audit.context import AuditContext


@dataclass
class RequestTrail:
    """``context``: the authorized caller (``None`` until the permission check passed);
    ``action``: the audit action of the operation; ``outcomes``: the outcome of each event
    committed while serving it."""

    context: AuditContext | None = None
    action: str | None = None
    outcomes: list[str] = field(default_factory=list)


_current: ContextVar[RequestTrail | None] = ContextVar("facesearch_request_trail", default=None)


def begin(trail: RequestTrail) -> Token[RequestTrail | None]:
    """Make ``trail`` current (for this task and the threads it hands work to)."""
    return _current.set(trail)


def end(token: Token[RequestTrail | None]) -> None:
    _current.reset(token)


def current() -> RequestTrail | None:
    """The trail of the request being served, if any."""
    return _current.get()
