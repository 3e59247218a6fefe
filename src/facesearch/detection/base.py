"""The face detector contracts.

Two levels: :class:`FaceDetector` is what the pipeline calls (any image size, boxes in
that image's pixels). :class:`WindowDetector` is what a concrete detector (dlib HOG, MMOD
CNN, an ONNX model) implements: one pass over the pixels it is given, at their scale, with
the side of the smallest face it finds there (its window). The detector-agnostic
:class:`~facesearch.detection.planned.PlannedDetector` turns the second into the first by
planning scales and tiles (:func:`~facesearch.detection.planning.plan_detection`), so that
``min_face_px`` holds at every image size with every detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from facesearch.types import BoundingBox, Detection, Landmarks5


@runtime_checkable
class FaceDetector(Protocol):
    """Finds every face in an RGB image.

    ``detect(pixels)`` takes ``(h, w, 3)`` uint8 RGB and returns detections in that image's
    pixel coordinates, highest score first, each with a box, a score and 5 landmarks.
    """

    name: str

    def detect(self, pixels: NDArray[np.uint8]) -> list[Detection]: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A face found by one :class:`WindowDetector` pass, in the passed pixels' coordinates.

    ``landmarks`` is ``None`` when the detector has no landmark output of its own (dlib's
    detectors); the planner then asks :meth:`WindowDetector.landmarks` for them at full
    resolution once boxes are merged.
    """

    box: BoundingBox
    score: float
    landmarks: Landmarks5 | None = None


@runtime_checkable
class WindowDetector(Protocol):
    """One detector pass at scale 1: what each concrete detector implements.

    ``window_px``: side in pixels of the smallest face the detector finds in the pixels it
    is given (its sliding window or smallest anchor). ``find(pixels)`` runs on ``(h, w, 3)``
    uint8 RGB exactly as given (no resizing of its own) and returns candidates in those
    pixels' coordinates, any order. ``landmarks(pixels, box)`` returns 5 landmarks (dlib's
    order) for a box of a full-resolution image; it is only called for candidates whose
    ``landmarks`` is ``None``.
    """

    name: str
    window_px: int

    def find(self, pixels: NDArray[np.uint8]) -> list[Candidate]: ...

    def landmarks(self, pixels: NDArray[np.uint8], box: BoundingBox) -> Landmarks5: ...
