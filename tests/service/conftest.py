"""Service fixtures: the store-touching service tests run on SQLite and on PostgreSQL.

A test module marked ``both_databases`` (``pytestmark = pytest.mark.both_databases``) runs
each of its tests that uses ``settings`` (directly or through ``engine``) twice: with the
embedded SQLite file in the test's data folder, and with PostgreSQL from
``FACESEARCH_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``;
``.ci/run`` sets it). Each PostgreSQL case gets a fresh schema ``t_<uuid>``, which the
store's connections use through libpq ``options=-csearch_path=...`` in the URL
(``tests/pg_schema.py``, shared with ``tests/cli/test_serve_shared.py``), dropped with
CASCADE afterwards, so tests and helpers sharing the database never see each other's
tables. Without that variable the
PostgreSQL case skips with a reason, and fails in CI (``skip_or_fail``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facesearch.settings import Settings

from ..pg_schema import fresh_schema_url

DATABASES = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_databases: run the module's service tests on SQLite and PostgreSQL"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (
        metafunc.definition.get_closest_marker("both_databases") is not None
        and "database_url" in metafunc.fixturenames
    ):
        metafunc.parametrize("database_url", DATABASES, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The store URL of a test: ``None`` (the SQLite file in ``data_dir``) unless the module
    is marked ``both_databases``, whose tests also run on a fresh PostgreSQL schema."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield None
        return
    with fresh_schema_url("the PostgreSQL service tests") as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """Settings over the test's data folder and its database (see ``database_url``)."""
    return Settings(data_dir=tmp_path / "data", workers=1, database_url=database_url)
