"""Accountability of the service's calls: justification checks and audit events.

Every search, verify, enroll and delete carries an :class:`~facesearch.audit.AuditContext`.
Writes append their event in the write's own transaction (the store's audit hooks); a
search or verify appends its event after it ran and before its result is returned, and if
that append fails the call fails. Calls that fail are audited with the error's code. An
event never holds text the sensitive-identifier guard refused: a refusal names the field
and the kind of identifier.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import Any

from facesearch.audit import AuditContext, AuditLog, Justification
from facesearch.errors import FaceSearchError, SensitiveIdentifierFound
from facesearch.privacy import FieldKind, check_fields
from facesearch.service.results import SearchResult, VerifyResult
from facesearch.settings import Settings
from facesearch.store import AuditRecord, AuditResult

logger = logging.getLogger(__name__)


def refusal_details(err: BaseException) -> dict[str, str]:
    """What an audit event keeps of a guard refusal: the field's name and the kind of
    identifier, never the refused text (empty for other errors)."""
    if isinstance(err, SensitiveIdentifierFound):
        return {"refused_field": err.field, "identifier_kind": err.kind}
    return {}


def outcome_of(err: BaseException) -> str:
    """The audit outcome of a failure: the error's code, ``internal_error`` for a bug."""
    return err.code if isinstance(err, FaceSearchError) else "internal_error"


class Accountability:
    """Builds and records the audit events of the service's calls."""

    def __init__(self, audit: AuditLog, settings: Settings) -> None:
        self.audit = audit
        self._settings = settings

    def justify(self, context: AuditContext, action: str, probe_sha256: str) -> Justification:
        """The context's justification, or the refusal (audited without the refused text)."""
        try:
            justification = context.justification(self._settings.audit.min_purpose_length)
            check_fields(
                {
                    "purpose": (justification.purpose, FieldKind.NARRATIVE),
                    "case_reference": (justification.case_reference, FieldKind.REFERENCE),
                    "authorization_reference": (
                        justification.authorization_reference,
                        FieldKind.REFERENCE,
                    ),
                }
            )
        except FaceSearchError as err:
            bare = dataclasses.replace(
                context, purpose=None, case_reference=None, authorization_reference=None
            )
            self.audit.record(
                bare.event(
                    action,
                    outcome=err.code,
                    probe_sha256=probe_sha256,
                    details={"refused": err.message, **refusal_details(err)},
                )
            )
            raise
        return justification

    def failed(
        self,
        context: AuditContext,
        action: str,
        err: BaseException,
        *,
        galleries: Sequence[str] = (),
        probe_sha256: str | None = None,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Audit a call that failed with ``err`` (the caller then re-raises it).

        ``details`` must not hold free text the sensitive-identifier guard refused or may
        refuse: a refusal is recorded by field name and kind (:func:`refusal_details`)."""
        message = err.message if isinstance(err, FaceSearchError) else type(err).__name__
        self.audit.record(
            context.event(
                action,
                outcome=outcome_of(err),
                galleries=galleries,
                probe_sha256=probe_sha256,
                target=target,
                details={**(details or {}), **refusal_details(err), "error": message},
            )
        )

    def searched(self, context: AuditContext, result: SearchResult) -> AuditRecord:
        """Commit the search's event: galleries, probe sha256, every candidate returned."""
        results = [
            AuditResult(c.face_id, round(c.similarity, 6))
            for face in result.faces
            for c in face.candidates
        ]
        return self.audit.record(
            context.event(
                "search",
                galleries=result.galleries,
                probe_sha256=result.probe_sha256,
                results=results,
                details={
                    "model_id": result.model_id,
                    "k": result.k,
                    "threshold": result.threshold,
                    "gallery_size": result.gallery_size,
                    "probe_faces": len(result.faces),
                },
            )
        )

    def verified(
        self, context: AuditContext, result: VerifyResult, sha_a: str, sha_b: str
    ) -> AuditRecord:
        return self.audit.record(
            context.event(
                "verify",
                probe_sha256=sha_a,
                details={
                    "second_probe_sha256": sha_b,
                    "model_id": result.model_id,
                    "similarity": round(result.similarity, 6),
                    "threshold": result.threshold,
                    "above_threshold": result.above_threshold,
                },
            )
        )

    def keep_probe(self, data: bytes, sha256: str) -> None:
        """Store the probe image when ``audit.store_probes`` is on (else nothing is kept)."""
        if not self._settings.audit.store_probes:
            return
        folder = self._settings.probe_dir
        path = folder / sha256
        if path.exists():
            return
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{sha256}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)
