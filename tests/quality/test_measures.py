import numpy as np
import pytest

from facesearch.quality import (
    assess,
    enrollment_failures,
    frontalness,
    interocular_px,
    laplacian_variance,
)
from facesearch.settings import QualitySettings
from facesearch.types import FaceQuality, Landmarks5


def _landmarks(nose_x: float, eye_y: float = 50.0, roll: float = 0.0) -> Landmarks5:
    # image-right eye (0 outer, 1 inner), image-left eye (2 outer, 3 inner), nose base
    points = [(90.0, eye_y), (70.0, eye_y), (10.0, eye_y), (30.0, eye_y), (nose_x, 80.0)]
    if roll:
        c, s = np.cos(roll), np.sin(roll)
        points = [
            (50 + c * (x - 50) - s * (y - 50), 50 + s * (x - 50) + c * (y - 50)) for x, y in points
        ]
    return Landmarks5(tuple(points))


def test_interocular_distance_is_between_eye_centres() -> None:
    assert interocular_px(_landmarks(50)) == pytest.approx(60.0)


def test_frontalness_falls_as_the_nose_moves_toward_one_eye() -> None:
    assert frontalness(_landmarks(50)) == pytest.approx(1.0)
    assert frontalness(_landmarks(65)) == pytest.approx(0.5)
    assert frontalness(_landmarks(80)) == pytest.approx(0.0)
    assert frontalness(_landmarks(120)) == 0.0


def test_frontalness_ignores_roll() -> None:
    assert frontalness(_landmarks(50, roll=0.5)) == pytest.approx(1.0, abs=1e-6)


def test_laplacian_variance_is_zero_on_flat_and_high_on_checkerboard() -> None:
    flat = np.full((150, 150, 3), 120, dtype=np.uint8)
    assert laplacian_variance(flat) == pytest.approx(0.0, abs=1e-6)
    board = ((np.indices((150, 150)).sum(axis=0) % 2) * 255).astype(np.uint8)
    assert laplacian_variance(np.stack([board] * 3, axis=-1)) > 1e4


def test_assess_combines_terms() -> None:
    board = ((np.indices((150, 150)).sum(axis=0) % 2) * 255).astype(np.uint8)
    chip = np.stack([board] * 3, axis=-1)
    good = assess(_landmarks(50), chip)
    assert good.score == pytest.approx(1.0)
    turned = assess(_landmarks(65), chip)
    assert turned.score == pytest.approx(0.5 ** (1 / 3))


def test_enrollment_failures_name_each_reason() -> None:
    limits = QualitySettings(min_interocular_px=20, min_sharpness=10, min_frontalness=0.3)
    assert enrollment_failures(FaceQuality(30, 50, 0.9, 0.8), limits) == []
    reasons = enrollment_failures(FaceQuality(12, 3, 0.1, 0.1), limits)
    assert len(reasons) == 3
    assert "too small" in reasons[0] and "blurred" in reasons[1] and "turned" in reasons[2]
