"""Face embedding models behind the :class:`FaceEmbedder` protocol."""

from facesearch.embedding.base import FaceEmbedder, l2_normalize
from facesearch.embedding.registry import EMBEDDERS, create_embedder

__all__ = ["EMBEDDERS", "FaceEmbedder", "create_embedder", "l2_normalize"]
