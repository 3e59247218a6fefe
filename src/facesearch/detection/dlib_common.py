"""Shared dlib plumbing: 5-point landmarks, rectangle conversion, resizing for detection."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from facesearch.detection.base import DETECTOR_WINDOW_PX, plan_scale
from facesearch.lazy import LazyModel
from facesearch.modelfiles import DLIB_SHAPE_5, packaged_model
from facesearch.settings import DetectionSettings
from facesearch.types import BoundingBox, Detection, Landmarks5

logger = logging.getLogger(__name__)


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


def rect_to_box(rect: Any, factor: float) -> BoundingBox:
    """dlib rectangle (inclusive corners) at detection resolution -> box in original pixels."""
    return BoundingBox(
        rect.left() / factor,
        rect.top() / factor,
        (rect.right() + 1) / factor,
        (rect.bottom() + 1) / factor,
    )


def resize_for_detection(pixels: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    """Downscale ``(h, w, 3)`` RGB by ``scale`` (< 1) with an antialiasing filter."""
    if scale >= 1.0:
        return pixels
    height, width = pixels.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.ascontiguousarray(np.asarray(resized, dtype=np.uint8))


def finish(
    pixels: NDArray[np.uint8],
    found: list[tuple[BoundingBox, float]],
    landmarker: DlibLandmarks5,
    detector_name: str,
) -> list[Detection]:
    """Clip boxes, add full-resolution landmarks, sort by score (highest first)."""
    height, width = pixels.shape[:2]
    detections = []
    for box, score in found:
        clipped = box.clipped(width, height)
        if clipped.width < 2 or clipped.height < 2:
            continue
        detections.append(
            Detection(
                box=clipped,
                score=float(score),
                landmarks=landmarker.landmarks(pixels, box),
                detector=detector_name,
            )
        )
    detections.sort(key=lambda d: d.score, reverse=True)
    return detections


class DlibDetectorBase:
    """Shared steps of dlib's detectors: plan the scale, run, map boxes back, add landmarks.

    Subclasses set ``name`` and implement :meth:`_run` on the (possibly downscaled) image.
    """

    name: str
    #: Smallest face side (pixels at the detector's resolution) the scale planner serves.
    window_px: int = DETECTOR_WINDOW_PX

    def __init__(self, settings: DetectionSettings) -> None:
        self._settings = settings
        self._landmarks = DlibLandmarks5()

    def _run(self, pixels: NDArray[np.uint8], upsample: int) -> list[tuple[Any, float]]:
        """``(dlib rectangle, score)`` pairs at the resolution of ``pixels``."""
        raise NotImplementedError

    def detect(self, pixels: NDArray[np.uint8]) -> list[Detection]:
        """Faces in ``(h, w, 3)`` uint8 RGB, highest score first, in ``pixels``' coordinates."""
        height, width = pixels.shape[:2]
        plan = plan_scale(
            height,
            width,
            min_face_px=self._settings.min_face_px,
            max_detect_side=self._settings.max_detect_side,
            max_upsample_pixels=self._settings.max_upsample_pixels,
            window_px=self.window_px,
        )
        small = resize_for_detection(pixels, plan.scale)
        found = [
            (rect_to_box(rect, plan.scale), score)
            for rect, score in self._run(small, plan.upsample)
        ]
        return finish(pixels, found, self._landmarks, self.name)
