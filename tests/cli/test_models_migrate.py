"""`facesearch models migrate` and `models drop` through the command line, with real
models: dlib on YuNet boxes moved to EdgeFace-XS (FACESEARCH_MODELS_DIR) given by its
model spec (docs/models/edgeface-xs.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from facesearch.cli.main import main
from facesearch.service import FaceSearch
from facesearch.settings import Settings
from facesearch.store.tables import Suppression

from ..onnx_models import RECOGNIZERS, YUNET_FILE, YUNET_SHA256
from ..service.helpers import CURATOR

SPEC = Path(__file__).resolve().parents[2] / "docs" / "models" / "edgeface-xs.json"
EDGE = f"edgeface-xs-{RECOGNIZERS['edgeface-xs'][1][:8]}"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_models_migrate_and_drop(
    models_dir: Path,
    tmp_path: Path,
    test_images: dict[str, list[Path]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    for name, value in {
        "DATA_DIR": str(data),
        "WORKERS": "1",
        "DETECTION__DETECTOR": "yunet",
        "DETECTION__FALLBACK_DETECTOR": "none",
        "DETECTION__YUNET_MODEL_PATH": str(models_dir / YUNET_FILE),
        "DETECTION__YUNET_MODEL_SHA256": YUNET_SHA256,
    }.items():
        monkeypatch.setenv(f"FACESEARCH_{name}", value)
    colin = test_images["Colin_Powell"]
    with FaceSearch(Settings()) as fs:
        fs.create_gallery("g", legal_basis="test", context=CURATOR)
        erased = fs.enroll(colin[0].read_bytes(), gallery="g", context=CURATOR).face_ids[0]
        for photo in test_images["Serena_Williams"][:2]:
            fs.enroll(photo.read_bytes(), gallery="g", context=CURATOR)
        view = fs.request_erasure(colin[1].read_bytes(), reference="ER-3", context=CURATOR)
        fs.confirm_erasure(view.request.id, face_ids=[erased], context=CURATOR)
        with fs.store.engine.begin() as conn:  # one suppression as confirmed before 0010
            first = conn.execute(select(func.min(Suppression.id))).scalar_one()
            conn.execute(update(Suppression).where(Suppression.id == first).values(crop=None))
    migrate = ["models", "migrate", "--to", str(SPEC), "--models-dir", str(models_dir)]

    code, out, err = _run(migrate, capsys)
    assert code == 2 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "ER-3" in err and "1 suppression" in err

    code, out, err = _run([*migrate, "--allow-unfollowed-suppressions", "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert (report["target"], report["migrated"], report["suppressions"]) == (EDGE, 2, 1)
    assert report["unfollowed_references"] == ["ER-3"]

    code, out, err = _run(["models", "list", "--json"], capsys)
    listed = {r["model_id"]: r for r in json.loads(out)}
    assert listed[EDGE]["faces"] == 2 and listed[EDGE]["calibration"] == "missing"

    code, out, err = _run(["models", "drop", "dlib-resnet-v1"], capsys)
    assert code == 2 and "active model" in err
    code, out, err = _run(["models", "drop", EDGE, "--json"], capsys)  # undo the move
    assert code == 0 and json.loads(out) == {"model_id": EDGE, "faces_deleted": 2}
