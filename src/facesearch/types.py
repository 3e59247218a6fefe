"""Typed value objects shared across layers.

Conventions: pixel coordinates in the (EXIF-corrected) decoded image, origin top-left,
x to the right, y down. Boxes are ``x1, y1, x2, y2`` with ``x2 > x1``, ``y2 > y1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """A face box in pixels, ``x1, y1`` inclusive top-left, ``x2, y2`` exclusive bottom-right."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def scaled(self, factor: float) -> BoundingBox:
        """The same box in an image resized by ``factor`` (``new = old * factor``)."""
        return BoundingBox(self.x1 * factor, self.y1 * factor, self.x2 * factor, self.y2 * factor)

    def clipped(self, width: int, height: int) -> BoundingBox:
        return BoundingBox(
            min(max(self.x1, 0.0), float(width)),
            min(max(self.y1, 0.0), float(height)),
            min(max(self.x2, 0.0), float(width)),
            min(max(self.y2, 0.0), float(height)),
        )

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True, slots=True)
class Landmarks5:
    """Five facial landmarks in pixels, in dlib's 5-point order.

    ``points`` is ``((x, y), ...)`` for: 0 outer and 1 inner corner of the eye on the
    image's right side (the subject's left eye), 2 outer and 3 inner corner of the eye on
    the image's left side, 4 the base of the nose.
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.points) != 5:
            raise ValueError(f"Landmarks5 needs 5 points, got {len(self.points)}")

    def as_array(self) -> FloatArray:
        """``(5, 2)`` float32 array of ``(x, y)`` pixels."""
        return np.asarray(self.points, dtype=np.float32).reshape(5, 2)

    @property
    def image_left_eye(self) -> tuple[float, float]:
        """Centre of the eye on the image's left side."""
        a, b = self.points[2], self.points[3]
        return ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0)

    @property
    def image_right_eye(self) -> tuple[float, float]:
        """Centre of the eye on the image's right side."""
        a, b = self.points[0], self.points[1]
        return ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0)

    @property
    def nose(self) -> tuple[float, float]:
        return self.points[4]

    def scaled(self, factor: float) -> Landmarks5:
        return Landmarks5(tuple((x * factor, y * factor) for x, y in self.points))


@dataclass(frozen=True, slots=True)
class Keypoints5:
    """Five facial keypoints in pixels, in the ArcFace / RetinaFace / YuNet order.

    ``points`` is ``((x, y), ...)`` for: 0 the centre of the subject's right eye (on the
    image's left for a frontal face), 1 the subject's left eye, 2 the nose tip, 3 the
    subject's right mouth corner, 4 the left mouth corner. This is the order of the
    standard ArcFace template (:data:`facesearch.alignment.arcface.ARCFACE_TEMPLATE`) and
    of YuNet's output (OpenCV ``FaceDetectorYN``: right eye, left eye, nose tip, right and
    left mouth corners). dlib's detectors do not give these points.
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.points) != 5:
            raise ValueError(f"Keypoints5 needs 5 points, got {len(self.points)}")

    def as_array(self) -> FloatArray:
        """``(5, 2)`` float32 array of ``(x, y)`` pixels."""
        return np.asarray(self.points, dtype=np.float32).reshape(5, 2)

    def scaled(self, factor: float) -> Keypoints5:
        return Keypoints5(tuple((x * factor, y * factor) for x, y in self.points))


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected face: its box, the detector's confidence and 5 landmarks (dlib's
    order), and ``keypoints`` in the ArcFace order where the detector gives them (YuNet;
    ``None`` for dlib's detectors)."""

    box: BoundingBox
    score: float
    landmarks: Landmarks5
    detector: str
    keypoints: Keypoints5 | None = None


@dataclass(frozen=True, slots=True)
class FaceQuality:
    """Quality measures of one face.

    ``interocular_px``: distance between eye centres in image pixels. ``sharpness``:
    variance of the Laplacian of the grey 150x150 chip (unitless, higher is sharper).
    ``frontalness``: 1.0 for a frontal face, towards 0 as yaw grows (from landmarks).
    ``score``: overall quality in [0, 1].
    """

    interocular_px: float
    sharpness: float
    frontalness: float
    score: float
