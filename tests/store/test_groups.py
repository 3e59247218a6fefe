"""User groups, their members and their gallery grants in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from facesearch.errors import AlreadyExists, InvalidInput, NotFound
from facesearch.store import NewAuditEvent
from facesearch.store.engine import migrate


def _setup(store: Any) -> None:
    for user in ("ivy", "joe", "kim"):
        store.create_user(user, ["investigator"])
    for name in ("a", "b", "c"):
        store.create_gallery(name, legal_basis="t")


def test_group_lifecycle_and_records(store: Any) -> None:
    _setup(store)
    group = store.create_group(
        "team", created_by="root", audit=lambda g: NewAuditEvent("root", "group.create")
    )
    assert (group.name, group.members, group.galleries, group.created_by) == (
        "team",
        (),
        (),
        "root",
    )
    assert store.list_audit(limit=1)[0].action == "group.create"
    with pytest.raises(AlreadyExists, match="already exists"):
        store.create_group("team", created_by="root")
    with pytest.raises(InvalidInput):
        store.create_group("  ", created_by="root")
    with pytest.raises(InvalidInput):
        store.create_group("x" * 201, created_by="root")
    with pytest.raises(InvalidInput, match="URL"):
        store.create_group("a/b", created_by="root")

    assert store.add_group_member("team", "joe", added_by="root").members == ("joe",)
    assert store.add_group_member("team", "ivy", added_by="root").members == ("ivy", "joe")
    with pytest.raises(AlreadyExists, match="already a member"):
        store.add_group_member("team", "ivy", added_by="root")
    with pytest.raises(NotFound, match="user 'zed'"):
        store.add_group_member("team", "zed", added_by="root")
    with pytest.raises(NotFound, match="group 'nope'"):
        store.add_group_member("nope", "ivy", added_by="root")

    grant = store.add_group_grant("team", "b", granted_by="root")
    assert (grant.group_name, grant.gallery_name, grant.granted_by) == ("team", "b", "root")
    store.add_group_grant("team", "a", granted_by="root")
    with pytest.raises(AlreadyExists, match="already holds a grant"):
        store.add_group_grant("team", "a", granted_by="root")
    with pytest.raises(NotFound, match="gallery 'zz'"):
        store.add_group_grant("team", "zz", granted_by="root")
    assert store.get_group("team").galleries == ("a", "b")
    assert [(g.group_name, g.gallery_name) for g in store.list_group_grants()] == [
        ("team", "a"),
        ("team", "b"),
    ]
    assert [g.group_name for g in store.list_group_grants(gallery="b")] == ["team"]

    store.create_group("other", created_by="root")
    store.add_group_member("other", "ivy", added_by="root")
    assert [g.name for g in store.list_groups()] == ["other", "team"]
    assert [g.name for g in store.list_groups(user="joe")] == ["team"]
    assert [g.name for g in store.list_groups(user="kim")] == []

    assert store.remove_group_member("team", "joe").members == ("ivy",)
    with pytest.raises(NotFound, match="not a member"):
        store.remove_group_member("team", "joe")
    store.remove_group_grant("team", "b")
    with pytest.raises(NotFound, match="no grant"):
        store.remove_group_grant("team", "b")

    gone = store.delete_group(
        "team", audit=lambda g: NewAuditEvent("root", "group.delete", galleries=g.galleries)
    )
    assert (gone.members, gone.galleries) == (("ivy",), ("a",))
    assert tuple(store.list_audit(limit=1)[0].galleries) == ("a",)
    with pytest.raises(NotFound):
        store.get_group("team")
    assert store.list_group_grants() == []
    assert [g.name for g in store.list_groups(user="ivy")] == ["other"]


def test_effective_grants_are_own_and_groups(store: Any) -> None:
    _setup(store)
    store.add_grant("ivy", "a", granted_by="root")
    store.create_group("team", created_by="root")
    store.add_group_grant("team", "a", granted_by="root")
    store.add_group_grant("team", "b", granted_by="root")
    assert store.granted_galleries("joe") == []
    store.add_group_member("team", "joe", added_by="root")
    store.add_group_member("team", "ivy", added_by="root")
    assert store.granted_galleries("joe") == ["a", "b"]
    assert store.granted_galleries("ivy") == ["a", "b"]  # no duplicate for "a"
    assert store.granted_galleries("kim") == []
    store.remove_group_member("team", "joe")
    assert store.granted_galleries("joe") == []
    store.delete_group("team")
    assert store.granted_galleries("ivy") == ["a"]  # the own grant stays


def test_group_grants_go_with_the_gallery(store: Any) -> None:
    _setup(store)
    store.create_group("team", created_by="root")
    store.add_group_member("team", "ivy", added_by="root")
    store.add_group_grant("team", "a", granted_by="root")
    store.add_group_grant("team", "c", granted_by="root")
    store.delete_gallery("a")
    assert store.get_group("team").galleries == ("c",)
    assert store.granted_galleries("ivy") == ["c"]


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
    assert store.granted_galleries("ivy") == ["old"]
    assert store.list_groups() == []
    store.create_group("team", created_by="root")
    store.add_group_member("team", "ivy", added_by="root")
    assert store.get_group("team").members == ("ivy",)


def test_list_faces_within_galleries(store: Any, make: Any) -> None:
    """What an investigator's catalog reads use: faces of their granted galleries only."""
    ids = {}
    for name in ("a", "b", "c"):
        gallery = store.create_gallery(name, legal_basis="t")
        ids[name] = store.add_image(
            gallery.id, make.image(), [make.face()], [], subject_label=f"p-{name}"
        ).face_ids[0]
    within = store.list_faces(galleries=["a", "c", "unknown"])
    assert [f.id for f in within] == sorted([ids["a"], ids["c"]])
    assert [f.id for f in store.list_faces(galleries=["a", "c"], limit=1, offset=1)] == [ids["c"]]
    assert store.list_faces(galleries=[]) == []
    assert [f.id for f in store.list_faces(galleries=["a"], subject="p-a")] == [ids["a"]]
    with pytest.raises(NotFound, match="subject"):  # p-b exists, but not within a
        store.list_faces(galleries=["a"], subject="p-b")
