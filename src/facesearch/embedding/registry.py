"""The explicit registry of face embedders, keyed by :class:`EmbedderKind` (= model id)."""

from __future__ import annotations

from collections.abc import Callable

from facesearch.embedding.base import FaceEmbedder
from facesearch.errors import ConfigurationError
from facesearch.settings import EmbedderKind, EmbeddingSettings


def _dlib_resnet(settings: EmbeddingSettings) -> FaceEmbedder:
    from facesearch.embedding.dlib_resnet import DlibResnetEmbedder

    return DlibResnetEmbedder(jitters=settings.jitters)


EMBEDDERS: dict[EmbedderKind, Callable[[EmbeddingSettings], FaceEmbedder]] = {
    EmbedderKind.DLIB_RESNET_V1: _dlib_resnet,
}


def create_embedder(settings: EmbeddingSettings) -> FaceEmbedder:
    """Build (not load) the embedder that ``settings.model`` names."""
    try:
        factory = EMBEDDERS[EmbedderKind(settings.model)]
    except (KeyError, ValueError) as err:
        known = ", ".join(k.value for k in EMBEDDERS)
        raise ConfigurationError(
            f"unknown embedding model {settings.model!r} (known: {known})"
        ) from err
    return factory(settings)
