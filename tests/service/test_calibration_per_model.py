"""Calibration per model: a model without a table starts and enrolls, but every search and
verify with it is refused (audited) with a message saying how to make the table; a table
in the data folder is found; nothing falls back to another model's table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from facesearch.alignment import DLIB_CHIP, ChipSpec
from facesearch.calibration import (
    CalibrationError,
    data_table_path,
    load_calibration,
    packaged_table_path,
)
from facesearch.calibration.table import Calibration
from facesearch.embedding.dlib_onnx_runtime import DlibResnetOnnxEmbedder
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import Settings
from facesearch.types import FloatArray

from .helpers import CURATOR, INVESTIGATION

MODEL = "renamed-dlib-0123abcd"


class RenamedEmbedder:
    """dlib's descriptor under another model id (a stand-in for a model by file)."""

    model_id = MODEL
    dim = 128
    chip: ChipSpec = DLIB_CHIP

    def __init__(self) -> None:
        self._inner = DlibResnetOnnxEmbedder()

    def embed(self, chips: NDArray[np.uint8]) -> FloatArray:
        return self._inner.embed(chips)


@pytest.fixture
def renamed(settings: Settings) -> FaceSearch:
    pipeline = FacePipeline(settings, embedder=RenamedEmbedder())
    return FaceSearch(settings, pipeline=pipeline)


def test_no_table_refuses_search_and_verify_saying_how_to_make_one(
    renamed: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    with renamed as fs:
        fs.create_gallery("g", legal_basis="t", context=CURATOR)
        enrolled = fs.enroll(
            test_images["Colin_Powell"][0].read_bytes(), gallery="g", context=CURATOR
        )
        assert enrolled.face_ids  # enrollment needs no threshold
        probe = test_images["Colin_Powell"][1].read_bytes()
        with pytest.raises(CalibrationError, match=r"no calibration table.*facesearch calibrate"):
            fs.search(probe, context=INVESTIGATION)
        with pytest.raises(CalibrationError, match=MODEL):
            fs.search(probe, threshold=-1.0, context=INVESTIGATION)  # no threshold either
        with pytest.raises(CalibrationError, match="facesearch calibrate"):
            fs.verify(probe, probe, context=INVESTIGATION)
        events = fs.audit.list(limit=3)
        assert [e.action for e in events] == ["verify", "search", "search"]
        assert all(e.outcome == "configuration_error" for e in events)


def test_a_table_in_the_data_folder_is_found(
    renamed: FaceSearch, settings: Settings, test_images: dict[str, list[Path]]
) -> None:
    # dlib's numbers written as this model's (they are: same descriptor, renamed)
    shipped = load_calibration("dlib-resnet-v1").to_dict()
    Calibration.from_dict({**shipped, "model_id": MODEL}).save(
        data_table_path(settings.calibration_dir, MODEL)
    )
    assert data_table_path(settings.calibration_dir, MODEL) == (
        settings.data_dir / "calibration" / f"{MODEL}.json"
    )
    with renamed as fs:
        fs.create_gallery("g", legal_basis="t", context=CURATOR)
        fs.enroll(test_images["Colin_Powell"][0].read_bytes(), gallery="g", context=CURATOR)
        result = fs.search(test_images["Colin_Powell"][1].read_bytes(), context=INVESTIGATION)
        assert result.model_id == MODEL and result.faces[0].candidates
        assert result.calibration.startswith(MODEL)


def test_another_models_table_is_never_used(tmp_path: Path) -> None:
    # the data folder holds dlib's table under this model's name: refused, not used
    target = data_table_path(tmp_path, MODEL)
    target.write_text(packaged_table_path("dlib-resnet-v1").read_text())
    with pytest.raises(CalibrationError, match="is for 'dlib-resnet-v1'"):
        load_calibration(MODEL, calibration_dir=tmp_path)
    # no table of its own anywhere: no fallback to the packaged one
    with pytest.raises(CalibrationError, match="facesearch calibrate"):
        load_calibration("other-model-00000000", calibration_dir=tmp_path)
    # the packaged model still finds its shipped table when the data folder has none
    assert load_calibration("dlib-resnet-v1", calibration_dir=tmp_path).model_id == (
        "dlib-resnet-v1"
    )
