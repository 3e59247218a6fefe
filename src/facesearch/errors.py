"""The one exception hierarchy of facesearch.

Every error knows its machine-readable ``code`` and the HTTP status it maps to; the
API and the CLI each render these in exactly one place. Messages are one line, safe
to show to a user (no SQL, no paths outside the user's own input, no tracebacks).
"""

from __future__ import annotations


class FaceSearchError(Exception):
    """Base class: a failure that is the caller's to understand, reported as one line."""

    code: str = "error"
    http_status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# --- bad input -------------------------------------------------------------------------
class InvalidInput(FaceSearchError):
    """A request or argument that is malformed or out of range."""

    code = "invalid_input"
    http_status = 422


class BodyTooLarge(FaceSearchError):
    """A request body larger than its operation takes (``api/uploads.py``'s cap: 1 MiB
    for a body without images); refused before it is read whole."""

    code = "body_too_large"
    http_status = 413


class SensitiveIdentifierFound(InvalidInput):
    """A stored free-text field holds what looks like a sensitive identifier.

    ``field`` names the field and ``kind`` the kind of identifier; the value itself is
    never repeated in the message.
    """

    code = "sensitive_identifier"

    def __init__(self, message: str, *, field: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.kind = kind


class ImageError(FaceSearchError):
    """Base for every problem with an uploaded image."""

    code = "image_error"
    http_status = 422


class ImageDecodeError(ImageError):
    """The bytes are not an image of a supported format, or are corrupt or truncated."""

    code = "image_decode_error"


class UnsupportedImageFormat(ImageError):
    """A real image, but of a format facesearch does not accept."""

    code = "unsupported_image_format"
    http_status = 415


class ImageTooLarge(ImageError):
    """Too many bytes or too many pixels (checked before the pixels are decoded)."""

    code = "image_too_large"
    http_status = 413


class ImageTooSmall(ImageError):
    """An image whose shorter side is below the configured minimum."""

    code = "image_too_small"


class NoFaceFound(FaceSearchError):
    """The image was decoded but holds no detectable face."""

    code = "no_face_found"
    http_status = 422


class QualityRejected(FaceSearchError):
    """Every face in the image failed the enrollment quality gate."""

    code = "quality_rejected"
    http_status = 422


class Suppressed(FaceSearchError):
    """A face on the suppression list (an erasure request) may not be enrolled."""

    code = "suppressed"
    http_status = 422


# --- state -----------------------------------------------------------------------------
class NotFound(FaceSearchError):
    """An id or name that does not exist."""

    code = "not_found"
    http_status = 404


class AlreadyExists(FaceSearchError):
    """A name or content that must be unique already exists."""

    code = "already_exists"
    http_status = 409


class Conflict(FaceSearchError):
    """The request contradicts the current state (for example a model mismatch)."""

    code = "conflict"
    http_status = 409


class UnfollowedSuppressions(Conflict):
    """A move to another model would leave suppressions behind: they keep no face crop
    (confirmed before the crops were kept), so they cannot be re-embedded and the people
    they suppress would not stay erased under the new model."""


class SuppressionListChanged(Conflict):
    """The suppression list changed between an image's check and its storing (another
    process completed an erasure); the service checks again and retries."""

    code = "suppression_list_changed"


# --- access ----------------------------------------------------------------------------
class AuthenticationRequired(FaceSearchError):
    code = "authentication_required"
    http_status = 401


class PermissionDenied(FaceSearchError):
    code = "permission_denied"
    http_status = 403


class TooManyFailures(FaceSearchError):
    """Too many failed authentications from one client address in the last minute."""

    code = "too_many_requests"
    http_status = 429


# --- configuration and engine ----------------------------------------------------------
class ConfigurationError(FaceSearchError):
    """A setting or registry key that names something that does not exist."""

    code = "configuration_error"
    http_status = 500


class ModelLoadError(FaceSearchError):
    """A model file is missing, unreadable or fails its checksum."""

    code = "model_load_error"
    http_status = 500


class IndexUnavailable(FaceSearchError):
    """The vector index is not ready (not reconciled yet, or failed to load)."""

    code = "index_unavailable"
    http_status = 503


class StoreError(FaceSearchError):
    """The relational store failed; the transaction was rolled back."""

    code = "store_error"
    http_status = 503


class AuditUnavailable(FaceSearchError):
    """The audit log cannot record an event, so the call it belongs to fails."""

    code = "audit_unavailable"
    http_status = 503


class AuditLogCut(AuditUnavailable):
    """The audit log no longer agrees with its anchor (``audit-head.json``): events were
    removed from its end or rewritten, or the anchor is missing or unreadable. Appends are
    refused until an operator acknowledges it (``facesearch audit acknowledge-cut``)."""

    code = "audit_log_cut"


ALL_ERRORS: tuple[type[FaceSearchError], ...] = (
    FaceSearchError,
    InvalidInput,
    BodyTooLarge,
    SensitiveIdentifierFound,
    ImageError,
    ImageDecodeError,
    UnsupportedImageFormat,
    ImageTooLarge,
    ImageTooSmall,
    NoFaceFound,
    QualityRejected,
    Suppressed,
    NotFound,
    AlreadyExists,
    Conflict,
    SuppressionListChanged,
    AuthenticationRequired,
    PermissionDenied,
    TooManyFailures,
    ConfigurationError,
    ModelLoadError,
    IndexUnavailable,
    StoreError,
    AuditUnavailable,
    AuditLogCut,
)
