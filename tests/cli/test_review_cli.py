"""``facesearch review``: list, show and judge a search's candidates from the command line,
under the same two-person and blind-review rules as the API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from facesearch.audit import AuditContext
from facesearch.service import FaceSearch
from facesearch.service.reviews import LEAD_DISCLAIMER, WITHHELD
from facesearch.settings import Settings

from .test_cli import WHY, run

FORBIDDEN = re.compile(r"match|identified", re.IGNORECASE)
REVEALING = ("custody", "Subject-A", "newsdesk", "newswire", "Subject-B")


def _flat(text: str) -> str:
    """Terminal output with rich's table wrapping undone (cell borders and line breaks)."""
    return re.sub(r"\s+", " ", re.sub(r"[│┃║|]", " ", text))


def test_review_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, test_images: dict[str, list[Path]]
) -> None:
    data = tmp_path / "data"
    d = ["--data-dir", str(data)]
    colin, serena = test_images["Colin_Powell"], test_images["Serena_Williams"]
    for name, source in (("custody", "custody photo"), ("newsdesk", "newswire")):
        code, _, err = run(
            capsys, *d, "gallery", "create", name, "--legal-basis", "t", "--source-category", source
        )
        assert code == 0, err
    assert run(capsys, *d, "gallery", "blind-review", "custody")[0] == 0
    for path, gallery, subject in (
        (colin[0], "custody", "Subject-A"),
        (serena[0], "newsdesk", "Subject-B"),
    ):
        code, _, err = run(
            capsys, *d, "enroll", str(path), "--gallery", gallery, "--subject", subject
        )
        assert code == 0, err
    code, out, err = run(capsys, *d, "search", str(colin[1]), *WHY, "--threshold", "-1", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["notice"] == LEAD_DISCLAIMER  # every export of leads carries it
    seq = str(result["audit_seq"])
    booked, press = [c["face_id"] for c in result["faces"][0]["candidates"]]

    code, out, err = run(capsys, *d, "review", "list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["notice"] == LEAD_DISCLAIMER
    assert [(s["search_seq"], s["candidates"], s["unreviewed"]) for s in listed["searches"]] == [
        (int(seq), 2, 2)
    ]

    # before judging, both candidates read the same: withheld, whatever their gallery
    code, out, err = run(capsys, *d, "review", "show", seq, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["notice"] == LEAD_DISCLAIMER and shown["blind"] is True
    where = [
        (c["withheld"], c["gallery"], c["source_category"], c["subject_label"])
        for c in shown["candidates"]
    ]
    assert where == [(True, None, None, None)] * 2
    code, out, err = run(capsys, *d, "review", "show", seq)
    assert code == 0 and out.startswith(LEAD_DISCLAIMER), err
    assert out.count("(withheld)") == 6 and WITHHELD.strip("()") in _flat(out)
    assert not [w for w in REVEALING if w in out]
    code, out, _ = run(capsys, *d, "review", "show", seq, "--face", str(press))
    assert out.startswith(LEAD_DISCLAIMER) and "newsdesk" not in out

    code, out, err = run(
        capsys, *d, "review", "judge", seq, str(press), "--judgement", "excluded", "--note", "no"
    )
    assert code == 0 and LEAD_DISCLAIMER in out, err
    assert "gallery newsdesk" in out and "state: pending" in out
    code, out, err = run(capsys, *d, "review", "judge", seq, str(press), "--judgement", "excluded")
    assert code == 2 and "already judged" in err
    code, out, err = run(
        capsys, *d, "review", "judge", seq, str(booked), "--judgement", "possible_lead"
    )
    assert code == 0 and "gallery custody" in out, err
    code, _, err = run(capsys, *d, "review", "judge", seq, str(booked), "--judgement", "maybe")
    assert code == 2

    code, out, err = run(capsys, *d, "search", str(colin[1]), *WHY, "--threshold", "-1")
    assert code == 0 and LEAD_DISCLAIMER in out, err

    # a second, different reviewer confirms the lead (two-person rule)
    with FaceSearch(Settings(data_dir=data, workers=1)) as engine:
        engine.judge(int(seq), booked, "possible_lead", context=AuditContext(actor="bob"))
    code, out, err = run(capsys, *d, "review", "show", seq, "--json")
    states = {c["face_id"]: c["state"] for c in json.loads(out)["candidates"]}
    assert states == {booked: "confirmed lead", press: "pending"}
    code, out, _ = run(capsys, *d, "review", "show", seq, "--face", str(booked))
    assert out.startswith(LEAD_DISCLAIMER) and "Judgement by bob" in out
    assert "custody photo" in out
    code, out, _ = run(capsys, *d, "review", "list")
    assert code == 0 and LEAD_DISCLAIMER in _flat(out)
    code, _, err = run(capsys, *d, "review", "show", "999")
    assert code == 2 and "audit event 999 not found" in err
    assert not FORBIDDEN.search(out)
