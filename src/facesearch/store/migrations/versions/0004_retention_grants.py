"""Retention and gallery grants: galleries.retention_days, images.collected_at, gallery_grants.

``images.collected_at`` is filled with ``created_at`` for the images already stored (the
retention clock of an image starts when it was collected; before this revision the store
did not know, so the enrollment time stands in). Written by hand to mirror
``facesearch.store.tables``; ``tests/store/test_migrations.py`` compares the two.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("galleries", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.add_column("images", sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE images SET collected_at = created_at WHERE collected_at IS NULL")
    op.create_table(
        "gallery_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("gallery_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_gallery_grants"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_gallery_grants_user_id_users"),
        sa.ForeignKeyConstraint(
            ["gallery_id"],
            ["galleries.id"],
            name="fk_gallery_grants_gallery_id_galleries",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("user_id", "gallery_id", name="uq_gallery_grants_user_id_gallery_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_gallery_grants_user_id", "gallery_grants", ["user_id"])
    op.create_index("ix_gallery_grants_gallery_id", "gallery_grants", ["gallery_id"])


def downgrade() -> None:
    op.drop_table("gallery_grants")
    # plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of ``images`` would
    # drop the table and, with foreign keys on, cascade to its faces
    op.drop_column("images", "collected_at")
    op.drop_column("galleries", "retention_days")
