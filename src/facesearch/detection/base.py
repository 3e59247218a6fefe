"""The face detector contracts.

Two levels: :class:`FaceDetector` is what the pipeline calls (any image size, boxes in
that image's pixels). :class:`WindowDetector` is what a concrete detector (dlib HOG, MMOD
CNN, an ONNX model) implements: one pass over the pixels it is given, at their scale, with
the side of the smallest face it finds there (its window). The detector-agnostic
:class:`~facesearch.detection.planned.PlannedDetector` turns the second into the first by
planning scales and tiles (:func:`~facesearch.detection.planning.plan_detection`), so that
``min_face_px`` holds at every image size with every detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from facesearch.alignment.chips import ChipSpec, ChipTemplate
from facesearch.errors import ConfigurationError
from facesearch.types import BoundingBox, Detection, Keypoints5, Landmarks5


@runtime_checkable
class FaceDetector(Protocol):
    """Finds every face in an RGB image.

    ``detect(pixels)`` takes ``(h, w, 3)`` uint8 RGB and returns detections in that image's
    pixel coordinates, highest score first, each with a box, a score and 5 landmarks.
    """

    name: str

    def detect(self, pixels: NDArray[np.uint8]) -> list[Detection]: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A face found by one :class:`WindowDetector` pass, in the passed pixels' coordinates.

    ``landmarks`` is ``None`` when the detector has no landmark output of its own (dlib's
    detectors); the planner then asks :meth:`WindowDetector.landmarks` for them at full
    resolution once boxes are merged. ``keypoints``: the ArcFace-order five points where
    the detector gives them (YuNet), else ``None``.
    """

    box: BoundingBox
    score: float
    landmarks: Landmarks5 | None = None
    keypoints: Keypoints5 | None = None


@runtime_checkable
class WindowDetector(Protocol):
    """One detector pass at scale 1: what each concrete detector implements.

    ``window_px``: side in pixels of the smallest face the detector finds in the pixels it
    is given (its sliding window or smallest anchor). ``find(pixels)`` runs on ``(h, w, 3)``
    uint8 RGB exactly as given (no resizing of its own) and returns candidates in those
    pixels' coordinates, any order. ``landmarks(pixels, box)`` returns 5 landmarks (dlib's
    order) for a box of a full-resolution image; it is only called for candidates whose
    ``landmarks`` is ``None``. A detector whose candidates carry ArcFace keypoints
    declares ``gives_keypoints = True`` (read with ``getattr``, default ``False``; see
    :func:`gives_keypoints`).
    """

    name: str
    window_px: int

    def find(self, pixels: NDArray[np.uint8]) -> list[Candidate]: ...

    def landmarks(self, pixels: NDArray[np.uint8], box: BoundingBox) -> Landmarks5: ...


def gives_keypoints(detector: object) -> bool:
    """Whether ``detector`` (a :class:`FaceDetector` or :class:`WindowDetector`) gives the
    five ArcFace keypoints with every detection (its ``gives_keypoints`` attribute)."""
    return bool(getattr(detector, "gives_keypoints", False))


def require_keypoints(chip: ChipSpec, detectors: Sequence[tuple[object | None, str]]) -> None:
    """Refuse, at start-up, detectors that cannot feed ``chip``: an ArcFace chip needs the
    five ArcFace keypoints with every detection. ``detectors`` pairs each detector (``None``:
    not configured) with the setting that chose it; raises :class:`ConfigurationError`
    naming that setting for the first one without keypoints (a silent misalignment
    otherwise)."""
    if chip.template != ChipTemplate.ARCFACE:
        return
    for detector, setting in detectors:
        if detector is not None and not gives_keypoints(detector):
            name = getattr(detector, "name", type(detector).__name__)
            raise ConfigurationError(
                f"the embedding model takes an ArcFace chip, aligned on five keypoints (eyes, "
                f"nose tip, mouth corners) that detector {name!r} does not give: set {setting} "
                f"to {'yunet' if 'FALLBACK' not in setting else 'none or yunet'}"
            )
