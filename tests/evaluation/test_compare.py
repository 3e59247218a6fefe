"""`facesearch eval compare`: model tokens and specs, the verification curve against exact
counts, the same-detections check, and the command end to end on a small LFW slice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facesearch.cli.main import main
from facesearch.errors import ConfigurationError, InvalidInput
from facesearch.evaluation.calibrate import impostor_scores
from facesearch.evaluation.compare import (
    check_models,
    model_from_token,
    same_detections,
    verification_curve,
)
from facesearch.settings import Settings

from ..onnx_models import RECOGNIZERS, yunet_detection

DOCS_MODELS = Path(__file__).parents[2] / "docs" / "models"


def _base(models_dir: Path, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, workers=1, detection=yunet_detection(models_dir))


def test_the_shipped_specs_match_the_models_readme() -> None:
    for name, (file, sha256, order, mean, std, _) in RECOGNIZERS.items():
        spec = json.loads((DOCS_MODELS / f"{name}.json").read_text())
        assert spec == {
            "name": name,
            "path": file,
            "sha256": sha256,
            "channel_order": order,
            "input_mean": mean,
            "input_std": std,
        }


def test_tokens_name_the_packaged_model_or_a_spec(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    base = _base(models_dir, tmp_path)
    dlib = model_from_token("dlib-resnet-v1", base, None)
    assert (dlib.label, dlib.model_id) == ("dlib-resnet-v1", "dlib-resnet-v1")
    assert dlib.settings.detection == base.detection  # the same detector for every model
    spec = model_from_token(str(DOCS_MODELS / "edgeface-xs.json"), base, models_dir)
    assert spec.label == "edgeface-xs" and spec.model_id == "edgeface-xs-e0e6caf2"
    assert spec.settings.embedding.onnx.path == (models_dir / RECOGNIZERS["edgeface-xs"][0])
    # without --models-dir a relative path is the spec's folder's
    beside = model_from_token(str(DOCS_MODELS / "mobileface-v2.json"), base, None)
    assert beside.settings.embedding.onnx.path == (DOCS_MODELS / "mobileface_V2.onnx").resolve()
    with pytest.raises(InvalidInput, match="dlib-resnet-v1 or a model spec"):
        model_from_token("edgeface", base, None)
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "path": "x.onnx", "channel_order": "cmyk"}')
    with pytest.raises(InvalidInput, match=r"bad\.json"):
        model_from_token(str(bad), base, None)
    with pytest.raises(InvalidInput, match="twice"):
        check_models([dlib, dlib])


def test_a_detector_without_keypoints_is_refused_before_any_work(tmp_path: Path) -> None:
    hog = Settings(data_dir=tmp_path, workers=1)
    edgeface = model_from_token(str(DOCS_MODELS / "edgeface-xs.json"), hog, tmp_path)
    with pytest.raises(ConfigurationError, match=r"edgeface-xs: .*DETECTION__DETECTOR"):
        check_models([edgeface])


def test_verification_curve_matches_exact_counts() -> None:
    rng = np.random.default_rng(3)
    idents = [f"p{i // 3}" for i in range(90)]
    centres = rng.normal(size=(30, 16))
    vectors = centres[np.arange(90) // 3] + 0.8 * rng.normal(size=(90, 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    curve = verification_curve(vectors, idents, block=7)
    impostors = impostor_scores(vectors, idents).astype(np.float64)
    assert curve.impostor_pairs == impostors.size == 90 * 89 // 2 - 30 * 3
    assert curve.genuine.size == 30 * 3
    for t in (-0.2, 0.0, 0.3, 0.6):
        i = int(np.searchsorted(curve.thresholds, t))
        edge = curve.thresholds[i]
        assert curve.fmr[i] == pytest.approx(np.mean(impostors >= edge - 1e-9), abs=1e-3)
        assert curve.fnmr[i] == pytest.approx(np.mean(curve.genuine < edge))
    assert np.all(np.diff(curve.fmr) <= 0) and np.all(np.diff(curve.fnmr) >= 0)


def test_same_detections_counts_moved_boxes() -> None:
    a = np.zeros((4, 4), dtype=np.float32)
    b = a.copy()
    b[2, 1] = 3.0
    assert same_detections({"a": a, "b": b, "c": a + 0.1}) == {"a": 0, "b": 1, "c": 0}


@pytest.mark.lfw
@pytest.mark.slow
def test_compare_on_a_slice(
    lfw_root: Path,
    models_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in yunet_detection(models_dir).items():
        monkeypatch.setenv(f"FACESEARCH_DETECTION__{name.upper()}", str(value or "none"))
    monkeypatch.setenv("FACESEARCH_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "compare"
    argv = ["eval", "compare", "dlib-resnet-v1", str(DOCS_MODELS / "edgeface-xxs.json")]
    argv += ["--models-dir", str(models_dir), "--lfw-dir", str(lfw_root), "--out", str(out)]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--workers", "1", "--max-identities", "30"]
    argv += ["--pairs-per-fold", "4", "--bootstraps", "200", "--max-probes-per-identity", "2"]
    try:
        main(argv)
    except SystemExit as exit_:
        assert not exit_.code, capsys.readouterr()
    summary = json.loads((out / "compare.json").read_text())
    rows = {r["label"]: r for r in summary["models"]}
    assert set(rows) == {"dlib-resnet-v1", "edgeface-xxs"}
    assert rows["dlib-resnet-v1"]["dim"] == 128 and rows["edgeface-xxs"]["dim"] == 512
    for r in rows.values():
        assert r["view2"]["pairs"] == 40 and 0.8 <= r["view2"]["accuracy"] <= 1.0
        assert r["identification"]["nonmated_probes"] > 0
        assert set(r["all_lfw"]["tar_at_fmr"]) == {"0.001", "0.0001"}
    # one detector output for both models
    assert set(summary["same_detections"]["boxes_differing_from_first_model"].values()) == {0}
    report = (out / "report.md").read_text()
    assert "| LFW View 2 accuracy" in report and "edgeface-xxs-4d0e0949" in report
    for name in ("det_verification.png", "det_identification.png", "fmr_by_sex.png"):
        assert (out / name).stat().st_size > 0
    for r in rows.values():
        folder = out / r["model_id"]
        assert (folder / "calibration.json").is_file()
        assert (folder / "lfw" / "report.md").is_file()
        assert (folder / "demographics" / "report.md").is_file()
        assert (folder / "identification" / "report.md").is_file()
