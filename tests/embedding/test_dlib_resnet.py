"""The real dlib ResNet embedder on aligned chips of checked-in LFW photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.alignment import align_faces
from facesearch.detection import create_detector
from facesearch.embedding import EMBEDDERS, create_embedder, l2_normalize
from facesearch.errors import ConfigurationError, InvalidInput
from facesearch.settings import DetectionSettings, EmbeddingSettings


@pytest.fixture(scope="module")
def embeddings(test_images: dict[str, list[Path]]) -> dict[str, np.ndarray]:
    detector = create_detector(DetectionSettings())
    embedder = create_embedder(EmbeddingSettings())
    out = {}
    for name, paths in test_images.items():
        rows = []
        for path in paths:
            pixels = np.asarray(Image.open(path).convert("RGB"))
            faces = detector.detect(pixels)
            face = max(faces, key=lambda d: d.box.area)
            chips = align_faces(pixels, [face], embedder.chip)
            assert chips.shape == (1, 150, 150, 3)
            rows.append(embedder.embed(chips)[0])
        out[name] = np.stack(rows)
    return out


def test_embeddings_are_unit_float32_128d(embeddings: dict[str, np.ndarray]) -> None:
    for vectors in embeddings.values():
        assert vectors.dtype == np.float32 and vectors.shape[1] == 128
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_same_person_is_more_similar_than_different_people(
    embeddings: dict[str, np.ndarray],
) -> None:
    names = sorted(embeddings)
    genuine = [
        float(a @ b)
        for n in names
        for i, a in enumerate(embeddings[n])
        for b in embeddings[n][i + 1 :]
    ]
    impostor = [
        float(a @ b)
        for i, n in enumerate(names)
        for m in names[i + 1 :]
        for a in embeddings[n]
        for b in embeddings[m]
    ]
    assert min(genuine) > max(impostor), (min(genuine), max(impostor))


def test_embedding_is_deterministic(test_images: dict[str, list[Path]]) -> None:
    embedder = create_embedder(EmbeddingSettings())
    chip = np.full((1, 150, 150, 3), 128, dtype=np.uint8)
    np.testing.assert_array_equal(embedder.embed(chip), embedder.embed(chip))


def test_wrong_chip_shape_is_refused() -> None:
    embedder = create_embedder(EmbeddingSettings())
    with pytest.raises(InvalidInput, match="expected chips"):
        embedder.embed(np.zeros((1, 100, 100, 3), dtype=np.uint8))
    assert embedder.embed(np.zeros((0, 150, 150, 3), dtype=np.uint8)).shape == (0, 128)


def test_registry() -> None:
    assert [k.value for k in EMBEDDERS] == ["dlib-resnet-v1", "arcface-onnx"]
    with pytest.raises(ConfigurationError, match="unknown embedding model"):
        create_embedder(EmbeddingSettings.model_construct(model="nope"))  # type: ignore[arg-type]


def test_l2_normalize_keeps_zero_rows() -> None:
    out = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert out.dtype == np.float32 and out.flags.c_contiguous
