"""`facesearch models list`: the active model first, faces and re-embeddable faces per
model, where each calibration table comes from, and whether its index exists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facesearch.calibration import data_table_path, load_calibration
from facesearch.calibration.table import Calibration
from facesearch.cli.main import main
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import Settings

from ..service.helpers import CURATOR


def test_models_list(
    settings: Settings,
    real_pipeline: FacePipeline,
    test_images: dict[str, list[Path]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FaceSearch(settings, pipeline=real_pipeline) as fs:
        fs.create_gallery("g", legal_basis="t", context=CURATOR)
        for path in test_images["Colin_Powell"][:2]:
            fs.enroll(path.read_bytes(), gallery="g", context=CURATOR)
    other = "edgeface-xs-e0e6caf2"  # calibrated in this data folder, no faces yet
    shipped = load_calibration("dlib-resnet-v1").to_dict()
    Calibration.from_dict({**shipped, "model_id": other}).save(
        data_table_path(settings.calibration_dir, other)
    )
    monkeypatch.setenv("FACESEARCH_DATA_DIR", str(settings.data_dir))
    try:
        main(["models", "list", "--json"])
    except SystemExit as exit_:
        assert not exit_.code
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "model_id": "dlib-resnet-v1",
            "active": True,
            "faces": 2,
            "with_crop": 2,
            "calibration": "shipped",
            "index": True,
            "unsuppressed_erasures": 0,
        },
        {
            "model_id": other,
            "active": False,
            "faces": 0,
            "with_crop": 0,
            "calibration": "data folder",
            "index": False,
            "unsuppressed_erasures": 0,
        },
    ]
    try:
        main(["models", "list"])
    except SystemExit as exit_:
        assert not exit_.code
    table = capsys.readouterr().out
    assert "re-embeddable" in table and "data folder" in table
