"""Settings: read from the environment, and every one of them documented in the README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from facesearch.settings import DetectorKind, PrivacySettings, SearchSettings, Settings

README = Path(__file__).parents[1] / "README.md"


def _env_names(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            yield f"{prefix}{name.upper()}"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    names = list(_env_names(Settings, "FACESEARCH_"))
    assert len(names) > 20
    missing = [n for n in names if f"`{n}`" not in text]
    assert missing == [], f"settings missing from README.md: {missing}"


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FACESEARCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FACESEARCH_IMAGING__MAX_BYTES", "1234")
    monkeypatch.setenv("FACESEARCH_DETECTION__FALLBACK_DETECTOR", "none")
    monkeypatch.setenv("FACESEARCH_DETECTION__DETECTOR", "dlib-cnn")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.imaging.max_bytes == 1234
    assert settings.detection.fallback_detector is None
    assert settings.detection.detector is DetectorKind.DLIB_CNN
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'facesearch.db').resolve()}"


def test_invalid_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACESEARCH_SEARCH__MAX_K", "0")
    with pytest.raises(ValueError, match="max_k"):
        Settings()


def test_k_is_capped_at_50_and_the_default_within_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    search = Settings().search
    assert (search.default_k, search.max_k) == (10, 50)
    assert SearchSettings(max_k=50, default_k=50).max_k == 50
    with pytest.raises(ValueError, match="max_k"):
        SearchSettings(max_k=51)
    with pytest.raises(ValueError, match=r"default_k \(20\) exceeds max_k \(5\)"):
        SearchSettings(max_k=5, default_k=20)
    monkeypatch.setenv("FACESEARCH_SEARCH__MAX_K", "8")
    with pytest.raises(ValueError, match="default_k"):
        Settings()  # the default of 10 is above a max_k of 8
    monkeypatch.setenv("FACESEARCH_SEARCH__DEFAULT_K", "8")
    assert Settings().search.default_k == 8


def test_suppression_is_at_least_as_broad_as_erasure() -> None:
    assert PrivacySettings().suppression_target_fmr == PrivacySettings().erasure_target_fmr
    assert PrivacySettings(erasure_target_fmr=1e-5, suppression_target_fmr=1e-3)
    with pytest.raises(ValueError, match="stricter than erasure_target_fmr"):
        PrivacySettings(erasure_target_fmr=1e-3, suppression_target_fmr=1e-5)
