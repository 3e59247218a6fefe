"""Face crops: faces.crop (JPEG) and faces.crop_box, so any model can re-embed a face.

The loose crop (:mod:`facesearch.imaging.crops`) lives in the face's own row, so erasure
and retention, which delete the row, delete it too. Faces stored before this revision
have none (NULL): they cannot be re-embedded and are counted as such. Written by hand to
mirror ``facesearch.store.tables``; ``tests/store/test_migrations.py`` compares the two.

Revision ID: 0009
Revises: 0007 (the lead chains it after 0008)
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("faces", sa.Column("crop", sa.LargeBinary(), nullable=True))
    op.add_column("faces", sa.Column("crop_box", sa.JSON(), nullable=True))


def downgrade() -> None:
    # plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of ``faces`` would
    # drop the table and lose its face_deletions bookkeeping
    op.drop_column("faces", "crop_box")
    op.drop_column("faces", "crop")
