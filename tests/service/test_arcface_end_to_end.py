"""End to end with a model by file: YuNet and EdgeFace-XS (FACESEARCH_MODELS_DIR) through
the public FaceSearch API on the checked-in LFW photos. Enrollment works without a
calibration table, search is refused until the model's table is in the data folder, then
search and verify rank and judge the photos of 4 people correctly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from facesearch.calibration import CalibrationError
from facesearch.service import FaceSearch

from ..conftest import DATA
from ..onnx_models import RECOGNIZERS, arcface_settings
from .helpers import CURATOR, INVESTIGATION

MODEL_ID = f"edgeface-xs-{RECOGNIZERS['edgeface-xs'][1][:8]}"
TABLE = DATA / "calibration" / f"{MODEL_ID}.json"


def test_enroll_and_search_with_edgeface_xs(
    models_dir: Path, tmp_path: Path, test_images: dict[str, list[Path]]
) -> None:
    settings = arcface_settings(models_dir, tmp_path / "data", "edgeface-xs")
    with FaceSearch(settings) as fs:
        assert fs.model_id == MODEL_ID
        fs.create_gallery("lfw", legal_basis="research benchmark (LFW)", context=CURATOR)
        for person, photos in test_images.items():
            for photo in photos[:2]:
                enrolled = fs.enroll(
                    photo.read_bytes(), gallery="lfw", subject=person, context=CURATOR
                )
                assert len(enrolled.face_ids) == 1, (photo.name, enrolled)
        faces = fs.list_faces(gallery="lfw")
        assert len(faces) == 8 and {f.model_id for f in faces} == {MODEL_ID}
        probe = test_images["Serena_Williams"][2].read_bytes()
        with pytest.raises(CalibrationError, match=f"{MODEL_ID}.*facesearch calibrate"):
            fs.search(probe, context=INVESTIGATION)

    # what `facesearch calibrate` writes for this model (tests/data/PROVENANCE.md)
    settings.calibration_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(TABLE, settings.calibration_dir / TABLE.name)
    with FaceSearch(settings) as fs:
        assert (settings.index_dir / MODEL_ID).is_dir()  # the model's own index
        for person, photos in test_images.items():
            result = fs.search(photos[2].read_bytes(), context=INVESTIGATION)
            assert result.model_id == MODEL_ID
            assert result.calibration.startswith(MODEL_ID)
            # at the search threshold (FMR 1e-4) only the person's own two photos come back
            candidates = result.faces[0].candidates
            assert [c.subject for c in candidates] == [person, person], (person, candidates)
            assert all(c.similarity >= result.threshold for c in candidates)
            assert 0.2 < result.threshold < 0.6  # ArcFace-style cosine, not dlib's 0.94
        same = fs.verify(
            test_images["Colin_Powell"][0].read_bytes(),
            test_images["Colin_Powell"][2].read_bytes(),
            context=INVESTIGATION,
        )
        other = fs.verify(
            test_images["Colin_Powell"][0].read_bytes(),
            test_images["Junichiro_Koizumi"][0].read_bytes(),
            context=INVESTIGATION,
        )
        assert same.above_threshold and not other.above_threshold
        assert same.model_id == other.model_id == MODEL_ID
