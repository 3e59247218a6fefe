"""The audit log's table access and the definition of its hash chain.

The chain is defined here because the hash is computed in the transaction that appends
the event (which holds the store's write lock, so no two appends interleave):

* ``seq`` = last seq + 1 (the first event has seq 1);
* ``prev_hash`` = the last event's ``hash`` (:data:`GENESIS_HASH` for the first);
* ``hash`` = sha256 (hex) of the event's canonical JSON (:func:`canonical_json`) over every
  column except ``hash`` itself: so it covers ``seq``, the time and ``prev_hash``.

The application has no update or delete path for ``audit_events``.
:mod:`facesearch.audit` verifies the chain with :func:`event_hash`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facesearch.errors import AuditLogCut, Conflict, InvalidInput, NotFound, StoreError
from facesearch.store import _validate
from facesearch.store.database import AUDIT_ANCHOR_READER, AUDIT_APPENDED, Database
from facesearch.store.records import AuditFilter, AuditRecord, AuditResult, NewAuditEvent
from facesearch.store.tables import AuditEvent, utcnow

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event."""

_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEXT_LIMITS = {
    "actor": 200,
    "action": 64,
    "outcome": 64,
    "key_prefix": 32,
    "purpose": 4000,
    "case_reference": 200,
    "authorization_reference": 200,
    "target": 200,
    "client_address": 64,
}


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys, no whitespace and no NaN: the bytes that are hashed."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def format_time(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (microseconds, as both databases keep them)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hashed_fields(record: AuditRecord) -> dict[str, Any]:
    """The values the hash covers: every field of the event except ``hash``."""
    return {
        "seq": record.seq,
        "occurred_at": format_time(record.occurred_at),
        "actor": record.actor,
        "key_prefix": record.key_prefix,
        "action": record.action,
        "purpose": record.purpose,
        "case_reference": record.case_reference,
        "authorization_reference": record.authorization_reference,
        "galleries": list(record.galleries),
        "probe_sha256": record.probe_sha256,
        "results": [{"face_id": r.face_id, "similarity": r.similarity} for r in record.results],
        "target": record.target,
        "details": dict(record.details),
        "client_address": record.client_address,
        "outcome": record.outcome,
        "prev_hash": record.prev_hash,
    }


def event_hash(record: AuditRecord) -> str:
    """sha256 hex of the canonical JSON of :func:`hashed_fields` (ignores ``record.hash``)."""
    return hashlib.sha256(canonical_json(hashed_fields(record))).hexdigest()


# --- validation --------------------------------------------------------------------------
def _check_text(name: str, value: object, *, required: bool) -> None:
    if value is None and not required:
        return
    limit = _TEXT_LIMITS[name]
    _validate.text(name, value, limit)
    if "\x00" in str(value):
        raise InvalidInput(f"{name} must not contain NUL characters")


def _json_native(name: str, value: Any) -> Any:
    """``value`` as plain JSON values (tuples become lists); refuses NaN and other types."""
    try:
        return json.loads(canonical_json(value))
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"audit {name} must be JSON values without NaN") from err


def _check(event: NewAuditEvent) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    for name in ("actor", "action", "outcome"):
        _check_text(name, getattr(event, name), required=True)
    for name in _TEXT_LIMITS.keys() - {"actor", "action", "outcome"}:
        _check_text(name, getattr(event, name), required=False)
    if event.probe_sha256 is not None and not _SHA256.fullmatch(event.probe_sha256):
        raise InvalidInput("probe_sha256 must be 64 lowercase hexadecimal digits")
    for gallery in event.galleries:
        _validate.text("gallery", gallery, 200)
    results = []
    for r in event.results:
        if not math.isfinite(float(r.similarity)):
            raise InvalidInput("audit similarities must be finite")
        results.append({"face_id": int(r.face_id), "similarity": float(r.similarity)})
    details = _json_native("details", dict(event.details))
    return results, details


# --- rows --------------------------------------------------------------------------------
MALFORMED = "malformed"
"""The ``hash`` given to a record whose stored JSON columns do not have their shape (so it
can never verify)."""


def _record(row: AuditEvent) -> AuditRecord:
    try:
        return _parse(row)
    except (KeyError, TypeError, ValueError, AttributeError):
        return AuditRecord(
            seq=int(row.seq),
            occurred_at=row.occurred_at,
            actor=str(row.actor),
            action=str(row.action),
            outcome=str(row.outcome),
            key_prefix=None,
            purpose=None,
            case_reference=None,
            authorization_reference=None,
            galleries=(),
            probe_sha256=None,
            results=(),
            target=None,
            details={},
            client_address=None,
            prev_hash=str(row.prev_hash),
            hash=MALFORMED,
        )


def _parse(row: AuditEvent) -> AuditRecord:
    if not isinstance(row.galleries, list) or not isinstance(row.results, list):
        raise TypeError("galleries and results must be lists")
    return AuditRecord(
        seq=int(row.seq),
        occurred_at=row.occurred_at,
        actor=row.actor,
        action=row.action,
        outcome=row.outcome,
        key_prefix=row.key_prefix,
        purpose=row.purpose,
        case_reference=row.case_reference,
        authorization_reference=row.authorization_reference,
        galleries=tuple(str(g) for g in row.galleries),
        probe_sha256=row.probe_sha256,
        results=tuple(
            AuditResult(face_id=int(r["face_id"]), similarity=float(r["similarity"]))
            for r in row.results
        ),
        target=row.target,
        details=dict(row.details),  # TypeError/ValueError unless a JSON object
        client_address=row.client_address,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


CUT_ACKNOWLEDGED = "audit.cut_acknowledged"
"""The action of the event an operator appends to acknowledge a cut log
(:meth:`AuditRepository.acknowledge_audit_cut`); :func:`facesearch.audit.verify_chain` accepts
the gap it declares (``details.missing_from`` to ``details.missing_to``)."""


def head_problem(
    last: tuple[int, str] | None,
    anchor: tuple[int, str] | None,
    hash_at: Callable[[int], str | None],
) -> str | None:
    """What is wrong with the log's end against its anchor, in one line, or ``None``.

    ``last``: ``(seq, hash)`` of the newest event (``None``: empty log); ``anchor``: the
    anchored ``(seq, hash)`` (``None``: no anchor); ``hash_at(seq)``: the stored hash of
    event ``seq`` or ``None``. The anchor may lag the log (it is written after the commit),
    never lead it; a non-empty log needs one."""
    if anchor is None:
        if last is None:
            return None
        return (
            f"the log holds events up to {last[0]} but its anchor (audit-head.json) is "
            "missing, so its end cannot be checked"
        )
    anchor_seq, anchor_hash = anchor
    end = 0 if last is None else last[0]
    if end < anchor_seq:
        return (
            f"the log ends at event {end} but event {anchor_seq} was recorded "
            "(events were removed from its end)"
        )
    stored = last[1] if last is not None and last[0] == anchor_seq else hash_at(anchor_seq)
    if stored is None:
        return f"event {anchor_seq}, the anchored head, is missing from the log"
    if stored != anchor_hash:
        return (
            f"event {anchor_seq} differs from the head recorded when it was written "
            "(the log was rewritten)"
        )
    return None


def _stored_hash(session: Session, seq: int) -> str | None:
    value = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
    return None if value is None else str(value)


def _read_anchor(session: Session) -> tuple[bool, tuple[int, str] | None, str | None]:
    """``(watched, anchor, problem)`` of this write transaction: whether an anchor is
    watched (:meth:`Database.watch_audit`), the anchor, and why it cannot be read."""
    reader = session.info.get(AUDIT_ANCHOR_READER)
    if reader is None:
        return False, None, None
    try:
        return True, reader(), None
    except StoreError as err:
        return True, None, err.message


_REFUSED = (
    "audit appends are refused until an operator acknowledges it (facesearch audit acknowledge-cut)"
)


def append_event(
    session: Session,
    event: NewAuditEvent,
    *,
    acknowledging: bool = False,
    known_seq: int = 0,
    exported: tuple[int, str] | None = None,
) -> AuditRecord:
    """Append ``event`` to the chain in ``session``, whose transaction holds the write lock.

    When the store watches an anchor, the log's end is checked against it first
    (:func:`head_problem`): a log cut short, rewritten, or without its anchor is never
    extended (``AuditLogCut``), so a deleted event's seq is never given again. Only the
    acknowledgement of such a cut (``acknowledging``) is appended then, at the seq after
    the log's end, the anchor and ``known_seq`` (the highest seq the caller anchored)."""
    results, details = _check(event)
    last_row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    last = None if last_row is None else (int(last_row.seq), str(last_row.hash))
    watched, anchor, problem = _read_anchor(session)
    if watched and problem is None:
        problem = head_problem(last, anchor, lambda seq: _stored_hash(session, seq))
    if acknowledging:
        if exported is not None:
            against = head_problem(last, exported, lambda seq: _stored_hash(session, seq))
            if against is not None and against != problem:
                against = against.replace("was recorded", "was exported")
                problem = against if problem is None else f"{problem}; {against}"
        if problem is None:
            raise Conflict("the audit log agrees with its anchor: there is no cut to acknowledge")
        end = 0 if last is None else last[0]
        seq = (
            max(
                end,
                0 if anchor is None else anchor[0],
                known_seq,
                0 if exported is None else exported[0],
            )
            + 1
        )
        prev_hash = GENESIS_HASH if last is None else last[1]
        details = {
            **details,
            "problem": problem,
            "log_end": None if last is None else {"seq": last[0], "hash": last[1]},
            "anchor": None if anchor is None else {"seq": anchor[0], "hash": anchor[1]},
            "exported": None if exported is None else {"seq": exported[0], "hash": exported[1]},
            "missing_from": end + 1 if seq > end + 1 else None,
            "missing_to": seq - 1 if seq > end + 1 else None,
        }
    elif problem is not None:
        raise AuditLogCut(f"the audit log is cut: {problem}; {_REFUSED}")
    else:
        seq, prev_hash = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    # Microseconds are what both databases keep; the hash is over the stored value.
    record = AuditRecord(
        seq=seq,
        occurred_at=utcnow(),
        actor=event.actor,
        action=event.action,
        outcome=event.outcome,
        key_prefix=event.key_prefix,
        purpose=event.purpose,
        case_reference=event.case_reference,
        authorization_reference=event.authorization_reference,
        galleries=tuple(event.galleries),
        probe_sha256=event.probe_sha256,
        results=tuple(AuditResult(r["face_id"], r["similarity"]) for r in results),
        target=event.target,
        details=details,
        client_address=event.client_address,
        prev_hash=prev_hash,
        hash="",
    )
    digest = event_hash(record)
    session.add(
        AuditEvent(
            seq=seq,
            occurred_at=record.occurred_at,
            actor=record.actor,
            key_prefix=record.key_prefix,
            action=record.action,
            purpose=record.purpose,
            case_reference=record.case_reference,
            authorization_reference=record.authorization_reference,
            galleries=list(record.galleries),
            probe_sha256=record.probe_sha256,
            results=results,
            target=record.target,
            details=details,
            client_address=record.client_address,
            outcome=record.outcome,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    session.flush()
    newest = session.info.get(AUDIT_APPENDED)
    outcomes = () if newest is None else newest[2]
    if newest is None or newest[0] < seq:
        newest = (seq, digest)
    session.info[AUDIT_APPENDED] = (newest[0], newest[1], (*outcomes, record.outcome))
    return dataclasses.replace(record, hash=digest)


class AuditRepository:
    """Append-only access to ``audit_events``: append, read and page; no update, no delete."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append_audit(self, event: NewAuditEvent) -> AuditRecord:
        """Append one event in its own transaction (committed when this returns)."""
        with self._db.transaction("append_audit", write=True) as s:
            return append_event(s, event)

    def acknowledge_audit_cut(
        self,
        event: NewAuditEvent,
        *,
        known_seq: int = 0,
        exported: tuple[int, str] | None = None,
    ) -> AuditRecord:
        """Append ``event`` (action :data:`CUT_ACKNOWLEDGED`) to a log that disagrees with
        its anchor, recording in its details what was wrong (``problem``), the log's end and
        the anchor as found, and the seqs that are gone (``missing_from``..``missing_to``,
        when the anchor, ``known_seq`` or the ``exported`` head was ahead). ``Conflict``
        when the log agrees with its anchor and with ``exported``."""
        if event.action != CUT_ACKNOWLEDGED:
            raise InvalidInput(f"an acknowledgement's action is {CUT_ACKNOWLEDGED}")
        with self._db.transaction("acknowledge_audit_cut", write=True) as s:
            return append_event(
                s, event, acknowledging=True, known_seq=known_seq, exported=exported
            )

    def audit_head_problem(self, anchor: tuple[int, str] | None) -> str | None:
        """What is wrong with the log's end against ``anchor`` (:func:`head_problem`)."""
        with self._db.transaction("audit_head_problem") as s:
            row = s.execute(
                select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
            ).first()
            last = None if row is None else (int(row.seq), str(row.hash))
            return head_problem(last, anchor, lambda seq: _stored_hash(s, seq))

    def get_audit(self, seq: int) -> AuditRecord:
        with self._db.transaction("get_audit") as s:
            row = s.get(AuditEvent, int(seq))
            if row is None:
                raise NotFound(f"audit event {seq} not found")
            return _record(row)

    def list_audit(
        self, where: AuditFilter | None = None, *, limit: int = 100
    ) -> list[AuditRecord]:
        """Events matching ``where``, newest (highest seq) first, at most ``limit``."""
        if limit < 0:
            raise InvalidInput("limit must be non-negative")
        where = where or AuditFilter()
        query = select(AuditEvent)
        conditions: Mapping[Any, Any] = {
            AuditEvent.actor: where.actor,
            AuditEvent.action: where.action,
            AuditEvent.case_reference: where.case_reference,
            AuditEvent.outcome: where.outcome,
        }
        for column, value in conditions.items():
            if value is not None:
                query = query.where(column == value)
        if where.since is not None:
            query = query.where(AuditEvent.occurred_at >= where.since)
        if where.until is not None:
            query = query.where(AuditEvent.occurred_at < where.until)
        if where.before_seq is not None:
            query = query.where(AuditEvent.seq < int(where.before_seq))
        with self._db.transaction("list_audit") as s:
            rows = s.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit)).all()
            return [_record(row) for row in rows]

    def iter_audit(self, *, batch_size: int = 1000) -> Iterator[AuditRecord]:
        """Every event in ascending seq, read in batches of short transactions."""
        if batch_size <= 0:
            raise InvalidInput("batch_size must be positive")
        last: int | None = None
        while True:
            query = select(AuditEvent).order_by(AuditEvent.seq).limit(batch_size)
            if last is not None:
                query = query.where(AuditEvent.seq > last)
            with self._db.transaction("iter_audit") as s:
                batch = [_record(row) for row in s.scalars(query).all()]
            if not batch:
                return
            yield from batch
            last = batch[-1].seq

    def audit_head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the newest event, or None when the log is empty."""
        with self._db.transaction("audit_head") as s:
            row = s.execute(
                select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
            ).first()
            return None if row is None else (int(row.seq), row.hash)
