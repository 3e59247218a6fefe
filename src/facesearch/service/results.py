"""Value objects the service returns: enrollment outcomes, candidates, verification."""

from __future__ import annotations

from dataclasses import dataclass, field

from facesearch.types import BoundingBox, FaceQuality


@dataclass(frozen=True, slots=True)
class RejectedFace:
    """A face that failed the enrollment quality gate, with why."""

    box: BoundingBox
    quality: FaceQuality
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EnrollResult:
    """Outcome of enrolling one image. ``face_ids`` are the new faces (vector ids)."""

    image_id: int
    sha256: str
    gallery: str
    subject: str | None
    face_ids: tuple[int, ...]
    rejected: tuple[RejectedFace, ...]


@dataclass(slots=True)
class EnrollSummary:
    """Outcome of enrolling many files.

    ``files``: every file found (named, or met in a folder walk). ``skipped``: ``(path,
    reason)`` of the files (and hidden folders) a folder walk passed over as no image
    (hidden, not an image by content, empty, not a regular file). ``errors``: ``(path,
    message)`` of every file that could not be enrolled (unreadable, an image format
    facesearch does not read such as HEIC, corrupt or truncated, too large, refused);
    ``server_errors`` of them failed in facesearch itself rather than in the file.
    """

    files: int = 0
    images: int = 0
    faces: int = 0
    skipped_existing: int = 0
    images_without_faces: int = 0
    faces_rejected: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    server_errors: int = 0
    seconds: float = 0.0

    @property
    def processed(self) -> int:
        """Images that reached an outcome: enrolled, already enrolled, or without a face."""
        return self.images + self.skipped_existing + self.images_without_faces


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked candidate: an investigative lead, never an identification.

    ``similarity`` is the cosine similarity of the probe and this face (model ``model_id``).
    """

    rank: int
    face_id: int
    similarity: float
    gallery: str
    subject: str | None
    image_id: int
    source_uri: str | None
    legal_basis: str
    box: BoundingBox
    quality: FaceQuality
    fmr: float = 1.0
    """Estimated false-match rate at this similarity: the share of comparisons of two
    different people that score at least this high (from the calibration table)."""
    expected_false_candidates: float = 0.0
    """Expected number of faces of other people at or above this similarity in a search
    of this gallery size (``fmr * gallery_size``)."""
    fpir: float = 1.0
    """Chance that a search of this gallery size turns up any other person at or above
    this similarity (``1 - (1 - fmr) ** gallery_size``)."""


@dataclass(frozen=True, slots=True)
class ProbeFace:
    """One face found in the probe, with its candidates (best first)."""

    box: BoundingBox
    detector_score: float
    quality: FaceQuality
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A search: which probe, against which galleries and how many faces, at what threshold."""

    probe_sha256: str
    model_id: str
    k: int
    threshold: float
    galleries: tuple[str, ...]
    gallery_size: int
    faces: tuple[ProbeFace, ...]
    audit_seq: int | None = None
    """Seq of the audit event that recorded this search (set once it is committed)."""
    threshold_fmr: float = 1.0
    """Estimated false-match rate at the threshold."""
    threshold_fpir: float = 1.0
    """Chance that a search of this many faces returns any false candidate at the threshold."""
    calibration: str = ""
    """Where the FMR estimates come from (dataset, split, number of impostor pairs)."""


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """1:1 comparison of the largest face of two images."""

    similarity: float
    threshold: float
    above_threshold: bool
    model_id: str
    fmr: float
    """Estimated false-match rate at this similarity."""
    threshold_fmr: float
    """The false-match rate the verify threshold is set to."""
    face_a: ProbeFace
    face_b: ProbeFace
    audit_seq: int | None = None
    """Seq of the audit event that recorded this comparison."""
