"""Request and response bodies of the accounts, audit and system routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from facesearch.api.schemas import SHA_EXAMPLE, examples
from facesearch.auth.roles import Role
from facesearch.store import ApiKeyRecord, AuditRecord, UserRecord


# --- audit -------------------------------------------------------------------------------
class AuditResultOut(BaseModel):
    face_id: int
    similarity: float


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


class AuditEventOut(BaseModel):
    model_config = examples(AUDIT_EVENT_EXAMPLE)
    seq: int
    occurred_at: datetime
    actor: str
    key_prefix: str | None
    action: str
    outcome: str
    purpose: str | None
    case_reference: str | None
    authorization_reference: str | None
    galleries: list[str]
    probe_sha256: str | None
    results: list[AuditResultOut]
    target: str | None
    details: dict[str, Any]
    client_address: str | None
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: AuditRecord) -> AuditEventOut:
        return cls(
            seq=e.seq,
            occurred_at=e.occurred_at,
            actor=e.actor,
            key_prefix=e.key_prefix,
            action=e.action,
            outcome=e.outcome,
            purpose=e.purpose,
            case_reference=e.case_reference,
            authorization_reference=e.authorization_reference,
            galleries=list(e.galleries),
            probe_sha256=e.probe_sha256,
            results=[AuditResultOut(face_id=r.face_id, similarity=r.similarity) for r in e.results],
            target=e.target,
            details=dict(e.details),
            client_address=e.client_address,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


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


# --- accounts ----------------------------------------------------------------------------
ROLES_DESCRIPTION = "Any of: " + ", ".join(f"`{role.value}`" for role in Role) + "."
"""The roles a user may hold, from the :class:`Role` enum (so none is left out)."""


class UserIn(BaseModel):
    model_config = examples({"name": "ivy", "roles": ["investigator"]})
    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(
        default_factory=list, max_length=len(Role), description=ROLES_DESCRIPTION
    )


class UserPatch(BaseModel):
    model_config = examples({"roles": ["investigator", "auditor"]}, {"disabled": True})
    roles: list[str] | None = Field(None, max_length=len(Role), description=ROLES_DESCRIPTION)
    disabled: bool | None = None


class UserOut(BaseModel):
    model_config = examples(
        {
            "id": 4,
            "name": "ivy",
            "roles": ["investigator"],
            "disabled": False,
            "created_at": "2026-01-05T10:00:00Z",
        }
    )
    id: int
    name: str
    roles: list[str]
    disabled: bool
    created_at: datetime

    @classmethod
    def of(cls, u: UserRecord) -> UserOut:
        return cls(
            id=u.id, name=u.name, roles=list(u.roles), disabled=u.disabled, created_at=u.created_at
        )


class MeOut(BaseModel):
    model_config = examples(
        {
            "name": "ivy",
            "roles": ["investigator"],
            "key_prefix": "fsk_1a2b3c4d",
            "allowed_actions": ["catalog.read", "me.read", "search", "verify"],
        }
    )
    name: str
    roles: list[str]
    key_prefix: str | None
    allowed_actions: list[str]


class KeyIn(BaseModel):
    model_config = examples({"label": "ivy's laptop", "expires_in_days": 90})
    label: str = Field("", max_length=200)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class KeyOut(BaseModel):
    model_config = examples(
        {
            "prefix": "fsk_1a2b3c4d",
            "user": "ivy",
            "label": "ivy's laptop",
            "created_at": "2026-01-05T10:00:00Z",
            "expires_at": "2026-04-05T10:00:00Z",
            "revoked_at": None,
            "last_used_at": "2026-01-06T08:30:00Z",
        }
    )
    prefix: str
    user: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, k: ApiKeyRecord) -> KeyOut:
        return cls(
            prefix=k.prefix,
            user=k.user_name,
            label=k.label,
            created_at=k.created_at,
            expires_at=k.expires_at,
            revoked_at=k.revoked_at,
            last_used_at=k.last_used_at,
        )


class IssuedKeyOut(KeyOut):
    model_config = examples(
        {
            "prefix": "fsk_1a2b3c4d",
            "user": "ivy",
            "label": "ivy's laptop",
            "created_at": "2026-01-05T10:00:00Z",
            "expires_at": "2026-04-05T10:00:00Z",
            "revoked_at": None,
            "last_used_at": None,
            "key": "fsk_1a2b3c4d.3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        }
    )
    key: str = Field(description="The whole key, shown this once; only its hash is stored.")


# --- system ------------------------------------------------------------------------------
class HealthOut(BaseModel):
    model_config = examples({"status": "ok"})
    status: str


class ReadyOut(BaseModel):
    model_config = examples(
        {"ready": True, "index": "loaded", "problem": None},
        {"ready": False, "index": None, "problem": None},
        {
            "ready": False,
            "index": "loaded",
            "problem": "the log ends at event 41 but event 42 was recorded "
            "(events were removed from its end)",
        },
    )
    ready: bool
    index: str | None = Field(None, description="What opening the index took, once ready.")
    problem: str | None = Field(
        None,
        description="Why the service refuses work although it started: the audit log "
        "disagrees with its anchor, so no event can be appended until an operator runs "
        "`facesearch audit acknowledge-cut`.",
    )


class IndexOut(BaseModel):
    model_config = examples(
        {
            "model_id": "dlib-resnet-v1",
            "backend": "faiss",
            "n_index": 352,
            "n_store": 352,
            "in_sync": True,
            "opened": "loaded",
            "added_on_open": 0,
            "removed_on_open": 0,
        }
    )
    model_id: str
    backend: str
    n_index: int
    n_store: int
    in_sync: bool
    opened: str
    added_on_open: int
    removed_on_open: int
