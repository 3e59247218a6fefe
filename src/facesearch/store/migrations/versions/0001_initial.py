"""Initial schema: galleries, subjects, images, faces, face_rejections, face_deletions.

Written by hand to mirror ``facesearch.store.tables``; ``tests/store/test_migrations.py``
compares the two. Constraint and index names follow the metadata's naming convention.

Revision ID: 0001
Revises:
Create Date: 2024-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id64() -> sa.types.TypeEngine[int]:
    """BIGINT, INTEGER on SQLite so that the key aliases the rowid (AUTOINCREMENT)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.text("CURRENT_TIMESTAMP"),
    )


def _box() -> list[sa.Column[object]]:
    return [sa.Column(name, sa.Float(), nullable=False) for name in ("x1", "y1", "x2", "y2")]


def _quality() -> list[sa.Column[object]]:
    names = ("interocular_px", "sharpness", "frontalness", "quality_score")
    return [sa.Column(name, sa.Float(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "galleries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column(
            "source_category",
            sa.String(100),
            nullable=False,
            server_default=sa.text("'unspecified'"),
        ),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_galleries"),
        sa.UniqueConstraint("name", name="uq_galleries_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gallery_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("external_reference", sa.String(200), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_subjects"),
        sa.ForeignKeyConstraint(
            ["gallery_id"],
            ["galleries.id"],
            name="fk_subjects_gallery_id_galleries",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("gallery_id", "label", name="uq_subjects_gallery_id_label"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gallery_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.CHAR(64), nullable=False),
        sa.Column("source_uri", sa.Text(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("n_bytes", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("n_faces", sa.Integer(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        sa.ForeignKeyConstraint(
            ["gallery_id"],
            ["galleries.id"],
            name="fk_images_gallery_id_galleries",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("gallery_id", "sha256", name="uq_images_gallery_id_sha256"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "faces",
        sa.Column("id", _id64(), autoincrement=True, nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        *_box(),
        sa.Column("landmarks", sa.JSON(), nullable=False),
        sa.Column("detector", sa.String(32), nullable=False),
        sa.Column("detector_score", sa.Float(), nullable=False),
        *_quality(),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("embedding_dim", sa.Integer(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_faces"),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_faces_image_id_images", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name="fk_faces_subject_id_subjects",
            ondelete="SET NULL",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_faces_image_id", "faces", ["image_id"])
    op.create_index("ix_faces_subject_id", "faces", ["subject_id"])
    op.create_index("ix_faces_model_id_id", "faces", ["model_id", "id"])
    op.create_table(
        "face_rejections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        *_box(),
        sa.Column("reason", sa.Text(), nullable=False),
        *_quality(),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_face_rejections"),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name="fk_face_rejections_image_id_images",
            ondelete="CASCADE",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_face_rejections_image_id", "face_rejections", ["image_id"])
    op.create_table(
        "face_deletions",
        sa.Column("seq", _id64(), autoincrement=True, nullable=False),
        sa.Column("face_id", sa.BigInteger(), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_face_deletions"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_face_deletions_model_id_seq", "face_deletions", ["model_id", "seq"])


def downgrade() -> None:
    op.drop_table("face_deletions")
    op.drop_table("face_rejections")
    op.drop_table("faces")
    op.drop_table("images")
    op.drop_table("subjects")
    op.drop_table("galleries")
