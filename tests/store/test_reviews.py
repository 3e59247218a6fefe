"""Judgements of a search's candidates in the store (SQLite and, when configured, PostgreSQL)."""

from __future__ import annotations

import pytest

from facesearch.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from facesearch.store import AuditFilter, AuditResult, JudgementAdded, NewAuditEvent, Store
from facesearch.store.catalog import CatalogRepository
from facesearch.store.database import Database as StoreDatabase
from facesearch.store.reviews import ReviewRepository

from .conftest import Make


def _search(store: Store, *face_ids: int) -> int:
    results = tuple(AuditResult(f, 0.5) for f in face_ids)
    return store.audit.append_audit(
        NewAuditEvent(actor="inv", action="search", results=results)
    ).seq


def _faces(store: Store, make: Make, n: int) -> list[int]:
    """``n`` stored faces (only stored faces can be judged)."""
    gallery = store.catalog.create_gallery("g", legal_basis="t")
    return list(
        store.catalog.add_image(
            gallery.id, make.image(), [make.face() for _ in range(n)], []
        ).face_ids
    )


def _events(added: JudgementAdded) -> list[NewAuditEvent]:
    return [NewAuditEvent(actor=added.record.reviewer, action="review.judgement")]


def test_judgements_are_stored_once_per_reviewer_and_audited_with_the_change(
    store: Store, make: Make
) -> None:
    f11, f12 = _faces(store, make, 2)
    seq = _search(store, f11, f12)
    first = store.reviews.add_judgement(
        seq, f11, reviewer="ann", judgement="possible_lead", note=" looks alike ", audit=_events
    )
    assert first.record.note == "looks alike" and len(first.judgements) == 1
    with pytest.raises(AlreadyExists):
        store.reviews.add_judgement(seq, f11, reviewer="ann", judgement="excluded", audit=_events)
    second = store.reviews.add_judgement(
        seq, f11, reviewer="bob", judgement="excluded", audit=_events
    )
    assert [j.reviewer for j in second.judgements] == ["ann", "bob"]
    with pytest.raises(Conflict):
        store.reviews.add_judgement(seq, f11, reviewer="cy", judgement="excluded")
    assert [j.reviewer for j in store.reviews.list_judgements(seq)] == ["ann", "bob"]
    assert store.reviews.list_judgements(seq, f12) == []
    assert len(store.audit.list_audit(AuditFilter(action="review.judgement"))) == 2


def test_only_candidates_of_completed_searches_can_be_judged(store: Store, make: Make) -> None:
    (f11,) = _faces(store, make, 1)
    seq = _search(store, f11)
    other = store.audit.append_audit(NewAuditEvent(actor="x", action="verify")).seq
    with pytest.raises(NotFound):
        store.reviews.add_judgement(seq, 99, reviewer="ann", judgement="excluded")
    with pytest.raises(NotFound):
        store.reviews.add_judgement(other, f11, reviewer="ann", judgement="excluded")
    with pytest.raises(NotFound):
        store.reviews.add_judgement(10_000, f11, reviewer="ann", judgement="excluded")
    with pytest.raises(InvalidInput):
        store.reviews.add_judgement(seq, f11, reviewer="ann", judgement="identity")
    assert store.reviews.search_candidates(seq) == [f11]


def test_a_failing_audit_hook_rolls_the_judgement_back(store: Store, make: Make) -> None:
    (f11,) = _faces(store, make, 1)
    seq = _search(store, f11)

    def boom(_: JudgementAdded) -> list[NewAuditEvent]:
        raise RuntimeError("audit down")

    with pytest.raises(RuntimeError):
        store.reviews.add_judgement(seq, f11, reviewer="ann", judgement="excluded", audit=boom)
    assert store.reviews.list_judgements(seq) == []


def test_galleries_can_be_marked_for_blind_review(store: Store) -> None:
    store.catalog.create_gallery("booking", legal_basis="t")
    assert store.catalog.get_gallery("booking").mask_source_category is False
    assert store.reviews.set_mask_source_category("booking", True).mask_source_category is True
    assert store.catalog.get_gallery("booking").mask_source_category is True
    with pytest.raises(NotFound):
        store.reviews.set_mask_source_category("nope", True)


def test_a_face_no_longer_stored_cannot_be_judged(store: Store, make: Make) -> None:
    (face,) = _faces(store, make, 1)
    seq = _search(store, face)
    store.catalog.delete_faces([face])
    with pytest.raises(NotFound, match="no longer stored"):
        store.reviews.add_judgement(seq, face, reviewer="ann", judgement="excluded")
    assert store.reviews.list_judgements(seq) == []


def test_reviews_are_built_from_the_database_alone(sqlite_db: StoreDatabase) -> None:
    CatalogRepository(sqlite_db).create_gallery("g", legal_basis="t")
    reviews = ReviewRepository(sqlite_db)
    assert reviews.set_mask_source_category("g", True).mask_source_category
