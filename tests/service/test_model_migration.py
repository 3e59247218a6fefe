"""Moving a gallery to another model (`facesearch models migrate`), with real models: dlib
active on YuNet boxes, re-embedded under EdgeFace-XS (FACESEARCH_MODELS_DIR) from the kept
crops. Re-embedded faces are new rows linked to their source, deleted with it by every
path; suppressions follow the move, so a person erased under dlib stays erased under
EdgeFace-XS; a suppression without a crop makes the move refuse."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from facesearch.errors import InvalidInput, Suppressed, UnfollowedSuppressions
from facesearch.service import FacePipeline, FaceSearch
from facesearch.service.models import model_inventory
from facesearch.settings import Settings
from facesearch.store.tables import Face, FaceDeletion, Suppression

from ..conftest import DATA
from ..onnx_models import RECOGNIZERS, arcface_settings, yunet_detection
from .helpers import CURATOR, INVESTIGATION

Images = dict[str, list[Path]]
DLIB = "dlib-resnet-v1"
EDGE = f"edgeface-xs-{RECOGNIZERS['edgeface-xs'][1][:8]}"
TABLE = DATA / "calibration" / f"{EDGE}.json"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _dlib_settings(models_dir: Path, data_dir: Path) -> Settings:
    """dlib's model on YuNet's boxes, so both models' pipelines re-detect in the crops."""
    return Settings(
        data_dir=data_dir,
        workers=1,
        database_url=None,
        detection=yunet_detection(models_dir),
        embedding={"model": DLIB},
    )


def _rows(fs: FaceSearch, model_id: str) -> list[tuple[int, int | None, bool]]:
    """``(id, source_face_id, has crop)`` of the model's face rows, by id."""
    with fs.store.engine.connect() as conn:
        return [
            (int(r.id), r.source_face_id, r.crop is not None)
            for r in conn.execute(
                select(Face.id, Face.source_face_id, Face.crop)
                .where(Face.model_id == model_id)
                .order_by(Face.id)
            )
        ]


def _suppressions(fs: FaceSearch) -> list[tuple[str, str, bool, int | None]]:
    """``(model id, reference, has crop, source suppression id)`` of every suppression."""
    with fs.store.engine.connect() as conn:
        return [
            (r.model_id, r.reference, r.crop is not None, r.source_suppression_id)
            for r in conn.execute(
                select(
                    Suppression.model_id,
                    Suppression.reference,
                    Suppression.crop,
                    Suppression.source_suppression_id,
                ).order_by(Suppression.id)
            )
        ]


def edge_pipeline_settings(models_dir: Path, tmp_path: Path) -> Settings:
    return arcface_settings(models_dir, tmp_path / "data", "edgeface-xs")


@pytest.fixture
def edge_pipeline(models_dir: Path, tmp_path: Path) -> FacePipeline:
    return FacePipeline(edge_pipeline_settings(models_dir, tmp_path))


def test_an_erased_person_stays_erased_under_the_next_model(
    models_dir: Path, tmp_path: Path, test_images: Images, edge_pipeline: FacePipeline
) -> None:
    data = tmp_path / "data"
    colin = test_images["Colin_Powell"]
    with FaceSearch(_dlib_settings(models_dir, data)) as fs:
        fs.create_gallery("g", legal_basis="test", context=CURATOR)
        enrolled = {}
        for person, photos in test_images.items():
            for photo in photos[:2]:
                result = fs.enroll(photo.read_bytes(), gallery="g", subject=person, context=CURATOR)
                assert len(result.face_ids) == 1, (photo.name, result)
                enrolled[photo.name] = result.face_ids[0]
        # erase Colin Powell's first photo only: his second stays stored (hidden by the
        # suppression, if it is within its threshold)
        view = fs.request_erasure(colin[2].read_bytes(), reference="ER-7", context=CURATOR)
        erased = enrolled[colin[0].name]
        assert erased in {f.face_id for f in view.faces}
        fs.confirm_erasure(view.request.id, face_ids=[erased], context=CURATOR)
        # the requester's crop and the erased face's crop are kept with their embeddings
        assert _suppressions(fs) == [(DLIB, "ER-7", True, None), (DLIB, "ER-7", True, None)]

        report = fs.migrate_model(edge_pipeline, context=CURATOR, batch=3)
        assert (report.source, report.target) == (DLIB, EDGE)
        assert (report.faces, report.without_crop, report.already) == (7, 0, 0)
        assert report.migrated == 7 and report.not_found == ()
        assert report.suppressions == 2 and report.unfollowed_references == ()
        assert report.index == "rebuilt"  # the new model's own index, beside dlib's
        assert (data / "index" / EDGE).is_dir() and len(fs.index) == 7  # dlib's: unchanged
        dlib_ids = [r[0] for r in _rows(fs, DLIB)]
        edge = _rows(fs, EDGE)
        assert sorted(r[1] for r in edge) == dlib_ids and all(r[2] for r in edge)
        assert [s[0] for s in _suppressions(fs)] == [DLIB, DLIB, EDGE, EDGE]
        # the active model's catalog and counts are unchanged; searches still use dlib
        assert {s.label: s.n_faces for s in fs.list_subjects("g")}["Colin_Powell"] == 1
        assert fs.list_galleries()[0].n_faces == 7
        events = [e for e in fs.audit.list(limit=20) if e.action == "models.migrate"]
        assert len(events) == 4  # suppressions, then batches of 3, 3 and 1 faces
        assert sum(e.details.get("migrated", 0) for e in events) == 7

        again = fs.migrate_model(edge_pipeline, context=CURATOR)  # resumable: nothing left
        assert (again.migrated, again.already, again.suppressions) == (0, 7, 0)
        assert again.index == "loaded"
        assert len(_rows(fs, EDGE)) == 7
        with pytest.raises(InvalidInput, match="already the active model"):
            fs.migrate_model(fs.pipeline, context=CURATOR)

    edge_settings = arcface_settings(models_dir, data, "edgeface-xs")
    listed = {m.model_id: m for m in model_inventory(edge_settings)}
    assert listed[EDGE].active and listed[EDGE].faces == 7
    assert listed[EDGE].calibration == "missing" and listed[EDGE].index
    assert listed[EDGE].unsuppressed_erasures == 0  # the erasure followed
    assert listed[DLIB].faces == 7 and not listed[DLIB].active

    # the operator calibrates the new model and switches the settings to it
    edge_settings.calibration_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(TABLE, edge_settings.calibration_dir / TABLE.name)
    with FaceSearch(edge_settings) as fs:
        assert fs.model_id == EDGE and len(fs.index) == 7
        assert fs.reconcile_report.action == "loaded"  # built by the migration
        with pytest.raises(Suppressed):
            fs.enroll(colin[0].read_bytes(), gallery="g", context=CURATOR)
        for photo in colin:
            result = fs.search(photo.read_bytes(), context=INVESTIGATION)
            found = [c for f in result.faces for c in f.candidates]
            assert all(c.subject != "Colin_Powell" for c in found), (photo.name, found)
        # not vacuous: his kept photo's new row is above the search threshold to his
        # photo, so it is the carried suppression that keeps it out
        kept = next(r[0] for r in edge if r[1] == enrolled[colin[1].name])
        (_, vectors), *_ = fs.store.index_rows.iter_embeddings(EDGE, ids=[kept])
        probe = fs.pipeline.analyze(colin[2].read_bytes()).largest_face()
        assert probe is not None and float(vectors[0] @ probe.embedding) >= result.threshold
        serena = test_images["Serena_Williams"]
        result = fs.search(serena[2].read_bytes(), context=INVESTIGATION)
        assert [c.subject for c in result.faces[0].candidates] == ["Serena_Williams"] * 2
        assert {c.face_id for c in result.faces[0].candidates} <= {r[0] for r in edge}


def test_deleting_a_migrated_face_deletes_every_model_row_and_crop(
    models_dir: Path, tmp_path: Path, test_images: Images, edge_pipeline: FacePipeline
) -> None:
    now = [T0]
    settings = _dlib_settings(models_dir, tmp_path / "data")
    serena, colin = test_images["Serena_Williams"], test_images["Colin_Powell"]
    with FaceSearch(settings, clock=lambda: now[0]) as fs:
        fs.create_gallery("kept", legal_basis="test", context=CURATOR)
        fs.create_gallery("booking", legal_basis="test", retention_days=30, context=CURATOR)
        old = fs.enroll(
            colin[0].read_bytes(),
            gallery="booking",
            collected_at=T0 - timedelta(days=40),
            context=CURATOR,
        ).face_ids[0]
        erased = fs.enroll(serena[0].read_bytes(), gallery="kept", context=CURATOR).face_ids[0]
        deleted = fs.enroll(serena[1].read_bytes(), gallery="kept", context=CURATOR).face_ids[0]
        fs.migrate_model(edge_pipeline, context=CURATOR)
        twin = {r[1]: r[0] for r in _rows(fs, EDGE)}
        assert set(twin) == {old, erased, deleted}

        # a delete of the new model's row takes the source row too
        assert fs.delete_faces([twin[deleted]], context=CURATOR) == sorted([deleted, twin[deleted]])
        # retention
        purged = fs.apply_retention(context=CURATOR)
        assert set(purged.face_ids) == {old, twin[old]}
        # erasure under the active model
        view = fs.request_erasure(serena[2].read_bytes(), reference="ER-8", context=CURATOR)
        assert erased in {f.face_id for f in view.faces}
        fs.confirm_erasure(view.request.id, face_ids=[erased], context=CURATOR)
        assert _rows(fs, DLIB) == [] and _rows(fs, EDGE) == []
        assert fs.store.crops.counts() == []
        with fs.store.engine.connect() as conn:
            logged = set(conn.execute(select(FaceDeletion.face_id, FaceDeletion.model_id)))
        assert logged == {(i, DLIB) for i in twin} | {(i, EDGE) for i in twin.values()}


def test_a_suppression_without_a_crop_stops_the_move(
    models_dir: Path, tmp_path: Path, test_images: Images, edge_pipeline: FacePipeline
) -> None:
    colin = test_images["Colin_Powell"]
    with FaceSearch(_dlib_settings(models_dir, tmp_path / "data")) as fs:
        fs.create_gallery("g", legal_basis="test", context=CURATOR)
        face = fs.enroll(colin[0].read_bytes(), gallery="g", context=CURATOR).face_ids[0]
        fs.enroll(test_images["Serena_Williams"][0].read_bytes(), gallery="g", context=CURATOR)
        view = fs.request_erasure(colin[1].read_bytes(), reference="ER-9", context=CURATOR)
        fs.confirm_erasure(view.request.id, face_ids=[face], context=CURATOR)
        with fs.store.engine.begin() as conn:  # as confirmed before migration 0010
            conn.execute(update(Suppression).values(crop=None, crop_box=None))

        with pytest.raises(UnfollowedSuppressions, match=r"2 suppression\(s\).*ER-9"):
            fs.migrate_model(edge_pipeline, context=CURATOR)
        assert _rows(fs, EDGE) == [] and len(_suppressions(fs)) == 2  # nothing written
        refused = fs.audit.list(limit=1)[0]
        assert (refused.action, refused.outcome) == ("models.migrate", "conflict")

        report = fs.migrate_model(edge_pipeline, context=CURATOR, allow_unfollowed=True)
        assert report.migrated == 1 and report.suppressions == 0
        assert report.unfollowed_references == ("ER-9",)
    edge = {m.model_id: m for m in model_inventory(edge_pipeline_settings(models_dir, tmp_path))}
    assert edge[EDGE].unsuppressed_erasures == 1  # shown, and warned about at start-up


def test_dropping_the_old_model_keeps_the_new_rows(
    models_dir: Path, tmp_path: Path, test_images: Images, edge_pipeline: FacePipeline
) -> None:
    data = tmp_path / "data"
    with FaceSearch(_dlib_settings(models_dir, data)) as fs:
        fs.create_gallery("g", legal_basis="test", context=CURATOR)
        for photo in test_images["Serena_Williams"][:2]:
            fs.enroll(photo.read_bytes(), gallery="g", subject="Serena", context=CURATOR)
        fs.migrate_model(edge_pipeline, context=CURATOR)
        with pytest.raises(InvalidInput, match="active model"):
            fs.drop_model(DLIB, context=CURATOR)
    edge_settings = arcface_settings(models_dir, data, "edgeface-xs")
    with FaceSearch(edge_settings) as fs:
        new = [r[0] for r in _rows(fs, EDGE)]
        assert len(fs.drop_model(DLIB, context=CURATOR)) == 2
        assert _rows(fs, DLIB) == [] and _rows(fs, EDGE) == [(i, None, True) for i in new]
        assert fs.list_galleries()[0].n_faces == 2
        assert fs.list_subjects("g")[0].n_faces == 2
        assert fs.audit.list(limit=1)[0].action == "models.drop"
