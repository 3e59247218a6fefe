"""The face detector contract and the pure geometry of detection scaling."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from facesearch.types import Detection

#: Side in pixels of the smallest face dlib's HOG (and MMOD) detector finds without upsampling.
DETECTOR_WINDOW_PX = 80


@runtime_checkable
class FaceDetector(Protocol):
    """Finds every face in an RGB image.

    ``detect(pixels)`` takes ``(h, w, 3)`` uint8 RGB and returns detections in that image's
    pixel coordinates, highest score first, each with a box, a score and 5 landmarks.
    """

    name: str

    def detect(self, pixels: NDArray[np.uint8]) -> list[Detection]: ...


@dataclass(frozen=True, slots=True)
class ScalePlan:
    """How to present an image to the detector.

    ``scale``: resize factor applied first (``<= 1``; downscaling of large images).
    ``upsample``: number of 2x pyramid-ups the detector then applies (small faces).
    Boxes found at the detector's resolution are divided by ``scale`` to map back.
    """

    scale: float
    upsample: int


def plan_scale(
    height: int,
    width: int,
    *,
    min_face_px: int,
    max_detect_side: int,
    max_upsample_pixels: int,
    window_px: int = DETECTOR_WINDOW_PX,
) -> ScalePlan:
    """Choose downscale and upsampling so faces of ``min_face_px`` reach the detector window.

    Large images (longer side over ``max_detect_side``) are downscaled to that side; then the
    image is upsampled by powers of two until a ``min_face_px`` face (in original pixels)
    would be at least ``window_px`` wide, as long as the upsampled image stays within
    ``max_upsample_pixels``.
    """
    longest = max(height, width)
    scale = min(1.0, max_detect_side / longest) if longest > 0 else 1.0
    face_at_scale = min_face_px * scale
    needed = 0 if face_at_scale >= window_px else math.ceil(math.log2(window_px / face_at_scale))
    upsample = 0
    pixels = height * width * scale * scale
    while upsample < needed and pixels * 4 <= max_upsample_pixels:
        upsample += 1
        pixels *= 4
    return ScalePlan(scale=scale, upsample=upsample)
