"""Lifecycle and transactions shared by the store's classes (see :mod:`facesearch.store.store`).

Every public method is one transaction (:meth:`StoreBase._tx`). ``sqlalchemy`` errors
never escape: a unique-key violation becomes :class:`~facesearch.errors.AlreadyExists`,
anything else :class:`~facesearch.errors.StoreError` (the transaction is rolled back).

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

from facesearch.errors import AlreadyExists, NotFound, StoreError
from facesearch.store import _validate
from facesearch.store.engine import WRITE_OPTION, migrate
from facesearch.store.tables import Gallery

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
anchor, ``(seq, hash)`` or ``None`` (see :meth:`StoreBase.watch_audit`)."""

AUDIT_APPENDED = "facesearch.audit_appended"
"""``Session.info`` key: ``(seq, hash)`` of the newest event appended in the transaction
and the outcomes of all it appended."""

AnchorReader = Callable[[], "tuple[int, str] | None"]
AuditCommitted = Callable[[int, str, "tuple[str, ...]"], None]


class StoreBase:
    """Engine, migrations, sessions and the transaction helper."""

    _engine: Engine
    _owns_engine: bool
    _postgres: bool
    _sessions: sessionmaker[Session]
    _audit_anchor: AnchorReader | None = None
    _audit_committed: AuditCommitted | None = None

    def watch_audit(self, *, anchor: AnchorReader | None, committed: AuditCommitted | None) -> None:
        """Have every audit append checked against ``anchor`` (a function returning the
        anchored ``(seq, hash)``, ``None`` when there is no anchor, or raising
        ``StoreError`` when it is unreadable) inside its write transaction, and call
        ``committed(seq, hash, outcomes)`` after each transaction that appended events commits
        (the newest event's seq and hash, the outcome of each event appended).
        Used by :class:`facesearch.audit.AuditLog`."""
        self._audit_anchor = anchor
        self._audit_committed = committed

    def _setup(self, engine: Engine, *, owns_engine: bool) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        self._postgres = engine.dialect.name == "postgresql"
        try:
            migrate(engine)
        except (SQLAlchemyError, CommandError) as err:
            raise StoreError(f"cannot migrate the store database: {type(err).__name__}") from err
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Release the store's connections (the engine too, when the store created it)."""
        if self._owns_engine:
            self._engine.dispose()

    @contextmanager
    def _tx(
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

    @staticmethod
    def _gallery_id(session: Session, name: str) -> int:
        gallery_id = session.scalar(select(Gallery.id).where(_validate.named(Gallery.name, name)))
        if gallery_id is None:
            raise NotFound(f"gallery {name!r} not found")
        return gallery_id
