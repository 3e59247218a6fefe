"""dlib's MMOD CNN face detector: finds more non-frontal faces, much slower on a CPU."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.detection.dlib_common import DlibDetectorBase
from facesearch.lazy import LazyModel
from facesearch.modelfiles import DLIB_MMOD, packaged_model
from facesearch.settings import DetectionSettings

logger = logging.getLogger(__name__)


class _MmodModel(LazyModel[Any]):
    def _load(self) -> Any:
        import dlib

        path = packaged_model(DLIB_MMOD)
        logger.info("loading dlib MMOD CNN face detector from %s", path)
        return dlib.cnn_face_detection_model_v1(str(path))


class DlibCnnDetector(DlibDetectorBase):
    """MMOD CNN detector. Scores are the network's detection confidence."""

    name = "dlib-cnn"

    def __init__(self, settings: DetectionSettings) -> None:
        super().__init__(settings)
        self._model = _MmodModel()

    def _run(self, pixels: NDArray[np.uint8]) -> list[tuple[Any, float]]:
        model = self._model.load()
        with self._model.lock:
            raw = model(pixels, 0)
        threshold = self._settings.score_threshold
        return [(d.rect, float(d.confidence)) for d in raw if d.confidence >= threshold]
