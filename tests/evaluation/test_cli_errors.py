"""The evaluation commands fail in one line, without a traceback, when LFW is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.cli.main import main


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "lfw"],
        ["eval", "demographics"],
        ["eval", "identification"],
        ["calibrate"],
    ],
)
def test_missing_lfw_is_one_line(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FACESEARCH_LFW_DIR", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--lfw-dir", str(tmp_path / "nowhere")])
    assert exit_.value.code == 2  # a wrong --lfw-dir is bad input (README's exit codes)
    err = capsys.readouterr().err
    assert "does not hold lfw-deepfunneled" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(argv)
    assert "FACESEARCH_LFW_DIR" in capsys.readouterr().err
