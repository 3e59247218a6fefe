"""A log cut short does not heal: appends stop until an operator acknowledges the cut, the
acknowledgement is an event of its own, and no seq the anchor saw is given again."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from facesearch.audit import Anchor, AuditContext, AuditLog, verify_chain
from facesearch.errors import AuditLogCut, Conflict, InvalidInput
from facesearch.store import CUT_ACKNOWLEDGED, event_hash
from facesearch.store.tables import AuditEvent

from .conftest import Db, fill

OPERATOR = AuditContext(actor="cli:operator", client_address="local")
REASON = "ticket OPS-12: newest event deleted by hand, restored from nothing"


def _seqs(log: AuditLog) -> list[int]:
    return [e.seq for e in reversed(log.list(limit=1000))]


def test_deleting_the_newest_event_stops_appends_until_acknowledged(
    db: Db, log: AuditLog, tmp_path: Path
) -> None:
    fill(log)
    db.execute("DELETE FROM audit_events WHERE seq = 6")
    assert not log.verify().ok
    # two ordinary operations: refused, nothing appended, the anchor stays at 6
    for _ in range(2):
        with pytest.raises(AuditLogCut, match="event 6 was recorded"):
            fill(log, 1)
    assert _seqs(log) == [1, 2, 3, 4, 5]
    assert json.loads((tmp_path / "audit-head.json").read_text())["seq"] == 6
    assert "ends at event 5 but event 6 was recorded" in (log.health() or "")
    report = log.verify()
    assert not report.ok and report.first_broken_seq == 6

    # the operator acts: that act is the next event, after the lost seq
    ack = log.acknowledge_cut(REASON, context=OPERATOR)
    assert (ack.seq, ack.action, ack.actor) == (7, CUT_ACKNOWLEDGED, "cli:operator")
    assert ack.details["missing_from"] == 6 and ack.details["missing_to"] == 6
    assert ack.details["reason"] == REASON and ack.details["anchor"]["seq"] == 6
    assert ack.prev_hash == db.store.audit.get_audit(5).hash
    assert log.health() is None
    fill(log, 2)
    assert _seqs(log) == [1, 2, 3, 4, 5, 7, 8, 9]  # 6 is never given again
    report = log.verify()
    assert report.ok and report.acknowledged_cuts == (7,) and report.head_seq == 9


def test_a_log_without_its_anchor_is_reported_and_not_extended(db: Db, tmp_path: Path) -> None:
    head = tmp_path / "audit-head.json"
    fill(AuditLog(db.store, anchor_path=head), 3)
    db.execute("DELETE FROM audit_events WHERE seq = 3")
    head.unlink()
    log = AuditLog(db.store, anchor_path=head)  # say, after a restart
    report = log.verify()
    assert not report.ok and "anchor (audit-head.json) is missing" in (report.problem or "")
    with pytest.raises(AuditLogCut, match="missing"):
        fill(log, 1)
    assert not head.exists()
    ack = log.acknowledge_cut(REASON, context=OPERATOR)
    assert ack.details["anchor"] is None and ack.details["log_end"]["seq"] == 2
    assert log.verify().ok and json.loads(head.read_text())["seq"] == ack.seq


def test_a_rewritten_newest_event_stops_appends(db: Db, log: AuditLog) -> None:
    """An event written with the application's own code but without the anchor check (a
    second store on the same database) in place of a deleted one is caught."""
    fill(log)
    db.execute("DELETE FROM audit_events WHERE seq = 6")
    db.store.watch_audit(anchor=None, committed=None)  # the same code, unwatched
    db.store.audit.append_audit(OPERATOR.event("search", target="nothing to see"))
    log = AuditLog(db.store, anchor_path=log._anchor_path)
    assert "rewritten" in (log.health() or "")
    with pytest.raises(AuditLogCut, match="rewritten"):
        fill(log, 1)


def test_a_forged_acknowledgement_does_not_pass(db: Db, log: AuditLog) -> None:
    """A cut 'acknowledged' by a row written straight into the database leaves the anchor
    at the lost event: verify and appends still refuse."""
    fill(log)
    db.execute("DELETE FROM audit_events WHERE seq = 6")
    five = db.store.audit.get_audit(5)
    forged = dataclasses.replace(
        five,
        seq=7,
        action=CUT_ACKNOWLEDGED,
        details={"missing_from": 6, "missing_to": 6, "reason": "forged"},
        prev_hash=five.hash,
    )
    with Session(db.store.engine) as session, session.begin():
        session.add(
            AuditEvent(
                **{
                    f.name: getattr(forged, f.name)
                    for f in dataclasses.fields(forged)
                    if f.name not in ("hash", "galleries", "results", "details")
                },
                galleries=list(forged.galleries),
                results=[],
                details=dict(forged.details),
                hash=event_hash(forged),
            )
        )
    stored = db.store.audit.get_audit(7)  # as the database gives it back: hash that
    db.execute("UPDATE audit_events SET hash = :h WHERE seq = 7", h=event_hash(stored))
    assert verify_chain(db.store.audit.iter_audit()).ok  # the chain alone accepts the gap
    report = log.verify()
    assert not report.ok and report.first_broken_seq == 6
    with pytest.raises(AuditLogCut):
        fill(log, 1)


def test_acknowledging_needs_a_cut_and_a_reason(db: Db, log: AuditLog) -> None:
    fill(log, 2)
    with pytest.raises(Conflict, match="no cut"):
        log.acknowledge_cut(REASON, context=OPERATOR)
    db.execute("DELETE FROM audit_events WHERE seq = 2")
    with pytest.raises(InvalidInput, match="reason"):
        log.acknowledge_cut("  ", context=OPERATOR)
    assert _seqs(log) == [1]


def test_an_exported_head_checks_the_log_later(db: Db, log: AuditLog) -> None:
    fill(log, 4)
    exported = log.head()
    assert exported.seq == 4 and exported.anchor_agrees and exported.hash
    fill(log, 2)
    assert log.verify_against(Anchor(exported.seq, exported.hash)).ok
    # someone with the database and the anchor file cuts both consistently
    db.execute("DELETE FROM audit_events WHERE seq >= 4")
    log._advance(3, db.store.audit.get_audit(3).hash)  # as if the anchor were rewritten too
    report = log.verify_against(Anchor(exported.seq, exported.hash))
    assert not report.ok and report.first_broken_seq == 4


def test_an_export_tells_a_cut_at_the_end_when_the_anchor_is_gone(db: Db, tmp_path: Path) -> None:
    """Without anchor or export a cut at the end cannot be known; the operator's export
    proves it, and the acknowledgement then never reuses the lost seq."""
    head = tmp_path / "audit-head.json"
    log = AuditLog(db.store, anchor_path=head)
    fill(log, 3)
    kept = log.head()
    assert kept.seq == 3 and kept.hash is not None
    exported = Anchor(kept.seq, kept.hash)
    db.execute("DELETE FROM audit_events WHERE seq = 3")
    head.unlink()
    log = AuditLog(db.store, anchor_path=head)  # after a restart: nothing remembers 3
    report = log.verify(exported)
    assert not report.ok and "event 3 was recorded" in (report.problem or "")
    ack = log.acknowledge_cut(REASON, context=OPERATOR, exported=exported)
    assert ack.seq == 4 and (ack.details["missing_from"], ack.details["missing_to"]) == (3, 3)
    assert ack.details["exported"] == {"seq": 3, "hash": kept.hash}
    report = log.verify(exported)
    assert report.ok and report.notes == ("event 3 was lost; acknowledged in event 4",)
