"""Input checks of the store, so that SQLite and PostgreSQL refuse the same things.

Every failure is :class:`facesearch.errors.InvalidInput` with a one-line message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, exists, or_
from sqlalchemy.orm import InstrumentedAttribute, aliased

from facesearch.errors import InvalidInput
from facesearch.names import RESERVED, nfc
from facesearch.store.records import NewFace, NewImage, NewRejection
from facesearch.types import FaceQuality

_SHA256 = re.compile(r"[0-9a-f]{64}")


def text(field: str, value: object, max_len: int | None = None) -> str:
    """``value`` if it is a non-blank string of at most ``max_len`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string")
    if max_len is not None and len(value) > max_len:
        raise InvalidInput(f"{field} is longer than {max_len} characters")
    return value


NAME_MAX_LEN = 200
"""Longest name (gallery, user, subject label), in characters."""

_NAME_FORBIDDEN = frozenset("/?#%\\")
"""Characters a name may not hold: each would change the path of the URL that addresses it."""


def name(field: str, value: object, max_len: int = NAME_MAX_LEN) -> str:
    """``value`` in Unicode NFC if it can name a gallery, user, group or subject in a URL
    path segment.

    A non-blank string of at most ``max_len`` characters (after NFC), printable (no
    control or line-breaking characters), without leading or trailing whitespace, without
    any of ``/ ? # % \\``, and neither ``.`` nor ``..`` (which clients resolve away in a
    path). Callers store the returned, normalised form (:mod:`facesearch.names`).
    """
    if isinstance(value, str):
        value = nfc(value)
    value = text(field, value, max_len)
    if value in RESERVED:
        raise InvalidInput(f"{field} must not be . or .. (a URL path cannot address them)")
    if value != value.strip():
        raise InvalidInput(f"{field} must not start or end with whitespace")
    if not value.isprintable():
        raise InvalidInput(f"{field} must not hold control or line-breaking characters")
    bad = sorted(_NAME_FORBIDDEN.intersection(value))
    if bad:
        raise InvalidInput(f"{field} must not hold any of {' '.join(bad)} (they break its URL)")
    return value


def named(column: InstrumentedAttribute[str], value: str, *scope: Any) -> ColumnElement[bool]:
    """The condition that selects the row named ``value`` in ``column``: the row whose
    stored name is ``value`` exactly, else the row whose stored name is ``value`` in NFC.

    Every name is stored in NFC (:func:`name`), so NFD input (a macOS folder name) finds
    its NFC row; but migration 0007 left a row whose NFC form was taken under its old
    name, and a lookup must never land on another row than the one named. ``scope``:
    columns of ``column``'s table that bound uniqueness (a subject's ``gallery_id``); the
    exact name shadows the NFC one only within the same scope.
    """
    if not isinstance(value, str):
        return column == value
    composed = nfc(value)
    if composed == value:
        return column == value
    other = aliased(column.class_)
    same_scope = [getattr(other, c.key) == c for c in scope]
    shadowed = exists().where(getattr(other, column.key) == value, *same_scope)
    return or_(column == value, and_(column == composed, ~shadowed))


def optional_name(field: str, value: object, max_len: int = NAME_MAX_LEN) -> str | None:
    return None if value is None else name(field, value, max_len)


def optional_text(field: str, value: object, max_len: int | None = None) -> str | None:
    return None if value is None else text(field, value, max_len)


def _aware(field: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidInput(f"{field} must be a timezone-aware datetime")


def _non_negative_int(field: str, value: object) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"{field} must be a non-negative integer")


def _finite(field: str, *values: float) -> None:
    try:
        finite = all(math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        finite = False
    if not finite:
        raise InvalidInput(f"{field} must be finite numbers")


def _quality(quality: FaceQuality) -> None:
    # SQLite would store NaN as NULL; refuse it on every backend.
    _finite(
        "quality", quality.interocular_px, quality.sharpness, quality.frontalness, quality.score
    )


def image(new: NewImage) -> None:
    if not isinstance(new.sha256, str) or not _SHA256.fullmatch(new.sha256):
        raise InvalidInput("sha256 must be 64 lowercase hexadecimal digits")
    for field in ("width", "height", "n_bytes"):
        _non_negative_int(field, getattr(new, field))
    text("format", new.format, 16)
    text("legal_basis", new.legal_basis)
    optional_text("source_uri", new.source_uri)
    _aware("captured_at", new.captured_at)
    _aware("collected_at", new.collected_at)


def embedding_bytes(face: NewFace) -> tuple[bytes, int]:
    """The face's embedding as little-endian float32 bytes, and its dimension."""
    vector = np.asarray(face.embedding)
    if vector.ndim != 1 or vector.size == 0:
        raise InvalidInput(f"an embedding must be a non-empty (d,) vector, got {vector.shape}")
    if not np.issubdtype(vector.dtype, np.floating):
        raise InvalidInput(f"an embedding must be floating point, got {vector.dtype}")
    vector = vector.astype("<f4")
    if not np.all(np.isfinite(vector)):
        raise InvalidInput("an embedding holds NaN or infinite values")
    return vector.tobytes(), int(vector.size)


def faces(new_faces: Sequence[NewFace]) -> list[tuple[bytes, int]]:
    """Check every face; their embeddings as ``(bytes, dim)``, in order."""
    out = []
    for face in new_faces:
        text("model_id", face.model_id, 64)
        text("detector", face.detector, 32)
        _finite("box", *face.box.as_tuple())
        _finite("landmarks", *(c for point in face.landmarks.points for c in point))
        _finite("detector_score", face.detector_score)
        _quality(face.quality)
        if not isinstance(face.thumbnail, bytes | bytearray | memoryview):
            raise InvalidInput("thumbnail must be bytes")
        out.append(embedding_bytes(face))
    return out


def rejections(new_rejections: Sequence[NewRejection]) -> None:
    for rejection in new_rejections:
        text("reason", rejection.reason)
        _finite("box", *rejection.box.as_tuple())
        _quality(rejection.quality)


MAX_RETENTION_DAYS = 36_500
"""Longest retention period a gallery may have (100 years)."""


def retention_days(value: int | None) -> int | None:
    """A retention period in days (1 to :data:`MAX_RETENTION_DAYS`), or ``None``: keep."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("retention_days must be a whole number of days, or none")
    if not 1 <= value <= MAX_RETENTION_DAYS:
        raise InvalidInput(f"retention_days must be between 1 and {MAX_RETENTION_DAYS}, or none")
    return value
