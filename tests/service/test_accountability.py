"""Searches, verifications, enrollments and deletions are justified and audited."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text

from facesearch.audit import AuditLog
from facesearch.errors import ImageDecodeError, InvalidInput, NotFound, StoreError
from facesearch.service import FacePipeline, FaceSearch
from facesearch.service.accountability import Accountability
from facesearch.settings import AuditSettings, Settings
from facesearch.store import Store

from ..disclosure import audit_texts, disclosed
from .helpers import CURATOR, INVESTIGATION

pytestmark = pytest.mark.both_databases


@pytest.fixture
def gallery(engine: FaceSearch, test_images: dict[str, list[Path]]) -> FaceSearch:
    engine.create_gallery("g", legal_basis="test", context=CURATOR)
    for name, paths in test_images.items():
        engine.enroll(paths[0].read_bytes(), gallery="g", subject=name, context=CURATOR)
    return engine


@pytest.mark.parametrize(
    "missing",
    [
        {"purpose": None},
        {"purpose": "too short"},
        {"case_reference": " "},
        {"authorization_reference": None},
    ],
)
def test_search_and_verify_refuse_without_justification(
    gallery: FaceSearch, test_images: dict[str, list[Path]], missing: dict[str, str | None]
) -> None:
    probe = test_images["Colin_Powell"][1].read_bytes()
    context = dataclasses.replace(INVESTIGATION, **missing)  # type: ignore[arg-type]
    before = gallery.audit.list(limit=1)[0].seq
    with pytest.raises(InvalidInput, match="needs"):
        gallery.search(probe, context=context)
    with pytest.raises(InvalidInput, match="needs"):
        gallery.verify(probe, probe, context=context)
    refused = gallery.audit.list(limit=2)
    assert [e.seq for e in refused] == [before + 2, before + 1]
    assert {(e.action, e.outcome) for e in refused} == {
        ("search", "invalid_input"),
        ("verify", "invalid_input"),
    }
    assert all(e.results == () and e.purpose is None for e in refused)


def test_a_search_is_audited_with_what_it_returned(
    gallery: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    data = test_images["Serena_Williams"][1].read_bytes()
    result = gallery.search(data, k=3, threshold=-1.0, context=INVESTIGATION)
    event = gallery.audit.list(limit=1)[0]
    assert (event.action, event.outcome, event.actor) == ("search", "ok", "test-investigator")
    assert event.key_prefix == "fsk_00000000" and event.client_address == "127.0.0.1"
    assert event.purpose == INVESTIGATION.purpose
    assert event.case_reference == "TEST-1" and event.authorization_reference == "TEST-AUTH-1"
    assert event.galleries == ("g",)
    assert event.probe_sha256 == hashlib.sha256(data).hexdigest() == result.probe_sha256
    returned = [(c.face_id, round(c.similarity, 6)) for c in result.faces[0].candidates]
    assert [(r.face_id, r.similarity) for r in event.results] == returned
    assert event.details["k"] == 3 and event.details["gallery_size"] == 4
    assert gallery.audit.verify().ok


def _refuse_audit_inserts(store: Store) -> None:
    """A trigger that fails every insert into the audit log, as a full disk would, in the
    store's dialect (SQLite's ``RAISE(ABORT)``, PostgreSQL's PL/pgSQL ``RAISE EXCEPTION``)."""
    if store.engine.dialect.name == "postgresql":
        statements = (
            "CREATE FUNCTION no_audit() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'audit disk full'; END $$",
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION no_audit()",
        )
    else:
        statements = (
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit disk full'); END",
        )
    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_a_search_whose_audit_event_cannot_be_written_fails(
    gallery: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    _refuse_audit_inserts(gallery.store)
    probe = test_images["Colin_Powell"][1].read_bytes()
    with pytest.raises(StoreError):
        gallery.search(probe, threshold=-1.0, context=INVESTIGATION)
    with pytest.raises(StoreError):
        gallery.verify(probe, probe, context=INVESTIGATION)
    # writes cannot happen without their audit event either
    faces_before = gallery.store.index_rows.count_faces()
    with pytest.raises(StoreError):
        gallery.enroll(test_images["Colin_Powell"][2].read_bytes(), gallery="g", context=CURATOR)
    assert gallery.store.index_rows.count_faces() == faces_before


def test_failed_searches_and_enrollments_are_audited(
    gallery: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    with pytest.raises(ImageDecodeError):
        gallery.search(b"\x89PNG not really", context=INVESTIGATION)
    event = gallery.audit.list(limit=1)[0]
    assert (event.action, event.outcome) == ("search", "image_decode_error")
    assert event.probe_sha256 == hashlib.sha256(b"\x89PNG not really").hexdigest()
    assert event.case_reference == "TEST-1"
    with pytest.raises(ImageDecodeError):
        gallery.enroll(b"", gallery="g", context=CURATOR)
    assert gallery.audit.list(limit=1)[0].outcome == "image_decode_error"
    with pytest.raises(NotFound):
        gallery.enroll(b"x", gallery="nope", context=CURATOR)
    assert gallery.audit.list(limit=1)[0].outcome == "not_found"


def test_enrollments_and_deletions_name_their_faces(
    gallery: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    enrolled = gallery.enroll(
        test_images["Colin_Powell"][1].read_bytes(), gallery="g", subject="CP2", context=CURATOR
    )
    event = gallery.audit.list(limit=1)[0]
    assert event.action == "enroll" and event.target == f"image:{enrolled.image_id}"
    assert event.details["face_ids"] == list(enrolled.face_ids)
    gallery.delete_faces(list(enrolled.face_ids), context=CURATOR)
    event = gallery.audit.list(limit=1)[0]
    assert (event.action, event.details["face_ids"]) == ("face.delete", list(enrolled.face_ids))
    ids = gallery.delete_gallery("g", context=CURATOR)
    event = gallery.audit.list(limit=1)[0]
    assert (event.action, event.target, event.details["face_ids"]) == (
        "gallery.delete",
        "gallery:g",
        ids,
    )
    assert gallery.audit.verify().ok


def test_verify_is_audited(engine: FaceSearch, test_images: dict[str, list[Path]]) -> None:
    a, b = (p.read_bytes() for p in test_images["Colin_Powell"][:2])
    result = engine.verify(a, b, context=INVESTIGATION)
    event = engine.audit.list(limit=1)[0]
    assert event.action == "verify" and event.probe_sha256 == hashlib.sha256(a).hexdigest()
    assert event.details["second_probe_sha256"] == hashlib.sha256(b).hexdigest()
    assert event.details["similarity"] == round(result.similarity, 6)


def test_sensitive_identifiers_in_a_purpose_are_refused_and_not_stored(
    gallery: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    context = dataclasses.replace(INVESTIGATION, purpose="suspect reachable at 555-867-5309 ok")
    with pytest.raises(InvalidInput):
        gallery.search(test_images["Colin_Powell"][1].read_bytes(), context=context)
    event = gallery.audit.list(limit=1)[0]
    assert event.purpose is None
    texts = audit_texts(gallery.store)
    assert texts and not disclosed(context.purpose or "", texts)
    assert not disclosed("555-867-5309", texts)


def test_probes_are_kept_only_when_the_setting_says_so(
    tmp_path: Path, real_pipeline: FacePipeline, test_images: dict[str, list[Path]]
) -> None:
    probe = test_images["Colin_Powell"][1].read_bytes()
    sha = hashlib.sha256(probe).hexdigest()
    for keep in (False, True):
        settings = Settings(
            data_dir=tmp_path / str(keep), workers=1, audit=AuditSettings(store_probes=keep)
        )
        with FaceSearch(settings, pipeline=real_pipeline) as fs:
            fs.create_gallery("g", legal_basis="test", context=CURATOR)
            fs.search(probe, context=INVESTIGATION)
            assert (settings.probe_dir / sha).exists() is keep
            if keep:
                assert (settings.probe_dir / sha).read_bytes() == probe


def test_accountability_is_built_from_the_audit_log_and_settings_alone(settings: Settings) -> None:
    store = Store(settings.resolved_database_url)
    try:
        accountability = Accountability(
            AuditLog(store, anchor_path=settings.audit_anchor_path), settings
        )
        with pytest.raises(InvalidInput):
            accountability.justify(CURATOR, "search", "0" * 64)  # no purpose: refused
        event = store.audit.list_audit(limit=1)[0]
        assert (event.action, event.outcome) == ("search", "invalid_input")
        assert accountability.justify(INVESTIGATION, "search", "0" * 64) is not None
    finally:
        store.close()
