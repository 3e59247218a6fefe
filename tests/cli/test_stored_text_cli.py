"""Stored and user text in every CLI table and line is shown as it is (issue 9, item 4):
a subject labelled ``Junichiro Koizumi [alias: JK]`` is not printed as ``Junichiro
Koizumi``, and ``[bold]``, ``[/]``, ``[link=...]`` or ``:fire:`` restyle nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facesearch.cli import output

from .test_cli import run

# names (labels, galleries, users, groups) may not hold "/" (it breaks their URLs); the
# free text fields take the closing tags
LABEL = "Junichiro Koizumi [alias: JK] [bold]B [link=https:example.org]L :fire:"
GALLERY = "[bold]press :fire:"
BASIS = "[link=https:example.org]archive[/link] [i]use[/i]"
SOURCE = "archive://[bold]box-12[/]/scan-1"
PURPOSE = "[bold]robbery[/] on 3 May [red]CCTV[/red] still"
CASE = "[b]CASE-7[/b]"
AUTHORIZATION = "[link=https:court]W-1[/link]"
USER = "[b]ivy"
KEY_LABEL = "[red]laptop[/red] :fire:"
GROUP = "[i]team"
REFERENCE = "[b]ER-1[/b]"
NOTE = "[dim]asked by letter[/dim]"
EVERYTHING = (LABEL, GALLERY, BASIS, SOURCE, PURPOSE, CASE, USER, KEY_LABEL, GROUP, REFERENCE)


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide console, so that a table's cells are not wrapped onto several lines."""
    monkeypatch.setattr(output.stdout, "width", 1000)


def test_every_table_and_line_shows_stored_text_as_it_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, test_images: dict[str, list[Path]]
) -> None:
    d = ["--data-dir", str(tmp_path / "data")]
    koizumi = test_images["Junichiro_Koizumi"]
    why = ["--purpose", PURPOSE, "--case", CASE, "--authorization", AUTHORIZATION]
    shown: list[str] = []

    def ok(*argv: str) -> str:
        code, out, err = run(capsys, *d, *argv)
        assert code == 0, (argv, err)
        shown.append(out)
        return out

    out = ok("gallery", "create", GALLERY, "--legal-basis", BASIS)
    assert f"created gallery {GALLERY!r}" in out
    ok("enroll", str(koizumi[0]), "--gallery", GALLERY, "--subject", LABEL, "--source-uri", SOURCE)
    out = ok("gallery", "list")
    assert GALLERY in out and BASIS in out
    out = ok("subjects", "list")
    assert LABEL in out and GALLERY in out
    out = ok("faces", "list")
    assert LABEL in out and SOURCE in out and GALLERY in out

    out = ok("search", str(koizumi[1]), *why, "--threshold", "-1")
    assert LABEL in out and GALLERY in out and SOURCE in out
    out = ok("search", str(koizumi[1]), *why, "--threshold", "-1", "--json")
    seq = str(json.loads(out)["audit_seq"])
    out = ok("review", "show", seq)
    assert LABEL in out and GALLERY in out and CASE in out

    out = ok("audit", "list", "--limit", "3")
    assert PURPOSE in out and CASE in out

    ok("users", "create", USER, "--role", "investigator")
    out = ok("users", "list")
    assert USER in out
    ok("users", "new-key", USER, "--label", KEY_LABEL)
    out = ok("users", "keys")
    assert KEY_LABEL in out and USER in out
    out = ok("grants", "add", USER, GALLERY)
    assert USER in out and GALLERY in out
    out = ok("grants", "list")
    assert USER in out and GALLERY in out
    out = ok("groups", "create", GROUP)
    assert GROUP in out
    ok("groups", "add-member", GROUP, USER)
    out = ok("groups", "list")
    assert GROUP in out and USER in out

    out = ok("erasure", "request", str(koizumi[2]), "--reference", REFERENCE, "--note", NOTE)
    assert REFERENCE in out and LABEL in out and SOURCE in out
    out = ok("erasure", "list")
    assert REFERENCE in out

    # an error naming a file: the file's name as it is, on one line
    bad = tmp_path / "[bold]scan [link=x]:fire:.jpg"
    bad.write_bytes(koizumi[0].read_bytes()[:2000])
    code, _, err = run(capsys, *d, "enroll", str(bad), "--gallery", GALLERY)
    assert code != 0 and f"error: {bad}: corrupt or truncated image" in err

    # nothing was read as markup or an emoji code anywhere
    everything = "".join(shown)
    assert "\N{FIRE}" not in everything and "\x1b" not in everything
    for text in EVERYTHING:
        assert text in everything, text
