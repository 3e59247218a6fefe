"""dlib's ResNet-29 face descriptor (``dlib_face_recognition_resnet_model_v1.dat``), 128-d."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.alignment import ChipSpec
from facesearch.embedding.base import check_chips, l2_normalize
from facesearch.lazy import LazyModel
from facesearch.modelfiles import DLIB_RESNET_V1, packaged_model
from facesearch.types import FloatArray

logger = logging.getLogger(__name__)


class _ResnetModel(LazyModel[Any]):
    def _load(self) -> Any:
        import dlib

        path = packaged_model(DLIB_RESNET_V1)
        logger.info("loading dlib ResNet face descriptor from %s", path)
        return dlib.face_recognition_model_v1(str(path))


class DlibResnetEmbedder:
    """128-d descriptors of 150x150 dlib chips, L2-normalised (cosine = inner product).

    ``jitters`` > 0 averages descriptors of that many randomly jittered copies of each chip
    (dlib's own option; slower, slightly more accurate).
    """

    model_id = "dlib-resnet-v1"
    dim = 128
    chip = ChipSpec(size=150, padding=0.25)

    def __init__(self, *, jitters: int = 0) -> None:
        self._jitters = jitters
        self._model = _ResnetModel()

    def embed(self, chips: NDArray[np.uint8]) -> FloatArray:
        check_chips(chips, self.chip)
        if chips.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = [np.ascontiguousarray(c, dtype=np.uint8) for c in chips]
        model = self._model.load()
        with self._model.lock:
            vectors = model.compute_face_descriptor(batch, self._jitters)
        return l2_normalize(np.asarray([np.asarray(v) for v in vectors], dtype=np.float32))
