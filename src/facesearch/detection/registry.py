"""The explicit registry of face detectors, keyed by :class:`DetectorKind`."""

from __future__ import annotations

from collections.abc import Callable

from facesearch.detection.base import FaceDetector
from facesearch.errors import ConfigurationError
from facesearch.settings import DetectionSettings, DetectorKind


def _hog(settings: DetectionSettings) -> FaceDetector:
    from facesearch.detection.dlib_hog import DlibHogDetector

    return DlibHogDetector(settings)


def _cnn(settings: DetectionSettings) -> FaceDetector:
    from facesearch.detection.dlib_cnn import DlibCnnDetector

    return DlibCnnDetector(settings)


def _yunet(settings: DetectionSettings) -> FaceDetector:
    from facesearch.detection.yunet import YunetDetector

    return YunetDetector(settings)


DETECTORS: dict[DetectorKind, Callable[[DetectionSettings], FaceDetector]] = {
    DetectorKind.DLIB_HOG: _hog,
    DetectorKind.DLIB_CNN: _cnn,
    DetectorKind.YUNET: _yunet,
}


def create_detector(settings: DetectionSettings) -> FaceDetector:
    """Build (not load) the detector that ``settings.detector`` names."""
    try:
        factory = DETECTORS[DetectorKind(settings.detector)]
    except (KeyError, ValueError) as err:
        known = ", ".join(k.value for k in DETECTORS)
        raise ConfigurationError(
            f"unknown detector {settings.detector!r} (known: {known})"
        ) from err
    return factory(settings)
