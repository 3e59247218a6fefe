"""``facesearch erasure``: the whole flow from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_cli import run


def test_erasure_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, test_images: dict[str, list[Path]]
) -> None:
    d = ["--data-dir", str(tmp_path / "data")]
    colin, serena = test_images["Colin_Powell"], test_images["Serena_Williams"]
    assert run(capsys, *d, "gallery", "create", "g", "--legal-basis", "test")[0] == 0
    for path in (colin[0], serena[0]):
        assert run(capsys, *d, "enroll", str(path), "--gallery", "g")[0] == 0

    code, out, err = run(
        capsys, *d, "erasure", "request", str(colin[1]), "--reference", "ER-5", "--json"
    )
    assert code == 0, err
    view = json.loads(out)
    assert len(view["faces"]) == 1 and view["request"]["status"] == "pending"
    request_id = str(view["request"]["id"])

    code, out, _ = run(capsys, *d, "erasure", "show", request_id)
    assert code == 0 and "ER-5" in out
    code, out, err = run(capsys, *d, "erasure", "confirm", request_id, "--yes")
    assert code == 0 and "1 face(s) erased" in out, err
    assert "0 kept face(s) stay stored but are hidden from every search" in out

    _, out, err = run(capsys, *d, "enroll", str(colin[2]), "--gallery", "g", "--subject", "C")
    assert "suppression list" in err
    code, out, _ = run(capsys, *d, "erasure", "suppressions", "--json")
    assert [s["reference"] for s in json.loads(out)] == ["ER-5", "ER-5"]
    code, out, _ = run(capsys, *d, "erasure", "list", "--json")
    assert code == 0 and [r["status"] for r in json.loads(out)] == ["completed"]
    code, _, err = run(capsys, *d, "erasure", "cancel", request_id)
    assert code == 2 and err.startswith("error: erasure request") and "not pending" in err
