"""``facesearch report usage`` over the audit log written by the real service."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facesearch.cli.main import main
from facesearch.oversight.plots import PLOT_NAMES

from .conftest import Built


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def period() -> list[str]:
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=1), today + timedelta(days=2)
    return ["--from", start.isoformat(), "--to", end.isoformat()]


def test_tables_csv_plots_and_json(
    capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path
) -> None:
    d = ["--data-dir", str(built.settings.data_dir)]
    csv_path, plots = tmp_path / "usage.csv", tmp_path / "plots"
    code, out, err = run(
        capsys, *d, "report", "usage", *period(), "--csv", str(csv_path), "--plots", str(plots)
    )
    assert code == 0, err
    for text in ("Searches by purpose category", "robbery", "Searches by user", "alice"):
        assert text in out
    assert f"wrote {csv_path}" in out
    rows = list(csv.reader(csv_path.open(encoding="utf-8", newline="")))
    assert rows[0] == ["section", "key", "value"]
    assert ["searches", "completed", "4"] in rows
    assert sorted(p.name for p in plots.iterdir()) == sorted(PLOT_NAMES)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in plots.iterdir())

    code, out, _ = run(capsys, *d, "report", "usage", *period(), "--json")
    data = json.loads(out)
    assert code == 0 and data["searches"]["completed"] == 4
    assert data["searches"]["by_user"] == {"alice": 2, "bob": 2}
    assert data["erasures"]["faces_erased"] == built.faces_erased


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--from", "2026-13-01", "--to", "2026-06-01"],
            "error: --from: '2026-13-01' is not a date",
        ),
        (["--from", "2026-05-01", "--to", "soon"], "error: --to: 'soon' is not a date"),
        (["--from", "2026-06-01", "--to", "2026-05-01"], "error: --to must be after --from"),
        (["--from", "2026-05-01"], "error: Missing option '--to'"),
    ],
)
def test_bad_dates_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--data-dir", str(tmp_path / "d"), "report", "usage", *argv)
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1, err
    assert not (tmp_path / "d").exists()  # refused before the store is opened


def test_an_unwritable_csv_path_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path
) -> None:
    d = ["--data-dir", str(built.settings.data_dir)]
    code, _, err = run(capsys, *d, "report", "usage", *period(), "--csv", str(tmp_path))
    assert code == 2 and err.startswith("error: cannot write") and err.count("\n") == 1
