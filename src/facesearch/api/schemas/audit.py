"""Request and response bodies of the audit routes: events, pages of them, the chain check."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from facesearch.api.schemas.base import SHA_EXAMPLE, RecordOut, examples, record_schema
from facesearch.store import AuditRecord, AuditResult


@record_schema(AuditResult)
class AuditResultOut(RecordOut[AuditResult]):
    pass


AUDIT_EVENT_EXAMPLE: dict[str, Any] = {
    "seq": 1207,
    "occurred_at": "2026-01-05T10:02:03.123456Z",
    "actor": "ivy",
    "key_prefix": "fsk_1a2b3c4d",
    "action": "search",
    "outcome": "ok",
    "purpose": "armed robbery, CCTV still from the bank",
    "case_reference": "CASE-2026-0113",
    "authorization_reference": "WARRANT-77",
    "galleries": ["press-archive"],
    "probe_sha256": SHA_EXAMPLE,
    "results": [{"face_id": 31, "similarity": 0.962}],
    "target": None,
    "details": {"k": 10, "threshold": 0.93},
    "client_address": "10.0.0.7",
    "prev_hash": "3b" * 32,
    "hash": "c4" * 32,
}


# The record's order puts the key prefix after action and outcome; the API has always shown
# it next to the actor.
@record_schema(
    AuditRecord,
    fields={"results": list[AuditResultOut]},
    first=("seq", "occurred_at", "actor", "key_prefix"),
)
class AuditEventOut(RecordOut[AuditRecord]):
    model_config = examples(AUDIT_EVENT_EXAMPLE)


class AuditPage(BaseModel):
    model_config = examples(
        {
            "events": [AUDIT_EVENT_EXAMPLE],
            "next_before_seq": 1207,
        }
    )
    events: list[AuditEventOut]
    next_before_seq: int | None = Field(
        None, description="Pass as `before_seq` for the next (older) page; null at the end."
    )


# Written out, not derived from facesearch.audit.ChainReport: the API always lists
# first_broken_seq and problem (null when the chain is intact) where the report defaults
# them, and does not show the report's notes (tests/api/test_schemas.py pins the rest).
class ChainReportOut(BaseModel):
    model_config = examples(
        {
            "ok": False,
            "events_checked": 41,
            "head_seq": 41,
            "head_hash": "c4" * 32,
            "first_broken_seq": 42,
            "problem": "event 42 was altered: its hash differs from its content",
            "acknowledged_cuts": [],
        }
    )
    ok: bool
    events_checked: int
    head_seq: int | None
    head_hash: str | None
    first_broken_seq: int | None
    problem: str | None
    acknowledged_cuts: list[int] = Field(
        default_factory=list,
        description="Seqs of the events by which an operator acknowledged a cut log "
        "(`audit.cut_acknowledged`; the seqs lost are in their details).",
    )
