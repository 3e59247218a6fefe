"""``facesearch retention`` and ``facesearch grants`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..disclosure import disclosed
from .test_cli import run


def test_retention_and_grants_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, test_images: dict[str, list[Path]]
) -> None:
    d = ["--data-dir", str(tmp_path / "data")]
    colin = test_images["Colin_Powell"]
    code, _, err = run(
        capsys, *d, "gallery", "create", "g", "--legal-basis", "t", "--retention-days", "30"
    )
    assert code == 0, err
    for path, when in ((colin[0], "2020-01-01"), (colin[1], None)):
        extra = ["--collected-at", when] if when else []
        assert run(capsys, *d, "enroll", str(path), "--gallery", "g", *extra)[0] == 0
    code, _, err = run(capsys, *d, "enroll", str(colin[2]), "-g", "g", "--collected-at", "soon")
    assert code == 2 and "ISO 8601" in err

    code, out, _ = run(capsys, *d, "retention", "apply", "--dry-run", "--json")
    report = json.loads(out)
    assert code == 0 and report["dry_run"] and len(report["images"]) == 1
    code, out, _ = run(capsys, *d, "retention", "apply")
    assert code == 0 and "deleted 1 image(s) holding 1 face(s)" in out
    code, out, _ = run(capsys, *d, "retention", "apply", "--dry-run")
    assert "would delete 0 image(s)" in out
    assert run(capsys, *d, "retention", "set", "g", "--keep")[1].endswith("kept until deleted\n")
    assert run(capsys, *d, "retention", "set", "g")[0] == 2  # DAYS or --keep

    assert run(capsys, *d, "users", "create", "ivy", "--role", "investigator")[0] == 0
    assert run(capsys, *d, "grants", "add", "ivy", "g")[0] == 0
    code, out, _ = run(capsys, *d, "grants", "list", "--json")
    assert [(g["user_name"], g["gallery_name"]) for g in json.loads(out)] == [("ivy", "g")]
    assert run(capsys, *d, "grants", "remove", "ivy", "g")[0] == 0
    code, _, err = run(capsys, *d, "grants", "remove", "ivy", "g")
    assert code == 2 and "no grant" in err


def test_blind_review_flag_from_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path / "d")]
    assert run(capsys, *d, "gallery", "create", "booking", "--legal-basis", "test")[0] == 0
    code, out, _ = run(capsys, *d, "gallery", "blind-review", "booking")
    assert code == 0 and "is on" in out
    code, out, _ = run(capsys, *d, "gallery", "list", "--json")
    assert json.loads(out)[0]["mask_source_category"] is True
    code, out, _ = run(capsys, *d, "gallery", "blind-review", "booking", "--off")
    assert code == 0 and "is off" in out
    code, _, err = run(capsys, *d, "gallery", "blind-review", "missing")
    assert code == 2 and "missing" in err and err.count("\n") == 1


def test_groups_from_the_command_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path / "data")]
    assert run(capsys, *d, "gallery", "create", "g", "--legal-basis", "t")[0] == 0
    assert run(capsys, *d, "users", "create", "ivy", "--role", "investigator")[0] == 0
    code, out, err = run(capsys, *d, "groups", "create", "team")
    assert code == 0 and "created group 'team'" in out, err
    code, _, err = run(capsys, *d, "groups", "create", "team")
    assert code != 0 and "already exists" in err
    code, _, err = run(capsys, *d, "groups", "create", "dob 1970-01-01")
    assert code != 0 and not disclosed("dob 1970-01-01", [err])
    assert not disclosed("1970-01-01", [err])
    assert run(capsys, *d, "groups", "add-member", "team", "ivy")[0] == 0
    assert run(capsys, *d, "groups", "grant", "team", "g")[0] == 0
    code, out, _ = run(capsys, *d, "groups", "list", "--json")
    groups = json.loads(out)
    assert code == 0 and [(g["name"], g["members"], g["galleries"]) for g in groups] == [
        ("team", ["ivy"], ["g"])
    ]
    code, out, _ = run(capsys, *d, "groups", "list", "--user", "ivy")
    assert code == 0 and "team" in out
    assert run(capsys, *d, "groups", "revoke", "team", "g")[0] == 0
    code, _, err = run(capsys, *d, "groups", "revoke", "team", "g")
    assert code == 2 and "no grant" in err
    assert run(capsys, *d, "groups", "remove-member", "team", "ivy")[0] == 0
    code, out, _ = run(capsys, *d, "groups", "delete", "team")
    assert code == 0 and "deleted group 'team' (0 member(s), 0 gallery grant(s))" in out
    code, out, _ = run(capsys, *d, "audit", "list", "--json")
    actions = [
        (e["action"], e["target"]) for e in json.loads(out) if e["action"] != "gallery.create"
    ]
    assert ("grant.add", "group:team") in actions and ("group.delete", "group:team") in actions


def test_names_that_collide_are_reported_after_the_upgrade(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A data folder from before migration 0007 with look-alike users opens; the collision
    is listed by ``facesearch report names``; new look-alikes and ``..`` are refused."""
    from sqlalchemy import create_engine, text

    from facesearch.store.engine import migrate

    data = tmp_path / "data"
    data.mkdir()
    engine = create_engine(f"sqlite:///{data / 'facesearch.db'}")
    migrate(engine, "0006")
    with engine.begin() as conn:
        for name in ("admin", "аdmin"):  # the second with a Cyrillic а
            conn.execute(
                text("INSERT INTO users (name, roles, disabled) VALUES (:n, '[]', false)"),
                {"n": name},
            )
    engine.dispose()
    d = ["--data-dir", str(data)]
    code, out, err = run(capsys, *d, "report", "names", "--json")
    assert code == 0, err
    assert [(r["kind"], r["name"], r["other"], r["reason"]) for r in json.loads(out)] == [
        ("user", "аdmin", "admin", "look-alike")
    ]
    code, _, err = run(capsys, *d, "users", "create", "ａｄｍｉｎ")
    assert code != 0 and "looks like" in err and err.count("\n") == 1
    code, _, err = run(capsys, *d, "gallery", "create", "..", "--legal-basis", "t")
    assert code != 0 and ". or .." in err
    code, out, _ = run(capsys, *d, "report", "names")
    assert code == 0 and "look-alike" in out


def test_deleting_the_nfd_gallery_left_by_0007_deletes_that_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A 0006 data folder with ``José`` in NFC (id 1) and NFD (id 2); after the upgrade a
    face is enrolled into the NFC one. ``gallery delete`` of the NFD name deletes id 2 and
    leaves id 1 with its face; the collision is then resolved and leaves the report."""
    import unicodedata

    from sqlalchemy import create_engine, text

    from facesearch.store import Store
    from facesearch.store.engine import migrate

    from ..store.conftest import Make

    nfc, nfd = (unicodedata.normalize(form, "José") for form in ("NFC", "NFD"))
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'facesearch.db'}"
    engine = create_engine(url)
    migrate(engine, "0006")
    with engine.begin() as conn:
        for name in (nfc, nfd):
            conn.execute(
                text("INSERT INTO galleries (name, legal_basis) VALUES (:n, 't')"), {"n": name}
            )
    engine.dispose()
    store = Store(url)
    ids = {g.name: g.id for g in store.catalog.list_galleries()}  # upgraded to head
    assert ids == {nfc: 1, nfd: 2}
    make = Make()
    store.catalog.add_image(1, make.image(), [make.face()], [], subject_label="a")
    store.close()
    d = ["--data-dir", str(data)]
    code, out, _ = run(capsys, *d, "report", "names")
    assert code == 0 and "nfc" in out and r"Jose\u0301" in out
    code, out, err = run(capsys, *d, "gallery", "delete", nfd, "--yes")
    assert code == 0, err
    assert "(0 faces)" in out
    code, out, err = run(capsys, *d, "gallery", "list", "--json")
    assert code == 0, err
    assert [(g["id"], g["name"], g["n_faces"]) for g in json.loads(out)] == [(1, nfc, 1)]
    code, out, err = run(capsys, *d, "report", "names")
    assert (code, out.strip()) == (0, "no name collisions"), err
    code, out, _ = run(capsys, *d, "report", "names", "--all", "--json")
    assert [(r["name"], r["resolved"]) for r in json.loads(out)] == [(nfd, True)]
    # NFD input finds the NFC row now that no NFD row is left
    code, out, err = run(capsys, *d, "gallery", "create", nfd, "--legal-basis", "t")
    assert code != 0 and "already exists" in err
    code, _, err = run(capsys, *d, "users", "create", "admin")
    assert code == 0, err
    code, _, err = run(capsys, *d, "users", "create", "аdmin")  # a Cyrillic а
    assert code != 0 and r"'\u0430dmin' looks like the existing user 'admin'" in err
