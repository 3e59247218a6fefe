"""Store fixtures: every store test runs on SQLite and, when configured, on PostgreSQL.

PostgreSQL runs when ``FACESEARCH_TEST_DATABASE_URL`` names a database (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets a fresh schema
``t_<uuid>`` (the connections' ``search_path``), dropped with CASCADE afterwards. Without
that variable the PostgreSQL cases skip with a reason, and fail in CI (``skip_or_fail``).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from facesearch.store import NewFace, NewImage, NewRejection, Store
from facesearch.store.database import Database as StoreDatabase
from facesearch.store.engine import configure_engine, make_engine
from facesearch.types import BoundingBox, FaceQuality, Landmarks5

from ..conftest import skip_or_fail

DATABASE_URL_VAR = "FACESEARCH_TEST_DATABASE_URL"
TABLES = ("galleries", "subjects", "images", "faces", "face_rejections", "face_deletions")
DIM = 8
MODEL = "test-model-v1"


@dataclass
class Database:
    """One test database: an SQLite file in a temp folder, or a PostgreSQL schema."""

    kind: str
    url: str
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    schema: str | None = None
    sqlite_path: Path | None = None
    _engines: list[Engine] = field(default_factory=list)
    _stores: list[Store] = field(default_factory=list)

    def open_store(self) -> Store:
        store = Store(self.url, engine_kwargs=dict(self.engine_kwargs))
        self._stores.append(store)
        return store

    def engine(self) -> Engine:
        """A separate engine on the same database (and schema), closed after the test."""
        engine = create_engine(self.url, poolclass=NullPool, **self.engine_kwargs)
        configure_engine(engine)
        self._engines.append(engine)
        return engine

    def count_rows(self) -> dict[str, int]:
        with self.engine().connect() as conn:
            return {
                t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in TABLES
            }

    def close(self) -> None:
        for store in self._stores:
            store.close()
        for engine in self._engines:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "store" / "facesearch.db"
        path.parent.mkdir()
        db = Database("sqlite", f"sqlite:///{path}", sqlite_path=path)
        yield db
        db.close()
        return
    url = os.environ.get(DATABASE_URL_VAR)
    if not url:
        skip_or_fail(f"PostgreSQL store tests need {DATABASE_URL_VAR} (a postgresql+psycopg URL)")
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(url, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(
        "postgresql",
        url,
        engine_kwargs={"connect_args": {"options": f"-csearch_path={schema}"}},
        schema=schema,
    )
    try:
        yield db
    finally:
        db.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(database: Database) -> Store:
    return database.open_store()


class Make:
    """Seeded inputs: images with distinct sha256, faces with float32 embeddings."""

    def __init__(self) -> None:
        self._n = 0
        self.rng = np.random.default_rng(20241127)

    def image(self, **overrides: Any) -> NewImage:
        self._n += 1
        values: dict[str, Any] = {
            "sha256": hashlib.sha256(f"image-{self._n}".encode()).hexdigest(),
            "width": 640,
            "height": 480,
            "n_bytes": 12345,
            "format": "JPEG",
            "legal_basis": "consent form 17",
            "source_uri": f"file:///photos/{self._n}.jpg",
        }
        values.update(overrides)
        return NewImage(**values)

    def face(self, *, model_id: str = MODEL, dim: int = DIM, x: float = 10.0) -> NewFace:
        vector = self.rng.standard_normal(dim).astype(np.float32)
        vector /= np.linalg.norm(vector)
        return NewFace(
            box=BoundingBox(x, 20.0, x + 50.5, 80.25),
            landmarks=Landmarks5(((1.5, 2.0), (3.0, 4.0), (5.0, 6.0), (7.0, 8.0), (9.0, 10.5))),
            detector="fake",
            detector_score=0.875,
            quality=FaceQuality(interocular_px=22.5, sharpness=140.0, frontalness=0.9, score=0.8),
            model_id=model_id,
            embedding=vector,
            thumbnail=b"\xff\xd8thumb",
        )

    def rejection(self, reason: str = "interocular distance 9.0 px < 16.0") -> NewRejection:
        return NewRejection(
            box=BoundingBox(1.0, 2.0, 11.0, 12.0),
            reason=reason,
            quality=FaceQuality(interocular_px=9.0, sharpness=3.0, frontalness=0.2, score=0.1),
        )


@pytest.fixture
def make() -> Make:
    return Make()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[StoreDatabase]:
    """The store's database part alone, over an SQLite file: what a repository is built
    from in the tests that show it needs nothing else."""
    db = StoreDatabase(make_engine(f"sqlite:///{tmp_path / 'alone' / 'fs.db'}"), owns_engine=True)
    yield db
    db.close()
