"""dlib's HOG + linear SVM frontal face detector (the default)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.detection.dlib_common import DlibDetectorBase
from facesearch.lazy import LazyModel
from facesearch.settings import DetectionSettings

logger = logging.getLogger(__name__)


class _HogModel(LazyModel[Any]):
    def _load(self) -> Any:
        import dlib

        logger.info("loading dlib HOG frontal face detector")
        return dlib.get_frontal_face_detector()


class DlibHogDetector(DlibDetectorBase):
    """Frontal faces from about 40 px up (by upsampling small images); fast on a CPU.

    Scores are the SVM margin (``score_threshold`` is dlib's ``adjust_threshold``).
    """

    name = "dlib-hog"

    def __init__(self, settings: DetectionSettings) -> None:
        super().__init__(settings)
        self._model = _HogModel()

    def _run(self, pixels: NDArray[np.uint8]) -> list[tuple[Any, float]]:
        model = self._model.load()
        with self._model.lock:
            rects, scores, _ = model.run(pixels, 0, self._settings.score_threshold)
        return [(rect, float(score)) for rect, score in zip(rects, scores, strict=True)]
