"""The FaceSearch service with real models on the checked-in LFW photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from facesearch.errors import AlreadyExists, InvalidInput, NotFound
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import QualitySettings, Settings

from .helpers import CURATOR, INVESTIGATION, row_counts

pytestmark = pytest.mark.both_databases


@pytest.fixture
def enrolled(engine: FaceSearch, test_images: dict[str, list[Path]]) -> FaceSearch:
    """First photo of each identity in gallery 'a', second photo in gallery 'b'."""
    engine.create_gallery("a", legal_basis="test", context=CURATOR)
    engine.create_gallery("b", legal_basis="test", context=CURATOR)
    for name, paths in test_images.items():
        engine.enroll(
            paths[0].read_bytes(),
            gallery="a",
            subject=name,
            source_uri=f"test:{paths[0].name}",
            context=CURATOR,
        )
        engine.enroll(paths[1].read_bytes(), gallery="b", subject=name, context=CURATOR)
    return engine


def test_enroll_stores_and_indexes_every_face(enrolled: FaceSearch) -> None:
    status = enrolled.index_status()
    assert status.n_index == status.n_store == 8
    assert status.in_sync
    subjects = enrolled.list_subjects("a")
    assert sorted(s.label for s in subjects) == sorted(
        ["Colin_Powell", "Serena_Williams", "Junichiro_Koizumi", "Gloria_Macapagal_Arroyo"]
    )
    face = enrolled.list_faces(gallery="a", subject="Colin_Powell")[0]
    assert face.model_id == "dlib-resnet-v1"
    assert face.source_uri == "test:Colin_Powell_0001.jpg"
    assert face.quality.interocular_px > 16
    assert enrolled.store.catalog.get_thumbnail(face.id)[:2] == b"\xff\xd8"  # a JPEG


def test_search_ranks_the_same_person_first(
    enrolled: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    for name, paths in test_images.items():
        result = enrolled.search(paths[2].read_bytes(), k=5, threshold=-1.0, context=INVESTIGATION)
        assert result.gallery_size == 8
        candidates = result.faces[0].candidates
        assert len(candidates) == 5
        assert candidates[0].subject == name
        assert [c.rank for c in candidates] == [1, 2, 3, 4, 5]
        sims = [c.similarity for c in candidates]
        assert sims == sorted(sims, reverse=True)


def test_search_threshold_filters_candidates(
    enrolled: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    probe = test_images["Serena_Williams"][2].read_bytes()
    result = enrolled.search(probe, k=10, context=INVESTIGATION)
    target = enrolled.settings.search.search_target_fmr
    assert result.threshold == pytest.approx(enrolled.leads.calibration.threshold_for_fmr(target))
    assert result.threshold_fmr == pytest.approx(target, rel=1e-6)
    # FPIR with the table's beta-binomial dispersion: at most the independent formula's
    table = enrolled.leads.calibration
    assert result.threshold_fpir == pytest.approx(float(table.fpir(result.threshold, 8)))
    assert result.threshold_fpir <= 1 - (1 - target) ** 8
    assert "impostor pairs" in result.calibration
    candidates = result.faces[0].candidates
    assert candidates and all(c.similarity >= result.threshold for c in candidates)
    assert all(c.subject == "Serena_Williams" for c in candidates)
    for c in candidates:  # every candidate carries its calibrated estimates
        assert 0 < c.fmr <= target
        assert c.expected_false_candidates == pytest.approx(c.fmr * 8)
        assert c.fpir == pytest.approx(float(table.fpir(c.similarity, 8)), rel=1e-6)
        assert c.fpir <= 1 - (1 - c.fmr) ** 8


def test_candidates_below_the_threshold_carry_larger_false_match_rates(
    enrolled: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    probe = test_images["Serena_Williams"][2].read_bytes()
    result = enrolled.search(probe, k=8, threshold=-1.0, context=INVESTIGATION)
    candidates = result.faces[0].candidates
    assert len(candidates) == 8
    fmrs = [c.fmr for c in candidates]
    assert fmrs == sorted(fmrs)  # lower similarity, higher false-match rate
    assert fmrs[0] < 1e-3 < fmrs[-1]  # the same person first, strangers far behind


def test_fpir_target_raises_the_threshold_with_gallery_size(
    tmp_path: Path, real_pipeline: FacePipeline
) -> None:
    from facesearch.settings import SearchSettings

    settings = Settings(
        data_dir=tmp_path / "fpir", workers=1, search=SearchSettings(search_target_fpir=0.01)
    )
    with FaceSearch(settings, pipeline=real_pipeline) as fs:
        small, large = fs.leads.search_threshold(10), fs.leads.search_threshold(10_000)
        assert large > small
        assert fs.leads.fpir(small, 10) == pytest.approx(0.01, rel=0.02)
        assert fs.leads.fpir(large, 10_000) == pytest.approx(0.01, rel=0.02)
        # a target the table cannot measure is held at the table's floor
        floor = fs.leads.calibration.threshold_for_fmr(fs.leads.calibration.min_fmr)
        assert fs.leads.search_threshold(10**12) == pytest.approx(floor)


def test_gallery_filter_only_returns_that_gallery(
    enrolled: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    probe = test_images["Colin_Powell"][2].read_bytes()
    result = enrolled.search(probe, k=10, galleries=["b"], threshold=-1.0, context=INVESTIGATION)
    assert result.galleries == ("b",)
    assert result.gallery_size == 4
    assert {c.gallery for c in result.faces[0].candidates} == {"b"}
    assert result.faces[0].candidates[0].subject == "Colin_Powell"
    with pytest.raises(NotFound):
        enrolled.search(probe, galleries=["nope"], context=INVESTIGATION)


def test_k_is_validated(enrolled: FaceSearch, test_images: dict[str, list[Path]]) -> None:
    probe = test_images["Colin_Powell"][2].read_bytes()
    with pytest.raises(InvalidInput, match="k must be"):
        enrolled.search(probe, k=0, context=INVESTIGATION)
    with pytest.raises(InvalidInput, match="k must be"):
        enrolled.search(probe, k=51, context=INVESTIGATION)


def test_verify(engine: FaceSearch, test_images: dict[str, list[Path]]) -> None:
    powell = test_images["Colin_Powell"]
    same = engine.verify(powell[0].read_bytes(), powell[1].read_bytes(), context=INVESTIGATION)
    other = engine.verify(
        powell[0].read_bytes(),
        test_images["Serena_Williams"][0].read_bytes(),
        context=INVESTIGATION,
    )
    assert same.similarity > other.similarity
    assert same.above_threshold and not other.above_threshold
    target = engine.settings.search.verify_target_fmr
    assert same.threshold == pytest.approx(engine.leads.calibration.threshold_for_fmr(target))
    assert same.threshold_fmr == pytest.approx(target, rel=1e-6)
    assert same.fmr < target < other.fmr


def test_duplicate_image_is_refused_and_changes_nothing(
    enrolled: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    before = row_counts(enrolled.store)
    with pytest.raises(AlreadyExists):
        enrolled.enroll(test_images["Colin_Powell"][0].read_bytes(), gallery="a", context=CURATOR)
    assert row_counts(enrolled.store) == before
    assert enrolled.index_status().n_index == 8


def test_deletes_reach_store_and_index(
    enrolled: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    probe = test_images["Colin_Powell"][2].read_bytes()
    powell = [f.id for f in enrolled.list_faces(subject="Colin_Powell")]
    assert len(powell) == 2
    assert enrolled.delete_faces([powell[0]], context=CURATOR) == [powell[0]]
    ids = {
        c.face_id
        for c in enrolled.search(probe, k=10, threshold=-1, context=INVESTIGATION)
        .faces[0]
        .candidates
    }
    assert powell[0] not in ids and powell[1] in ids
    subject_id = next(s.id for s in enrolled.list_subjects("b") if s.label == "Colin_Powell")
    enrolled.delete_subject("b", "Colin_Powell", context=CURATOR)
    event = enrolled.audit.list(limit=1)[0]
    assert (event.action, event.target) == ("subject.delete", f"subject:{subject_id}")
    assert "Colin" not in repr(event)  # a name would stay in the append-only log
    ids = {
        c.face_id
        for c in enrolled.search(probe, k=10, threshold=-1, context=INVESTIGATION)
        .faces[0]
        .candidates
    }
    assert not ids & set(powell)
    serena = enrolled.list_faces(gallery="a", subject="Serena_Williams")[0]
    enrolled.delete_image(serena.image_id, context=CURATOR)
    with pytest.raises(NotFound):
        enrolled.get_face(serena.id)
    enrolled.delete_gallery("b", context=CURATOR)
    status = enrolled.index_status()
    assert status.n_index == status.n_store == 2
    assert status.in_sync
    with pytest.raises(NotFound):
        enrolled.delete_image(serena.image_id, context=CURATOR)


def test_quality_gate_records_rejections(
    settings: Settings, real_pipeline: FacePipeline, test_images: dict[str, list[Path]]
) -> None:
    strict = settings.model_copy(update={"quality": QualitySettings(min_interocular_px=500)})
    with FaceSearch(strict, pipeline=real_pipeline) as fs:
        fs.create_gallery("g", legal_basis="test", context=CURATOR)
        result = fs.enroll(
            test_images["Colin_Powell"][0].read_bytes(), gallery="g", context=CURATOR
        )
        assert result.face_ids == ()
        assert result.rejected and "too small" in result.rejected[0].reasons[0]
        counts = row_counts(fs.store)
        assert counts["faces"] == 0 and counts["face_rejections"] >= 1 and counts["images"] == 1
        assert fs.index_status().n_index == 0


def _reopen(settings: Settings, pipeline: FacePipeline) -> FaceSearch:
    return FaceSearch(settings, pipeline=pipeline)


def test_reopen_loads_the_saved_index(
    enrolled: FaceSearch, settings: Settings, real_pipeline: FacePipeline
) -> None:
    enrolled.close()
    with _reopen(settings, real_pipeline) as fs:
        assert fs.reconcile_report.action == "loaded"
        assert fs.index_status().n_index == 8


def test_missing_or_corrupt_index_is_rebuilt(
    enrolled: FaceSearch, settings: Settings, real_pipeline: FacePipeline
) -> None:
    enrolled.close()
    folder = settings.index_dir / "dlib-resnet-v1"
    shutil.rmtree(folder)
    with _reopen(settings, real_pipeline) as fs:
        assert fs.reconcile_report.action == "rebuilt"
        assert fs.index_status().in_sync
    from facesearch.index.faiss_index import saved_index_path

    index_file = saved_index_path(folder)
    data = bytearray(index_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    index_file.write_bytes(bytes(data))
    with _reopen(settings, real_pipeline) as fs:
        assert fs.reconcile_report.action == "rebuilt"
        assert "corrupt" in fs.reconcile_report.reason
        assert fs.index_status().n_index == 8


def test_index_behind_the_store_catches_up(
    settings: Settings, real_pipeline: FacePipeline, test_images: dict[str, list[Path]]
) -> None:
    with FaceSearch(settings, pipeline=real_pipeline) as fs:
        fs.create_gallery("g", legal_basis="test", context=CURATOR)
        fs.enroll(test_images["Colin_Powell"][0].read_bytes(), gallery="g", context=CURATOR)
    # a second engine that writes but never saves its index (like a crash)
    crashed = FaceSearch(settings, pipeline=real_pipeline)
    crashed.enroll(test_images["Serena_Williams"][0].read_bytes(), gallery="g", context=CURATOR)
    first = crashed.list_faces(subject=None)[0].id
    crashed.delete_faces([first], context=CURATOR)
    crashed.store.close()  # no index save
    with FaceSearch(settings, pipeline=real_pipeline) as fs:
        assert fs.reconcile_report.action == "caught-up"
        assert fs.reconcile_report.added == 1 and fs.reconcile_report.removed == 1
        status = fs.index_status()
        assert status.in_sync and status.n_index == 1


def test_catch_up_sees_faces_written_by_another_process(
    enrolled: FaceSearch,
    settings: Settings,
    real_pipeline: FacePipeline,
    test_images: dict[str, list[Path]],
) -> None:
    other = FaceSearch(settings, pipeline=real_pipeline)
    other.enroll(
        test_images["Junichiro_Koizumi"][2].read_bytes(), gallery="a", subject="JK", context=CURATOR
    )
    other.close()
    result = enrolled.search(
        test_images["Junichiro_Koizumi"][2].read_bytes(), k=1, threshold=-1, context=INVESTIGATION
    )
    assert result.faces[0].candidates[0].subject == "JK"
    assert result.faces[0].candidates[0].similarity == pytest.approx(1.0, abs=1e-5)


def test_face_committed_by_another_writer_after_a_gallery_search_is_in_the_next_one(
    enrolled: FaceSearch,
    settings: Settings,
    real_pipeline: FacePipeline,
    test_images: dict[str, list[Path]],
) -> None:
    """The gallery map is warm (a first search of 'a' read it); another writer then
    commits a face into 'a' that this engine has not indexed: the next search of 'a'
    catches it up, searches it and counts it (5 faces, not '5 searched' with 4 in the
    index, the race CI once caught in the API test)."""
    probe = test_images["Junichiro_Koizumi"][2].read_bytes()
    first = enrolled.search(probe, galleries=["a"], k=10, threshold=-1, context=INVESTIGATION)
    assert first.gallery_size == 4
    with FaceSearch(settings, pipeline=real_pipeline) as other:
        other.enroll(probe, gallery="a", subject="JK", context=CURATOR)
    result = enrolled.search(probe, galleries=["a"], k=10, threshold=-1, context=INVESTIGATION)
    candidates = result.faces[0].candidates
    assert result.gallery_size == 5
    assert len(candidates) == 5
    assert candidates[0].subject == "JK"
    assert candidates[0].similarity == pytest.approx(1.0, abs=1e-5)
    both = enrolled.search(probe, galleries=["a", "b"], k=10, threshold=-1, context=INVESTIGATION)
    assert both.gallery_size == 9 and len(both.faces[0].candidates) == 9


def test_gallery_searches_follow_enrolls_deletes_and_rebuilds(
    enrolled: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    """Every change to the index after the gallery map was read shows in the next
    gallery-restricted search: its candidates are exactly the gallery's faces in the store
    (k large enough for all), never a face of another gallery."""
    probe = test_images["Colin_Powell"][2].read_bytes()

    def searched(galleries: list[str]) -> tuple[int, set[int]]:
        result = enrolled.search(
            probe, galleries=galleries, k=50, threshold=-1, context=INVESTIGATION
        )
        return result.gallery_size, {c.face_id for c in result.faces[0].candidates}

    def stored(galleries: list[str]) -> set[int]:
        return {f.id for g in galleries for f in enrolled.list_faces(gallery=g)}

    assert searched(["a"]) == (4, stored(["a"]))  # reads the map
    enrolled.create_gallery("c", legal_basis="test", context=CURATOR)
    enrolled.enroll(probe, gallery="c", subject="Colin_Powell", context=CURATOR)
    assert searched(["c"]) == (1, stored(["c"]))
    assert searched(["a", "c"]) == (5, stored(["a", "c"]))
    gone = enrolled.list_faces(gallery="a", subject="Colin_Powell")[0].id
    enrolled.delete_faces([gone], context=CURATOR)
    assert searched(["a"]) == (3, stored(["a"]))
    assert gone not in searched(["a", "b", "c"])[1]
    enrolled.delete_gallery("b", context=CURATOR)
    # 'a' and 'c' are now every indexed face: searched without a filter, same answer
    assert searched(["a", "c"]) == (4, stored(["a", "c"]))
    with pytest.raises(NotFound):
        searched(["b"])
    enrolled.rebuild_index()
    assert searched(["c"]) == (1, stored(["c"]))
    assert searched(["a"]) == (3, stored(["a"]))
