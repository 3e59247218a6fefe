"""The facesearch command, driven through its entry point with real models."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from facesearch.auth import Role
from facesearch.cli.main import main

WHY = [
    "--purpose",
    "test of the command line",
    "--case",
    "CLI-1",
    "--authorization",
    "CLI-AUTH",
]


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
    code, out, _ = run(capsys, *d, "search", probe, *WHY, "--k", "3", "--threshold", "0", "--json")
    assert code == 0
    result = json.loads(out)
    top = result["faces"][0]["candidates"][0]
    assert top["subject"] == "Gloria_Macapagal_Arroyo" and top["rank"] == 1
    assert len(result["faces"][0]["candidates"]) == 3

    code, out, _ = run(capsys, *d, "search", probe, *WHY)
    assert code == 0 and "investigative leads" in out

    same = [str(p) for p in test_images["Colin_Powell"][:2]]
    code, out, _ = run(capsys, *d, "verify", *same, *WHY, "--json")
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
        (["search", "/no/such/file.jpg", *WHY], "no such file"),
        (["search", "/no/such/file.jpg"], "Missing option '--purpose'"),
        (["enroll", "/no/such/dir", "--gallery", "g"], "no such file or folder"),
        (["gallery", "delete", "missing", "--yes"], "missing"),
        (["faces", "delete", "12345"], "no face with id 12345"),
        (["search", "--k", "3", *WHY], "Missing argument"),
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
    code, _, err = run(capsys, "--data-dir", data_dir, "search", str(fake), *WHY)
    assert code == 2 and "not a supported image" in err and err.count("\n") == 1
    photo = str(test_images["Colin_Powell"][0])
    code, _, err = run(capsys, "--data-dir", data_dir, "enroll", photo, "--gallery", "nope")
    assert code == 2 and "nope" in err


def test_search_is_audited_and_accounts_work(
    capsys: pytest.CaptureFixture[str], data_dir: str, test_images: dict[str, list[Path]]
) -> None:
    d = ["--data-dir", data_dir]
    assert run(capsys, *d, "gallery", "create", "g", "--legal-basis", "test")[0] == 0
    photo = str(test_images["Colin_Powell"][0])
    assert run(capsys, *d, "enroll", photo, "--gallery", "g", "--subject", "CP", "--json")[0] == 0
    probe = str(test_images["Colin_Powell"][1])
    short = ["--purpose", "short", "--case", "C", "--authorization", "A"]
    code, _, err = run(capsys, *d, "search", probe, *short)
    assert code == 2 and "purpose of at least 10" in err
    assert run(capsys, *d, "search", probe, *WHY, "--json")[0] == 0

    code, out, _ = run(capsys, *d, "audit", "list", "--json")
    events = json.loads(out)
    assert [e["action"] for e in events] == ["search", "search", "enroll.batch", "enroll",
                                             "gallery.create"]  # fmt: skip
    search = events[0]
    assert search["actor"].startswith("cli:") and search["purpose"] == "test of the command line"
    assert search["case_reference"] == "CLI-1" and search["outcome"] == "ok"
    assert search["results"] and events[1]["outcome"] == "invalid_input"
    code, out, _ = run(capsys, *d, "audit", "verify")
    assert code == 0 and "intact: 5 events" in out

    code, out, _ = run(capsys, *d, "users", "create-admin", "root", "--json")
    key = json.loads(out)
    assert code == 0 and key["key"].startswith(key["prefix"] + ".")
    code, _, err = run(capsys, *d, "users", "create-admin", "again")
    assert code == 2 and "only once" in err
    assert run(capsys, *d, "users", "create", "ivy", "--role", "investigator")[0] == 0
    code, out, _ = run(capsys, *d, "users", "new-key", "ivy", "--days", "5", "--json")
    ivy_key = json.loads(out)
    code, out, _ = run(capsys, *d, "users", "keys", "--json")
    listed = json.loads(out)
    assert {k["prefix"] for k in listed} == {key["prefix"], ivy_key["prefix"]}
    assert key["key"] not in out and ivy_key["key"] not in out
    assert run(capsys, *d, "users", "revoke-key", ivy_key["prefix"])[0] == 0
    code, out, _ = run(capsys, *d, "users", "list", "--json")
    assert [(u["name"], u["roles"]) for u in json.loads(out)] == [
        ("ivy", ["investigator"]),
        ("root", ["admin"]),
    ]


def test_audit_verify_names_the_first_broken_event_and_exits_1(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    d = ["--data-dir", data_dir]
    for name in ("a", "b", "c"):
        assert run(capsys, *d, "gallery", "create", name, "--legal-basis", "test")[0] == 0
    assert run(capsys, *d, "audit", "verify")[0] == 0
    db = sqlite3.connect(Path(data_dir) / "facesearch.db")
    with db:  # an edit made behind the application's back
        db.execute("UPDATE audit_events SET actor = 'someone else' WHERE seq = 2")
    db.close()
    code, out, err = run(capsys, *d, "audit", "verify")
    assert code == 1
    assert "broken at event 2" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


@pytest.mark.parametrize("command", ["create", "update"])
def test_users_role_help_names_every_role(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, "users", command, "--help")
    assert code == 0
    words = set(out.replace(",", " ").split())
    assert {role.value for role in Role} <= words


def _delete_newest_event(data_dir: str) -> None:
    db = sqlite3.connect(Path(data_dir) / "facesearch.db")
    with db:  # behind the application's back
        db.execute("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
    db.close()


def test_a_cut_audit_log_does_not_heal(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    d = ["--data-dir", data_dir]
    for name in ("a", "b", "c"):
        assert run(capsys, *d, "gallery", "create", name, "--legal-basis", "test")[0] == 0
    _delete_newest_event(data_dir)  # the event of gallery c
    code, _, err = run(capsys, *d, "audit", "verify")
    assert code == 1 and "broken at event 3" in err
    # two ordinary operations are refused: no seq is reused, the anchor does not move
    for name in ("d", "e"):
        code, out, err = run(capsys, *d, "gallery", "create", name, "--legal-basis", "test")
        assert code == 3 and "audit log is cut" in err and "acknowledge-cut" in err
        assert "Traceback" not in out + err
    assert json.loads((Path(data_dir) / "audit-head.json").read_text())["seq"] == 3
    code, _, err = run(capsys, *d, "audit", "verify")
    assert code == 1 and "broken at event 3" in err
    for bad in ("x", ""):  # bad input: one line, exit 2, whether or not it could be audited
        code, _, err = run(capsys, *d, "audit", "acknowledge-cut", "--reason", bad)
        assert code == 2 and "reason" in err and len(err.splitlines()) == 1, err
        assert "could not be audited" in err  # the log being cut: said, never silent
    code, out, _ = run(
        capsys, *d, "audit", "acknowledge-cut", "--reason", "event deleted by hand, see OPS-7"
    )
    assert code == 0 and "event 4" in out and "events 3 to 3 are lost" in out
    code, out, _ = run(capsys, *d, "audit", "verify")
    assert code == 0 and "acknowledged" in out and "4" in out
    assert run(capsys, *d, "gallery", "create", "d", "--legal-basis", "test")[0] == 0
    code, out, _ = run(capsys, *d, "audit", "list", "--json")
    events = json.loads(out)
    assert [e["seq"] for e in events][:3] == [5, 4, 2]
    assert events[1]["action"] == "audit.cut_acknowledged"
    assert events[1]["actor"].startswith("cli:")


def test_a_log_cut_together_with_its_anchor_is_reported(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    d = ["--data-dir", data_dir]
    for name in ("a", "b"):
        assert run(capsys, *d, "gallery", "create", name, "--legal-basis", "test")[0] == 0
    _delete_newest_event(data_dir)
    (Path(data_dir) / "audit-head.json").unlink()
    code, _, err = run(capsys, *d, "audit", "verify")
    assert code == 1 and "anchor (audit-head.json) is missing" in err
    code, _, err = run(capsys, *d, "gallery", "create", "c", "--legal-basis", "test")
    assert code == 3 and "audit log is cut" in err


def test_an_exported_head_catches_a_cut_of_log_and_anchor(
    capsys: pytest.CaptureFixture[str], data_dir: str, tmp_path: Path
) -> None:
    d = ["--data-dir", data_dir]
    for name in ("a", "b"):
        assert run(capsys, *d, "gallery", "create", name, "--legal-basis", "test")[0] == 0
    code, out, _ = run(capsys, *d, "audit", "head")
    exported = json.loads(out)
    assert code == 0 and exported["seq"] == 2 and exported["anchor_agrees"] is True
    kept = tmp_path / "head-2.json"
    kept.write_text(out)
    assert run(capsys, *d, "audit", "verify", "--head", str(kept))[0] == 0
    # the newest event and the anchor are cut consistently: only the export sees it
    _delete_newest_event(data_dir)
    db = sqlite3.connect(Path(data_dir) / "facesearch.db")
    (seq, digest) = db.execute("SELECT seq, hash FROM audit_events WHERE seq = 1").fetchone()
    db.close()
    (Path(data_dir) / "audit-head.json").write_text(json.dumps({"seq": seq, "hash": digest}))
    assert run(capsys, *d, "audit", "verify")[0] == 0
    code, _, err = run(capsys, *d, "audit", "verify", "--head", str(kept))
    assert code == 1 and "event 2" in err


def test_a_refused_write_command_is_audited(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    d = ["--data-dir", data_dir]
    assert run(capsys, *d, "gallery", "create", "a", "--legal-basis", "test")[0] == 0
    for argv, action, outcome in [
        (["gallery", "delete", "nosuch", "--yes"], "cli.gallery.delete", "not_found"),
        (
            ["gallery", "create", "a", "--legal-basis", "test"],
            "cli.gallery.create",
            "already_exists",
        ),
        (["users", "create", "ivy", "--role", "investigator"], "user.create", "ok"),
        (["users", "create", "ivy"], "cli.users.create", "already_exists"),
        (["users", "update", "nosuch", "--disable"], "cli.users.update", "not_found"),
        (["users", "revoke-key", "fsk_00000000"], "cli.users.revoke-key", "not_found"),
    ]:
        code, _, err = run(capsys, *d, *argv)
        assert (code == 0) == (outcome == "ok"), err
        _, out, _ = run(capsys, *d, "audit", "list", "--limit", "1", "--json")
        newest = json.loads(out)[0]
        assert (newest["action"], newest["outcome"]) == (action, outcome), argv
        assert newest["actor"].startswith("cli:")
    assert run(capsys, *d, "audit", "verify")[0] == 0


def test_models_prepare_converts_once_then_verifies(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    code, out, err = run(capsys, "--data-dir", data_dir, "models", "prepare", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["rebuilt"] is True
    assert Path(first["path"]).parent == Path(data_dir) / "models"
    code, out, _ = run(capsys, "--data-dir", data_dir, "models", "prepare", "--json")
    again = json.loads(out)
    assert code == 0 and again["rebuilt"] is False and again["sha256"] == first["sha256"]


def test_audit_head_of_a_cut_log_exits_1_and_still_prints_it(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    d = ["--data-dir", data_dir]
    for name in ("a", "b"):
        assert run(capsys, *d, "gallery", "create", name, "--legal-basis", "test")[0] == 0
    assert run(capsys, *d, "audit", "head")[0] == 0
    _delete_newest_event(data_dir)
    code, out, err = run(capsys, *d, "audit", "head")
    exported = json.loads(out)
    assert exported["anchor_agrees"] is False and exported["seq"] == 1
    assert code == 1 and "event 2 was recorded" in err and len(err.splitlines()) == 1


def test_an_export_proves_a_cut_at_the_end_when_the_anchor_is_gone_too(
    capsys: pytest.CaptureFixture[str], data_dir: str, tmp_path: Path
) -> None:
    d = ["--data-dir", data_dir]
    for name in ("a", "b", "c"):
        assert run(capsys, *d, "gallery", "create", name, "--legal-basis", "test")[0] == 0
    code, out, _ = run(capsys, *d, "audit", "head")
    kept = tmp_path / "head-before.json"
    kept.write_text(out)
    _delete_newest_event(data_dir)  # event 3, and the anchor with it
    (Path(data_dir) / "audit-head.json").unlink()
    code, _, err = run(capsys, *d, "audit", "verify", "--head", str(kept))
    assert code == 1 and "anchor (audit-head.json) is missing" in err
    assert "the log ends at event 2 but event 3 was recorded" in err  # what the export proves
    code, out, err = run(
        capsys, *d, "audit", "acknowledge-cut", "--head", str(kept),
        "--reason", "event 3 and the anchor deleted by hand, see OPS-9",
    )  # fmt: skip
    assert code == 0 and "event 4" in out and "events 3 to 3 are lost" in out, err
    code, out, _ = run(capsys, *d, "audit", "list", "--limit", "1", "--json")
    ack = json.loads(out)[0]
    assert ack["seq"] == 4 and ack["details"]["exported"]["seq"] == 3
    assert "event 3 was exported" in ack["details"]["problem"]
    assert run(capsys, *d, "gallery", "create", "d", "--legal-basis", "test")[0] == 0
    code, out, _ = run(capsys, *d, "audit", "list", "--limit", "1", "--json")
    assert json.loads(out)[0]["seq"] == 5  # 3 is never given again
    # the export's event is gone, on record: said as such, not as a contradiction
    code, out, err = run(capsys, *d, "audit", "verify", "--head", str(kept))
    assert code == 0 and "event 3 was lost; acknowledged in event 4" in out, err
    assert "broken" not in out + err


def test_an_acknowledgement_does_not_cover_an_export_it_recorded_otherwise(
    capsys: pytest.CaptureFixture[str], data_dir: str, tmp_path: Path
) -> None:
    d = ["--data-dir", data_dir]
    for name in ("a", "b"):
        assert run(capsys, *d, "gallery", "create", name, "--legal-basis", "test")[0] == 0
    _, out, _ = run(capsys, *d, "audit", "head")
    kept = tmp_path / "head.json"
    kept.write_text(out)
    _delete_newest_event(data_dir)
    reason = "event 2 deleted, OPS-10"
    assert run(capsys, *d, "audit", "acknowledge-cut", "--reason", reason)[0] == 0
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**json.loads(out), "hash": "0" * 64}))
    code, _, err = run(capsys, *d, "audit", "verify", "--head", str(forged))
    assert code == 1 and "recorded another hash" in err
    assert run(capsys, *d, "audit", "verify", "--head", str(kept))[0] == 0
