"""ArcFace-style ONNX recognizers by file: the same vectors as a direct ONNX Runtime call,
the embedding size read from the model, refusals naming the setting, the model id, the
manifest, and the start-up refusal of a detector without ArcFace keypoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.alignment import align_faces
from facesearch.detection import create_detector
from facesearch.embedding import create_embedder
from facesearch.embedding.arcface_onnx import ArcfaceOnnxEmbedder, manifest_path, resolve_spec
from facesearch.errors import ConfigurationError, ModelLoadError
from facesearch.service import FacePipeline
from facesearch.settings import (
    DetectionSettings,
    EmbedderKind,
    EmbeddingSettings,
    OnnxRecognizerSettings,
    Settings,
)

from ..onnx_models import RECOGNIZERS, onnx_settings, yunet_detection


def _embedder(models_dir: Path, name: str) -> ArcfaceOnnxEmbedder:
    embedder = create_embedder(
        EmbeddingSettings(model=EmbedderKind.ARCFACE_ONNX, onnx=onnx_settings(models_dir, name))
    )
    assert isinstance(embedder, ArcfaceOnnxEmbedder)
    return embedder


@pytest.fixture
def chips(models_dir: Path, test_images: dict[str, list[Path]]) -> np.ndarray:
    """The ArcFace chip of the largest YuNet face of each checked-in photo, (12, 112, 112, 3)."""
    detector = create_detector(DetectionSettings.model_validate(yunet_detection(models_dir)))
    spec = ArcfaceOnnxEmbedder.chip
    rows = []
    for paths in test_images.values():
        for path in paths:
            pixels = np.asarray(Image.open(path).convert("RGB"))
            face = max(detector.detect(pixels), key=lambda d: d.box.area)
            rows.append(align_faces(pixels, [face], spec)[0])
    return np.stack(rows)


@pytest.mark.parametrize("name", sorted(RECOGNIZERS))
def test_embedder_equals_a_direct_onnxruntime_call(
    models_dir: Path, chips: np.ndarray, name: str
) -> None:
    """Each model's documented preprocessing (../shared/models/README.md), written out here
    independently: RGB, (x - mean) / std, NCHW float32, output L2-normalised."""
    import onnxruntime as ort

    file, _, _, mean, std, dim = RECOGNIZERS[name]
    embedder = _embedder(models_dir, name)
    assert embedder.dim == dim
    assert embedder.model_id == f"{name}-{RECOGNIZERS[name][1][:8]}"
    ours = embedder.embed(chips)
    assert ours.shape == (len(chips), dim) and ours.dtype == np.float32
    assert ours.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)

    session = ort.InferenceSession(str(models_dir / file), providers=["CPUExecutionProvider"])
    tensor = ((chips.astype(np.float32) - mean) / std).transpose(0, 3, 1, 2)
    (raw,) = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(tensor)})
    direct = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    np.testing.assert_allclose(ours, direct, atol=1e-5)


def test_same_person_is_closer_than_others(models_dir: Path, chips: np.ndarray) -> None:
    """The checked-in photos: 4 identities x 3, in folder order."""
    vectors = _embedder(models_dir, "edgeface-xs").embed(chips)
    sims = vectors @ vectors.T
    labels = np.repeat(np.arange(4), 3)
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    assert sims[same & off_diagonal].min() > sims[~same].max() + 0.2


def test_bgr_order_swaps_the_channels(models_dir: Path, chips: np.ndarray) -> None:
    rgb = _embedder(models_dir, "edgeface-xs")
    bgr = ArcfaceOnnxEmbedder(
        resolve_spec(
            OnnxRecognizerSettings.model_validate(
                {**onnx_settings(models_dir, "edgeface-xs"), "channel_order": "bgr"}
            )
        )
    )
    np.testing.assert_allclose(bgr.embed(chips[:2]), rgb.embed(chips[:2, :, :, ::-1]), atol=1e-5)


def test_wrong_checksum_is_refused_naming_the_setting(models_dir: Path) -> None:
    settings = {**onnx_settings(models_dir, "edgeface-xxs"), "sha256": "0" * 64}
    embedder = create_embedder(EmbeddingSettings(model=EmbedderKind.ARCFACE_ONNX, onnx=settings))
    with pytest.raises(ModelLoadError, match=r"EMBEDDING__ONNX__SHA256.*checksum"):
        embedder.embed(np.zeros((1, 112, 112, 3), dtype=np.uint8))


def test_missing_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    settings = OnnxRecognizerSettings(
        name="absent",
        path=tmp_path / "absent.onnx",
        sha256="0" * 64,
        channel_order="rgb",
        input_mean=127.5,
        input_std=127.5,
    )
    embedder = create_embedder(EmbeddingSettings(model=EmbedderKind.ARCFACE_ONNX, onnx=settings))
    assert embedder.model_id == "absent-00000000"  # the id needs no loading
    with pytest.raises(ModelLoadError, match=r"EMBEDDING__ONNX__PATH.*not found"):
        embedder.dim  # noqa: B018 (reading it loads the model)


def test_incomplete_settings_name_what_is_missing(tmp_path: Path) -> None:
    def build(**onnx: object) -> object:
        return create_embedder(EmbeddingSettings(model=EmbedderKind.ARCFACE_ONNX, onnx=onnx))

    with pytest.raises(ConfigurationError, match="FACESEARCH_EMBEDDING__ONNX__PATH"):
        build()
    with pytest.raises(ConfigurationError, match="FACESEARCH_EMBEDDING__ONNX__SHA256"):
        build(path=tmp_path / "m.onnx")
    with pytest.raises(
        ConfigurationError,
        match=r"ONNX__NAME, FACESEARCH_EMBEDDING__ONNX__CHANNEL_ORDER.*manifest m\.json",
    ):
        build(path=tmp_path / "m.onnx", sha256="a" * 64, input_mean=0.0, input_std=1.0)
    with pytest.raises(ValueError, match="name"):
        OnnxRecognizerSettings(name="Has Spaces/and slashes")


def test_manifest_next_to_the_file_fills_what_settings_leave_out(
    models_dir: Path, tmp_path: Path, chips: np.ndarray
) -> None:
    file, sha256, *_ = RECOGNIZERS["mobileface-v2"]
    link = tmp_path / "mobileface.onnx"
    link.symlink_to(models_dir / file)
    manifest_path(link).write_text(
        '{"name": "mf2", "channel_order": "rgb", "input_mean": 0, "input_std": 1}'
    )
    spec = resolve_spec(OnnxRecognizerSettings(path=link, sha256=sha256))
    assert (spec.name, spec.channel_order, spec.input_mean, spec.input_std) == (
        "mf2",
        "rgb",
        0.0,
        1.0,
    )
    # settings win over the manifest
    named = resolve_spec(OnnxRecognizerSettings(path=link, sha256=sha256, name="mine"))
    assert named.model_id == f"mine-{sha256[:8]}"
    embedder = ArcfaceOnnxEmbedder(spec)
    reference = _embedder(models_dir, "mobileface-v2")
    np.testing.assert_allclose(embedder.embed(chips[:3]), reference.embed(chips[:3]), atol=1e-6)
    manifest_path(link).write_text('{"name": "mf2", "channel_order": "grb"}')
    with pytest.raises(ConfigurationError, match=r"mobileface\.json"):
        resolve_spec(OnnxRecognizerSettings(path=link, sha256=sha256))


def test_nothing_defaults_to_a_model_by_file() -> None:
    settings = Settings()
    assert settings.embedding.model == EmbedderKind.DLIB_RESNET_V1
    assert settings.embedding.onnx.path is None and settings.embedding.onnx.sha256 is None


def test_a_detector_without_keypoints_is_refused_at_start_up(
    models_dir: Path, tmp_path: Path
) -> None:
    embedding = {"model": "arcface-onnx", "onnx": onnx_settings(models_dir)}
    hog = Settings(data_dir=tmp_path, workers=1, embedding=embedding)
    with pytest.raises(ConfigurationError, match="FACESEARCH_DETECTION__DETECTOR to yunet"):
        FacePipeline(hog)
    # YuNet with dlib's CNN as its fallback: the fallback's faces would have no keypoints
    cnn_fallback = Settings(
        data_dir=tmp_path,
        workers=1,
        embedding=embedding,
        detection=yunet_detection(models_dir, fallback_detector="dlib-cnn"),
    )
    with pytest.raises(ConfigurationError, match="FACESEARCH_DETECTION__FALLBACK_DETECTOR"):
        FacePipeline(cnn_fallback)
    ok = Settings(
        data_dir=tmp_path, workers=1, embedding=embedding, detection=yunet_detection(models_dir)
    )
    pipeline = FacePipeline(ok)
    assert pipeline.model_id.startswith("edgeface-xs-")
