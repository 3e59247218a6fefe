"""The explicit registry of face embedders, keyed by :class:`EmbedderKind` (= model id)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from facesearch.embedding.base import FaceEmbedder
from facesearch.errors import ConfigurationError
from facesearch.settings import EmbedderKind, EmbeddingRuntime, EmbeddingSettings

logger = logging.getLogger(__name__)


def _dlib_resnet(settings: EmbeddingSettings, cache_dir: Path | None) -> FaceEmbedder:
    runtime = settings.runtime
    if runtime == EmbeddingRuntime.ONNXRUNTIME and settings.jitters > 0:
        logger.warning("embedding.jitters > 0 runs on dlib (jittering is dlib's own)")
        runtime = EmbeddingRuntime.DLIB
    if runtime == EmbeddingRuntime.DLIB:
        from facesearch.embedding.dlib_resnet import DlibResnetEmbedder

        return DlibResnetEmbedder(jitters=settings.jitters)
    from facesearch.embedding.dlib_onnx_runtime import DlibResnetOnnxEmbedder

    return DlibResnetOnnxEmbedder(
        cache_dir=cache_dir,
        providers=settings.execution_providers,
        threads=settings.intra_op_threads,
    )


def _arcface_onnx(settings: EmbeddingSettings, cache_dir: Path | None) -> FaceEmbedder:
    from facesearch.embedding.arcface_onnx import ArcfaceOnnxEmbedder, resolve_spec

    return ArcfaceOnnxEmbedder(
        resolve_spec(settings.onnx),
        providers=settings.execution_providers,
        threads=settings.intra_op_threads,
    )


EMBEDDERS: dict[EmbedderKind, Callable[[EmbeddingSettings, Path | None], FaceEmbedder]] = {
    EmbedderKind.DLIB_RESNET_V1: _dlib_resnet,
    EmbedderKind.ARCFACE_ONNX: _arcface_onnx,
}


def embedding_model_id(settings: EmbeddingSettings) -> str:
    """The ``model_id`` ``settings`` select, without building or loading the model: a
    packaged model's registry key, or an ONNX file's name plus its sha256 prefix
    (:class:`ConfigurationError` naming the setting when incomplete)."""
    if settings.model == EmbedderKind.ARCFACE_ONNX:
        from facesearch.embedding.arcface_onnx import resolve_spec

        return resolve_spec(settings.onnx).model_id
    return EmbedderKind(settings.model).value


def is_packaged(settings: EmbeddingSettings) -> bool:
    """Whether the selected model ships with facesearch (its calibration table too)."""
    return settings.model == EmbedderKind.DLIB_RESNET_V1


def create_embedder(settings: EmbeddingSettings, *, cache_dir: Path | None = None) -> FaceEmbedder:
    """Build (not load) the embedder that ``settings.model`` names, run by
    ``settings.runtime``; ``cache_dir`` keeps converted model files (``None``: convert in
    memory when loaded). ``arcface-onnx`` takes its file from ``settings.onnx``
    (:class:`ConfigurationError` naming the setting when incomplete)."""
    try:
        factory = EMBEDDERS[EmbedderKind(settings.model)]
    except (KeyError, ValueError) as err:
        known = ", ".join(k.value for k in EMBEDDERS)
        raise ConfigurationError(
            f"unknown embedding model {settings.model!r} (known: {known})"
        ) from err
    return factory(settings, cache_dir)
