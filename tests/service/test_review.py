"""Two-person review and blind review through the engine, with real models on tests/data/lfw."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.audit import AuditContext
from facesearch.errors import AlreadyExists, NotFound, SensitiveIdentifierFound
from facesearch.service import FaceSearch
from facesearch.service.reviews import LEAD_DISCLAIMER, LeadState, Viewer
from facesearch.store import AuditFilter

from .helpers import CURATOR, INVESTIGATION

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


def test_blind_review_masks_the_gallery_until_the_reviewer_judges(
    engine: FaceSearch, searched: tuple[int, int, int]
) -> None:
    seq, booked, press = searched
    views = {c.face_id: c for c in engine.review(seq, ANN_SEES).candidates}
    assert views[booked].masked and views[booked].gallery is None
    assert views[booked].source_category is None
    assert not views[press].masked and views[press].gallery == "press"
    sheet = engine.lead_sheet(seq, booked, ANN_SEES)
    assert sheet.startswith(LEAD_DISCLAIMER) and "booking" not in sheet
    judged = engine.judge(seq, booked, "excluded", context=ANN)
    assert not judged.masked and judged.gallery == "booking"
    assert judged.source_category == "booking photos"
    assert not engine.lead_state(seq, booked, AUDITOR).masked


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
