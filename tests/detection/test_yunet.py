"""YuNet behind the FaceDetector protocol: configuration errors, detections on the checked-in
LFW photos, dlib's landmarks inside its boxes, and descriptors equal to the HOG path's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.alignment import align_faces
from facesearch.detection import create_detector
from facesearch.detection.planned import PlannedDetector
from facesearch.detection.yunet import YUNET_WINDOW_PX, YunetDetector
from facesearch.embedding.dlib_onnx_runtime import DlibResnetOnnxEmbedder
from facesearch.errors import ConfigurationError, ModelLoadError
from facesearch.settings import DetectionSettings, DetectorKind

YUNET_FILE = "yunet_s_dynamic.onnx"
YUNET_SHA256 = "daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3"


def yunet_settings(models_dir: Path, **update: object) -> DetectionSettings:
    values: dict[str, object] = {
        "detector": DetectorKind.YUNET,
        "yunet_model_path": models_dir / YUNET_FILE,
        "yunet_model_sha256": YUNET_SHA256,
    }
    return DetectionSettings.model_validate({**values, **update})


def test_missing_settings_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FACESEARCH_DETECTION__YUNET_MODEL_PATH"):
        create_detector(DetectionSettings(detector=DetectorKind.YUNET))
    with pytest.raises(ConfigurationError, match="FACESEARCH_DETECTION__YUNET_MODEL_SHA256"):
        create_detector(
            DetectionSettings(detector=DetectorKind.YUNET, yunet_model_path=tmp_path / "y.onnx")
        )
    missing = create_detector(yunet_settings(tmp_path))
    with pytest.raises(ModelLoadError, match=r"YUNET_MODEL_PATH.*not found"):
        missing.detect(np.zeros((64, 64, 3), dtype=np.uint8))


def test_wrong_checksum_names_the_setting(models_dir: Path) -> None:
    detector = create_detector(yunet_settings(models_dir, yunet_model_sha256="0" * 64))
    with pytest.raises(ModelLoadError, match=r"YUNET_MODEL_SHA256.*checksum"):
        detector.detect(np.zeros((64, 64, 3), dtype=np.uint8))


def test_yunet_path_gives_the_hog_paths_descriptors(
    models_dir: Path, test_images: dict[str, list[Path]]
) -> None:
    yunet = create_detector(yunet_settings(models_dir))
    assert isinstance(yunet, PlannedDetector) and isinstance(yunet.core, YunetDetector)
    assert yunet.core.window_px == YUNET_WINDOW_PX
    hog = create_detector(DetectionSettings())
    embedder = DlibResnetOnnxEmbedder()
    for paths in test_images.values():
        for path in paths:
            pixels = np.asarray(Image.open(path).convert("RGB"))
            found = yunet.detect(pixels)
            assert found and found[0].detector == "yunet" and found[0].score >= 0.6
            a = max(found, key=lambda d: d.box.area)
            b = max(hog.detect(pixels), key=lambda d: d.box.area)
            # dlib's landmarks inside the YuNet box land where they land inside HOG's
            gap = np.abs(np.asarray(a.landmarks.points) - np.asarray(b.landmarks.points))
            assert gap.max() <= 2.0, (path.name, gap.max())
            va, vb = embedder.embed(align_faces(pixels, [a, b], embedder.chip))
            assert float(va @ vb) > 0.998, path.name


def test_blank_image_has_no_face(models_dir: Path) -> None:
    detector = create_detector(yunet_settings(models_dir))
    assert detector.detect(np.full((200, 300, 3), 127, dtype=np.uint8)) == []


def test_large_image_is_downscaled_and_boxes_map_back(
    models_dir: Path, test_images: dict[str, list[Path]]
) -> None:
    """A 4x upscaled photo (1000 px) with max_detect_side 500: found at half size, box and
    landmarks back in full-resolution pixels."""
    path = test_images["Colin_Powell"][0]
    small = Image.open(path).convert("RGB")
    big = np.asarray(small.resize((small.width * 4, small.height * 4)))
    detector = create_detector(yunet_settings(models_dir, max_detect_side=500))
    reference = create_detector(yunet_settings(models_dir)).detect(np.asarray(small))[0]
    found = max(detector.detect(big), key=lambda d: d.box.area)
    tolerance = 0.1 * reference.box.width  # YuNet at another resolution: a few pixels
    assert abs(found.box.x1 / 4 - reference.box.x1) < tolerance
    assert abs(found.box.y1 / 4 - reference.box.y1) < tolerance
    assert abs(found.box.width / 4 - reference.box.width) < tolerance
    gap = np.abs(np.asarray(found.landmarks.points) / 4 - np.asarray(reference.landmarks.points))
    assert gap.max() < 3.0
