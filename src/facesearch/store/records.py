"""Frozen values going into and out of the store; ORM objects never leave it.

Inputs are the ``New*`` classes; outputs are the ``*Record`` classes, :class:`EnrolledImage`
and :class:`IndexState`. Coordinates are pixels of the decoded (EXIF-corrected) image,
timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True, slots=True)
class NewFace:
    """A face that passed the quality gate.

    ``embedding``: ``(d,)`` float32 (stored as little-endian float32 bytes);
    ``thumbnail``: JPEG bytes; ``model_id``: the embedder that made ``embedding``.
    """

    box: BoundingBox
    landmarks: Landmarks5
    detector: str
    detector_score: float
    quality: FaceQuality
    model_id: str
    embedding: NDArray[np.float32]
    thumbnail: bytes


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
    """What :meth:`Store.add_image` committed; ``face_ids`` in the order of the faces given."""

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
