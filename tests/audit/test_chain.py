"""The hash chain catches edits, deletions and reordering made directly in the database."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from facesearch.audit import AuditLog, verify_chain
from facesearch.store import event_hash

from .conftest import Db, fill


def test_an_intact_log_verifies(log: AuditLog) -> None:
    assert log.verify().ok and log.verify().events_checked == 0
    fill(log)
    report = log.verify()
    assert report.ok and report.events_checked == 6
    assert report.head_seq == 6 and report.first_broken_seq is None and report.problem is None
    assert json.loads(Path(log._anchor_path or "").read_text())["seq"] == 6  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sql", "seq", "words"),
    [
        ("UPDATE audit_events SET purpose = 'routine check' WHERE seq = 3", 3, "altered"),
        ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1", 1, "altered"),
        ("UPDATE audit_events SET case_reference = NULL WHERE seq = 5", 5, "altered"),
        ("UPDATE audit_events SET results = '[]' WHERE seq = 2", 2, "altered"),
        ("UPDATE audit_events SET results = '\"oops\"' WHERE seq = 2", 2, "altered"),
        ("UPDATE audit_events SET galleries = '[\"other\"]' WHERE seq = 4", 4, "altered"),
        ("UPDATE audit_events SET outcome = 'no_face_found' WHERE seq = 6", 6, "altered"),
        ("UPDATE audit_events SET prev_hash = hash WHERE seq = 2", 2, "altered"),
        ("DELETE FROM audit_events WHERE seq = 3", 3, "missing"),
        ("DELETE FROM audit_events WHERE seq = 1", 1, "missing"),
        ("DELETE FROM audit_events WHERE seq IN (2, 3, 4)", 2, "events 2 to 4 are missing"),
        ("DELETE FROM audit_events WHERE seq = 6", 6, "removed from its end"),
    ],
)
def test_edits_and_deletions_are_caught(
    db: Db, log: AuditLog, sql: str, seq: int, words: str
) -> None:
    fill(log)
    db.execute(sql)
    report = log.verify()
    assert not report.ok
    assert report.first_broken_seq == seq
    assert words in (report.problem or "")


def test_moving_the_time_is_caught(db: Db, log: AuditLog) -> None:
    fill(log)
    db.execute(
        "UPDATE audit_events SET occurred_at = (SELECT occurred_at FROM audit_events WHERE seq = 1)"
        " WHERE seq = 4"
    )
    report = log.verify()
    assert report.first_broken_seq == 4 and "altered" in (report.problem or "")


def test_reordering_events_is_caught(db: Db, log: AuditLog) -> None:
    fill(log)
    # swap events 2 and 3 (every column but seq travels with its row)
    db.execute("UPDATE audit_events SET seq = -2 WHERE seq = 2")
    db.execute("UPDATE audit_events SET seq = 2 WHERE seq = 3")
    db.execute("UPDATE audit_events SET seq = 3 WHERE seq = -2")
    report = log.verify()
    assert not report.ok and report.first_broken_seq == 2


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(db: Db, log: AuditLog) -> None:
    fill(log)
    forged = dataclasses.replace(db.store.audit.get_audit(3), purpose="nothing to see")
    db.execute(
        "UPDATE audit_events SET purpose = :p, hash = :h WHERE seq = 3",
        p=forged.purpose,
        h=event_hash(forged),
    )
    report = log.verify()
    assert report.first_broken_seq == 4 and "link is broken" in (report.problem or "")


def test_a_rewritten_tail_is_caught_by_the_anchor(db: Db, log: AuditLog, tmp_path: Path) -> None:
    """Dropping the last events and re-hashing what is left passes the chain walk alone;
    the anchor outside the database catches it."""
    fill(log)
    db.execute("DELETE FROM audit_events WHERE seq >= 5")
    assert verify_chain(db.store.audit.iter_audit()).ok  # the chain alone cannot see a cut tail
    report = log.verify()
    assert not report.ok and report.first_broken_seq == 6
    # rewrite event 4 and re-chain: still caught when the anchor names event 4
    anchored = AuditLog(db.store, anchor_path=tmp_path / "other-head.json")
    anchored._advance(4, db.store.audit.get_audit(4).hash)
    forged = dataclasses.replace(db.store.audit.get_audit(4), purpose="rewritten")
    db.execute(
        "UPDATE audit_events SET purpose = :p, hash = :h WHERE seq = 4",
        p=forged.purpose,
        h=event_hash(forged),
    )
    report = anchored.verify()
    assert not report.ok and report.first_broken_seq == 4 and "rewritten" in (report.problem or "")


def test_the_log_has_no_update_or_delete_path(log: AuditLog) -> None:
    store = log._store
    names = {n for n in dir(store) if "audit" in n}
    assert not {n for n in names if any(w in n for w in ("update", "delete", "remove", "edit"))}
    assert not [n for n in dir(log) if any(w in n for w in ("update", "delete", "remove"))]
