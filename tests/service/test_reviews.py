"""Two-person review and blind review through the engine, with real models on tests/data/lfw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facesearch.audit import AuditContext
from facesearch.errors import AlreadyExists, NotFound, SensitiveIdentifierFound
from facesearch.service import FacePipeline, FaceSearch
from facesearch.service.reviews import (
    LEAD_DISCLAIMER,
    WITHHELD,
    LeadState,
    LeadView,
    Reviews,
    Viewer,
)
from facesearch.settings import Settings
from facesearch.store import AuditFilter, AuditResult

from .helpers import CURATOR, INVESTIGATION
from .parts import add_face, collaborators, unit_vector

pytestmark = pytest.mark.both_databases

Images = dict[str, list[Path]]
ANN = AuditContext(actor="ann", client_address="127.0.0.1")
BOB = AuditContext(actor="bob", client_address="127.0.0.1")
ANN_SEES, BOB_SEES = Viewer("ann", blind=True), Viewer("bob", blind=True)
AUDITOR = Viewer("audrey", blind=False)


@pytest.fixture
def searched(engine: FaceSearch, test_images: Images) -> tuple[int, int, int]:
    """(search seq, a candidate in a blind-review gallery, a candidate in an open one)."""
    engine.create_gallery(
        "booking", legal_basis="t", source_category="booking photos", context=CURATOR
    )
    engine.create_gallery("press", legal_basis="t", source_category="press", context=CURATOR)
    engine.set_blind_review("booking", True, context=CURATOR)
    colin, serena = test_images["Colin_Powell"], test_images["Serena_Williams"]
    booked = engine.enroll(colin[0].read_bytes(), gallery="booking", subject="C", context=CURATOR)
    press = engine.enroll(serena[0].read_bytes(), gallery="press", subject="S", context=CURATOR)
    result = engine.search(colin[1].read_bytes(), context=INVESTIGATION, threshold=-1.0)
    assert result.audit_seq is not None
    ids = {c.face_id for face in result.faces for c in face.candidates}
    assert {booked.face_ids[0], press.face_ids[0]} <= ids
    return result.audit_seq, booked.face_ids[0], press.face_ids[0]


def test_two_reviewers_confirm_a_lead(engine: FaceSearch, searched: tuple[int, int, int]) -> None:
    seq, face, _ = searched
    assert engine.lead_state(seq, face, ANN_SEES).state is LeadState.UNREVIEWED
    ann = engine.judge(seq, face, "possible_lead", "same scar", context=ANN)
    assert ann.state is LeadState.PENDING and ann.judged_by_viewer
    with pytest.raises(AlreadyExists):
        engine.judge(seq, face, "possible_lead", context=ANN)
    bob = engine.judge(seq, face, "possible_lead", "agree", context=BOB)
    assert bob.state is LeadState.CONFIRMED
    assert [j.reviewer for j in bob.judgements] == ["ann", "bob"]
    actions = [e.action for e in engine.audit.list(limit=3)]
    assert actions == ["review.confirmed", "review.judgement", "review.judgement"]
    failed = engine.audit.list(AuditFilter(outcome="already_exists"), limit=1)
    assert failed and failed[0].action == "review.judgement"


def test_the_second_reviewer_sees_only_the_count_until_recording(
    engine: FaceSearch, searched: tuple[int, int, int]
) -> None:
    seq, _, face = searched
    engine.judge(seq, face, "possible_lead", "ears", context=ANN)
    before = engine.lead_state(seq, face, BOB_SEES)
    assert before.n_judgements == 1 and before.judgements_hidden and before.judgements == ()
    assert "ears" not in engine.lead_sheet(seq, face, BOB_SEES)
    assert engine.lead_state(seq, face, AUDITOR).judgements[0].note == "ears"
    after = engine.judge(seq, face, "excluded", "different nose", context=BOB)
    assert after.state is LeadState.EXCLUDED and not after.judgements_hidden
    assert [j.note for j in after.judgements] == ["ears", "different nose"]
    assert not [e for e in engine.audit.list(limit=5) if e.action == "review.confirmed"]


def _shown(lead: LeadView) -> tuple[object, ...]:
    """What a candidate's view says about where it comes from."""
    return (lead.withheld, lead.gallery, lead.source_category, lead.subject_label)


def _sheet_lines(sheet: str) -> list[str]:
    keys = ("- Subject label:", "- Gallery:", "- Source category:")
    return [line for line in sheet.splitlines() if line.startswith(keys)]


def test_blind_review_withholds_every_candidate_alike_until_the_reviewer_judges(
    engine: FaceSearch, searched: tuple[int, int, int]
) -> None:
    seq, booked, press = searched
    review = engine.review(seq, ANN_SEES)
    assert review.blind
    views = {c.face_id: c for c in review.candidates}
    # a masked gallery's candidate and an open gallery's look the same before judging
    assert _shown(views[booked]) == _shown(views[press]) == (True, None, None, None)
    booked_sheet = engine.lead_sheet(seq, booked, ANN_SEES)
    press_sheet = engine.lead_sheet(seq, press, ANN_SEES)
    assert booked_sheet.startswith(LEAD_DISCLAIMER)
    assert _sheet_lines(booked_sheet) == _sheet_lines(press_sheet)
    assert all(WITHHELD in line for line in _sheet_lines(press_sheet))
    for sheet in (booked_sheet, press_sheet):
        assert "booking" not in sheet and "press" not in sheet
        assert "- Subject label: C\n" not in sheet and "- Subject label: S\n" not in sheet

    judged = engine.judge(seq, booked, "excluded", context=ANN)
    assert _shown(judged) == (False, "booking", "booking photos", "C")
    judged = engine.judge(seq, press, "possible_lead", context=ANN)
    assert _shown(judged) == (False, "press", "press", "S")
    # bob has judged nothing: still withheld for him; an auditor sees everything
    assert _shown(engine.lead_state(seq, booked, BOB_SEES)) == (True, None, None, None)
    assert _shown(engine.lead_state(seq, booked, AUDITOR)) == (
        False,
        "booking",
        "booking photos",
        "C",
    )


def test_a_search_without_blind_review_candidates_shows_them(
    engine: FaceSearch, searched: tuple[int, int, int], test_images: Images
) -> None:
    _, _, press = searched
    result = engine.search(
        test_images["Serena_Williams"][1].read_bytes(),
        context=INVESTIGATION,
        threshold=-1.0,
        galleries=["press"],
    )
    assert result.audit_seq is not None
    review = engine.review(result.audit_seq, ANN_SEES)
    assert not review.blind
    (lead,) = review.candidates
    assert lead.face_id == press and _shown(lead) == (False, "press", "press", "S")


def test_an_erased_face_cannot_become_a_lead_and_its_judgements_go(
    engine: FaceSearch, searched: tuple[int, int, int], test_images: Images
) -> None:
    seq, booked, press = searched
    engine.judge(seq, booked, "possible_lead", "same ears", context=ANN)
    engine.judge(seq, press, "excluded", context=ANN)
    view = engine.request_erasure(
        test_images["Colin_Powell"][2].read_bytes(), reference="ER-R1", context=CURATOR
    )
    assert booked in {f.face_id for f in view.faces}
    engine.confirm_erasure(view.request.id, face_ids=[booked], context=CURATOR)
    event = engine.audit.list(AuditFilter(action="erasure.confirm"), limit=1)[0]
    assert event.details["review_judgements_deleted"] == 1
    assert [j.face_id for j in engine.store.reviews.list_judgements(seq)] == [press]

    with pytest.raises(NotFound, match="no longer stored"):
        engine.judge(seq, booked, "possible_lead", "agree", context=BOB)
    lead = engine.lead_state(seq, booked, AUDITOR)
    assert lead.state is LeadState.UNREVIEWED and not lead.stored and lead.n_judgements == 0
    failed = engine.audit.list(AuditFilter(action="review.judgement"), limit=1)[0]
    assert failed.outcome == "not_found"
    assert not engine.audit.list(AuditFilter(action="review.confirmed"), limit=1)


def test_a_purged_face_loses_its_judgements_and_takes_no_more(
    settings: Settings, real_pipeline: FacePipeline, test_images: Images
) -> None:
    now = [datetime.now(UTC)]
    with FaceSearch(settings, pipeline=real_pipeline, clock=lambda: now[0]) as fs:
        fs.create_gallery("booking", legal_basis="t", retention_days=30, context=CURATOR)
        colin = test_images["Colin_Powell"]
        face = fs.enroll(colin[0].read_bytes(), gallery="booking", context=CURATOR).face_ids[0]
        result = fs.search(colin[1].read_bytes(), context=INVESTIGATION, threshold=-1.0)
        assert result.audit_seq is not None
        seq = result.audit_seq
        fs.judge(seq, face, "possible_lead", context=ANN)
        now[0] += timedelta(days=31)
        report = fs.apply_retention(context=CURATOR)
        assert report.face_ids == (face,)
        event = fs.audit.list(AuditFilter(action="retention.purge"), limit=1)[0]
        assert event.details["review_judgements_deleted"] == 1
        assert fs.store.reviews.list_judgements(seq) == []
        with pytest.raises(NotFound, match="no longer stored"):
            fs.judge(seq, face, "possible_lead", context=BOB)


def test_notes_with_identifiers_and_non_candidates_are_refused(
    engine: FaceSearch, searched: tuple[int, int, int]
) -> None:
    seq, face, _ = searched
    with pytest.raises(SensitiveIdentifierFound):
        engine.judge(seq, face, "possible_lead", "write to jo@example.org", context=ANN)
    with pytest.raises(NotFound):
        engine.judge(seq, 987654, "possible_lead", context=ANN)
    with pytest.raises(NotFound):
        engine.judge(seq + 1000, face, "possible_lead", context=ANN)
    assert engine.lead_state(seq, face, ANN_SEES).n_judgements == 0


def test_reviews_are_built_from_their_dependencies_alone(settings: Settings) -> None:
    deps = collaborators(settings)
    try:
        reviews = Reviews(
            reviews=deps.store.reviews,
            audit_events=deps.store.audit,
            catalog=deps.store.catalog,
            audit=deps.audit,
            accountability=deps.accountability,
        )
        gallery = deps.store.catalog.create_gallery("g", legal_basis="test")
        face_id = add_face(deps.store, gallery.id, unit_vector(1), n=1)
        seq = deps.audit.record(
            INVESTIGATION.event("search", results=(AuditResult(face_id, 0.9),))
        ).seq
        ann = AuditContext(actor="ann")
        lead = reviews.judge(seq, face_id, "possible_lead", context=ann)
        assert (lead.face_id, lead.state) == (face_id, LeadState.PENDING)
        view = reviews.review(seq, Viewer("bob", blind=True))
        assert [c.face_id for c in view.candidates] == [face_id]
    finally:
        deps.close()
