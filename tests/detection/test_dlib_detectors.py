"""Real dlib detectors on checked-in LFW photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.detection import DETECTORS, FaceDetector, create_detector
from facesearch.errors import ConfigurationError
from facesearch.settings import DetectionSettings, DetectorKind
from facesearch.types import Detection


def _pixels(path: Path, size: int | None = None) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    if size is not None:
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8)


def _central(detections: list[Detection], side: float) -> Detection:
    centre = side / 2
    return min(
        detections,
        key=lambda d: (
            abs((d.box.x1 + d.box.x2) / 2 - centre) + abs((d.box.y1 + d.box.y2) / 2 - centre)
        ),
    )


@pytest.fixture(scope="module")
def hog() -> FaceDetector:
    return create_detector(DetectionSettings())


def test_registry_has_both_detectors_and_rejects_unknown() -> None:
    assert set(DETECTORS) == {DetectorKind.DLIB_HOG, DetectorKind.DLIB_CNN, DetectorKind.YUNET}
    with pytest.raises(ConfigurationError, match="unknown detector"):
        create_detector(DetectionSettings.model_construct(detector="nope"))  # type: ignore[arg-type]


def test_hog_finds_the_face_with_landmarks_inside_the_box(
    hog: FaceDetector, test_images: dict[str, list[Path]]
) -> None:
    for paths in test_images.values():
        for path in paths:
            detections = hog.detect(_pixels(path))
            assert detections, f"no face in {path.name}"
            face = _central(detections, 250)
            assert face.detector == "dlib-hog"
            assert 60 < face.box.width < 200, face.box
            points = face.landmarks.as_array()
            assert points.shape == (5, 2)
            margin = 0.25 * face.box.width
            assert np.all(points[:, 0] > face.box.x1 - margin)
            assert np.all(points[:, 0] < face.box.x2 + margin)
            # eyes above the nose
            assert face.landmarks.image_left_eye[1] < face.landmarks.nose[1]
            assert face.landmarks.image_right_eye[1] < face.landmarks.nose[1]
            scores = [d.score for d in detections]
            assert scores == sorted(scores, reverse=True)


def test_small_faces_are_found_by_upsampling(test_images: dict[str, list[Path]]) -> None:
    path = test_images["Colin_Powell"][0]
    small = _pixels(path, size=110)  # face about 45 px: below the 80 px HOG window
    found = create_detector(DetectionSettings(min_face_px=40)).detect(small)
    assert found, "upsampling should find a ~45 px face"
    missed = create_detector(DetectionSettings(min_face_px=80)).detect(small)
    assert not missed, "without upsampling the HOG window is larger than the face"


def test_large_faces_are_found_downscaled_and_boxes_mapped_back(
    hog: FaceDetector, test_images: dict[str, list[Path]]
) -> None:
    path = test_images["Serena_Williams"][0]
    base = _central(hog.detect(_pixels(path)), 250)
    big = _pixels(path, size=2500)  # 10x; min_face_px 200: detection runs on a 1000 px copy
    face = _central(create_detector(DetectionSettings(min_face_px=200)).detect(big), 2500)
    for got, want in zip(face.box.as_tuple(), base.box.scaled(10).as_tuple(), strict=True):
        assert got == pytest.approx(want, abs=0.12 * base.box.width * 10)
    # landmarks are predicted at full resolution
    assert face.landmarks.nose[0] == pytest.approx(base.landmarks.nose[0] * 10, abs=30)


def test_no_face_in_a_plain_gradient(hog: FaceDetector) -> None:
    gradient = np.tile(np.linspace(0, 255, 300, dtype=np.uint8), (200, 1))
    assert hog.detect(np.stack([gradient] * 3, axis=-1).copy()) == []


def test_cnn_detector_finds_the_face(test_images: dict[str, list[Path]]) -> None:
    cnn = create_detector(DetectionSettings(detector=DetectorKind.DLIB_CNN, min_face_px=80))
    pixels = _pixels(test_images["Junichiro_Koizumi"][0])
    detections = cnn.detect(pixels)
    assert detections
    face = _central(detections, 250)
    assert face.detector == "dlib-cnn"
    assert face.score > 0.0
    assert 60 < face.box.width < 200
