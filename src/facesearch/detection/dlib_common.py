"""Shared dlib plumbing: 5-point landmarks, rectangle conversion, the window-detector base."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.detection.base import Candidate
from facesearch.lazy import LazyModel
from facesearch.modelfiles import DLIB_SHAPE_5, packaged_model
from facesearch.settings import DetectionSettings
from facesearch.types import BoundingBox, Landmarks5

logger = logging.getLogger(__name__)

#: Side in pixels of the smallest face dlib's HOG and MMOD detectors find without upsampling.
DLIB_WINDOW_PX = 80


class DlibLandmarks5(LazyModel[Any]):
    """dlib's 5-point shape predictor (``shape_predictor_5_face_landmarks.dat``)."""

    def _load(self) -> Any:
        import dlib

        path = packaged_model(DLIB_SHAPE_5)
        logger.info("loading dlib 5-point landmark model from %s", path)
        return dlib.shape_predictor(str(path))

    def landmarks(self, pixels: NDArray[np.uint8], box: BoundingBox) -> Landmarks5:
        """Five landmarks (dlib order) for the face in ``box`` of ``(h, w, 3)`` RGB pixels."""
        import dlib

        rect = dlib.rectangle(round(box.x1), round(box.y1), round(box.x2) - 1, round(box.y2) - 1)
        model = self.load()
        with self.lock:
            shape = model(pixels, rect)
        return Landmarks5(tuple((float(p.x), float(p.y)) for p in shape.parts()))


def rect_to_box(rect: Any) -> BoundingBox:
    """dlib rectangle (inclusive corners) -> box (exclusive bottom-right), same pixels."""
    return BoundingBox(
        float(rect.left()), float(rect.top()), float(rect.right() + 1), float(rect.bottom() + 1)
    )


class DlibDetectorBase:
    """Shared steps of dlib's detectors as a :class:`~facesearch.detection.base.WindowDetector`:
    one pass at scale 1 (no dlib upsampling; the planner resizes), full-resolution 5-point
    landmarks from dlib's shape predictor.

    Subclasses set ``name`` and implement :meth:`_run`. ``window_px`` is 80: both dlib
    detectors are trained on 80x80 windows (dlib's ``frontal_face_detector`` and
    ``mmod_human_face_detector`` documentation: "finds faces larger than about 80x80").
    """

    name: str
    window_px: int = DLIB_WINDOW_PX

    def __init__(self, settings: DetectionSettings) -> None:
        self._settings = settings
        self._landmarks = DlibLandmarks5()

    def _run(self, pixels: NDArray[np.uint8]) -> list[tuple[Any, float]]:
        """``(dlib rectangle, score)`` pairs in ``pixels``' coordinates, no upsampling."""
        raise NotImplementedError

    def find(self, pixels: NDArray[np.uint8]) -> list[Candidate]:
        """Faces of ``window_px`` and up in ``(h, w, 3)`` uint8 RGB, without landmarks."""
        return [Candidate(rect_to_box(rect), score) for rect, score in self._run(pixels)]

    def landmarks(self, pixels: NDArray[np.uint8], box: BoundingBox) -> Landmarks5:
        """dlib's 5 landmarks for ``box`` of full-resolution ``(h, w, 3)`` RGB pixels."""
        return self._landmarks.landmarks(pixels, box)
