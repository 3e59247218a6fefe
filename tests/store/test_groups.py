"""User groups, their members and their gallery grants in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from facesearch.errors import AlreadyExists, InvalidInput, NotFound
from facesearch.store import NewAuditEvent
from facesearch.store.accounts import AccountRepository
from facesearch.store.catalog import CatalogRepository
from facesearch.store.database import Database as StoreDatabase
from facesearch.store.engine import migrate
from facesearch.store.groups import GroupRepository


def _setup(store: Any) -> None:
    for user in ("ivy", "joe", "kim"):
        store.accounts.create_user(user, ["investigator"])
    for name in ("a", "b", "c"):
        store.catalog.create_gallery(name, legal_basis="t")


def test_group_lifecycle_and_records(store: Any) -> None:
    _setup(store)
    group = store.groups.create_group(
        "team", created_by="root", audit=lambda g: NewAuditEvent("root", "group.create")
    )
    assert (group.name, group.members, group.galleries, group.created_by) == (
        "team",
        (),
        (),
        "root",
    )
    assert store.audit.list_audit(limit=1)[0].action == "group.create"
    with pytest.raises(AlreadyExists, match="already exists"):
        store.groups.create_group("team", created_by="root")
    with pytest.raises(InvalidInput):
        store.groups.create_group("  ", created_by="root")
    with pytest.raises(InvalidInput):
        store.groups.create_group("x" * 201, created_by="root")
    with pytest.raises(InvalidInput, match="URL"):
        store.groups.create_group("a/b", created_by="root")

    assert store.groups.add_group_member("team", "joe", added_by="root").members == ("joe",)
    assert store.groups.add_group_member("team", "ivy", added_by="root").members == ("ivy", "joe")
    with pytest.raises(AlreadyExists, match="already a member"):
        store.groups.add_group_member("team", "ivy", added_by="root")
    with pytest.raises(NotFound, match="user 'zed'"):
        store.groups.add_group_member("team", "zed", added_by="root")
    with pytest.raises(NotFound, match="group 'nope'"):
        store.groups.add_group_member("nope", "ivy", added_by="root")

    grant = store.groups.add_group_grant("team", "b", granted_by="root")
    assert (grant.group_name, grant.gallery_name, grant.granted_by) == ("team", "b", "root")
    store.groups.add_group_grant("team", "a", granted_by="root")
    with pytest.raises(AlreadyExists, match="already holds a grant"):
        store.groups.add_group_grant("team", "a", granted_by="root")
    with pytest.raises(NotFound, match="gallery 'zz'"):
        store.groups.add_group_grant("team", "zz", granted_by="root")
    assert store.groups.get_group("team").galleries == ("a", "b")
    assert [(g.group_name, g.gallery_name) for g in store.groups.list_group_grants()] == [
        ("team", "a"),
        ("team", "b"),
    ]
    assert [g.group_name for g in store.groups.list_group_grants(gallery="b")] == ["team"]

    store.groups.create_group("other", created_by="root")
    store.groups.add_group_member("other", "ivy", added_by="root")
    assert [g.name for g in store.groups.list_groups()] == ["other", "team"]
    assert [g.name for g in store.groups.list_groups(user="joe")] == ["team"]
    assert [g.name for g in store.groups.list_groups(user="kim")] == []

    assert store.groups.remove_group_member("team", "joe").members == ("ivy",)
    with pytest.raises(NotFound, match="not a member"):
        store.groups.remove_group_member("team", "joe")
    store.groups.remove_group_grant("team", "b")
    with pytest.raises(NotFound, match="no grant"):
        store.groups.remove_group_grant("team", "b")

    gone = store.groups.delete_group(
        "team", audit=lambda g: NewAuditEvent("root", "group.delete", galleries=g.galleries)
    )
    assert (gone.members, gone.galleries) == (("ivy",), ("a",))
    assert tuple(store.audit.list_audit(limit=1)[0].galleries) == ("a",)
    with pytest.raises(NotFound):
        store.groups.get_group("team")
    assert store.groups.list_group_grants() == []
    assert [g.name for g in store.groups.list_groups(user="ivy")] == ["other"]


def test_effective_grants_are_own_and_groups(store: Any) -> None:
    _setup(store)
    store.groups.add_grant("ivy", "a", granted_by="root")
    store.groups.create_group("team", created_by="root")
    store.groups.add_group_grant("team", "a", granted_by="root")
    store.groups.add_group_grant("team", "b", granted_by="root")
    assert store.groups.granted_galleries("joe") == []
    store.groups.add_group_member("team", "joe", added_by="root")
    store.groups.add_group_member("team", "ivy", added_by="root")
    assert store.groups.granted_galleries("joe") == ["a", "b"]
    assert store.groups.granted_galleries("ivy") == ["a", "b"]  # no duplicate for "a"
    assert store.groups.granted_galleries("kim") == []
    store.groups.remove_group_member("team", "joe")
    assert store.groups.granted_galleries("joe") == []
    store.groups.delete_group("team")
    assert store.groups.granted_galleries("ivy") == ["a"]  # the own grant stays


def test_group_grants_go_with_the_gallery(store: Any) -> None:
    _setup(store)
    store.groups.create_group("team", created_by="root")
    store.groups.add_group_member("team", "ivy", added_by="root")
    store.groups.add_group_grant("team", "a", granted_by="root")
    store.groups.add_group_grant("team", "c", granted_by="root")
    store.catalog.delete_gallery("a")
    assert store.groups.get_group("team").galleries == ("c",)
    assert store.groups.granted_galleries("ivy") == ["c"]


def test_upgrade_from_0005_keeps_grants_and_adds_groups(database: Any) -> None:
    engine = database.engine()
    migrate(engine, "0005")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO galleries (name, legal_basis) VALUES ('old', 'test')"))
        conn.execute(text("INSERT INTO users (name, roles) VALUES ('ivy', '[\"investigator\"]')"))
        conn.execute(
            text(
                "INSERT INTO gallery_grants (user_id, gallery_id, granted_by) "
                "SELECT u.id, g.id, 'root' FROM users u, galleries g"
            )
        )
    store = database.open_store()  # upgrades to head (0006)
    assert store.groups.granted_galleries("ivy") == ["old"]
    assert store.groups.list_groups() == []
    store.groups.create_group("team", created_by="root")
    store.groups.add_group_member("team", "ivy", added_by="root")
    assert store.groups.get_group("team").members == ("ivy",)


def test_list_faces_within_galleries(store: Any, make: Any) -> None:
    """What an investigator's catalog reads use: faces of their granted galleries only."""
    ids = {}
    for name in ("a", "b", "c"):
        gallery = store.catalog.create_gallery(name, legal_basis="t")
        ids[name] = store.catalog.add_image(
            gallery.id, make.image(), [make.face()], [], subject_label=f"p-{name}"
        ).face_ids[0]
    within = store.catalog.list_faces(galleries=["a", "c", "unknown"])
    assert [f.id for f in within] == sorted([ids["a"], ids["c"]])
    assert [f.id for f in store.catalog.list_faces(galleries=["a", "c"], limit=1, offset=1)] == [
        ids["c"]
    ]
    assert store.catalog.list_faces(galleries=[]) == []
    assert [f.id for f in store.catalog.list_faces(galleries=["a"], subject="p-a")] == [ids["a"]]
    with pytest.raises(NotFound, match="subject"):  # p-b exists, but not within a
        store.catalog.list_faces(galleries=["a"], subject="p-b")


def test_groups_are_built_from_the_database_alone(sqlite_db: StoreDatabase) -> None:
    AccountRepository(sqlite_db).create_user("ann", ["investigator"])
    CatalogRepository(sqlite_db).create_gallery("g", legal_basis="t")
    groups = GroupRepository(sqlite_db)
    groups.add_grant("ann", "g", granted_by="root")
    assert groups.granted_galleries("ann") == ["g"]
