"""The store's database part: migrations at construction, one transaction per call."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from facesearch.errors import AlreadyExists
from facesearch.store.database import Database
from facesearch.store.engine import make_engine
from facesearch.store.tables import Gallery


def test_database_is_built_from_an_engine_alone(tmp_path: Path) -> None:
    db = Database(make_engine(f"sqlite:///{tmp_path / 'fs.db'}"), owns_engine=True)
    try:
        with db.transaction("add", write=True) as s:
            s.add(Gallery(name="g", name_key="g", legal_basis="test"))
        with (
            pytest.raises(AlreadyExists, match="taken"),
            db.transaction("add", write=True, conflict="taken") as s,
        ):
            s.add(Gallery(name="g", name_key="g", legal_basis="test"))
            s.flush()
        with db.transaction("read") as s:
            assert s.scalars(select(Gallery.name)).all() == ["g"]
    finally:
        db.close()
