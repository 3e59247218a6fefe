"""The evaluation commands end to end on a small LFW slice: files written, numbers sane.

About a minute of CPU: ~40 View 2 pairs, ~30 identities per View 1 split, ~40 identities
for demographics, ~16 for identification (enrolled and searched through the service).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facesearch.calibration import load_calibration
from facesearch.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, f"{argv}: exit {code}\n{out}\n{err}"
    return out


@pytest.mark.lfw
@pytest.mark.slow
def test_evaluation_commands_on_a_slice(
    lfw_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = str(tmp_path / "cache")
    common = ["--lfw-dir", str(lfw_root), "--cache-dir", cache]

    out_lfw = tmp_path / "lfw"
    _run(capsys, "eval", "lfw", *common, "--out", str(out_lfw), "--pairs-per-fold", "4")
    result = json.loads((out_lfw / "verification.json").read_text())
    assert result["pairs"]["total"] == 40
    assert 0.8 <= result["accuracy"]["mean"] <= 1.0
    assert len(result["accuracy"]["per_fold"]) == 10
    assert 0.0 <= result["roc"]["eer"] <= 0.2
    assert result["images"]["images"] == len(set(result["images"]["no_face_images"])) + sum(
        result["images"]["by_detector"].get(d, 0) for d in ("dlib-hog", "dlib-cnn")
    )
    for name in ("report.md", "roc.png", "scores.png", "folds.png"):
        assert (out_lfw / name).stat().st_size > 0
    assert "Images without a detected face" in (out_lfw / "report.md").read_text()

    table_path = tmp_path / "table.json"
    _run(
        capsys,
        "calibrate",
        *common,
        "--workers",
        "1",
        "--max-identities",
        "30",
        "--output",
        str(table_path),
        "--report-dir",
        str(tmp_path / "cal"),
    )
    table = load_calibration("dlib-resnet-v1", table_path)
    assert len(table.similarities) >= 5 and table.min_fmr < 0.01
    assert 0.3 < table.threshold_for_fmr(0.01) < 1.0
    assert (tmp_path / "cal" / "calibration.png").stat().st_size > 0

    out_demo = tmp_path / "demo"
    _run(
        capsys,
        "eval",
        "demographics",
        *common,
        "--workers",
        "1",
        "--out",
        str(out_demo),
        "--max-identities",
        "40",
        "--bootstraps",
        "200",
        "--target-fmr",
        "0.01",
    )
    demo = json.loads((out_demo / "demographics.json").read_text())
    sexes = {g["group"] for g in demo["groups"]["sex"]["0.01"]}
    assert sexes <= {"F", "M"} and sexes
    for g in demo["groups"]["sex"]["0.01"]:
        if g["fmr"] is not None:
            assert 0.0 <= g["fmr"]["low"] <= g["fmr"]["estimate"] <= g["fmr"]["high"] <= 1.0
    assert "do and do not show" in (out_demo / "report.md").read_text()
    assert (out_demo / "fmr_by_sex.png").stat().st_size > 0

    out_id = tmp_path / "ident"
    _run(
        capsys,
        "eval",
        "identification",
        "--lfw-dir",
        str(lfw_root),
        "--workers",
        "1",
        "--out",
        str(out_id),
        "--max-identities",
        "8",
        "--max-probes-per-identity",
        "2",
    )
    ident = json.loads((out_id / "identification.json").read_text())
    assert ident["design"]["mated_probes"] > 0 and ident["design"]["nonmated_probes"] >= 0
    assert ident["enrollment"]["faces"] >= 12
    assert ident["cmc"]["rank_1"] >= 0.7
    assert ident["cmc"]["rank_1"] <= ident["cmc"]["rank_5"] <= ident["cmc"]["rank_10"]
    assert ident["latency_ms"]["p50"] > 0
    for name in ("report.md", "cmc.png", "det.png"):
        assert (out_id / name).stat().st_size > 0
