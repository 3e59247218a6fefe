"""The anchor file only moves forward, also when two processes append to one data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facesearch.audit import AuditContext, AuditLog
from facesearch.errors import AuditLogCut

from .conftest import Db, fill

OPERATOR = AuditContext(actor="cli:operator", client_address="local")


def test_a_late_writer_never_moves_the_anchor_back(db: Db, tmp_path: Path) -> None:
    head = tmp_path / "audit-head.json"
    server = AuditLog(db.store, anchor_path=head)  # say, the API server
    cli = AuditLog(db.store, anchor_path=head)  # and the command line, on the same folder
    fill(server, 1)  # event 1; the server has anchored 1
    fill(cli, 3)  # events 2 to 4, anchored at 4
    assert json.loads(head.read_text())["seq"] == 4
    # the server appended event 2 before the command line's events, and its anchor step
    # runs late, after the command line anchored 4
    server._advance(2, db.store.audit.get_audit(2).hash)
    assert json.loads(head.read_text())["seq"] == 4
    # so cutting the tail (event 4) is still caught
    db.execute("DELETE FROM audit_events WHERE seq = 4")
    report = server.verify()
    assert not report.ok and report.first_broken_seq == 4


def test_an_unreadable_anchor_stops_appends_until_acknowledged(db: Db, tmp_path: Path) -> None:
    """Overwriting the anchor must not let the next append re-anchor a cut log."""
    head = tmp_path / "audit-head.json"
    log = AuditLog(db.store, anchor_path=head)
    fill(log, 2)
    db.execute("DELETE FROM audit_events WHERE seq = 2")
    head.write_text("{not json")
    with pytest.raises(AuditLogCut, match="unreadable"):
        fill(log, 1)
    assert "unreadable" in (log.health() or "")
    report = log.verify()
    assert not report.ok and "unreadable" in (report.problem or "")
    ack = log.acknowledge_cut("anchor file found overwritten", context=OPERATOR)
    # this process had anchored event 2: the acknowledgement does not take its seq
    assert ack.seq == 3 and (ack.details["missing_from"], ack.details["missing_to"]) == (2, 2)
    assert json.loads(head.read_text())["seq"] == 3
    fill(log, 1)
    assert log.verify().ok and log.health() is None
