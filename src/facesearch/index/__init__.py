"""Vector indexes: the :class:`VectorIndex` protocol and its backends.

Vector ids are ``faces.id`` (int64); vectors are float32 ``(n, dim)``, L2-normalised, so
scores are cosine similarities. The index is a rebuildable view of the store: its
:class:`Watermark` says what it holds, so start-up can reconcile it.
"""

from facesearch.index.base import (
    IndexCorrupt,
    IndexMissing,
    PersistentIndex,
    VectorIndex,
    Watermark,
    watermark_for,
)
from facesearch.index.faiss_index import FaissFlatIndex
from facesearch.index.registry import create_index, load_index

__all__ = [
    "FaissFlatIndex",
    "IndexCorrupt",
    "IndexMissing",
    "PersistentIndex",
    "VectorIndex",
    "Watermark",
    "create_index",
    "load_index",
    "watermark_for",
]
