"""SQLAlchemy 2 declarative models of the relational store (the source of truth).

ORM objects never leave :mod:`facesearch.store`; callers get the frozen records of
:mod:`facesearch.store.records`. ``migrations/versions/0001_initial.py`` (catalog) and
``0002_accounts_audit.py`` (users, API keys, audit events), ``0003_erasure.py``
(erasure requests, suppressions), ``0004_retention_grants.py`` (retention periods,
collection dates, gallery grants), ``0005_review.py`` (review judgements) and
``0006_groups.py`` (user groups, their members and grants) and ``0007_name_keys.py``
(NFC names, look-alike keys, the collisions found) mirror these tables by hand;
``tests/store/test_migrations.py`` checks that the two agree.

Timestamps are timezone-aware UTC (:class:`UTCDateTime`). Embeddings are float32
little-endian bytes (``embedding_dim`` values). Face ids and deletion sequence numbers
are BIGINT on PostgreSQL and ``INTEGER PRIMARY KEY AUTOINCREMENT`` on SQLite, so neither
database ever reuses one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID64 = BigInteger().with_variant(Integer(), "sqlite")
"""BIGINT, except INTEGER on SQLite so that the column aliases the rowid and autoincrements."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    Binds must be aware (converted to UTC); naive values are refused. SQLite stores the
    UTC wall time without an offset, and results are given back as aware UTC datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC timestamp column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created_at() -> Mapped[datetime]:
    return mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )


class Gallery(Base):
    __tablename__ = "galleries"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    name_key: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    """:func:`facesearch.names.name_key` of ``name``: a new name with a taken key is refused
    (checked under the write lock). Not unique: rows that collided before migration 0007
    keep their names, and the migration reports them (``name_collisions``)."""
    description: Mapped[str] = mapped_column(
        Text, nullable=False, default="", server_default=text("''")
    )
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    source_category: Mapped[str] = mapped_column(
        String(100), nullable=False, default="unspecified", server_default=text("'unspecified'")
    )
    created_at: Mapped[datetime] = _created_at()
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Days an image is kept after its ``collected_at``; ``None``: kept until deleted."""
    mask_source_category: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    """Blind review: reviewers see its candidates without gallery name and source category
    until they have recorded their judgement (migration 0005)."""


class Subject(Base):
    __tablename__ = "subjects"
    __table_args__ = (
        UniqueConstraint("gallery_id", "label"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gallery_id: Mapped[int] = mapped_column(
        ForeignKey("galleries.id", ondelete="CASCADE"), nullable=False
    )
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    external_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = _created_at()


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("gallery_id", "sha256"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gallery_id: Mapped[int] = mapped_column(
        ForeignKey("galleries.id", ondelete="CASCADE"), nullable=False
    )
    sha256: Mapped[str] = mapped_column(CHAR(64), nullable=False)
    source_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    n_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    format: Mapped[str] = mapped_column(String(16), nullable=False)
    n_faces: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = _created_at()
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """When the operator collected the photo (the retention clock starts here); the store
    sets it to ``created_at`` when not given, and migration 0004 fills it in the same way."""


class Face(Base):
    __tablename__ = "faces"
    __table_args__ = (
        # (model_id, id) serves both "faces of a model" and keyset pagination by id.
        Index(None, "model_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(ID64, primary_key=True, autoincrement=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), nullable=False, index=True
    )
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("subjects.id", ondelete="SET NULL"), nullable=True, index=True
    )
    x1: Mapped[float] = mapped_column(Float, nullable=False)
    y1: Mapped[float] = mapped_column(Float, nullable=False)
    x2: Mapped[float] = mapped_column(Float, nullable=False)
    y2: Mapped[float] = mapped_column(Float, nullable=False)
    landmarks: Mapped[list[float]] = mapped_column(JSON, nullable=False)
    detector: Mapped[str] = mapped_column(String(32), nullable=False)
    detector_score: Mapped[float] = mapped_column(Float, nullable=False)
    interocular_px: Mapped[float] = mapped_column(Float, nullable=False)
    sharpness: Mapped[float] = mapped_column(Float, nullable=False)
    frontalness: Mapped[float] = mapped_column(Float, nullable=False)
    quality_score: Mapped[float] = mapped_column(Float, nullable=False)
    model_id: Mapped[str] = mapped_column(String(64), nullable=False)
    embedding: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    embedding_dim: Mapped[int] = mapped_column(Integer, nullable=False)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    # the loose crop any model re-embeds from (facesearch.imaging.crops): JPEG bytes and the
    # face's box in it (x1, y1, x2, y2); NULL for faces enrolled before migration 0009.
    # Deferred: loaded only when asked for. Deleted with the row (erasure, retention).
    crop: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))
    crop_box: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    # the face this row was re-embedded from by ``facesearch models migrate`` (another
    # model's row of the same face; migration 0010); NULL for a face as enrolled. Deleting
    # either row deletes the other (``_rows.delete_faces_where``). No foreign key: the
    # deletion is explicit and logged, never a silent cascade.
    source_face_id: Mapped[int | None] = mapped_column(ID64, nullable=True, index=True)


class FaceRejection(Base):
    __tablename__ = "face_rejections"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), nullable=False, index=True
    )
    x1: Mapped[float] = mapped_column(Float, nullable=False)
    y1: Mapped[float] = mapped_column(Float, nullable=False)
    x2: Mapped[float] = mapped_column(Float, nullable=False)
    y2: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    interocular_px: Mapped[float] = mapped_column(Float, nullable=False)
    sharpness: Mapped[float] = mapped_column(Float, nullable=False)
    frontalness: Mapped[float] = mapped_column(Float, nullable=False)
    quality_score: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = _created_at()


class FaceDeletion(Base):
    """One row per deleted face row, written in the deleting transaction.

    The vector index of ``model_id`` applies the rows with ``seq`` above its watermark.
    """

    __tablename__ = "face_deletions"
    __table_args__ = (
        Index(None, "model_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(ID64, primary_key=True, autoincrement=True)
    face_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    model_id: Mapped[str] = mapped_column(String(64), nullable=False)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


# --- accounts and audit (migration 0002) --------------------------------------------------
class User(Base):
    """A person or service that holds API keys. ``roles``: sorted role names (JSON list).

    Users are never deleted (audit events name them); they are disabled instead.
    """

    __tablename__ = "users"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    name_key: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    """:func:`facesearch.names.name_key` of ``name``: a new name with a taken key is refused
    (checked under the write lock). Not unique: rows that collided before migration 0007
    keep their names, and the migration reports them (``name_collisions``)."""
    roles: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    disabled: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = _created_at()


class ApiKey(Base):
    """An API key: its visible ``prefix`` and the sha256 (hex) of the whole key, never the key."""

    __tablename__ = "api_keys"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    key_hash: Mapped[str] = mapped_column(CHAR(64), nullable=False, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    label: Mapped[str] = mapped_column(
        String(200), nullable=False, default="", server_default=text("''")
    )
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditEvent(Base):
    """One entry of the hash-chained, append-only audit log (see :mod:`facesearch.store.audit`).

    ``seq`` is assigned by the appending transaction (last seq + 1, under the store's write
    lock), never by the database, so that the chain order is the seq order. ``results``:
    JSON list of ``{"face_id": int, "similarity": float}``; ``galleries``: JSON list of names;
    ``details``: JSON object of action-specific values.
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(ID64, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    actor: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    key_prefix: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    purpose: Mapped[str | None] = mapped_column(Text, nullable=True)
    case_reference: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    authorization_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    galleries: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    probe_sha256: Mapped[str | None] = mapped_column(CHAR(64), nullable=True)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    client_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(64), nullable=False)
    prev_hash: Mapped[str] = mapped_column(CHAR(64), nullable=False)
    hash: Mapped[str] = mapped_column(CHAR(64), nullable=False, unique=True)


# --- erasure and suppression (migration 0003) ---------------------------------------------
class ErasureRequest(Base):
    """A request to erase a person by their face (GDPR Art. 17 and the like).

    ``embedding`` is the requester's face (``model_id``, float32 little-endian bytes); it is
    wiped when the request is cancelled and moved to :class:`Suppression` when it is
    confirmed. The requester's photo is never stored; only the loose crop of their face
    (``crop``/``crop_box``, the 256 px JPEG of :mod:`facesearch.imaging.crops`, migration
    0010) is kept while the request is pending, to be moved to the suppression list with
    the embedding, and wiped like it. ``proposed``: JSON list of
    ``{"face_id": int, "similarity": float}`` found at ``threshold``; ``erased_face_ids``:
    JSON list of the face ids deleted on confirmation. ``status``: ``pending``,
    ``completed`` or ``cancelled``.
    """

    __tablename__ = "erasure_requests"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default=text("''"))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    model_id: Mapped[str] = mapped_column(String(64), nullable=False)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    embedding_dim: Mapped[int] = mapped_column(Integer, nullable=False)
    target_fmr: Mapped[float] = mapped_column(Float, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    proposed: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    erased_face_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    crop: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))
    crop_box: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)


class Suppression(Base):
    """An embedding that must never be enrolled nor returned by a search.

    Written when an erasure request is confirmed: the requester's embedding and those of
    the faces erased for it, each naming the request and its reference.

    ``crop``/``crop_box`` (migration 0010): the loose face crop the embedding came from
    (the requester's face from the request photo, or an erased face's kept crop; the
    256 px JPEG of :mod:`facesearch.imaging.crops`) and the face's box in it. It is kept
    for one purpose only: to re-embed the suppression under another model when a gallery
    moves to it (``facesearch models migrate``), so that a person erased under one model
    stays erased under the next. The embedding is already biometric data of the same
    sensitivity; the crop is never served by any route. NULL for suppressions confirmed
    before 0010: they cannot follow a migration. ``source_suppression_id``: the
    suppression (of another model) this one was re-embedded from.
    """

    __tablename__ = "suppressions"
    __table_args__ = (
        Index(None, "model_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("erasure_requests.id"), nullable=False, index=True
    )
    reference: Mapped[str] = mapped_column(String(200), nullable=False)
    model_id: Mapped[str] = mapped_column(String(64), nullable=False)
    embedding: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    embedding_dim: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    crop: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))
    crop_box: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    source_suppression_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


# --- gallery grants (migration 0004) ------------------------------------------------------
class GalleryGrant(Base):
    """A user's right to search one gallery (given by an administrator)."""

    __tablename__ = "gallery_grants"
    __table_args__ = (
        UniqueConstraint("user_id", "gallery_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    gallery_id: Mapped[int] = mapped_column(
        ForeignKey("galleries.id", ondelete="CASCADE"), nullable=False, index=True
    )
    granted_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()


# --- two-person review of leads (migration 0005) ------------------------------------------
class ReviewJudgement(Base):
    """A reviewer's judgement of one candidate of one search (the search's audit ``seq``).

    ``judgement``: ``possible_lead`` or ``excluded``. One per reviewer and candidate.
    """

    __tablename__ = "review_judgements"
    __table_args__ = (
        UniqueConstraint("seq", "face_id", "reviewer"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    face_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reviewer: Mapped[str] = mapped_column(String(200), nullable=False)
    judgement: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default=text("''"))
    created_at: Mapped[datetime] = _created_at()


# --- user groups and their grants (migration 0006) ----------------------------------------
class UserGroup(Base):
    """A named group of users; a grant to the group is a grant to each member."""

    __tablename__ = "user_groups"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    name_key: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    """:func:`facesearch.names.name_key` of ``name``: a new name with a taken key is refused
    (checked under the write lock). Not unique: rows that collided before migration 0007
    keep their names, and the migration reports them (``name_collisions``)."""
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class GroupMember(Base):
    """A user's membership of a group (added by an administrator)."""

    __tablename__ = "group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("user_groups.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    added_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class GroupGrant(Base):
    """A group's right to search one gallery (given by an administrator)."""

    __tablename__ = "group_grants"
    __table_args__ = (
        UniqueConstraint("group_id", "gallery_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("user_groups.id", ondelete="CASCADE"), nullable=False, index=True
    )
    gallery_id: Mapped[int] = mapped_column(
        ForeignKey("galleries.id", ondelete="CASCADE"), nullable=False, index=True
    )
    granted_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class NameCollision(Base):
    """A name migration 0007 could not make unambiguous: left as it was, reported.

    ``kind``: ``gallery``, ``user``, ``group`` or ``subject``; ``row_id`` the row's id;
    ``name`` its name as stored; ``other`` the name it collides with; ``reason``
    ``nfc`` (its NFC form is the other's name) or ``look-alike`` (same
    :func:`facesearch.names.name_key`). ``facesearch report names`` lists them.
    """

    __tablename__ = "name_collisions"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    row_id: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    other: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = _created_at()
