"""The relational store: one database and a repository per aggregate.

:class:`Store` owns the :class:`~facesearch.store.database.Database` (engine, migrations,
sessions, write serialization, audit hooks) and hands out one repository per aggregate,
each built with that database alone:

========================  ==============================================  ======================
attribute                 repository                                      holds
========================  ==============================================  ======================
``store.catalog``         :class:`~.catalog.CatalogRepository`            galleries, subjects,
                                                                          images, faces
``store.index_rows``      :class:`~.index_rows.IndexRowsRepository`       what the index reads
``store.accounts``        :class:`~.accounts.AccountRepository`           users, API keys
``store.audit``           :class:`~.audit.AuditRepository`                the audit log
``store.privacy``         :class:`~.privacy.PrivacyRepository`            erasure requests,
                                                                          suppressions
``store.retention``       :class:`~.retention.RetentionRepository`        retention, purges
``store.reviews``         :class:`~.reviews.ReviewRepository`             review judgements
``store.groups``          :class:`~.groups.GroupRepository`               grants, groups
``store.models``          :class:`~.models.ModelRowsRepository`           faces and suppressions
                                                                          re-embedded under
                                                                          another model
========================  ==============================================  ======================

Every public repository method is one transaction. A write that must touch another
aggregate in the same transaction does it through a module-level function that takes the
:class:`~sqlalchemy.orm.Session` (``audit.append_event``, ``privacy.suppression_marks_in``,
``reviews.drop_judgements``, ``_rows.delete_faces_where``), never by calling another
repository's method (which would open a second transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from facesearch.errors import StoreError
from facesearch.store.accounts import AccountRepository
from facesearch.store.audit import AuditRepository
from facesearch.store.catalog import CatalogRepository
from facesearch.store.crops import FaceCrops
from facesearch.store.database import AnchorReader, AuditCommitted, Database
from facesearch.store.engine import configure_engine, make_engine
from facesearch.store.groups import GroupRepository
from facesearch.store.index_rows import IndexRowsRepository
from facesearch.store.index_state import IndexStateRepository
from facesearch.store.models import ModelRowsRepository
from facesearch.store.privacy import PrivacyRepository
from facesearch.store.retention import RetentionRepository
from facesearch.store.reviews import ReviewRepository


class Store:
    """The relational store over one SQLAlchemy database URL (SQLite or PostgreSQL).

    Write methods of the repositories take an optional ``audit`` hook: a function of the
    write's result that returns the :class:`~facesearch.store.records.NewAuditEvent`
    appended to the audit log in the same transaction (so the change and its audit event
    commit, or fail, together).
    """

    def __init__(self, url: str, *, engine_kwargs: dict[str, Any] | None = None) -> None:
        """Create the engine for ``url`` and migrate the database to the newest schema.

        ``engine_kwargs`` go to :func:`sqlalchemy.create_engine`; for example
        ``{"connect_args": {"options": "-csearch_path=myschema"}}`` puts the tables (and
        Alembic's version table) in schema ``myschema`` of a PostgreSQL database.
        """
        try:
            engine = make_engine(url, engine_kwargs)
        except (SQLAlchemyError, ValueError) as err:
            raise StoreError(f"cannot open the store database: {type(err).__name__}") from err
        try:
            database = Database(engine, owns_engine=True)
        except BaseException:
            engine.dispose()
            raise
        self._compose(database)

    @classmethod
    def from_engine(cls, engine: Engine) -> Store:
        """A store over an existing engine, which stays the caller's (``close`` keeps it)."""
        configure_engine(engine)
        store = cls.__new__(cls)
        store._compose(Database(engine, owns_engine=False))
        return store

    def _compose(self, database: Database) -> None:
        self.database = database
        self.catalog = CatalogRepository(database)
        self.index_rows = IndexRowsRepository(database)
        self.accounts = AccountRepository(database)
        self.audit = AuditRepository(database)
        self.privacy = PrivacyRepository(database)
        self.retention = RetentionRepository(database)
        self.reviews = ReviewRepository(database)
        self.groups = GroupRepository(database)
        self.models = ModelRowsRepository(database)
        # the watermarks of shared vector indexes: conditional single-row updates in
        # their own short transactions (store/index_state.py), so it takes the engine
        self.index_watermarks = IndexStateRepository(database.engine)
        # the kept face crops, read in batches for re-embedding (written by catalog.add_image)
        self.crops = FaceCrops(sessionmaker(database.engine))

    @property
    def engine(self) -> Engine:
        return self.database.engine

    def watch_audit(self, *, anchor: AnchorReader | None, committed: AuditCommitted | None) -> None:
        """See :meth:`Database.watch_audit`."""
        self.database.watch_audit(anchor=anchor, committed=committed)

    def close(self) -> None:
        """Release the store's connections (the engine too, when the store created it)."""
        self.database.close()
