"""Enrollment and the privacy guard, end to end with real models: refused text never reaches
the (append-only) audit log, every enroll path checks what it stores, enroll events name the
subject by id, and a suppression that completes while an image waits to be stored is seen."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from facesearch.errors import FaceSearchError, SensitiveIdentifierFound, Suppressed
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import Settings

from ..disclosure import audit_texts, disclosed
from .helpers import CURATOR, INVESTIGATION, row_counts

pytestmark = pytest.mark.both_databases

Images = dict[str, list[Path]]


def _refused(call: Callable[[], object]) -> SensitiveIdentifierFound:
    with pytest.raises(SensitiveIdentifierFound) as info:
        call()
    return info.value


@pytest.fixture
def gallery(engine: FaceSearch) -> FaceSearch:
    engine.create_gallery("g", legal_basis="test", context=CURATOR)
    return engine


def test_no_refused_value_reaches_the_audit_log_on_any_path(
    gallery: FaceSearch, test_images: Images, tmp_path: Path
) -> None:
    fs = gallery
    colin = test_images["Colin_Powell"]
    photo = colin[0].read_bytes()
    # (refused value, the part of it that must appear nowhere, call)
    refusals: list[tuple[str, str, Callable[[], object]]] = []

    def enroll(**kwargs: Any) -> Callable[[], object]:
        return lambda: fs.enroll(photo, gallery="g", context=CURATOR, **kwargs)

    refusals += [
        ("subject", "1984-03-07", enroll(subject="Jane Roe 1984-03-07")),
        (
            "subject_reference",
            "jane.roe@example.org",
            enroll(subject_reference="jane.roe@example.org"),
        ),
        ("source_uri", "123-45-6789", enroll(source_uri="upload:123-45-6789.jpg")),
        ("source_uri", "jane%40example", enroll(source_uri="file:///p/jane%40example.org.jpg")),
        ("legal_basis", "415-555-0142", enroll(legal_basis="consent, call 415-555-0142")),
        (
            "source_uri",
            "4111 1111 1111 1111",
            lambda: fs.enroll_paths(
                [colin[0]], gallery="g", source_uri="card 4111 1111 1111 1111", context=CURATOR
            ),
        ),
        (
            "description",
            "bob.roe@example.org",
            lambda: fs.create_gallery(
                "g2", legal_basis="test", description="ask bob.roe@example.org", context=CURATOR
            ),
        ),
        (
            "reference",
            "erasure.roe@example.org",
            lambda: fs.request_erasure(photo, reference="erasure.roe@example.org", context=CURATOR),
        ),
    ]
    for field, value, secret in (
        ("purpose", "ask purpose.roe@example.org about the robbery", "purpose.roe@example.org"),
        ("case_reference", "case of 078-05-1120", "078-05-1120"),
        ("authorization_reference", "warrant, DOB 1984-03-07", "1984-03-07"),
    ):
        context = dataclasses.replace(INVESTIGATION, **{field: value})
        refusals.append((field, secret, lambda c=context: fs.search(photo, context=c)))
    for field, secret, call in refusals:
        err = _refused(call)
        assert err.field == field, (field, err.field)
        assert secret not in err.message

    # a note on a judgement, on a real search's candidate
    enrolled = fs.enroll(photo, gallery="g", subject="Colin Powell", context=CURATOR)
    seq = fs.search(colin[1].read_bytes(), context=INVESTIGATION, threshold=-1.0).audit_seq
    err = _refused(
        lambda: fs.judge(
            seq, enrolled.face_ids[0], "possible_lead", "call 202-555-0143", context=CURATOR
        )
    )
    assert err.field == "note"

    # folder enrollment: a folder named after an e-mail address, a file named after an SSN
    folder = tmp_path / "photos" / "folder.roe@example.org"
    folder.mkdir(parents=True)
    (folder / "987-12-3456.jpg").write_bytes(colin[2].read_bytes())
    (folder / "078-05-1120.jpg").write_bytes(test_images["Serena_Williams"][0].read_bytes())
    summary = fs.enroll_paths(
        [folder.parent], gallery="g", subject_from_folder=True, context=CURATOR
    )
    assert summary.images == 0 and len(summary.errors) == 2
    assert all("e-mail address" in message for _, message in summary.errors)

    texts = audit_texts(fs.store)
    secrets = [secret for _, secret, _ in refusals]
    secrets += ["202-555-0143", "folder.roe@example.org", "078-05-1120", "987-12-3456"]
    for secret in secrets:
        assert not disclosed(secret, texts), secret
    # refusals are audited by field and kind
    events = [e for e in fs.audit.list(limit=100) if e.outcome == "sensitive_identifier"]
    assert {e.details.get("refused_field") for e in events} >= {
        "subject",
        "subject_reference",
        "source_uri",
        "legal_basis",
        "reference",
        "purpose",
        "case_reference",
        "authorization_reference",
        "note",
    }
    assert all(e.details.get("identifier_kind") for e in events)
    assert fs.audit.verify().ok


def test_a_failed_enroll_keeps_no_free_text(gallery: FaceSearch) -> None:
    # The source URI passes the guard but the image fails: the event still holds no text
    # the guard may refuse (only the image's sha256, the error and its code).
    with pytest.raises(FaceSearchError):
        gallery.enroll(
            b"not an image", gallery="g", source_uri="upload:Jane Roe.jpg", context=CURATOR
        )
    event = gallery.audit.list(limit=1)[0]
    assert (event.action, event.outcome) == ("enroll", "image_decode_error")
    assert not disclosed("Jane Roe", audit_texts(gallery.store))
    assert set(event.details) == {"image_sha256", "error"}


def test_folder_enrollment_checks_each_files_uri_and_stores_the_clean_ones(
    gallery: FaceSearch, test_images: Images, tmp_path: Path
) -> None:
    root = tmp_path / "photos"
    bad = root / "jane.doe@example.org"
    bad.mkdir(parents=True)
    (bad / "a.jpg").write_bytes(test_images["Colin_Powell"][0].read_bytes())
    (root / "123-45-6789.jpg").write_bytes(test_images["Colin_Powell"][1].read_bytes())
    (root / "clean.jpg").write_bytes(test_images["Serena_Williams"][0].read_bytes())
    before = row_counts(gallery.store)

    summary = gallery.enroll_paths([root], gallery="g", context=CURATOR)

    assert (summary.files, summary.images) == (3, 1)
    errors = dict(summary.errors)
    assert set(errors) == {str(bad / "a.jpg"), str(root / "123-45-6789.jpg")}
    assert "'source_uri'" in errors[str(bad / "a.jpg")]
    assert "e-mail address" in errors[str(bad / "a.jpg")]
    assert "social security number" in errors[str(root / "123-45-6789.jpg")]
    uris = [f.source_uri or "" for f in gallery.list_faces(limit=10)]
    assert len(uris) == 1 and uris[0].endswith("/clean.jpg")
    assert row_counts(gallery.store)["images"] == before["images"] + 1


def test_enroll_events_name_the_subject_by_id_not_label(
    gallery: FaceSearch, test_images: Images
) -> None:
    result = gallery.enroll(
        test_images["Colin_Powell"][0].read_bytes(),
        gallery="g",
        subject="Colin Powell",
        source_uri="archive://Colin Powell/1.jpg",
        context=CURATOR,
    )
    event = gallery.audit.list(limit=1)[0]
    assert event.action == "enroll" and tuple(event.galleries) == ("g",)
    (subject,) = gallery.list_subjects("g")
    assert event.details["subject_id"] == subject.id
    assert event.details["face_ids"] == list(result.face_ids)
    assert not disclosed("Colin Powell", audit_texts(gallery.store))
    unlabelled = gallery.enroll(
        test_images["Serena_Williams"][0].read_bytes(), gallery="g", context=CURATOR
    )
    assert unlabelled.face_ids
    assert gallery.audit.list(limit=1)[0].details["subject_id"] is None


def test_case_numbers_that_look_like_dates_do_not_block_a_search(
    gallery: FaceSearch, test_images: Images
) -> None:
    probe = test_images["Colin_Powell"][0].read_bytes()
    for case, authorization in (
        ("case 2024-03-15", "ref 2023/11/04"),
        ("CR 15/03/2024", "warrant 2024-000123"),
    ):
        context = dataclasses.replace(
            INVESTIGATION, case_reference=case, authorization_reference=authorization
        )
        result = gallery.search(probe, context=context)
        assert gallery.audit.get(result.audit_seq).case_reference == case


class _EraseOnFirstAcquire:
    """Stands in for the engine's write lock: the first time it is taken, it first lets
    ``before`` run (an erasure, which takes the real lock itself). That is the interleaving
    "the person was suppressed after this image was analysed and checked, before it was
    stored", made deterministic."""

    def __init__(self, lock: Any, before: Callable[[], object]) -> None:
        self._lock = lock
        self._before: Callable[[], object] | None = before

    def __enter__(self) -> bool:
        if self._before is not None:
            before, self._before = self._before, None
            before()
        return bool(self._lock.__enter__())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.__exit__(exc_type, exc, tb)


def test_a_suppression_completed_while_an_image_waits_to_be_stored_refuses_it(
    gallery: FaceSearch, test_images: Images, monkeypatch: pytest.MonkeyPatch
) -> None:
    colin = test_images["Colin_Powell"]
    first = gallery.enroll(colin[0].read_bytes(), gallery="g", context=CURATOR)
    view = gallery.request_erasure(colin[1].read_bytes(), reference="ER-9", context=CURATOR)
    assert {f.face_id for f in view.faces} == set(first.face_ids)
    erased = threading.Event()

    def erase() -> None:
        gallery.confirm_erasure(view.request.id, context=CURATOR)
        erased.set()

    lock = _EraseOnFirstAcquire(gallery.enrollment._write_lock, erase)
    monkeypatch.setattr(gallery.enrollment, "_write_lock", lock)

    with pytest.raises(Suppressed, match="suppression list"):
        gallery.enroll(colin[2].read_bytes(), gallery="g", subject="Colin", context=CURATOR)

    assert erased.is_set()
    assert gallery.list_faces(limit=10) == []
    assert row_counts(gallery.store)["images"] == 0
    event = gallery.audit.list(limit=1)[0]
    assert (event.action, event.outcome) == ("enroll", "suppressed")


def test_references_and_names_that_hold_event_dates_pass_birth_dates_do_not(
    gallery: FaceSearch, test_images: Images
) -> None:
    """Gallery names, source categories, group names and erasure references are references,
    not descriptions of a person: a date in them is an event's unless marked as a birth."""
    gallery.create_gallery(
        "booking-2024-03-15", legal_basis="test", source_category="intake 15/03/2024",
        context=CURATOR,
    )  # fmt: skip
    gallery.create_group("shift-2024-03-15", context=CURATOR)
    photo = test_images["Colin_Powell"][0].read_bytes()
    view = gallery.request_erasure(photo, reference="GDPR 2024-03-15", context=CURATOR)
    assert view.request.reference == "GDPR 2024-03-15"
    for call in (
        lambda: gallery.create_gallery("dob-1984-03-07", legal_basis="t", context=CURATOR),
        lambda: gallery.create_group("born-07.03.1984", context=CURATOR),
        lambda: gallery.request_erasure(photo, reference="DOB 1984-03-07", context=CURATOR),
    ):
        assert _refused(call).kind == "date of birth"


def test_a_suppression_another_process_commits_after_the_check_refuses_the_image(
    settings: Settings,
    real_pipeline: FacePipeline,
    test_images: Images,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server checks an image against the suppression list; before it stores the image,
    the command line (another engine on the same data folder: its own write lock) completes
    an erasure of that person. The store's transaction sees the list changed, the server
    checks again, and the image is refused."""
    colin = test_images["Colin_Powell"]
    with (
        FaceSearch(settings, pipeline=real_pipeline) as server,
        FaceSearch(settings, pipeline=real_pipeline) as cli,
    ):
        server.create_gallery("g", legal_basis="test", context=CURATOR)
        first = server.enroll(colin[0].read_bytes(), gallery="g", context=CURATOR)
        view = cli.request_erasure(colin[1].read_bytes(), reference="ER-10", context=CURATOR)
        assert {f.face_id for f in view.faces} == set(first.face_ids)
        checks = []
        check = server.suppression.refuse_suppressed

        def check_then_erase_elsewhere(embeddings: Any, *, fresh: bool = True) -> tuple[int, int]:
            marks = check(embeddings, fresh=fresh)  # passes while nothing is suppressed
            checks.append(marks)
            if len(checks) == 1:
                cli.confirm_erasure(view.request.id, context=CURATOR)
            return marks

        monkeypatch.setattr(server.suppression, "refuse_suppressed", check_then_erase_elsewhere)
        with pytest.raises(Suppressed, match="suppression list"):
            server.enroll(colin[2].read_bytes(), gallery="g", subject="Colin", context=CURATOR)
        assert len(checks) == 1  # the second check refused the image
        assert server.list_faces(limit=10) == []
        assert row_counts(server.store)["images"] == 0


def test_an_erasure_another_process_completed_since_the_last_read_list_refuses_the_image(
    settings: Settings, real_pipeline: FacePipeline, test_images: Images
) -> None:
    """Enrollment first checks against the suppression list it last read (no store read
    per image); an erasure the command line completed since is caught by add_image's marks
    check in its transaction, and the fresh check then refuses the image."""
    colin = test_images["Colin_Powell"]
    with (
        FaceSearch(settings, pipeline=real_pipeline) as server,
        FaceSearch(settings, pipeline=real_pipeline) as cli,
    ):
        server.create_gallery("g", legal_basis="test", context=CURATOR)
        first = server.enroll(colin[0].read_bytes(), gallery="g", context=CURATOR)  # list read
        view = cli.request_erasure(colin[1].read_bytes(), reference="ER-11", context=CURATOR)
        cli.confirm_erasure(view.request.id, context=CURATOR)
        assert len(server.suppression.suppressions.snapshot(fresh=False)[1]) == 0  # stale
        with pytest.raises(Suppressed, match="suppression list"):
            server.enroll(colin[2].read_bytes(), gallery="g", context=CURATOR)
        assert len(server.suppression.suppressions.snapshot(fresh=False)[1]) > 0  # re-read
        assert {f.id for f in server.list_faces(limit=10)}.isdisjoint(first.face_ids)
        assert row_counts(server.store)["images"] == 0
