"""Retention and gallery grants through the engine, with real models and a clock the test
moves (nothing sleeps)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facesearch.errors import InvalidInput, PermissionDenied
from facesearch.service import FacePipeline, FaceSearch
from facesearch.service.retention import RETENTION_ACTOR, Retention, RetentionTask
from facesearch.settings import Settings
from facesearch.store import AuditFilter

from .helpers import CURATOR, INVESTIGATION
from .parts import add_face, collaborators, unit_vector

pytestmark = pytest.mark.both_databases

Images = dict[str, list[Path]]
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Clock:
    """A clock the test sets."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def fs(settings: Settings, real_pipeline: FacePipeline, clock: Clock) -> Iterator[FaceSearch]:
    with FaceSearch(settings, pipeline=real_pipeline, clock=clock) as engine:
        yield engine


def _search_ids(fs: FaceSearch, path: Path, **kwargs: object) -> set[int]:
    result = fs.search(path.read_bytes(), context=INVESTIGATION, threshold=-1.0, **kwargs)  # type: ignore[arg-type]
    return {c.face_id for face in result.faces for c in face.candidates}


def test_expired_images_leave_store_index_and_thumbnails(
    fs: FaceSearch, clock: Clock, test_images: Images
) -> None:
    fs.create_gallery("booking", legal_basis="t", retention_days=30, context=CURATOR)
    fs.create_gallery("press", legal_basis="t", context=CURATOR)
    colin, serena = test_images["Colin_Powell"], test_images["Serena_Williams"]
    old = fs.enroll(
        colin[0].read_bytes(),
        gallery="booking",
        subject="Colin",
        collected_at=T0 - timedelta(days=10),
        context=CURATOR,
    )
    new = fs.enroll(serena[0].read_bytes(), gallery="booking", subject="Serena", context=CURATOR)
    kept = fs.enroll(colin[1].read_bytes(), gallery="press", context=CURATOR)
    with pytest.raises(InvalidInput, match="future"):
        fs.enroll(
            serena[1].read_bytes(),
            gallery="booking",
            collected_at=T0 + timedelta(days=1),
            context=CURATOR,
        )

    clock.now = T0 + timedelta(days=25)  # Colin's booking photo is 35 days old
    dry = fs.apply_retention(context=CURATOR, dry_run=True)
    assert dry.dry_run and [i.image_id for i in dry.images] == [old.image_id]
    assert dry.face_ids == () and fs.get_face(old.face_ids[0])  # nothing deleted

    report = fs.apply_retention(context=CURATOR)
    assert [i.image_id for i in report.images] == [old.image_id]
    assert report.face_ids == old.face_ids and report.by_gallery() == {
        "booking": {"images": 1, "faces": 1}
    }
    assert set(old.face_ids).isdisjoint(_search_ids(fs, colin[2]))
    assert set(kept.face_ids) <= _search_ids(fs, colin[2])
    assert [s.label for s in fs.list_subjects("booking")] == ["Serena"]
    event = fs.audit.list(AuditFilter(action="retention.purge"), limit=1)[0]
    assert event.actor == CURATOR.actor and event.galleries == ("booking",)
    assert event.details["images"] == 1 and event.details["face_ids"] == list(old.face_ids)
    assert fs.audit.verify().ok

    clock.now = T0 + timedelta(days=31)
    fs.set_retention("press", 1, context=CURATOR)
    report = fs.apply_retention(context=CURATOR)
    assert {i.image_id for i in report.images} == {new.image_id, kept.image_id}
    status = fs.index_status()
    assert status.n_index == status.n_store == 0


def test_the_periodic_task_purges_quietly_and_stops(
    fs: FaceSearch, clock: Clock, test_images: Images
) -> None:
    fs.create_gallery("g", legal_basis="t", retention_days=1, context=CURATOR)
    enrolled = fs.enroll(test_images["Colin_Powell"][0].read_bytes(), gallery="g", context=CURATOR)
    task = RetentionTask(fs.retention, interval_s=3600)
    before = fs.audit.list(limit=1)[0].seq
    assert task.run_once() is not None and fs.audit.list(limit=1)[0].seq == before  # quiet
    clock.now = T0 + timedelta(days=2)
    report = task.run_once()
    assert report is not None and report.face_ids == enrolled.face_ids
    event = fs.audit.list(limit=1)[0]
    assert (event.actor, event.action, event.outcome) == (RETENTION_ACTOR, "retention.purge", "ok")

    task.start()  # runs once at once, then waits an hour: stop must end it without waiting
    task.stop(timeout=30)
    assert not task.running and task.runs >= 3


def test_grants_bound_a_search_and_the_event_names_the_galleries(
    fs: FaceSearch, test_images: Images
) -> None:
    for name in ("a", "b", "c"):
        fs.create_gallery(name, legal_basis="t", context=CURATOR)
        fs.enroll(test_images["Colin_Powell"][0].read_bytes(), gallery=name, context=CURATOR)
    probe = test_images["Colin_Powell"][2]
    granted = ["a", "b"]
    ids = _search_ids(fs, probe, allowed_galleries=granted)
    assert {fs.get_face(i).gallery_name for i in ids} == {"a", "b"}
    assert fs.audit.list(limit=1)[0].galleries == ("a", "b")
    assert {
        fs.get_face(i).gallery_name
        for i in _search_ids(fs, probe, galleries=["b"], allowed_galleries=granted)
    } == {"b"}
    with pytest.raises(PermissionDenied, match="'c'"):
        _search_ids(fs, probe, galleries=["a", "c"], allowed_galleries=granted)
    refused = fs.audit.list(limit=1)[0]
    assert refused.action == "search" and refused.outcome == "permission_denied"
    with pytest.raises(PermissionDenied, match="no gallery"):
        _search_ids(fs, probe, allowed_galleries=[])
    # the local operator (no allowed_galleries) is unrestricted
    assert {fs.get_face(i).gallery_name for i in _search_ids(fs, probe)} == {"a", "b", "c"}


def test_retention_is_built_from_its_dependencies_alone(settings: Settings) -> None:
    deps = collaborators(settings)
    now = [datetime.now(UTC)]
    try:
        retention = Retention(
            retention=deps.store.retention,
            index=deps.index,
            audit=deps.audit,
            accountability=deps.accountability,
            write_lock=deps.write_lock,
            clock=lambda: now[0],
        )
        gallery = deps.store.catalog.create_gallery("g", legal_basis="test")
        face_id = add_face(deps.store, gallery.id, unit_vector(1), n=1)  # collected today
        assert retention.set_retention("g", 30, context=CURATOR).retention_days == 30
        assert retention.apply_retention(context=CURATOR).face_ids == ()
        now[0] += timedelta(days=31)
        report = retention.apply_retention(context=CURATOR)
        assert report.face_ids == (face_id,) and len(deps.index) == 0
        assert deps.audit.list(limit=1)[0].action == "retention.purge"
    finally:
        deps.close()
