"""The explicit registry of face detectors, keyed by :class:`DetectorKind`.

Each factory builds a :class:`WindowDetector` (one pass at scale 1); :func:`create_detector`
wraps it in the detector-agnostic :class:`PlannedDetector`, so every detector gets the same
scale and tile planning.
"""

from __future__ import annotations

from collections.abc import Callable

from facesearch.detection.base import FaceDetector, WindowDetector
from facesearch.detection.planned import PlannedDetector
from facesearch.errors import ConfigurationError
from facesearch.settings import DetectionSettings, DetectorKind


def _hog(settings: DetectionSettings) -> WindowDetector:
    from facesearch.detection.dlib_hog import DlibHogDetector

    return DlibHogDetector(settings)


def _cnn(settings: DetectionSettings) -> WindowDetector:
    from facesearch.detection.dlib_cnn import DlibCnnDetector

    return DlibCnnDetector(settings)


def _yunet(settings: DetectionSettings) -> WindowDetector:
    from facesearch.detection.yunet import YunetDetector

    return YunetDetector(settings)


DETECTORS: dict[DetectorKind, Callable[[DetectionSettings], WindowDetector]] = {
    DetectorKind.DLIB_HOG: _hog,
    DetectorKind.DLIB_CNN: _cnn,
    DetectorKind.YUNET: _yunet,
}


def create_detector(settings: DetectionSettings, *, max_pixels: int | None = None) -> FaceDetector:
    """Build (not load) the detector that ``settings.detector`` names, planned for
    ``settings.min_face_px`` with passes of at most ``settings.max_detect_side`` a side,
    and at most ``max_pixels`` at its finest scale (``None``: ``min_face_px`` holds at
    every image size; see :func:`~facesearch.detection.planning.plan_detection`).

    Raises :class:`ConfigurationError` for an unknown detector name."""
    try:
        factory = DETECTORS[DetectorKind(settings.detector)]
    except (KeyError, ValueError) as err:
        known = ", ".join(k.value for k in DETECTORS)
        raise ConfigurationError(
            f"unknown detector {settings.detector!r} (known: {known})"
        ) from err
    return PlannedDetector(
        factory(settings),
        min_face_px=settings.min_face_px,
        tile_side=settings.max_detect_side,
        max_pixels=max_pixels,
    )
