"""``FacePipeline.analyze_many``: several images' chips embedded in one call, each image's
result (or error) in its place, equal to analysing the images one at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facesearch.errors import ImageDecodeError
from facesearch.service import FacePipeline
from facesearch.service.pipeline import AnalyzedImage


def test_batch_equals_one_at_a_time_and_isolates_a_bad_image(
    real_pipeline: FacePipeline,
    test_images: dict[str, list[Path]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = [test_images["Colin_Powell"][0], test_images["Serena_Williams"][1]]
    items = [paths[0].read_bytes(), b"not an image", paths[1].read_bytes()]
    singles = [real_pipeline.analyze(items[0]), real_pipeline.analyze(items[2])]
    calls: list[int] = []
    embed = real_pipeline.embedder.embed

    def counting_embed(chips: np.ndarray) -> np.ndarray:
        calls.append(len(chips))
        return embed(chips)

    monkeypatch.setattr(real_pipeline.embedder, "embed", counting_embed)
    results = real_pipeline.analyze_many(items)
    assert len(results) == 3
    assert isinstance(results[1], ImageDecodeError)
    assert calls == [len(singles[0].faces) + len(singles[1].faces)]  # one call for both images
    for batched, single in zip([results[0], results[2]], singles, strict=True):
        assert isinstance(batched, AnalyzedImage)
        assert batched.sha256 == single.sha256
        assert len(batched.faces) == len(single.faces) >= 1
        for a, b in zip(batched.faces, single.faces, strict=True):
            assert a.detection == b.detection and a.quality == b.quality
            np.testing.assert_allclose(a.embedding, b.embedding, atol=1e-5)
            assert a.thumbnail == b.thumbnail


def test_batch_without_faces_makes_no_embedder_call(
    real_pipeline: FacePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 120), (90, 90, 90)).save(out, format="PNG")

    def no_call(chips: np.ndarray) -> np.ndarray:
        raise AssertionError("embedder called without chips")

    monkeypatch.setattr(real_pipeline.embedder, "embed", no_call)
    (result,) = real_pipeline.analyze_many([out.getvalue()])
    assert isinstance(result, AnalyzedImage) and result.faces == ()


class _BlockingDetector:
    """A fake detector that finds nothing, and blocks inside until released."""

    name = "blocking"

    def __init__(self) -> None:
        import threading

        self.inside = threading.Event()
        self.release = threading.Event()

    def detect(self, pixels: np.ndarray) -> list[object]:
        self.inside.set()
        assert self.release.wait(30)
        return []


def test_analyses_beyond_the_core_count_wait_for_a_slot(
    tmp_path: Path, test_images: dict[str, list[Path]]
) -> None:
    """With ``workers=1`` one analysis holds the only slot: while it is inside the models no
    other can start (the API's worker threads queue instead of oversubscribing the cores)."""
    import threading

    from facesearch.embedding.dlib_onnx_runtime import DlibResnetOnnxEmbedder
    from facesearch.settings import Settings

    detector = _BlockingDetector()
    pipeline = FacePipeline(
        Settings(data_dir=tmp_path, workers=1),
        detector=detector,  # type: ignore[arg-type]
        embedder=DlibResnetOnnxEmbedder(),
    )
    data = test_images["Colin_Powell"][0].read_bytes()
    first = threading.Thread(target=pipeline.analyze, args=(data,))
    first.start()
    assert detector.inside.wait(30)
    assert not pipeline._slots.acquire(blocking=False)  # the one slot is taken
    detector.release.set()
    first.join(30)
    assert pipeline._slots.acquire(blocking=False)  # and given back
    pipeline._slots.release()
