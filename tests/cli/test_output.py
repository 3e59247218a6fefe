"""The CLI's one printing module shows stored and user text as it is (issue 9, item 4):
rich's console markup and emoji codes are never interpreted."""

from __future__ import annotations

import pytest

from facesearch.cli import output

#: Text a user may well store: markup-looking brackets, a closing tag, a link, an emoji code.
TRICKY = "Junichiro Koizumi [alias: JK] [bold]B[/] [link=https:example.org]L[/link] :fire:"


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide console, so that a table's cells are not wrapped onto several lines."""
    monkeypatch.setattr(output.stdout, "width", 400)


def test_table_cells_titles_and_headers_are_shown_as_they_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output.print_table(f"Subjects of {TRICKY}", ["label", "[red]faces[/red]"], [[TRICKY, None]])
    out = capsys.readouterr().out
    assert out.count(TRICKY) == 2  # the title and the cell
    assert "[red]faces[/red]" in out and "\N{FIRE}" not in out


def test_lines_on_stdout_and_errors_on_stderr_are_shown_as_they_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output.info(f"created gallery {TRICKY!r}")
    output.error(f"{TRICKY}: not a supported image")
    out, err = capsys.readouterr()
    assert out == f"created gallery {TRICKY!r}\n"
    assert err == f"error: {TRICKY}: not a supported image\n"


def test_no_other_cli_module_prints() -> None:
    """Every line the CLI prints goes through :mod:`facesearch.cli.output`, so the rule
    above holds for every command: no other module has a console, a table or a print."""
    from pathlib import Path

    import facesearch.cli

    for path in Path(facesearch.cli.__file__).parent.glob("*.py"):
        if path.name == "output.py":
            continue
        source = path.read_text()
        for forbidden in ("Console(", "Table(", "print(", "typer.echo", "click.echo", "rich."):
            assert forbidden not in source.replace("output.print", "output."), (path, forbidden)


def test_an_80_column_table_never_splits_a_number(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by review: at 80 columns a search table folded its FMR cell into ``2.4e-0`` and
    ``7`` on the next line (reads as 2.4) and its header into ``simila``/``rity``."""
    monkeypatch.setattr(output.stdout, "width", 80)
    source = "archive://box-12/scan-0042 collected by the press office in 2019 " * 2
    rows = [
        [1, 17, "Junichiro Koizumi", "press-archive", source, "0.9612", "2.4e-07", "1.9e-06"]
        for _ in range(3)
    ]
    columns = ["rank", "face", "subject", "gallery", "source", "similarity", "FMR", "FPIR"]
    output.print_table("Candidates", columns, rows)
    lines = capsys.readouterr().out.splitlines()
    for token in ("0.9612", "2.4e-07", "1.9e-06"):
        assert any(token in line for line in lines), (token, lines)
    assert max(len(line) for line in lines) <= 80
    assert any("2019" in line for line in lines)  # the long text is folded, kept whole
    monkeypatch.setattr(output.stdout, "width", 100)  # room for every header word
    output.print_table("Candidates", columns, rows)
    lines = capsys.readouterr().out.splitlines()
    for token in ("0.9612", "2.4e-07", "1.9e-06", "similarity", "gallery", "subject"):
        assert any(token in line for line in lines), (token, lines)
    monkeypatch.setattr(output.stdout, "width", 80)
    # the CLI's widest table (search: 9 columns) at 80: numbers stay whole, header words
    # may fold since they cannot all fit
    capsys.readouterr()
    wide = [*columns, "expected others", "quality"]
    output.print_table("Candidates", wide, [[*row, "1.2e-03", "0.87"] for row in rows])
    lines = capsys.readouterr().out.splitlines()
    for token in ("0.9612", "2.4e-07", "1.9e-06", "1.2e-03", "0.87"):
        assert any(token in line for line in lines), (token, lines)
    assert max(len(line) for line in lines) <= 80
