"""Frozen values going into and out of the store; ORM objects never leave it.

Inputs are the ``New*`` classes; outputs are the ``*Record`` classes, :class:`EnrolledImage`
and :class:`IndexState`. Coordinates are pixels of the decoded (EXIF-corrected) image,
timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from facesearch.types import BoundingBox, FaceQuality, Landmarks5


# --- inputs ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NewImage:
    """An image to enroll. ``sha256``: 64 lowercase hex digits of the uploaded bytes.

    ``captured_at``, when given, must be timezone-aware. ``format``: e.g. ``"JPEG"``.
    """

    sha256: str
    width: int
    height: int
    n_bytes: int
    format: str
    legal_basis: str
    source_uri: str | None = None
    captured_at: datetime | None = None
    collected_at: datetime | None = None
    """When the photo was collected (retention counts from it); default: the enrollment time."""


@dataclass(frozen=True, slots=True)
class NewFace:
    """A face that passed the quality gate.

    ``embedding``: ``(d,)`` float32 (stored as little-endian float32 bytes);
    ``thumbnail``: JPEG bytes; ``model_id``: the embedder that made ``embedding``;
    ``crop``: the loose crop any model can re-embed from (JPEG bytes) and ``crop_box`` the
    face's box in it (:mod:`facesearch.imaging.crops`; ``None``: none kept).
    """

    box: BoundingBox
    landmarks: Landmarks5
    detector: str
    detector_score: float
    quality: FaceQuality
    model_id: str
    embedding: NDArray[np.float32]
    thumbnail: bytes
    crop: bytes | None = None
    crop_box: BoundingBox | None = None


@dataclass(frozen=True, slots=True)
class NewRejection:
    """A detected face that failed the enrollment quality gate, and why."""

    box: BoundingBox
    reason: str
    quality: FaceQuality


# --- outputs -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GalleryRecord:
    id: int
    name: str
    description: str
    legal_basis: str
    source_category: str
    created_at: datetime
    n_subjects: int
    n_images: int
    n_faces: int
    retention_days: int | None = None
    """Days an image is kept after its collection date; ``None``: kept until deleted."""
    mask_source_category: bool = False
    """Blind review: name and source category hidden from reviewers until they judge."""


@dataclass(frozen=True, slots=True)
class SubjectRecord:
    id: int
    gallery_id: int
    gallery_name: str
    label: str
    external_reference: str | None
    n_faces: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ImageRecord:
    id: int
    gallery_id: int
    gallery_name: str
    sha256: str
    source_uri: str | None
    legal_basis: str
    captured_at: datetime | None
    width: int
    height: int
    n_bytes: int
    format: str
    n_faces: int
    created_at: datetime
    collected_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FaceRecord:
    """One stored face with its image's provenance; without embedding and thumbnail."""

    id: int
    image_id: int
    gallery_id: int
    gallery_name: str
    subject_id: int | None
    subject_label: str | None
    box: BoundingBox
    landmarks: Landmarks5
    detector: str
    detector_score: float
    quality: FaceQuality
    model_id: str
    source_uri: str | None
    legal_basis: str
    image_sha256: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EnrolledImage:
    """What ``store.catalog.add_image`` committed; ``face_ids`` in the order of the faces given."""

    image_id: int
    face_ids: list[int]
    subject_id: int | None


@dataclass(frozen=True, slots=True)
class IndexState:
    """What a vector index of one model must cover.

    ``max_face_id``: the highest face id of the model (0 if none); ``n_faces``: how many
    faces of the model exist; ``last_deletion_seq``: the highest ``face_deletions.seq`` of
    the model (0 if none).
    """

    max_face_id: int
    n_faces: int
    last_deletion_seq: int


# --- accounts ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user; ``roles`` sorted role names."""

    id: int
    name: str
    roles: tuple[str, ...]
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key without its secret: the visible ``prefix`` and its lifecycle timestamps."""

    id: int
    prefix: str
    user_id: int
    user_name: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyLookup:
    """What authentication needs: the key, the sha256 hex it must hash to, and its user."""

    key: ApiKeyRecord
    key_hash: str
    user: UserRecord


# --- audit -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AuditResult:
    """A face a search returned, with its cosine similarity to the probe face."""

    face_id: int
    similarity: float


@dataclass(frozen=True, slots=True)
class NewAuditEvent:
    """An event to append; the store assigns ``seq``, the UTC time and the chain hashes.

    ``outcome`` is ``"ok"`` or the error code of the failure (``"no_face_found"``, ...).
    ``details`` must be JSON-native (str, int, finite float, bool, None, lists, dicts).
    """

    actor: str
    action: str
    outcome: str = "ok"
    key_prefix: str | None = None
    purpose: str | None = None
    case_reference: str | None = None
    authorization_reference: str | None = None
    galleries: tuple[str, ...] = ()
    probe_sha256: str | None = None
    results: tuple[AuditResult, ...] = ()
    target: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    client_address: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An appended event: its place in the chain (``seq``, ``prev_hash``, ``hash``) and time."""

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    outcome: str
    key_prefix: str | None
    purpose: str | None
    case_reference: str | None
    authorization_reference: str | None
    galleries: tuple[str, ...]
    probe_sha256: str | None
    results: tuple[AuditResult, ...]
    target: str | None
    details: Mapping[str, Any]
    client_address: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which events ``store.audit.list_audit`` returns (all conditions must hold).

    ``before_seq``: only events with a smaller seq (keyset pagination, newest first);
    ``since``/``until``: aware datetimes, inclusive/exclusive.
    """

    actor: str | None = None
    action: str | None = None
    case_reference: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None


T = TypeVar("T")
AuditHook = Callable[[T], NewAuditEvent]
"""Builds the audit event of a write from the write's result, inside the write's transaction."""


# --- erasure and suppression -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProposedFace:
    """A face an erasure request found: its id and its cosine similarity to the requester's
    face, or, when ``via`` names a proposed face it was found through, to that face."""

    face_id: int
    similarity: float
    via: int | None = None


@dataclass(frozen=True, slots=True)
class ErasureRecord:
    """An erasure request without its embedding. ``status``: pending, completed, cancelled."""

    id: int
    reference: str
    note: str
    status: str
    model_id: str
    target_fmr: float
    threshold: float
    proposed: tuple[ProposedFace, ...]
    erased_face_ids: tuple[int, ...]
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class SuppressionRecord:
    """One suppressed embedding (without the vector): the request it came from."""

    id: int
    request_id: int
    reference: str
    model_id: str
    created_at: datetime


# --- retention and grants ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExpiredImage:
    """An image past its gallery's retention period: collected at ``collected_at``, due
    for deletion since ``expires_at`` (both aware UTC)."""

    image_id: int
    gallery_name: str
    collected_at: datetime
    expires_at: datetime
    n_faces: int


@dataclass(frozen=True, slots=True)
class PurgedImages:
    """What a retention purge deleted: images, faces (ascending ids), and counts by gallery."""

    images: tuple[ExpiredImage, ...]
    face_ids: tuple[int, ...]

    def by_gallery(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for image in self.images:
            counts = out.setdefault(image.gallery_name, {"images": 0, "faces": 0})
            counts["images"] += 1
            counts["faces"] += image.n_faces
        return out


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """A user's right to search a gallery."""

    user_name: str
    gallery_name: str
    granted_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A named group of users and the galleries granted to it (both sorted by name)."""

    name: str
    members: tuple[str, ...]
    galleries: tuple[str, ...]
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NameCollisionRecord:
    """A name migration 0007 left as it was because its NFC form or its look-alike key
    (:func:`facesearch.names.name_key`) collides with another row's (``other``).

    ``kind``: gallery, user, group or subject; ``reason``: ``nfc``, ``look-alike`` or
    ``reserved`` (``.`` or ``..``). ``resolved``: the row (``row_id``) no longer exists
    under ``name`` (deleted since, or re-created under another name)."""

    kind: str
    row_id: int
    name: str
    other: str
    reason: str
    created_at: datetime
    resolved: bool


@dataclass(frozen=True, slots=True)
class GroupGrantRecord:
    """A group's right to search a gallery (each member may search it)."""

    group_name: str
    gallery_name: str
    granted_by: str
    created_at: datetime


# --- two-person review of leads ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class JudgementRecord:
    """A reviewer's judgement (``possible_lead`` or ``excluded``) of a search's candidate."""

    seq: int
    face_id: int
    reviewer: str
    judgement: str
    note: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JudgementAdded:
    """A judgement just stored, with every judgement of that candidate (oldest first)."""

    record: JudgementRecord
    judgements: tuple[JudgementRecord, ...]
