"""The facesearch command, driven through its entry point with real models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from facesearch.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_dir(tmp_path: Path) -> str:
    return str(tmp_path / "data")


@pytest.fixture
def photos(tmp_path: Path, test_images: dict[str, list[Path]]) -> Path:
    """Subject-per-folder layout: first two photos of each identity."""
    root = tmp_path / "photos"
    for name, paths in test_images.items():
        (root / name).mkdir(parents=True)
        for path in paths[:2]:
            shutil.copy(path, root / name / path.name)
    return root


def test_enroll_search_verify_round_trip(
    capsys: pytest.CaptureFixture[str],
    data_dir: str,
    photos: Path,
    test_images: dict[str, list[Path]],
) -> None:
    d = ["--data-dir", data_dir]
    assert run(capsys, *d, "gallery", "create", "press", "--legal-basis", "archive")[0] == 0
    code, out, _ = run(
        capsys,
        *d,
        "enroll",
        str(photos),
        "--gallery",
        "press",
        "--subject-from-folder",
        "--workers",
        "1",
        "--json",
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["images"] == 8 and summary["faces"] == 8 and summary["errors"] == []

    code, out, _ = run(capsys, *d, "gallery", "list", "--json")
    assert json.loads(out)[0]["n_faces"] == 8

    probe = str(test_images["Gloria_Macapagal_Arroyo"][2])
    code, out, _ = run(capsys, *d, "search", probe, "--k", "3", "--threshold", "0", "--json")
    assert code == 0
    result = json.loads(out)
    top = result["faces"][0]["candidates"][0]
    assert top["subject"] == "Gloria_Macapagal_Arroyo" and top["rank"] == 1
    assert len(result["faces"][0]["candidates"]) == 3

    code, out, _ = run(capsys, *d, "search", probe)
    assert code == 0 and "investigative leads" in out

    same = [str(p) for p in test_images["Colin_Powell"][:2]]
    code, out, _ = run(capsys, *d, "verify", *same, "--json")
    assert code == 0 and json.loads(out)["above_threshold"] is True

    code, out, _ = run(capsys, *d, "subjects", "list", "--json")
    assert len(json.loads(out)) == 4

    code, out, _ = run(capsys, *d, "faces", "list", "--subject", "Colin_Powell", "--json")
    ids = [f["id"] for f in json.loads(out)]
    assert len(ids) == 2
    assert run(capsys, *d, "faces", "delete", str(ids[0]))[0] == 0

    code, out, _ = run(capsys, *d, "index", "status", "--json")
    status = json.loads(out)
    assert status["in_sync"] and status["status"]["n_index"] == 7

    # resumable: a second run skips everything already enrolled
    code, out, _ = run(
        capsys, *d, "enroll", str(photos), "--gallery", "press", "--subject-from-folder", "--json"
    )
    assert json.loads(out)["skipped_existing"] == 8

    assert run(capsys, *d, "index", "rebuild")[0] == 0
    assert run(capsys, *d, "gallery", "delete", "press", "--yes")[0] == 0
    code, out, _ = run(capsys, *d, "gallery", "list", "--json")
    assert json.loads(out) == []


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["search", "/no/such/file.jpg"], "no such file"),
        (["enroll", "/no/such/dir", "--gallery", "g"], "no such file or folder"),
        (["gallery", "delete", "missing", "--yes"], "missing"),
        (["faces", "delete", "12345"], "no face with id 12345"),
        (["search", "--k", "3"], "Missing argument"),
        (["frobnicate"], "No such command"),
    ],
)
def test_errors_are_one_line_without_traceback(
    capsys: pytest.CaptureFixture[str], data_dir: str, argv: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, "--data-dir", data_dir, *argv)
    assert code != 0
    assert fragment in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err + out


def test_bad_image_and_unknown_gallery(
    capsys: pytest.CaptureFixture[str],
    data_dir: str,
    tmp_path: Path,
    test_images: dict[str, list[Path]],
) -> None:
    fake = tmp_path / "notes.jpg"
    fake.write_text("not an image")
    code, _, err = run(capsys, "--data-dir", data_dir, "search", str(fake))
    assert code == 2 and "not a supported image" in err and err.count("\n") == 1
    photo = str(test_images["Colin_Powell"][0])
    code, _, err = run(capsys, "--data-dir", data_dir, "enroll", photo, "--gallery", "nope")
    assert code == 2 and "nope" in err
