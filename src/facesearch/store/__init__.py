"""The relational store: SQLAlchemy tables, Alembic migrations and the :class:`Store`.

The store is the source of truth; the vector index is rebuilt from it
(:meth:`Store.index_state`, :meth:`Store.iter_embeddings`, :meth:`Store.deletions_since`).
"""

from facesearch.store._audit import CUT_ACKNOWLEDGED, GENESIS_HASH, event_hash, head_problem
from facesearch.store.engine import migrate
from facesearch.store.records import (
    ApiKeyRecord,
    AuditFilter,
    AuditHook,
    AuditRecord,
    AuditResult,
    EnrolledImage,
    ErasureRecord,
    ExpiredImage,
    FaceRecord,
    GalleryRecord,
    GrantRecord,
    GroupGrantRecord,
    GroupRecord,
    ImageRecord,
    IndexState,
    JudgementAdded,
    JudgementRecord,
    KeyLookup,
    NewAuditEvent,
    NewFace,
    NewImage,
    NewRejection,
    ProposedFace,
    PurgedImages,
    SubjectRecord,
    SuppressionRecord,
    UserRecord,
)
from facesearch.store.store import Store

__all__ = [
    "CUT_ACKNOWLEDGED",
    "GENESIS_HASH",
    "ApiKeyRecord",
    "AuditFilter",
    "AuditHook",
    "AuditRecord",
    "AuditResult",
    "EnrolledImage",
    "ErasureRecord",
    "ExpiredImage",
    "FaceRecord",
    "GalleryRecord",
    "GrantRecord",
    "GroupGrantRecord",
    "GroupRecord",
    "ImageRecord",
    "IndexState",
    "JudgementAdded",
    "JudgementRecord",
    "KeyLookup",
    "NewAuditEvent",
    "NewFace",
    "NewImage",
    "NewRejection",
    "ProposedFace",
    "PurgedImages",
    "Store",
    "SubjectRecord",
    "SuppressionRecord",
    "UserRecord",
    "event_hash",
    "head_problem",
    "migrate",
]
