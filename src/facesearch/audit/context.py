"""Who acts, from where, and why: the accountability context every audited call carries."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from facesearch.errors import InvalidInput
from facesearch.store import AuditResult, NewAuditEvent

MAX_PURPOSE = 4000
MAX_REFERENCE = 200


@dataclass(frozen=True, slots=True)
class Justification:
    """Why a search or verify runs: required, checked by :meth:`AuditContext.justification`."""

    purpose: str
    case_reference: str
    authorization_reference: str


@dataclass(frozen=True, slots=True)
class AuditContext:
    """The authenticated actor of a call and, for search and verify, its justification.

    ``actor``: the user name (``cli:<os user>`` for the local command line); ``key_prefix``:
    the API key used, if any; ``client_address``: the caller's IP address, if known.
    """

    actor: str
    key_prefix: str | None = None
    client_address: str | None = None
    purpose: str | None = None
    case_reference: str | None = None
    authorization_reference: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def local_operator(
        cls,
        *,
        purpose: str | None = None,
        case_reference: str | None = None,
        authorization_reference: str | None = None,
    ) -> AuditContext:
        """The person at this machine's command line: actor ``cli:<os user>``."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no user name in the environment or passwd
            user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
        return cls(
            actor=f"cli:{user}",
            client_address="local",
            purpose=purpose,
            case_reference=case_reference,
            authorization_reference=authorization_reference,
        )

    def with_justification(
        self,
        *,
        purpose: str | None,
        case_reference: str | None,
        authorization_reference: str | None,
    ) -> AuditContext:
        return replace(
            self,
            purpose=purpose,
            case_reference=case_reference,
            authorization_reference=authorization_reference,
        )

    def justification(self, min_purpose_length: int) -> Justification:
        """The purpose, case and authorization references, or ``InvalidInput`` naming what is
        missing (purpose shorter than ``min_purpose_length`` characters, or a blank reference)."""
        purpose = (self.purpose or "").strip()
        case = (self.case_reference or "").strip()
        authorization = (self.authorization_reference or "").strip()
        problems = []
        if len(purpose) < min_purpose_length:
            problems.append(f"a purpose of at least {min_purpose_length} characters")
        if not case:
            problems.append("a case reference")
        if not authorization:
            problems.append("an authorization reference")
        if problems:
            raise InvalidInput("a search or verify needs " + ", ".join(problems))
        if len(purpose) > MAX_PURPOSE:
            raise InvalidInput(f"purpose is longer than {MAX_PURPOSE} characters")
        if len(case) > MAX_REFERENCE or len(authorization) > MAX_REFERENCE:
            raise InvalidInput(f"references are limited to {MAX_REFERENCE} characters")
        return Justification(purpose, case, authorization)

    def event(
        self,
        action: str,
        *,
        outcome: str = "ok",
        galleries: Sequence[str] = (),
        probe_sha256: str | None = None,
        results: Sequence[AuditResult] = (),
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> NewAuditEvent:
        """The audit event of ``action`` by this context (justification fields as given)."""

        def clean(value: str | None, limit: int) -> str | None:
            value = recordable(value or "").strip()
            return value[:limit] or None

        return NewAuditEvent(
            actor=recordable(self.actor),
            action=action,
            outcome=outcome,
            key_prefix=self.key_prefix,
            purpose=clean(self.purpose, MAX_PURPOSE),
            case_reference=clean(self.case_reference, MAX_REFERENCE),
            authorization_reference=clean(self.authorization_reference, MAX_REFERENCE),
            galleries=tuple(_gallery(g) for g in galleries),
            probe_sha256=probe_sha256,
            results=tuple(results),
            target=clean(target, MAX_REFERENCE),
            details=recordable_json({**self.details, **(details or {})}),
            client_address=(self.client_address or None) and self.client_address[:64],
        )


def _gallery(name: str) -> str:
    """A gallery name as the log can keep it: :func:`recordable`, at most 200 characters,
    and a name of blanks alone (say a refused ``"\\x1c"`` from a URL) as its ``ascii()``
    form, since the log keeps no blank gallery entry."""
    name = recordable(name)[:200]
    return name if name.strip() else ascii(name)


def recordable(text: str) -> str:
    """``text`` as the audit log can keep it on every database: NUL characters and lone
    surrogates (text that is not valid Unicode) become U+FFFD, so what a caller typed can
    never make the audit write fail (its refusal is recorded instead)."""
    if not isinstance(text, str):
        return text
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def recordable_json(value: Any) -> Any:
    """``value`` (JSON-native) with every string, key or value, made :func:`recordable`."""
    if isinstance(value, str):
        return recordable(value)
    if isinstance(value, Mapping):
        return {recordable(str(k)): recordable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [recordable_json(v) for v in value]
    return value
