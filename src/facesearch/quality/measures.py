"""Face quality from landmarks and the aligned chip: size, sharpness, pose, overall score."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from facesearch.settings import QualitySettings
from facesearch.types import FaceQuality, Landmarks5

#: Eye distance (pixels) at and above which size no longer lowers the overall score.
FULL_SIZE_INTEROCULAR_PX = 60.0
#: Chip Laplacian variance at and above which sharpness no longer lowers the score.
FULL_SHARPNESS = 150.0


def interocular_px(landmarks: Landmarks5) -> float:
    """Distance between the two eye centres, in image pixels."""
    (lx, ly), (rx, ry) = landmarks.image_left_eye, landmarks.image_right_eye
    return math.hypot(rx - lx, ry - ly)


def frontalness(landmarks: Landmarks5) -> float:
    """1.0 when the nose projects midway between the eyes, falling to 0 as the head turns.

    The nose base is projected onto the eye axis (so roll does not count); its position
    ``t`` along it (0 at one eye, 1 at the other) gives ``1 - 2|t - 0.5|``, clipped to [0, 1].
    """
    left = np.asarray(landmarks.image_left_eye, dtype=np.float64)
    right = np.asarray(landmarks.image_right_eye, dtype=np.float64)
    nose = np.asarray(landmarks.nose, dtype=np.float64)
    axis = right - left
    length2 = float(axis @ axis)
    if length2 <= 0:
        return 0.0
    t = float((nose - left) @ axis) / length2
    return float(min(1.0, max(0.0, 1.0 - 2.0 * abs(t - 0.5))))


def laplacian_variance(chip: NDArray[np.uint8]) -> float:
    """Variance of the 4-neighbour Laplacian of the chip's luma (``(s, s, 3)`` uint8 RGB)."""
    grey = chip.astype(np.float32) @ np.asarray([0.299, 0.587, 0.114], dtype=np.float32)
    lap = (
        grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * grey[1:-1, 1:-1]
    )
    return float(lap.var())


def assess(landmarks: Landmarks5, chip: NDArray[np.uint8]) -> FaceQuality:
    """All quality measures of one face; ``score`` is the geometric mean of the three terms."""
    iod = interocular_px(landmarks)
    sharp = laplacian_variance(chip)
    front = frontalness(landmarks)
    terms = (
        min(1.0, iod / FULL_SIZE_INTEROCULAR_PX),
        min(1.0, sharp / FULL_SHARPNESS),
        front,
    )
    score = float(np.prod(terms) ** (1.0 / 3.0))
    return FaceQuality(interocular_px=iod, sharpness=sharp, frontalness=front, score=score)


def enrollment_failures(quality: FaceQuality, limits: QualitySettings) -> list[str]:
    """Reasons (one line each) this face fails the enrollment gate; empty when it passes."""
    reasons = []
    if quality.interocular_px < limits.min_interocular_px:
        reasons.append(
            f"face too small: eye distance {quality.interocular_px:.1f} px "
            f"< {limits.min_interocular_px:g} px"
        )
    if quality.sharpness < limits.min_sharpness:
        reasons.append(f"too blurred: sharpness {quality.sharpness:.1f} < {limits.min_sharpness:g}")
    if quality.frontalness < limits.min_frontalness:
        reasons.append(
            f"head turned too far: frontalness {quality.frontalness:.2f} "
            f"< {limits.min_frontalness:g}"
        )
    if quality.score < limits.min_score:
        reasons.append(f"overall quality {quality.score:.2f} < {limits.min_score:g}")
    return reasons
