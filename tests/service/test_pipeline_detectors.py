"""Which detectors the pipeline builds, and with what settings."""

from __future__ import annotations

from typing import Any

import pytest

from facesearch.service import pipeline as pipeline_module
from facesearch.service.pipeline import FacePipeline
from facesearch.settings import DetectionSettings, DetectorKind, Settings


def _built(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> list[DetectionSettings]:
    built: list[DetectionSettings] = []

    def record(detection: DetectionSettings) -> Any:
        built.append(detection)
        return object()

    monkeypatch.setattr(pipeline_module, "create_detector", record)
    FacePipeline(settings)
    return built


def test_fallback_looks_for_faces_of_its_own_minimum_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CNN fallback is not upsampled to HOG's small-face size: that costs it ~4x."""
    settings = Settings(detection=DetectionSettings(min_face_px=40, fallback_min_face_px=90))
    primary, fallback = _built(monkeypatch, settings)
    assert (primary.detector, primary.min_face_px) == (DetectorKind.DLIB_HOG, 40)
    assert (fallback.detector, fallback.min_face_px) == (DetectorKind.DLIB_CNN, 90)
    assert fallback.max_detect_side == settings.detection.max_detect_side


def test_no_fallback_when_disabled_or_the_same_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    off = Settings(detection=DetectionSettings(fallback_detector=None))
    assert len(_built(monkeypatch, off)) == 1
    same = Settings(
        detection=DetectionSettings(
            detector=DetectorKind.DLIB_CNN, fallback_detector=DetectorKind.DLIB_CNN
        )
    )
    assert len(_built(monkeypatch, same)) == 1
