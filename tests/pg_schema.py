"""A fresh PostgreSQL schema for one test: the URL of the test database with libpq
``options=-csearch_path=<schema>``, so a store (or a ``facesearch serve`` process) over it
sees only its own tables; the schema is dropped with CASCADE afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from .conftest import skip_or_fail

DATABASE_URL_VAR = "FACESEARCH_TEST_DATABASE_URL"


@contextmanager
def fresh_schema_url(needed_for: str) -> Iterator[str]:
    """The URL of a new schema ``t_<uuid>`` in ``$FACESEARCH_TEST_DATABASE_URL``; skips
    (fails in CI) naming ``needed_for`` when the variable is unset."""
    url = os.environ.get(DATABASE_URL_VAR)
    if not url:
        skip_or_fail(f"{needed_for}: no PostgreSQL ({DATABASE_URL_VAR} is not set)")
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(str(url), poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in str(url) else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
