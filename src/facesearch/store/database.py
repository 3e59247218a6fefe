"""The store's database: engine, migrations, sessions and transactions.

Every public method of a repository is one transaction (:meth:`Database.transaction`).
``sqlalchemy`` errors never escape: a unique-key violation becomes
:class:`~facesearch.errors.AlreadyExists`, anything else :class:`~facesearch.errors.StoreError`
(the transaction is rolled back).

Writes are serialized: SQLite transactions that write start with ``BEGIN IMMEDIATE``;
on PostgreSQL they take a transaction-scoped advisory lock first. So face ids and
``face_deletions.seq`` become visible in increasing order, and a vector index that
records "highest face id" and "last deletion seq" as watermarks never skips one that
commits late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from alembic.util import CommandError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from facesearch.errors import AlreadyExists, StoreError
from facesearch.store.engine import WRITE_OPTION, migrate

logger = logging.getLogger(__name__)

_PG_WRITE_LOCK = 0x66616365_73746F72
"""Key of the PostgreSQL advisory lock that serializes the store's writers ("facestor")."""


def _is_unique_violation(err: IntegrityError) -> bool:
    orig = err.orig
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL unique_violation
        return True
    return "UNIQUE constraint failed" in str(orig)  # SQLite


AUDIT_ANCHOR_READER = "facesearch.audit_anchor"
"""``Session.info`` key of a write transaction: the function that reads the audit log's
anchor, ``(seq, hash)`` or ``None`` (see :meth:`Database.watch_audit`)."""

AUDIT_APPENDED = "facesearch.audit_appended"
"""``Session.info`` key: ``(seq, hash)`` of the newest event appended in the transaction
and the outcomes of all it appended."""

AnchorReader = Callable[[], "tuple[int, str] | None"]
AuditCommitted = Callable[[int, str, "tuple[str, ...]"], None]


class Database:
    """The store's database: the engine, migrations, the session factory and the
    transaction helper with its write serialization and audit hooks.

    Every repository of the store (:mod:`facesearch.store.store`) takes this object and
    runs each of its public methods as one :meth:`transaction`."""

    def __init__(self, engine: Engine, *, owns_engine: bool) -> None:
        """Migrate ``engine``'s database to the newest schema (``StoreError`` when that
        fails) and make sessions over it; ``owns_engine``: :meth:`close` disposes it."""
        self._engine = engine
        self._owns_engine = owns_engine
        self._postgres = engine.dialect.name == "postgresql"
        self._audit_anchor: AnchorReader | None = None
        self._audit_committed: AuditCommitted | None = None
        try:
            migrate(engine)
        except (SQLAlchemyError, CommandError) as err:
            raise StoreError(f"cannot migrate the store database: {type(err).__name__}") from err
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def watch_audit(self, *, anchor: AnchorReader | None, committed: AuditCommitted | None) -> None:
        """Have every audit append checked against ``anchor`` (a function returning the
        anchored ``(seq, hash)``, ``None`` when there is no anchor, or raising
        ``StoreError`` when it is unreadable) inside its write transaction, and call
        ``committed(seq, hash, outcomes)`` after each transaction that appended events commits
        (the newest event's seq and hash, the outcome of each event appended).
        Used by :class:`facesearch.audit.AuditLog`."""
        self._audit_anchor = anchor
        self._audit_committed = committed

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Release the connections (the engine too, when this object owns it)."""
        if self._owns_engine:
            self._engine.dispose()

    @contextmanager
    def transaction(
        self, op: str, *, write: bool = False, conflict: str | None = None
    ) -> Iterator[Session]:
        """One transaction; ``write`` takes the write lock; errors become facesearch errors."""
        try:
            with self._sessions.begin() as session:
                if write:
                    session.connection(execution_options={WRITE_OPTION: True})
                    if self._postgres:
                        session.execute(select(func.pg_advisory_xact_lock(_PG_WRITE_LOCK)))
                    session.info[AUDIT_ANCHOR_READER] = self._audit_anchor
                yield session
            appended = session.info.get(AUDIT_APPENDED)
            if appended is not None and self._audit_committed is not None:
                self._audit_committed(*appended)
        except IntegrityError as err:
            if _is_unique_violation(err):
                raise AlreadyExists(conflict or f"{op}: already exists") from err
            raise StoreError(f"{op} failed: integrity error") from err
        except SQLAlchemyError as err:
            # The exception's text holds SQL and parameters (labels, blobs): debug level only.
            logger.warning("store %s failed: %s", op, type(err).__name__)
            logger.debug("store %s failed", op, exc_info=True)
            raise StoreError(f"{op} failed: {type(err).__name__}") from err
