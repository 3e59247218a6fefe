"""The ArcFace chip: the similarity fit (pure), and keypoints landing on the template."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.alignment import ChipSpec, ChipTemplate, align_faces
from facesearch.alignment.arcface import (
    ARCFACE_TEMPLATE,
    apply_transform,
    arcface_matrix,
    similarity_transform,
    warp_chip,
)
from facesearch.detection import create_detector
from facesearch.errors import ConfigurationError
from facesearch.settings import DetectionSettings
from facesearch.types import BoundingBox, Detection, Landmarks5

from ..onnx_models import yunet_detection

ARCFACE_CHIP = ChipSpec(size=112, padding=0.0, template=ChipTemplate.ARCFACE)


def _similarity(scale: float, angle: float, tx: float, ty: float) -> np.ndarray:
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    return np.asarray([[c, -s, tx], [s, c, ty]], dtype=np.float64)


def test_similarity_transform_recovers_a_known_one() -> None:
    rng = np.random.default_rng(7)
    src = rng.uniform(0, 300, size=(5, 2))
    truth = _similarity(0.37, 0.4, -12.0, 30.0)
    dst = apply_transform(truth, src)
    np.testing.assert_allclose(similarity_transform(src, dst), truth, atol=1e-4)


def test_similarity_transform_never_reflects() -> None:
    src = ARCFACE_TEMPLATE.astype(np.float64)
    mirrored = src * np.asarray([-1.0, 1.0])
    m = similarity_transform(mirrored, src)
    assert np.linalg.det(m[:, :2]) > 0


def test_similarity_transform_refuses_bad_points() -> None:
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.ones((5, 2)), ARCFACE_TEMPLATE)
    with pytest.raises(ValueError, match="n, 2"):
        similarity_transform(np.ones((5, 3)), np.ones((5, 3)))


def test_exact_keypoints_land_on_the_template_after_warping() -> None:
    # five white dots where a face's keypoints would be, rotated, scaled and moved
    inverse = _similarity(2.6, -0.3, 140.0, 90.0)
    points = apply_transform(inverse, ARCFACE_TEMPLATE)
    image = np.zeros((480, 520, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:480, 0:520]
    for x, y in points:
        image[(xx - x) ** 2 + (yy - y) ** 2 <= 16] = 255
    np.testing.assert_allclose(
        apply_transform(arcface_matrix(points), points), ARCFACE_TEMPLATE, atol=1e-3
    )
    chip = warp_chip(image, points)
    assert chip.shape == (112, 112, 3) and chip.dtype == np.uint8
    grey = chip[..., 0].astype(np.float64)
    for tx, ty in ARCFACE_TEMPLATE:
        x0, y0 = round(tx) - 5, round(ty) - 5
        window = grey[y0 : y0 + 11, x0 : x0 + 11]
        wy, wx = np.mgrid[y0 : y0 + 11, x0 : x0 + 11]
        cx, cy = (window * wx).sum() / window.sum(), (window * wy).sum() / window.sum()
        assert math.hypot(cx - tx, cy - ty) < 0.5, (tx, ty, cx, cy)


def test_chip_needs_keypoints() -> None:
    marks = Landmarks5(((60.0, 50.0), (50.0, 50.0), (20.0, 50.0), (30.0, 50.0), (40.0, 70.0)))
    face = Detection(BoundingBox(10, 10, 90, 90), 1.0, marks, "dlib-hog")
    with pytest.raises(ConfigurationError, match="yunet"):
        align_faces(np.zeros((100, 100, 3), dtype=np.uint8), [face], ARCFACE_CHIP)


def test_yunet_keypoints_land_on_the_template(
    models_dir: Path, test_images: dict[str, list[Path]]
) -> None:
    """YuNet's five points of each checked-in photo, mapped by the fitted transform, lie
    within a few pixels of the template (a least-squares fit of 5 real points is not exact),
    and the chip is the photo warped by that transform."""
    detector = create_detector(DetectionSettings.model_validate(yunet_detection(models_dir)))
    for paths in test_images.values():
        for path in paths:
            pixels = np.asarray(Image.open(path).convert("RGB"))
            face = max(detector.detect(pixels), key=lambda d: d.box.area)
            assert face.keypoints is not None
            points = face.keypoints.as_array()
            # the subject's right eye is on the image's left, the mouth below the eyes
            assert points[0, 0] < points[1, 0] and points[3, 1] > points[0, 1]
            mapped = apply_transform(arcface_matrix(points), points)
            residual = np.linalg.norm(mapped - ARCFACE_TEMPLATE, axis=1)
            assert residual.mean() < 5.0 and residual.max() < 10.0, (path.name, residual)
            # the same points in a wrong order (eyes swapped) do not fit the template
            swapped = points[[1, 0, 2, 4, 3]]
            wrong = apply_transform(arcface_matrix(swapped), swapped) - ARCFACE_TEMPLATE
            assert np.linalg.norm(wrong, axis=1).mean() > 2 * residual.mean() + 5.0
            # the chip is the image warped by that transform: its pixels at the mapped
            # points are the image's at the keypoints
            chip = align_faces(pixels, [face], ARCFACE_CHIP)[0]
            grey = pixels.astype(np.float64).mean(axis=2)
            chip_grey = chip.astype(np.float64).mean(axis=2)
            for (x, y), (u, v) in zip(points, mapped, strict=True):
                assert abs(grey[round(y), round(x)] - chip_grey[round(v), round(u)]) < 40
