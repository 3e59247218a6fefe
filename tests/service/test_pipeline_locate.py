"""``FacePipeline.locate``: the faces a person picks from, without any embedding."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.errors import ImageDecodeError
from facesearch.service import FacePipeline


def _two_people(a: Path, b: Path) -> bytes:
    pixels = np.concatenate(
        [np.asarray(Image.open(a).convert("RGB")), np.asarray(Image.open(b).convert("RGB"))],
        axis=1,
    )
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def test_locate_lists_the_faces_analyze_lists_in_the_same_order(
    real_pipeline: FacePipeline, test_images: dict[str, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _two_people(test_images["Serena_Williams"][2], test_images["Colin_Powell"][2])
    analyzed = real_pipeline.analyze(data)

    def no_embedding(*_: object) -> None:
        raise AssertionError("locate must not embed")

    monkeypatch.setattr(real_pipeline.embedder, "embed", no_embedding)
    located = real_pipeline.locate(data)
    assert (located.sha256, located.width, located.height) == (
        analyzed.sha256,
        analyzed.width,
        analyzed.height,
    )
    assert len(located.faces) == len(analyzed.faces) == 2
    for found, full in zip(located.faces, analyzed.faces, strict=True):
        assert found.detection.box == full.detection.box
        assert found.quality == full.quality
    assert not hasattr(located.faces[0], "embedding")


def test_locate_refuses_what_analyze_refuses(real_pipeline: FacePipeline) -> None:
    with pytest.raises(ImageDecodeError):
        real_pipeline.locate(b"\xff\xd8\xff\xe0 not really a jpeg")
