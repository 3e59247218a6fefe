"""Shared vector-index watermarks: index_watermarks.

A shared index (Milvus) keeps its watermark in the store, where every API process sees it
(:mod:`facesearch.store.index_state`). Written by hand to mirror
``facesearch.store.index_state.IndexWatermark``; ``tests/store/test_migrations.py``
compares the two.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "index_watermarks",
        sa.Column("index_key", sa.String(255), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("max_face_id", sa.BigInteger(), nullable=False),
        sa.Column("deletion_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("index_key", name="pk_index_watermarks"),
    )


def downgrade() -> None:
    op.drop_table("index_watermarks")
