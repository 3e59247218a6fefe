"""Accounts (users, keys, whoami), the audit log, and the system's settings and index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from facesearch.api.deps import (
    AuditReader,
    ChainVerifier,
    KeyManager,
    SelfReader,
    SystemReader,
    UserManager,
)
from facesearch.api.schemas.accounts import (
    IssuedKeyOut,
    KeyIn,
    KeyOut,
    MeOut,
    UserIn,
    UserOut,
    UserPatch,
)
from facesearch.api.schemas.audit import AuditEventOut, AuditPage, ChainReportOut
from facesearch.api.schemas.system import IndexOut
from facesearch.auth import Action
from facesearch.errors import InvalidInput
from facesearch.store import AuditFilter

router = APIRouter(prefix="/api/v1")

UserName = Annotated[str, Path(min_length=1, max_length=200, description="A user name.")]
Text = Annotated[str | None, Query(max_length=200)]


# --- me, users and keys ------------------------------------------------------------------
@router.get("/me", tags=["accounts"], summary="Who am I: user, roles and allowed actions")
def me(caller: SelfReader) -> MeOut:
    p = caller.principal
    return MeOut(
        name=p.name,
        roles=sorted(r.value for r in p.roles),
        key_prefix=p.key_prefix,
        allowed_actions=sorted(a.value for a in Action if p.can(a)),
    )


@router.get("/users", tags=["accounts"], summary="List users")
def list_users(caller: UserManager) -> list[UserOut]:
    return [UserOut.of(u) for u in caller.engine.accounts.list_users()]


@router.post(
    "/users", tags=["accounts"], summary="Create a user", status_code=status.HTTP_201_CREATED
)
def create_user(body: UserIn, caller: UserManager) -> UserOut:
    """Any number of roles (the `roles` field lists them)."""
    user = caller.engine.accounts.create_user(body.name, body.roles, context=caller.context)
    return UserOut.of(user)


@router.get("/users/{name}", tags=["accounts"], summary="Read a user")
def get_user(name: UserName, caller: UserManager) -> UserOut:
    return UserOut.of(caller.engine.accounts.get_user(name))


@router.patch("/users/{name}", tags=["accounts"], summary="Change a user's roles or disable them")
def update_user(name: UserName, body: UserPatch, caller: UserManager) -> UserOut:
    user = caller.engine.accounts.update_user(
        name, roles=body.roles, disabled=body.disabled, context=caller.context
    )
    return UserOut.of(user)


@router.get("/users/{name}/keys", tags=["accounts"], summary="List a user's API keys")
def list_user_keys(name: UserName, caller: KeyManager) -> list[KeyOut]:
    return [KeyOut.of(k) for k in caller.engine.accounts.list_keys(name)]


@router.post(
    "/users/{name}/keys",
    tags=["accounts"],
    summary="Issue an API key (shown once)",
    status_code=status.HTTP_201_CREATED,
)
def issue_key(name: UserName, body: KeyIn, caller: KeyManager) -> IssuedKeyOut:
    """The response holds the whole key; it is never shown again (only its hash is stored)."""
    issued = caller.engine.accounts.issue_key(
        name, label=body.label, expires_in_days=body.expires_in_days, context=caller.context
    )
    return IssuedKeyOut(**KeyOut.of(issued.key).model_dump(), key=issued.secret)


@router.get("/keys", tags=["accounts"], summary="List every API key (prefixes only)")
def list_keys(caller: KeyManager) -> list[KeyOut]:
    return [KeyOut.of(k) for k in caller.engine.accounts.list_keys()]


@router.delete("/keys/{prefix}", tags=["accounts"], summary="Revoke an API key")
def revoke_key(
    prefix: Annotated[str, Path(min_length=1, max_length=32)], caller: KeyManager
) -> KeyOut:
    return KeyOut.of(caller.engine.accounts.revoke_key(prefix, context=caller.context))


# --- audit -------------------------------------------------------------------------------
def _utc(value: datetime | None, name: str) -> datetime | None:
    """``value`` as an aware UTC datetime (UTC when naive); ``InvalidInput`` naming the
    parameter when it cannot be expressed in UTC (``0001-01-01T00:00:00+01:00``)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as err:
        raise InvalidInput(f"{name}: {value.isoformat()} is out of range in UTC") from err


@router.get("/audit/events", tags=["audit"], summary="List audit events, newest first")
def list_audit_events(
    caller: AuditReader,
    actor: Text = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    case_reference: Text = None,
    outcome: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="From this time (UTC if naive).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    before_seq: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Page: events older than this seq.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    where = AuditFilter(
        actor=actor,
        action=action,
        case_reference=case_reference,
        outcome=outcome,
        since=_utc(since, "since"),
        until=_utc(until, "until"),
        before_seq=before_seq,
    )
    events = caller.engine.audit.list(where, limit=limit)
    more = events[-1].seq if len(events) == limit and events[-1].seq > 1 else None
    return AuditPage(events=[AuditEventOut.of(e) for e in events], next_before_seq=more)


@router.get("/audit/events/{seq}", tags=["audit"], summary="Read one audit event")
def get_audit_event(
    seq: Annotated[int, Path(ge=1, le=2**63 - 1)], caller: AuditReader
) -> AuditEventOut:
    return AuditEventOut.of(caller.engine.audit.get(seq))


@router.get("/audit/verify", tags=["audit"], summary="Verify the audit log's hash chain")
def verify_audit_chain(caller: ChainVerifier) -> ChainReportOut:
    """Walks the whole log; reports the first event that was altered, deleted or moved, and a
    log cut short (against the head kept outside the database)."""
    r = caller.engine.audit.verify()
    return ChainReportOut(
        ok=r.ok,
        events_checked=r.events_checked,
        head_seq=r.head_seq,
        head_hash=r.head_hash,
        first_broken_seq=r.first_broken_seq,
        problem=r.problem,
        acknowledged_cuts=list(r.acknowledged_cuts),
    )


# --- system ------------------------------------------------------------------------------
SETTINGS_EXAMPLE = {
    "data_dir": "data",
    "workers": 4,
    "database": "sqlite",
    "search": {"default_k": 10, "max_k": 50, "search_target_fmr": 0.0001},
    "api": {"host": "127.0.0.1", "port": 8000, "max_files": 20},
}
"""Part of what ``GET /system/settings`` returns (the whole has every settings group)."""


@router.get(
    "/system/settings",
    tags=["system"],
    summary="The service's settings (no secrets)",
    responses={200: {"content": {"application/json": {"example": SETTINGS_EXAMPLE}}}},
)
def read_settings(caller: SystemReader) -> dict[str, Any]:
    settings = caller.engine.settings
    data = settings.model_dump(mode="json", exclude={"database_url"})
    data["database"] = settings.resolved_database_url.split(":", 1)[0].split("+", 1)[0]
    return data


@router.get("/system/index", tags=["system"], summary="The vector index against the store")
def index_status(caller: SystemReader) -> IndexOut:
    fs = caller.engine
    s = fs.index_status()
    report = fs.reconcile_report
    return IndexOut(
        model_id=s.model_id,
        backend=s.backend,
        n_index=s.n_index,
        n_store=s.n_store,
        in_sync=s.in_sync,
        opened=report.action,
        added_on_open=report.added,
        removed_on_open=report.removed,
    )
