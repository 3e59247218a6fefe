"""Alembic migrations of the store; run them with ``facesearch.store.migrate``."""
