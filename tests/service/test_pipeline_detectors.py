"""Which detectors the pipeline builds, and with what settings."""

from __future__ import annotations

from typing import Any

import pytest

from facesearch.service import pipeline as pipeline_module
from facesearch.service.pipeline import FacePipeline
from facesearch.settings import DetectionSettings, DetectorKind, Settings


def _built_with_budgets(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> list[tuple[DetectionSettings, int | None]]:
    built: list[tuple[DetectionSettings, int | None]] = []

    def record(detection: DetectionSettings, *, max_pixels: int | None = None) -> Any:
        built.append((detection, max_pixels))
        return object()

    monkeypatch.setattr(pipeline_module, "create_detector", record)
    FacePipeline(settings)
    return built


def _built(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> list[DetectionSettings]:
    return [detection for detection, _ in _built_with_budgets(monkeypatch, settings)]


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


def test_only_the_fallback_gets_a_pixel_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """min_face_px holds at every size for the first detector; the CNN fallback on a large
    photo is bounded by detection.fallback_max_pixels (3 to 5 minutes on 24 MP without)."""
    (_, primary), (_, fallback) = _built_with_budgets(monkeypatch, Settings())
    assert primary is None and fallback == Settings().detection.fallback_max_pixels == 2_000_000
    unbounded = Settings(detection=DetectionSettings(fallback_max_pixels=None))
    assert [b for _, b in _built_with_budgets(monkeypatch, unbounded)] == [None, None]
