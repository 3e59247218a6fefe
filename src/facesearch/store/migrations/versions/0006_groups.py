"""User groups: user_groups, group_members, group_grants.

A grant to a group lets every member search the gallery; a user's grants are their own and
those of their groups. Written by hand to mirror ``facesearch.store.tables``;
``tests/store/test_migrations.py`` compares the two.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.text("CURRENT_TIMESTAMP"),
    )


def upgrade() -> None:
    op.create_table(
        "user_groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_user_groups"),
        sa.UniqueConstraint("name", name="uq_user_groups_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "group_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_group_members"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["user_groups.id"],
            name="fk_group_members_group_id_user_groups",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_group_members_user_id_users"),
        sa.UniqueConstraint("group_id", "user_id", name="uq_group_members_group_id_user_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_group_members_group_id", "group_members", ["group_id"])
    op.create_index("ix_group_members_user_id", "group_members", ["user_id"])
    op.create_table(
        "group_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("gallery_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_group_grants"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["user_groups.id"],
            name="fk_group_grants_group_id_user_groups",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gallery_id"],
            ["galleries.id"],
            name="fk_group_grants_gallery_id_galleries",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("group_id", "gallery_id", name="uq_group_grants_group_id_gallery_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_group_grants_group_id", "group_grants", ["group_id"])
    op.create_index("ix_group_grants_gallery_id", "group_grants", ["gallery_id"])


def downgrade() -> None:
    op.drop_table("group_grants")
    op.drop_table("group_members")
    op.drop_table("user_groups")
