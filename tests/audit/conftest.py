"""Audit fixtures: a store on SQLite and, when configured, on PostgreSQL (own schema)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from facesearch.audit import AuditContext, AuditLog
from facesearch.store import AuditResult, Store

from ..conftest import skip_or_fail

DATABASE_URL_VAR = "FACESEARCH_TEST_DATABASE_URL"


class Db:
    """A store plus a raw engine on the same tables, for tampering with rows directly."""

    def __init__(self, kind: str, store: Store, raw: Engine) -> None:
        self.kind = kind
        self.store = store
        self.raw = raw

    def execute(self, sql: str, **params: object) -> None:
        with self.raw.begin() as conn:
            conn.execute(text(sql), params)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
        store = Store(url)
        raw = create_engine(url, poolclass=NullPool)
        yield Db("sqlite", store, raw)
        store.close()
        raw.dispose()
        return
    url = os.environ.get(DATABASE_URL_VAR)
    if not url:
        skip_or_fail(f"PostgreSQL audit tests need {DATABASE_URL_VAR}")
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(url, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    kwargs = {"connect_args": {"options": f"-csearch_path={schema}"}}
    store = Store(url, engine_kwargs=kwargs)
    raw = create_engine(url, poolclass=NullPool, **kwargs)  # type: ignore[arg-type]
    try:
        yield Db("postgresql", store, raw)
    finally:
        store.close()
        raw.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def log(db: Db, tmp_path: Path) -> AuditLog:
    return AuditLog(db.store, anchor_path=tmp_path / "audit-head.json")


def fill(log: AuditLog, n: int = 6) -> None:
    """``n`` search events by two investigators."""
    for i in range(n):
        context = AuditContext(
            actor="alice" if i % 2 else "bob",
            key_prefix="fsk_0123abcd",
            client_address="127.0.0.1",
            purpose="armed robbery, CCTV still from the bank",
            case_reference=f"CASE-{i}",
            authorization_reference="WARRANT-77",
        )
        log.record(
            context.event(
                "search",
                galleries=("booking",),
                probe_sha256=f"{i:064x}",
                results=(AuditResult(i + 1, 0.95 - i / 100),),
            )
        )
