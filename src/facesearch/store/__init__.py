"""The relational store: SQLAlchemy tables, Alembic migrations and the :class:`Store`.

The store is the source of truth; the vector index is rebuilt from it
(:meth:`Store.index_state`, :meth:`Store.iter_embeddings`, :meth:`Store.deletions_since`).
"""

from facesearch.store.engine import migrate
from facesearch.store.records import (
    EnrolledImage,
    FaceRecord,
    GalleryRecord,
    ImageRecord,
    IndexState,
    NewFace,
    NewImage,
    NewRejection,
    SubjectRecord,
)
from facesearch.store.store import Store

__all__ = [
    "EnrolledImage",
    "FaceRecord",
    "GalleryRecord",
    "ImageRecord",
    "IndexState",
    "NewFace",
    "NewImage",
    "NewRejection",
    "Store",
    "SubjectRecord",
    "migrate",
]
