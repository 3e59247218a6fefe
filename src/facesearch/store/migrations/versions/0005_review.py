"""Two-person review of leads: review_judgements; blind review: galleries.mask_source_category.

Written by hand to mirror ``facesearch.store.tables``; ``tests/store/test_migrations.py``
compares the two.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "galleries",
        sa.Column(
            "mask_source_category", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
    )
    op.create_table(
        "review_judgements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("face_id", sa.BigInteger(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("judgement", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_review_judgements"),
        sa.UniqueConstraint(
            "seq", "face_id", "reviewer", name="uq_review_judgements_seq_face_id_reviewer"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_review_judgements_seq", "review_judgements", ["seq"])


def downgrade() -> None:
    op.drop_table("review_judgements")
    op.drop_column("galleries", "mask_source_category")
