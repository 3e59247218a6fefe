"""Names in one Unicode form, a look-alike key, and a report of what collides.

Gallery, user and group names and subject labels are rewritten in Unicode NFC; galleries,
users and groups get ``name_key`` (:func:`facesearch.names.name_key`, indexed, not
unique) so that the store refuses a new name a reader could not tell from a taken one.
Rows this migration cannot make unambiguous are never merged and never stop the
upgrade: a name whose NFC form is already another row's name stays as it was, rows
whose keys are equal keep their names and both keep the key, and a gallery named ``.``
or ``..`` keeps it. Each is written to ``name_collisions`` and logged as a warning;
``facesearch report names`` lists them for an operator to resolve (rename by
re-creating, or delete). Written by hand to mirror ``facesearch.store.tables``;
``tests/store/test_migrations.py`` compares the two.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from facesearch.names import RESERVED, name_key, nfc

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

_KEYED = (("galleries", "gallery"), ("users", "user"), ("user_groups", "group"))

_collisions = sa.table(
    "name_collisions",
    sa.column("kind", sa.String),
    sa.column("row_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("other", sa.String),
    sa.column("reason", sa.String),
)


_WHY = {
    "nfc": "its NFC form is already the name of {other!r}",
    "look-alike": "it looks like {other!r} (same name key)",
    "reserved": "a URL path cannot address . or ..",
}


def _report(conn: sa.Connection, kind: str, row_id: int, name: str, other: str, why: str) -> None:
    log.warning(
        "migration 0007: %s %r (id %d) left as it was: %s; see facesearch report names",
        kind,
        name,
        row_id,
        _WHY[why].format(other=other),
    )
    conn.execute(
        _collisions.insert().values(kind=kind, row_id=row_id, name=name, other=other, reason=why)
    )


def _normalise(
    conn: sa.Connection, table: sa.TableClause, column: str, kind: str, rows: list[tuple[int, str]]
) -> dict[int, str]:
    """Rename ``rows`` (id, name) to NFC where that collides with nothing; the names after."""
    names = {row[1] for row in rows}
    out: dict[int, str] = {}
    for row_id, name in rows:
        composed = nfc(name)
        if composed != name:
            if composed in names:
                _report(conn, kind, row_id, name, composed, "nfc")
            else:
                conn.execute(table.update().where(table.c.id == row_id).values({column: composed}))
                names.discard(name)
                names.add(composed)
                name = composed
        out[row_id] = name
    return out


def _keyed(conn: sa.Connection, name: str, kind: str) -> None:
    table = sa.table(
        name,
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
    )
    rows = [
        (int(r[0]), str(r[1]))
        for r in conn.execute(sa.select(table.c.id, table.c.name).order_by(table.c.id))
    ]
    first: dict[str, str] = {}
    for row_id, current in _normalise(conn, table, "name", kind, rows).items():
        if current in RESERVED:
            _report(conn, kind, row_id, current, "", "reserved")
        key = name_key(current)
        if key in first and nfc(current) != first[key]:  # an NFC clash is reported once
            _report(conn, kind, row_id, current, first[key], "look-alike")
        else:
            first[key] = current
        conn.execute(table.update().where(table.c.id == row_id).values(name_key=key))


def _subjects(conn: sa.Connection) -> None:
    table = sa.table(
        "subjects",
        sa.column("id", sa.Integer),
        sa.column("gallery_id", sa.Integer),
        sa.column("label", sa.String),
    )
    by_gallery: dict[int, list[tuple[int, str]]] = {}
    for row_id, gallery_id, label in conn.execute(
        sa.select(table.c.id, table.c.gallery_id, table.c.label).order_by(table.c.id)
    ):
        by_gallery.setdefault(int(gallery_id), []).append((int(row_id), str(label)))
    for rows in by_gallery.values():
        _normalise(conn, table, "label", "subject", rows)


def upgrade() -> None:
    op.create_table(
        "name_collisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("other", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_name_collisions"),
        sqlite_autoincrement=True,
    )
    for table, _ in _KEYED:
        op.add_column(table, sa.Column("name_key", sa.String(1000), nullable=True))
        op.create_index(f"ix_{table}_name_key", table, ["name_key"])
    conn = op.get_bind()
    for table, kind in _KEYED:
        _keyed(conn, table, kind)
    _subjects(conn)


def downgrade() -> None:
    for table, _ in reversed(_KEYED):
        op.drop_index(f"ix_{table}_name_key", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("name_key")
    op.drop_table("name_collisions")
