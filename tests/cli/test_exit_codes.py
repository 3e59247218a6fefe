"""Every command's exit code follows README's rule (issue 9, item 1): 0 all done, 1 a
partial failure, 2 bad input or unknown names and ids, 3 a failure of facesearch itself;
and a folder enroll names every file it did not enroll (item 2)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from facesearch import errors
from facesearch.cli import common, output
from facesearch.service import FacePipeline

from .test_cli import WHY, run

Images = dict[str, list[Path]]
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


@pytest.fixture
def d(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The data folder option, with gallery ``g`` created."""
    option = ["--data-dir", str(tmp_path / "data")]
    assert run(capsys, *option, "gallery", "create", "g", "--legal-basis", "test")[0] == 0
    return option


def _enroll(capsys: pytest.CaptureFixture[str], d: list[str], *paths: Path) -> Any:
    code, out, err = run(
        capsys, *d, "enroll", *map(str, paths), "--gallery", "g", "--workers", "1", "--json"
    )
    return code, json.loads(out), err


def test_a_partial_enrollment_exits_1_and_names_the_failed_file(
    capsys: pytest.CaptureFixture[str], d: list[str], tmp_path: Path, test_images: Images
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    good = test_images["Colin_Powell"][0]
    (folder / "good.jpg").write_bytes(good.read_bytes())
    data = test_images["Serena_Williams"][0].read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    code, summary, err = _enroll(capsys, d, folder)
    assert code == 1
    assert (summary["files"], summary["images"], len(summary["errors"])) == (2, 1, 1)
    assert f"error: {folder / 'truncated.jpg'}: corrupt or truncated image" in err
    # the table shows the same, and the same code
    code, out, err = run(capsys, *d, "enroll", str(folder), "--gallery", "g")
    assert code == 1 and "truncated.jpg" in err and "files found" in out


def test_jfif_and_jpe_in_a_folder_are_enrolled_and_a_heic_is_named(
    capsys: pytest.CaptureFixture[str],
    d: list[str],
    tmp_path: Path,
    test_images: Images,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "phone"
    folder.mkdir()
    (folder / "photo.jfif").write_bytes(test_images["Colin_Powell"][0].read_bytes())
    (folder / "photo.jpe").write_bytes(test_images["Serena_Williams"][0].read_bytes())
    (folder / "IMG_0001.HEIC").write_bytes(HEIC_HEAD)
    (folder / "notes.txt").write_text("two photos from the phone")
    (folder / ".hidden.jpg").write_bytes(test_images["Colin_Powell"][1].read_bytes())
    code, summary, err = _enroll(capsys, d, folder)
    assert (summary["files"], summary["images"], summary["faces"]) == (5, 2, 2)
    assert summary["errors"] == [
        [
            str(folder / "IMG_0001.HEIC"),
            "unsupported image format HEIC (facesearch reads JPEG, PNG, WebP, BMP, GIF, TIFF)",
        ]
    ]
    assert summary["skipped"] == [
        [str(folder / ".hidden.jpg"), "hidden file"],
        [str(folder / "notes.txt"), "not an image"],
    ]
    assert code == 1 and "IMG_0001.HEIC: unsupported image format HEIC" in err
    # the table names the skipped files and why
    monkeypatch.setattr(output.stdout, "width", 1000)  # no folded cells
    code, out, _ = run(capsys, *d, "enroll", str(folder), "--gallery", "g")
    assert code == 1 and "notes.txt" in out and "hidden file" in out
    assert "files skipped (no image)" in out


@pytest.mark.parametrize(
    "layout",
    [
        {},
        {"notes.txt": b"no photos here", ".DS_Store": b"\x00\x00\x00\x01Bud1"},
    ],
)
def test_a_folder_without_any_image_says_so_and_exits_2(
    capsys: pytest.CaptureFixture[str], d: list[str], tmp_path: Path, layout: dict[str, bytes]
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    for name, data in layout.items():
        (folder / name).write_bytes(data)
    code, summary, err = _enroll(capsys, d, folder)
    assert code == 2 and summary["images"] == 0 and len(summary["skipped"]) == len(layout)
    assert f"error: no image found in {folder}" in err


def test_every_file_failing_is_bad_input_and_exits_2(
    capsys: pytest.CaptureFixture[str], d: list[str], tmp_path: Path, test_images: Images
) -> None:
    data = test_images["Colin_Powell"][0].read_bytes()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(data[:1000])
    code, summary, err = _enroll(capsys, d, broken)
    assert code == 2 and summary["errors"] and "broken.jpg" in err


def test_every_file_failing_in_facesearch_itself_exits_3(
    capsys: pytest.CaptureFixture[str],
    d: list[str],
    test_images: Images,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_pipeline(self: FacePipeline, data: bytes) -> None:
        raise RuntimeError("the model crashed")

    monkeypatch.setattr(FacePipeline, "analyze", broken_pipeline)
    code, summary, err = _enroll(capsys, d, test_images["Colin_Powell"][0])
    assert code == 3 and summary["server_errors"] == 1 and "the model crashed" in err


def test_all_done_exits_0_and_a_rerun_of_enrolled_images_too(
    capsys: pytest.CaptureFixture[str], d: list[str], test_images: Images
) -> None:
    photo = test_images["Colin_Powell"][0]
    assert _enroll(capsys, d, photo)[0] == 0
    code, summary, _ = _enroll(capsys, d, photo)
    assert code == 0 and summary["skipped_existing"] == 1


def test_deleting_some_unknown_face_ids_is_a_partial_failure(
    capsys: pytest.CaptureFixture[str], d: list[str], test_images: Images
) -> None:
    assert _enroll(capsys, d, test_images["Colin_Powell"][0])[0] == 0
    code, out, _ = run(capsys, *d, "faces", "list", "--json")
    (face,) = [f["id"] for f in json.loads(out)]
    code, out, err = run(capsys, *d, "faces", "delete", str(face), "99999")
    assert code == 1 and f"deleted 1 face(s): {face}" in out
    assert err == "error: no face with id 99999\n"
    code, _, err = run(capsys, *d, "faces", "delete", "99998")
    assert code == 2 and err == "error: no face with id 99998\n"


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["gallery", "list"], 0),
        (["gallery", "create", "g", "--legal-basis", "again"], 2),  # already exists
        (["gallery", "delete", "nope", "--yes"], 2),
        (["subjects", "list", "--gallery", "nope"], 2),
        (["enroll", "/no/such/folder", "--gallery", "g"], 2),
        (["search", "/no/such/photo.jpg", *WHY], 2),
        (["search", "/no/such/photo.jpg"], 2),  # missing options
        (["faces", "delete", "not-a-number"], 2),
        (["retention", "set", "g"], 2),
        (["users", "update", "nobody", "--disable"], 2),
        (["erasure", "show", "5"], 2),
        (["review", "show", "5"], 2),
        (["report", "usage", "--from", "someday", "--to", "2026-01-01"], 2),
        (["verify", "/no/such/a.jpg", "/no/such/b.jpg", *WHY], 2),
        (["gallery", "blind-review", "nope"], 2),
        (["index", "status"], 0),
        (["audit", "verify"], 0),
        (["audit", "list"], 0),
        (["users", "revoke-key", "nope"], 2),
        (["grants", "add", "nobody", "g"], 2),
        (["groups", "delete", "nope"], 2),
        (["erasure", "confirm", "5", "--yes"], 2),
        (["review", "judge", "5", "5", "--judgement", "excluded"], 2),
        (["retention", "apply", "--dry-run"], 0),
        (["report", "usage", "--from", "2026-02-01", "--to", "2026-01-01"], 2),
        (["eval", "lfw", "--lfw-dir", "/no/such/lfw"], 2),
        (["calibrate", "--lfw-dir", "/no/such/lfw"], 2),
        (["frobnicate"], 2),
        ([], 2),  # no command: the help, and the code of a usage error
        (["--help"], 0),
    ],
)
def test_bad_input_and_unknown_names_exit_2(
    capsys: pytest.CaptureFixture[str], d: list[str], argv: list[str], code: int
) -> None:
    got, out, err = run(capsys, *d, *argv)
    assert got == code, (out, err)
    assert "Traceback" not in out + err


def test_a_declined_confirmation_exits_1(
    capsys: pytest.CaptureFixture[str], d: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    code, _, err = run(capsys, *d, "gallery", "delete", "g")
    assert code == 1 and err.endswith("error: aborted\n")
    assert run(capsys, *d, "gallery", "list", "--json")[1].count('"name": "g"') == 1


@pytest.mark.parametrize(
    "error", [e for e in errors.ALL_ERRORS if e.http_status >= 500], ids=lambda e: e.__name__
)
def test_server_side_errors_exit_3(
    capsys: pytest.CaptureFixture[str],
    d: list[str],
    monkeypatch: pytest.MonkeyPatch,
    error: type[errors.FaceSearchError],
) -> None:
    def failing(custom: object = None) -> None:
        raise error("the store is unavailable")

    monkeypatch.setattr(common, "engine", failing)
    code, _, err = run(capsys, *d, "gallery", "list")
    assert code == 3 and err == "error: the store is unavailable\n"


def test_an_unexpected_failure_exits_3_without_a_traceback(
    capsys: pytest.CaptureFixture[str], d: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(custom: object = None) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(common, "engine", failing)
    code, _, err = run(capsys, *d, "subjects", "list")
    assert code == 3 and err == "error: unexpected RuntimeError: disk on fire\n"


def test_an_invalid_setting_exits_3_naming_it(
    capsys: pytest.CaptureFixture[str], d: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACESEARCH_WORKERS", "many")
    code, _, err = run(capsys, *d, "gallery", "list")
    assert code == 3 and err.startswith("error: invalid setting FACESEARCH_WORKERS: ")
    assert err.count("\n") == 1 and "many" not in err


def test_serve_on_a_port_in_use_exits_3(capsys: pytest.CaptureFixture[str], d: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = run(capsys, *d, "serve", "--host", "127.0.0.1", "--port", port)
    assert code == 3 and f"error: could not serve on 127.0.0.1:{port}" in err


def test_a_wrong_lfw_setting_is_a_configuration_failure_exit_3(
    capsys: pytest.CaptureFixture[str], d: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACESEARCH_LFW_DIR", "/no/such/lfw")
    code, _, err = run(capsys, *d, "eval", "lfw")
    assert code == 3 and "/no/such/lfw does not hold" in err


def test_a_model_that_fails_its_checksum_stops_a_folder_enroll_in_one_line(
    capsys: pytest.CaptureFixture[str],
    d: list[str],
    tmp_path: Path,
    test_images: Images,
    models_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by review: with YuNet's sha256 wrong, every file of the folder was analysed
    and failed, one identical error line per file, after the whole walk."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for n, path in enumerate(test_images["Colin_Powell"][:3]):
        (folder / f"{n}.jpg").write_bytes(path.read_bytes())
    monkeypatch.setenv("FACESEARCH_DETECTION__DETECTOR", "yunet")
    monkeypatch.setenv(
        "FACESEARCH_DETECTION__YUNET_MODEL_PATH", str(models_dir / "yunet_s_dynamic.onnx")
    )
    monkeypatch.setenv("FACESEARCH_DETECTION__YUNET_MODEL_SHA256", "0" * 64)
    code, out, err = run(capsys, *d, "enroll", str(folder), "--gallery", "g", "--workers", "1")
    assert code == 3, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "YUNET_MODEL_SHA256" in lines[0], err
    assert "files found" not in out


def test_models_prepare_checks_the_configured_detector_file(
    capsys: pytest.CaptureFixture[str],
    d: list[str],
    models_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by review: `models prepare` checked only the converted descriptor and exited 0
    with a YuNet file that fails its sha256."""
    monkeypatch.setenv("FACESEARCH_DETECTION__DETECTOR", "yunet")
    path = models_dir / "yunet_s_dynamic.onnx"
    monkeypatch.setenv("FACESEARCH_DETECTION__YUNET_MODEL_PATH", str(path))
    monkeypatch.setenv("FACESEARCH_DETECTION__YUNET_MODEL_SHA256", "0" * 64)
    code, _, err = run(capsys, *d, "models", "prepare")
    assert code == 3 and "YUNET_MODEL_SHA256" in err and len(err.strip().splitlines()) == 1
    good = "daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3"  # its README
    monkeypatch.setenv("FACESEARCH_DETECTION__YUNET_MODEL_SHA256", good)
    assert run(capsys, *d, "models", "prepare")[0] == 0
