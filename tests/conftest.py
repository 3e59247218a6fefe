"""Shared fixtures: settings over a temp data folder, real models, the checked-in LFW images."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import Settings

DATA = Path(__file__).parent / "data"
LFW_TEST_DIR = DATA / "lfw"


def lfw_dir() -> Path | None:
    """The full LFW dataset, from FACESEARCH_LFW_DIR, or None."""
    value = os.environ.get("FACESEARCH_LFW_DIR")
    if not value:
        return None
    path = Path(value)
    return path if (path / "lfw-deepfunneled").is_dir() else None


def skip_or_fail(reason: str) -> None:
    """Skip a test whose component is missing; in CI (``CI=true``) fail it instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI must provide it)")
    pytest.skip(reason)


@pytest.fixture
def models_dir() -> Path:
    """The third-party models folder (FACESEARCH_MODELS_DIR; .ci/run sets it)."""
    value = os.environ.get("FACESEARCH_MODELS_DIR")
    if not value or not Path(value).is_dir():
        skip_or_fail("FACESEARCH_MODELS_DIR is not set to the third-party models folder")
    return Path(str(value))


@pytest.fixture
def lfw_root() -> Path:
    root = lfw_dir()
    if root is None:
        pytest.skip("FACESEARCH_LFW_DIR is not set to the LFW dataset (CI sets it)")
    return root


@pytest.fixture(scope="session")
def test_images() -> dict[str, list[Path]]:
    """The 12 checked-in LFW photos by identity (see tests/data/PROVENANCE.md)."""
    images: dict[str, list[Path]] = {}
    for path in sorted(LFW_TEST_DIR.glob("*.jpg")):
        images.setdefault(path.stem.rsplit("_", 1)[0], []).append(path)
    assert len(images) >= 4
    return images


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workers=1, database_url=None)


@pytest.fixture(scope="session")
def real_pipeline(tmp_path_factory: pytest.TempPathFactory) -> FacePipeline:
    """One real pipeline (dlib models loaded once) shared by the whole session."""
    return FacePipeline(Settings(workers=1, data_dir=tmp_path_factory.mktemp("pipeline")))


@pytest.fixture
def engine(settings: Settings, real_pipeline: FacePipeline) -> Iterator[FaceSearch]:
    with FaceSearch(settings, pipeline=real_pipeline) as fs:
        yield fs


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The session's real Milvus standalone server (:mod:`tests.milvus_server`): a
    ``facesearch.index.milvus_server.LocalMilvus``; connect to its ``uri``."""
    from .milvus_server import milvus_server_fixture

    yield from milvus_server_fixture(tmp_path_factory)
