"""The audit table: append-only chain, exact round trip of hashed values, filters, ordering."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from facesearch.errors import InvalidInput
from facesearch.store import (
    GENESIS_HASH,
    AuditFilter,
    AuditResult,
    NewAuditEvent,
    Store,
    event_hash,
)
from facesearch.store.audit import AuditRepository
from facesearch.store.database import Database as StoreDatabase


def _search_event(n: int = 0, **overrides: Any) -> NewAuditEvent:
    values: dict[str, Any] = {
        "actor": "alice",
        "action": "search",
        "key_prefix": "fsk_abcd",
        "purpose": "robbery investigation, CCTV still",
        "case_reference": f"CASE-{n}",
        "authorization_reference": "WARRANT-7",
        "galleries": ("booking", "mugshots"),
        "probe_sha256": "ab" * 32,
        "results": (AuditResult(12, 0.9512345678901234), AuditResult(7, 0.93)),
        "details": {"k": 10, "threshold": 0.93, "nested": {"list": [1, "two", None, True]}},
        "client_address": "127.0.0.1",
        "target": None,
    }
    values.update(overrides)
    return NewAuditEvent(**values)


def test_append_assigns_seq_time_and_chain(store: Store) -> None:
    first = store.audit.append_audit(_search_event(1))
    second = store.audit.append_audit(_search_event(2, outcome="no_face_found", results=()))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.hash == event_hash(first) and len(first.hash) == 64
    assert first.occurred_at.tzinfo is not None
    assert store.audit.audit_head() == (2, second.hash)


def test_stored_values_hash_to_the_stored_hash(store: Store) -> None:
    """Every hashed value survives the database exactly (floats, JSON, microseconds)."""
    appended = [store.audit.append_audit(_search_event(n)) for n in range(5)]
    stored = list(store.audit.iter_audit(batch_size=2))
    assert stored == appended
    assert all(event_hash(r) == r.hash for r in stored)
    assert stored[0].results[0].similarity == 0.9512345678901234
    assert stored[0].details["nested"] == {"list": [1, "two", None, True]}


def test_list_filters_and_pages_newest_first(store: Store) -> None:
    for n in range(6):
        store.audit.append_audit(_search_event(n % 2, actor="alice" if n < 4 else "bob"))
    assert [r.seq for r in store.audit.list_audit()] == [6, 5, 4, 3, 2, 1]
    assert [r.seq for r in store.audit.list_audit(AuditFilter(actor="bob"))] == [6, 5]
    assert [r.seq for r in store.audit.list_audit(AuditFilter(case_reference="CASE-1"))] == [
        6,
        4,
        2,
    ]
    assert [r.seq for r in store.audit.list_audit(AuditFilter(before_seq=3), limit=5)] == [2, 1]
    newest = store.audit.get_audit(6).occurred_at
    assert [r.seq for r in store.audit.list_audit(AuditFilter(since=newest))] == [6]
    assert len(store.audit.list_audit(AuditFilter(until=newest + timedelta(seconds=1)))) == 6
    assert store.audit.list_audit(AuditFilter(action="verify")) == []
    assert len(store.audit.list_audit(limit=2)) == 2


@pytest.mark.parametrize(
    "overrides",
    [
        {"actor": ""},
        {"action": "x" * 65},
        {"probe_sha256": "not-hex"},
        {"purpose": "nul\x00byte"},
        {"results": (AuditResult(1, float("nan")),)},
        {"details": {"bad": float("inf")}},
        {"details": {"bad": object()}},
    ],
)
def test_invalid_events_are_refused(store: Store, overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        store.audit.append_audit(_search_event(**overrides))
    assert store.audit.audit_head() is None


def test_enrollment_and_its_audit_event_are_one_transaction(store: Store, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")

    def hook(enrolled: Any) -> NewAuditEvent:
        return NewAuditEvent(
            actor="curator",
            action="enroll",
            target=f"image:{enrolled.image_id}",
            details={"face_ids": enrolled.face_ids},
        )

    enrolled = store.catalog.add_image(g.id, make.image(), [make.face()], [], audit=hook)
    event = store.audit.list_audit()[0]
    assert event.details == {"face_ids": list(enrolled.face_ids)}

    def failing(enrolled: Any) -> NewAuditEvent:
        raise InvalidInput("cannot audit")

    with pytest.raises(InvalidInput):
        store.catalog.add_image(g.id, make.image(), [make.face()], [], audit=failing)
    assert store.index_rows.count_faces() == 1  # the enrollment was rolled back with its event


def test_deletes_carry_their_audit_event(store: Store, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    ids = store.catalog.add_image(g.id, make.image(), [make.face(), make.face(x=90)], []).face_ids
    store.catalog.delete_faces(
        [ids[0]],
        audit=lambda gone: NewAuditEvent(
            actor="c", action="face.delete", details={"face_ids": gone}
        ),
    )
    store.catalog.delete_gallery(
        "g",
        audit=lambda gone: NewAuditEvent(
            actor="c", action="gallery.delete", details={"face_ids": gone}
        ),
    )
    events = store.audit.list_audit()
    assert [(e.action, e.details["face_ids"]) for e in events] == [
        ("gallery.delete", [ids[1]]),
        ("face.delete", [ids[0]]),
    ]


def test_concurrent_appends_form_one_unbroken_chain(database: Any) -> None:
    stores = [database.open_store() for _ in range(3)]  # separate engines, like processes
    barrier = threading.Barrier(6)

    def append(n: int) -> None:
        barrier.wait() if n < 6 else None
        stores[n % 3].audit.append_audit(_search_event(n))

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(append, range(30)))
    events = list(stores[0].audit.iter_audit())
    assert [e.seq for e in events] == list(range(1, 31))
    previous = GENESIS_HASH
    for event in events:
        assert event.prev_hash == previous
        assert event_hash(event) == event.hash
        previous = event.hash


def test_audit_is_built_from_the_database_alone(sqlite_db: StoreDatabase) -> None:
    audit = AuditRepository(sqlite_db)
    first = audit.append_audit(NewAuditEvent(actor="ann", action="search"))
    assert audit.audit_head() == (first.seq, first.hash) and first.seq == 1
