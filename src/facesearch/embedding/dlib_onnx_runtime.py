"""dlib's ResNet face descriptor run by ONNX Runtime on the project's converted file.

Same network, same weights and same ``model_id`` as :class:`DlibResnetEmbedder`: the
descriptors agree with dlib's to float rounding (cosine above 0.99999; see
``tests/embedding/test_dlib_onnx.py``), so stored faces, calibration tables and LFW figures
stay valid. The converted file comes from :mod:`facesearch.embedding.dlib_onnx.cache`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.alignment import ChipSpec
from facesearch.embedding.base import check_chips, l2_normalize
from facesearch.errors import ModelLoadError
from facesearch.lazy import LazyModel
from facesearch.types import FloatArray

logger = logging.getLogger(__name__)


def choose_providers(requested: list[str]) -> list[str]:
    """The execution providers to use: ``requested`` (each must be available; raises
    :class:`ModelLoadError` naming ``embedding.execution_providers`` otherwise), or by default
    CUDA when this onnxruntime build offers it, then CPU."""
    import onnxruntime as ort

    available = list(ort.get_available_providers())
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise ModelLoadError(
                f"embedding.execution_providers names {', '.join(missing)}, not available in "
                f"this onnxruntime (available: {', '.join(available)})"
            )
        return list(requested)
    chosen = [p for p in ("CUDAExecutionProvider",) if p in available]
    return [*chosen, "CPUExecutionProvider"]


class _Session(LazyModel[Any]):
    def __init__(self, cache_dir: Path | None, providers: list[str], threads: int) -> None:
        self._cache_dir = cache_dir
        self._providers = providers
        self._threads = threads

    def cache_key(self) -> str:
        return f"{super().cache_key()}:{self._cache_dir}:{self._providers}:{self._threads}"

    def _load(self) -> Any:
        import onnxruntime as ort

        from facesearch.embedding.dlib_onnx.cache import convert, load_or_convert
        from facesearch.modelfiles import DLIB_RESNET_V1, packaged_model

        if self._cache_dir is not None:
            data = load_or_convert(self._cache_dir).data
        else:
            data = convert(packaged_model(DLIB_RESNET_V1))
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        providers = choose_providers(self._providers)
        session = ort.InferenceSession(data, options, providers=providers)
        logger.info(
            "dlib ResNet on onnxruntime %s, providers %s, %d intra-op thread(s)",
            ort.__version__,
            ", ".join(session.get_providers()),
            self._threads,
        )
        return session


class DlibResnetOnnxEmbedder:
    """128-d descriptors of 150x150 dlib chips by ONNX Runtime, L2-normalised.

    ``cache_dir``: where the converted file is kept (``None``: converted in memory on load).
    ``providers``: ONNX Runtime execution providers (empty: CUDA when present, else CPU).
    """

    model_id = "dlib-resnet-v1"
    dim = 128
    chip = ChipSpec(size=150, padding=0.25)

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        providers: list[str] | None = None,
        threads: int = 1,
    ) -> None:
        self._session = _Session(cache_dir, list(providers or []), threads)

    def embed(self, chips: NDArray[np.uint8]) -> FloatArray:
        check_chips(chips, self.chip)
        if chips.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self._session.load()
        batch = np.ascontiguousarray(chips, dtype=np.uint8)
        (vectors,) = session.run(None, {"chips": batch})
        return l2_normalize(np.asarray(vectors, dtype=np.float32))
