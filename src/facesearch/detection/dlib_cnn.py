"""dlib's MMOD CNN face detector: finds more non-frontal faces, much slower on a CPU."""

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
from facesearch.modelfiles import DLIB_MMOD, packaged_model
from facesearch.settings import DetectionSettings
from facesearch.types import Detection

logger = logging.getLogger(__name__)


class _MmodModel(LazyModel[Any]):
    def _load(self) -> Any:
        import dlib

        path = packaged_model(DLIB_MMOD)
        logger.info("loading dlib MMOD CNN face detector from %s", path)
        return dlib.cnn_face_detection_model_v1(str(path))


class DlibCnnDetector:
    """MMOD CNN detector. Scores are the network's detection confidence."""

    name = "dlib-cnn"

    def __init__(self, settings: DetectionSettings) -> None:
        self._settings = settings
        self._model = _MmodModel()
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
            raw = model(small, plan.upsample)
        found = [
            (rect_to_box(d.rect, plan.scale), float(d.confidence))
            for d in raw
            if d.confidence >= self._settings.score_threshold
        ]
        return finish(pixels, found, self._landmarks, self.name)
