"""`facesearch calibrate` for a model by file: the table lands in the data folder, where
the service finds it, under the model's own id (a small LFW View 1 slice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.calibration import data_table_path, load_calibration
from facesearch.cli.main import main
from facesearch.settings import Settings

from ..onnx_models import RECOGNIZERS, YUNET_FILE, YUNET_SHA256


@pytest.mark.lfw
@pytest.mark.slow
def test_calibrate_writes_the_data_folder_table_of_a_model_by_file(
    lfw_root: Path,
    models_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    file, sha256, *_ = RECOGNIZERS["edgeface-xxs"]
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "DETECTION__DETECTOR": "yunet",
        "DETECTION__FALLBACK_DETECTOR": "none",
        "DETECTION__YUNET_MODEL_PATH": str(models_dir / YUNET_FILE),
        "DETECTION__YUNET_MODEL_SHA256": YUNET_SHA256,
        "EMBEDDING__MODEL": "arcface-onnx",
        "EMBEDDING__ONNX__NAME": "edgeface-xxs",
        "EMBEDDING__ONNX__PATH": str(models_dir / file),
        "EMBEDDING__ONNX__SHA256": sha256,
        "EMBEDDING__ONNX__CHANNEL_ORDER": "rgb",
        "EMBEDDING__ONNX__INPUT_MEAN": "127.5",
        "EMBEDDING__ONNX__INPUT_STD": "127.5",
    }
    for name, value in env.items():
        monkeypatch.setenv(f"FACESEARCH_{name}", value)
    argv = ["calibrate", "--lfw-dir", str(lfw_root), "--cache-dir", str(tmp_path / "cache")]
    argv += ["--workers", "1", "--max-identities", "30", "--report-dir", str(tmp_path / "cal")]
    try:
        main(argv)
    except SystemExit as exit_:
        assert not exit_.code, capsys.readouterr()
    settings = Settings()
    model_id = f"edgeface-xxs-{sha256[:8]}"
    path = data_table_path(settings.calibration_dir, model_id)
    assert path.is_file(), capsys.readouterr().out
    table = load_calibration(model_id, calibration_dir=settings.calibration_dir)
    assert table.model_id == model_id and len(table.similarities) >= 5
    recipe = table.provenance["pipeline"]
    assert recipe["model_id"] == model_id and recipe["detection"]["detector"] == "yunet"
    # ArcFace-style similarities of impostors sit near 0, not near dlib's 0.9
    assert 0.05 < table.threshold_for_fmr(0.01) < 0.6
