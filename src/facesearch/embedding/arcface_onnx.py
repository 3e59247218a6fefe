"""ArcFace-style face recognizers from an ONNX file the operator provides.

Any network that takes the 112x112 ArcFace chip (:mod:`facesearch.alignment.arcface`) as
NCHW float32 ``(chip - mean) / std`` and returns one embedding row per chip: EdgeFace,
MobileFace, InsightFace's ArcFace models, ... The file is given by path and sha256 (checked
when loaded, refused naming the setting); the embedding size is read from the model. The
``model_id`` is the operator's name for it plus the first :data:`SHA_PREFIX` hex digits of
the file's sha256, so two different files never share an index or a calibration table.

Channel order and normalisation are the model's own (no guessing from tensor shapes): set
them in ``embedding.onnx`` or in a manifest next to the file (same name, ``.json``)::

    {"name": "edgeface-xs", "channel_order": "rgb", "input_mean": 127.5, "input_std": 127.5}

Settings win over the manifest. Nothing here is packaged or a default; see the README for
the licences of the models the project evaluates.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.alignment import ChipSpec, ChipTemplate
from facesearch.alignment.arcface import ARCFACE_CHIP_SIZE
from facesearch.embedding.base import check_chips, l2_normalize
from facesearch.errors import ConfigurationError, ModelLoadError
from facesearch.lazy import LazyModel
from facesearch.modelfiles import verified_path
from facesearch.settings import ChannelOrder, OnnxRecognizerSettings
from facesearch.types import FloatArray

logger = logging.getLogger(__name__)

#: Hex digits of the file's sha256 in its ``model_id``.
SHA_PREFIX = 8
#: Chips per ONNX Runtime call (bounds the input tensor at about 19 MB).
MAX_BATCH = 128

_SETTING = "FACESEARCH_EMBEDDING__ONNX__"


@dataclass(frozen=True, slots=True)
class RecognizerSpec:
    """A recognizer file with everything needed to run it (settings and manifest resolved).

    ``input_mean`` / ``input_std`` apply to 0-255 pixel values: the tensor is
    ``(pixel - input_mean) / input_std``.
    """

    name: str
    path: Path
    sha256: str
    channel_order: ChannelOrder
    input_mean: float
    input_std: float

    @property
    def model_id(self) -> str:
        return f"{self.name}-{self.sha256[:SHA_PREFIX]}"


def manifest_path(path: Path) -> Path:
    """Where the manifest of the model file ``path`` lives (``model.onnx`` -> ``model.json``)."""
    return path.with_suffix(".json")


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest = manifest_path(path)
    if not manifest.is_file():
        return {}
    try:
        data = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigurationError(f"cannot read model manifest {manifest.name}: {err}") from err
    if not isinstance(data, dict):
        raise ConfigurationError(f"model manifest {manifest.name} is not a JSON object")
    known = {"name", "channel_order", "input_mean", "input_std"}
    return {k: v for k, v in data.items() if k in known}


def resolve_spec(settings: OnnxRecognizerSettings) -> RecognizerSpec:
    """The recognizer ``settings`` describe, completed from the manifest next to the file.

    Raises :class:`ConfigurationError` naming the setting when the path, the sha256, the
    name, the channel order or the normalisation is given by neither.
    """
    if settings.path is None:
        raise ConfigurationError(f"embedding model arcface-onnx needs {_SETTING}PATH (the file)")
    if not settings.sha256:
        raise ConfigurationError(
            f"embedding model arcface-onnx needs {_SETTING}SHA256 (the file's sha256)"
        )
    given = settings.model_dump(exclude_none=True, exclude={"path", "sha256"})
    try:
        merged = OnnxRecognizerSettings.model_validate(
            {**_read_manifest(settings.path), **given, "path": settings.path}
        )
    except ValueError as err:
        raise ConfigurationError(
            f"model manifest {manifest_path(settings.path).name}: {err}"
        ) from err
    name, order = merged.name, merged.channel_order
    mean, std = merged.input_mean, merged.input_std
    if name is None or order is None or mean is None or std is None:
        missing = [
            f"{_SETTING}{field.upper()}"
            for field in ("name", "channel_order", "input_mean", "input_std")
            if getattr(merged, field) is None
        ]
        raise ConfigurationError(
            f"embedding model arcface-onnx needs {', '.join(missing)} (or a manifest "
            f"{manifest_path(settings.path).name} next to the file)"
        )
    return RecognizerSpec(
        name=name,
        path=settings.path,
        sha256=settings.sha256.lower(),
        channel_order=order,
        input_mean=float(mean),
        input_std=float(std),
    )


class _Session(LazyModel[Any]):
    def __init__(self, spec: RecognizerSpec, providers: list[str], threads: int) -> None:
        self._spec = spec
        self._providers = providers
        self._threads = threads

    def cache_key(self) -> str:
        s = self._spec
        return f"{super().cache_key()}:{s.path}:{s.sha256}:{self._providers}:{self._threads}"

    def _load(self) -> Any:
        import onnxruntime as ort

        from facesearch.embedding.dlib_onnx_runtime import choose_providers

        try:
            path = verified_path(self._spec.path, self._spec.sha256)
        except ModelLoadError as err:
            raise ModelLoadError(f"{_SETTING}PATH / {_SETTING}SHA256: {err.message}") from err
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(
                str(path), options, providers=choose_providers(self._providers)
            )
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(f"{_SETTING}PATH: {path.name} is not a usable ONNX file") from err
        inputs, outputs = session.get_inputs(), session.get_outputs()
        shape = list(inputs[0].shape) if inputs else []
        if len(inputs) != 1 or len(shape) != 4 or shape[1] != 3:
            raise ModelLoadError(
                f"{_SETTING}PATH: {path.name} does not take one NCHW colour image (inputs "
                f"{[(i.name, i.shape) for i in inputs]})"
            )
        for side in shape[2:]:
            if isinstance(side, int) and side != ARCFACE_CHIP_SIZE:
                raise ModelLoadError(
                    f"{_SETTING}PATH: {path.name} takes {shape[2]}x{shape[3]} input, not the "
                    f"{ARCFACE_CHIP_SIZE}x{ARCFACE_CHIP_SIZE} ArcFace chip"
                )
        if not outputs:
            raise ModelLoadError(f"{_SETTING}PATH: {path.name} has no output")
        logger.info(
            "%s: ONNX recognizer %s on onnxruntime %s, providers %s",
            self._spec.model_id,
            path.name,
            ort.__version__,
            ", ".join(session.get_providers()),
        )
        return session


class ArcfaceOnnxEmbedder:
    """Embeddings of 112x112 ArcFace chips by an ONNX recognizer, L2-normalised.

    ``embed(chips)``: ``(n, 112, 112, 3)`` uint8 RGB in, ``(n, dim)`` float32 unit rows out
    (``dim`` read from the model's output; reading it loads the model). Raises
    :class:`ModelLoadError` naming the setting when the file is missing, fails its sha256
    or is not a 112x112 NCHW image model.
    """

    chip = ChipSpec(size=ARCFACE_CHIP_SIZE, padding=0.0, template=ChipTemplate.ARCFACE)

    def __init__(
        self, spec: RecognizerSpec, *, providers: list[str] | None = None, threads: int = 1
    ) -> None:
        self.spec = spec
        self._session = _Session(spec, list(providers or []), threads)
        self._dim: int | None = None

    @property
    def model_id(self) -> str:
        return self.spec.model_id

    @property
    def dim(self) -> int:
        if self._dim is None:
            session = self._session.load()
            size = session.get_outputs()[0].shape[-1]
            if isinstance(size, int) and size > 0:
                self._dim = size
            else:  # a symbolic output size: run one blank chip to see it
                blank = np.zeros((1, ARCFACE_CHIP_SIZE, ARCFACE_CHIP_SIZE, 3), dtype=np.uint8)
                self._dim = int(self._run(blank).shape[1])
        return self._dim

    def preprocess(self, chips: NDArray[np.uint8]) -> FloatArray:
        """The model's input tensor for ``(n, 112, 112, 3)`` uint8 RGB chips: ``(n, 3, 112,
        112)`` float32, channels in the model's order, ``(x - input_mean) / input_std``."""
        pixels = chips[..., ::-1] if self.spec.channel_order == ChannelOrder.BGR else chips
        tensor = (pixels.astype(np.float32) - np.float32(self.spec.input_mean)) / np.float32(
            self.spec.input_std
        )
        return np.ascontiguousarray(tensor.transpose(0, 3, 1, 2), dtype=np.float32)

    def _run(self, chips: NDArray[np.uint8]) -> FloatArray:
        session = self._session.load()
        name = session.get_inputs()[0].name
        parts = []
        for start in range(0, chips.shape[0], MAX_BATCH):
            (out, *_) = session.run(None, {name: self.preprocess(chips[start : start + MAX_BATCH])})
            parts.append(np.asarray(out, dtype=np.float32).reshape(out.shape[0], -1))
        return np.concatenate(parts)

    def embed(self, chips: NDArray[np.uint8]) -> FloatArray:
        check_chips(chips, self.chip)
        if chips.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalize(self._run(np.ascontiguousarray(chips, dtype=np.uint8)))
