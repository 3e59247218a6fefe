"""Moving a gallery to another model: linked re-embedded faces and suppression crops.

- ``faces.source_face_id``: the face a row was re-embedded from (``facesearch models
  migrate``), so deleting either row deletes the other (``_rows.delete_faces_where``).
- ``suppressions.crop``/``crop_box``: the loose face crop a suppression embedding came
  from, kept only to re-embed the suppression under another model;
  ``suppressions.source_suppression_id``: the suppression it was re-embedded from.
- ``erasure_requests.crop``/``crop_box``: the requester's face crop while the request is
  pending (moved to the suppression list on confirmation, wiped on cancellation).

All nullable: rows written before this revision have none. Written by hand to mirror
``facesearch.store.tables``; ``tests/store/test_migrations.py`` compares the two.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("faces", sa.Column("source_face_id", _ID64, nullable=True))
    op.create_index("ix_faces_source_face_id", "faces", ["source_face_id"])
    op.add_column("suppressions", sa.Column("crop", sa.LargeBinary(), nullable=True))
    op.add_column("suppressions", sa.Column("crop_box", sa.JSON(), nullable=True))
    op.add_column("suppressions", sa.Column("source_suppression_id", sa.Integer(), nullable=True))
    op.create_index(
        "ix_suppressions_source_suppression_id", "suppressions", ["source_suppression_id"]
    )
    op.add_column("erasure_requests", sa.Column("crop", sa.LargeBinary(), nullable=True))
    op.add_column("erasure_requests", sa.Column("crop_box", sa.JSON(), nullable=True))


def downgrade() -> None:
    # plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), as in 0009
    op.drop_column("erasure_requests", "crop_box")
    op.drop_column("erasure_requests", "crop")
    op.drop_index("ix_suppressions_source_suppression_id", table_name="suppressions")
    op.drop_column("suppressions", "source_suppression_id")
    op.drop_column("suppressions", "crop_box")
    op.drop_column("suppressions", "crop")
    op.drop_index("ix_faces_source_face_id", table_name="faces")
    op.drop_column("faces", "source_face_id")
