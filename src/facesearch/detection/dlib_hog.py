"""dlib's HOG + linear SVM frontal face detector (the default)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.detection.base import plan_scale
from facesearch.detection.dlib_common import (
    DlibLandmarks5,
    finish,
    rect_to_box,
    resize_for_detection,
)
from facesearch.lazy import LazyModel
from facesearch.settings import DetectionSettings
from facesearch.types import Detection

logger = logging.getLogger(__name__)


class _HogModel(LazyModel[Any]):
    def _load(self) -> Any:
        import dlib

        logger.info("loading dlib HOG frontal face detector")
        return dlib.get_frontal_face_detector()


class DlibHogDetector:
    """Frontal faces from about 40 px up (by upsampling small images); fast on a CPU.

    Scores are the SVM margin (``score_threshold`` is dlib's ``adjust_threshold``).
    """

    name = "dlib-hog"

    def __init__(self, settings: DetectionSettings) -> None:
        self._settings = settings
        self._model = _HogModel()
        self._landmarks = DlibLandmarks5()

    def detect(self, pixels: NDArray[np.uint8]) -> list[Detection]:
        height, width = pixels.shape[:2]
        plan = plan_scale(
            height,
            width,
            min_face_px=self._settings.min_face_px,
            max_detect_side=self._settings.max_detect_side,
            max_upsample_pixels=self._settings.max_upsample_pixels,
        )
        small = resize_for_detection(pixels, plan.scale)
        model = self._model.load()
        with self._model.lock:
            rects, scores, _ = model.run(small, plan.upsample, self._settings.score_threshold)
        found = [(rect_to_box(r, plan.scale), float(s)) for r, s in zip(rects, scores, strict=True)]
        return finish(pixels, found, self._landmarks, self.name)
