"""The service tests marked ``both_databases`` really run on each database: the
PostgreSQL case's engine speaks PostgreSQL in a schema of its own, the SQLite case keeps
the file in its data folder."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from facesearch.service import FaceSearch
from facesearch.settings import Settings

from .helpers import CURATOR, row_counts

pytestmark = pytest.mark.both_databases


def test_each_case_runs_on_its_own_database(
    engine: FaceSearch, settings: Settings, database_url: str | None
) -> None:
    engine.create_gallery("g", legal_basis="test", context=CURATOR)
    assert row_counts(engine.store)["galleries"] == 1
    with engine.store.engine.connect() as conn:
        if database_url is None:
            assert engine.store.engine.dialect.name == "sqlite"
            assert (settings.data_dir / "facesearch.db").is_file()
        else:
            assert engine.store.engine.dialect.name == "postgresql"
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            assert schema.startswith("t_") and schema in database_url
            assert not (settings.data_dir / "facesearch.db").exists()
