"""Names people can confuse: one Unicode form, look-alikes refused, ``.``/``..`` refused,
and migration 0007 reporting (never merging) the rows that already collide."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from sqlalchemy import text

from facesearch.errors import AlreadyExists, InvalidInput
from facesearch.names import name_key
from facesearch.store import Store

from .conftest import Make

NFC = unicodedata.normalize("NFC", "José")
NFD = unicodedata.normalize("NFD", "José")


def test_the_two_forms_differ_as_strings() -> None:
    assert NFC != NFD and len(NFD) == len(NFC) + 1


def test_a_subject_in_two_unicode_forms_is_one_subject(store: Store, make: Make) -> None:
    gallery = store.catalog.create_gallery("g", legal_basis="test")
    one = store.catalog.add_image(gallery.id, make.image(), [make.face()], [], subject_label=NFC)
    two = store.catalog.add_image(gallery.id, make.image(), [make.face()], [], subject_label=NFD)
    assert one.subject_id == two.subject_id
    [subject] = store.catalog.list_subjects("g")
    assert subject.label == NFC and subject.n_faces == 2
    assert len(store.catalog.list_faces(subject=NFD)) == 2


@pytest.mark.parametrize(
    ("kind", "first", "others"),
    [
        ("gallery", "g", ["ɡ", "ｇ", "G"]),  # Latin script g (U+0261), full-width g
        ("user", "admin", ["аdmin", "ａｄｍｉｎ", "Admin"]),  # Cyrillic а (U+0430)
        ("group", "night", ["nіght", "ｎｉｇｈｔ"]),  # Ukrainian і (U+0456)
    ],
)
def test_look_alike_names_are_refused(
    store: Store, kind: str, first: str, others: list[str]
) -> None:
    create: Any = {
        "gallery": lambda n: store.catalog.create_gallery(n, legal_basis="test"),
        "user": lambda n: store.accounts.create_user(n, ["curator"]),
        "group": lambda n: store.groups.create_group(n, created_by="root"),
    }[kind]
    create(first)
    for other in others:
        assert name_key(other) == name_key(first)
        with pytest.raises(AlreadyExists, match="looks like"):
            create(other)


def test_names_are_stored_in_nfc_and_found_in_either_form(store: Store) -> None:
    assert store.catalog.create_gallery(NFD, legal_basis="test").name == NFC
    assert store.catalog.get_gallery(NFD).name == NFC
    with pytest.raises(AlreadyExists):
        store.catalog.create_gallery(NFC, legal_basis="test")
    assert store.accounts.create_user(NFD, ["curator"]).name == NFC
    assert store.accounts.get_user(NFC).name == NFC
    assert store.groups.create_group(NFD, created_by="root").name == NFC


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(InvalidInput, match=r"\. or \.\."):
        store.catalog.create_gallery(name, legal_basis="test")
    with pytest.raises(InvalidInput, match=r"\. or \.\."):
        store.accounts.create_user(name, ["curator"])
    with pytest.raises(InvalidInput, match=r"\. or \.\."):
        store.groups.create_group(name, created_by="root")
    assert store.catalog.list_galleries() == []
    # a name that merely holds dots is fine
    assert store.catalog.create_gallery("a.b", legal_basis="test").name == "a.b"


def test_migration_0007_reports_collisions_and_never_merges(database: Any) -> None:
    """A data folder made before 0007 with names that collide still opens; the rows stay,
    each collision is reported, and the names that can be made NFC are."""
    from facesearch.store.engine import migrate

    engine = database.engine()
    migrate(engine, "0006")
    with engine.begin() as conn:
        for name in (NFC, NFD, "g", "ɡ", "..", "Zoë"[:2] + "e\u0308"):
            conn.execute(
                text("INSERT INTO galleries (name, legal_basis) VALUES (:n, 'test')"), {"n": name}
            )
        for name in ("admin", "аdmin", "ａｄｍｉｎ"):
            conn.execute(
                text("INSERT INTO users (name, roles, disabled) VALUES (:n, '[]', false)"),
                {"n": name},
            )
        gallery_id = conn.execute(text("SELECT id FROM galleries WHERE name = 'g'")).scalar_one()
        for label in (NFC, NFD, "Ana" + "\u0301"):
            conn.execute(
                text("INSERT INTO subjects (gallery_id, label) VALUES (:g, :l)"),
                {"g": gallery_id, "l": label},
            )
    store = database.open_store()  # upgrades to head; must not fail
    names = [g.name for g in store.catalog.list_galleries()]
    assert len(names) == 6  # nothing merged, nothing dropped
    assert "Zoë" in names  # made NFC: it collided with nothing
    assert NFD in names and NFC in names  # left as they were
    assert sorted(u.name for u in store.accounts.list_users()) == sorted(
        ["admin", "аdmin", "ａｄｍｉｎ"]
    )
    labels = sorted(s.label for s in store.catalog.list_subjects("g"))
    assert labels == sorted([NFC, NFD, unicodedata.normalize("NFC", "Aná")])
    found = {(c.kind, c.name, c.other, c.reason) for c in store.catalog.name_collisions()}
    assert found == {
        ("gallery", NFD, NFC, "nfc"),
        ("gallery", "ɡ", "g", "look-alike"),
        ("gallery", "..", "", "reserved"),
        ("user", "аdmin", "admin", "look-alike"),
        ("user", "ａｄｍｉｎ", "admin", "look-alike"),
        ("subject", NFD, NFC, "nfc"),
    }
    # the keys are in place: a new look-alike is refused, a new distinct name is not
    with pytest.raises(AlreadyExists, match="looks like"):
        store.catalog.create_gallery("ｇ", legal_basis="test")
    with pytest.raises(AlreadyExists, match="looks like"):
        store.accounts.create_user("ADMIN", ["curator"])
    assert store.catalog.create_gallery("h", legal_basis="test").name == "h"


def test_a_fresh_store_reports_no_collisions(store: Store) -> None:
    assert store.catalog.name_collisions() == []


def _store_from_0006(database: Any, inserts: list[tuple[str, dict[str, Any]]]) -> Store:
    """A store made at migration 0006 holding the rows of ``inserts``, upgraded to head."""
    from facesearch.store.engine import migrate

    engine = database.engine()
    migrate(engine, "0006")
    with engine.begin() as conn:
        for sql, params in inserts:
            conn.execute(text(sql), params)
    return database.open_store()


_GALLERY = "INSERT INTO galleries (name, legal_basis) VALUES (:n, 'test')"
_USER = "INSERT INTO users (name, roles, disabled) VALUES (:n, '[]', false)"
_GROUP = "INSERT INTO user_groups (name, created_by) VALUES (:n, 'root')"


def test_a_gallery_name_finds_the_row_stored_under_it_before_its_nfc_form(
    database: Any, make: Make
) -> None:
    """Migration 0007 leaves NFD ``José`` (id 2) beside NFC ``José`` (id 1). Deleting
    the NFD one deletes id 2, never the NFC one and its faces; with it gone, NFD input
    finds the NFC row again."""
    store = _store_from_0006(database, [(_GALLERY, {"n": NFC}), (_GALLERY, {"n": NFD})])
    ids = {g.name: g.id for g in store.catalog.list_galleries()}
    store.catalog.add_image(ids[NFC], make.image(), [make.face()], [], subject_label="a")
    assert store.catalog.get_gallery(NFD).id == ids[NFD]
    assert store.catalog.get_gallery(NFC).id == ids[NFC]
    assert store.catalog.list_faces(gallery=NFD) == []
    assert len(store.catalog.list_faces(galleries=[NFD, NFC])) == 1
    assert store.catalog.delete_gallery(NFD) == []
    [left] = store.catalog.list_galleries()
    assert (left.id, left.name, left.n_faces) == (ids[NFC], NFC, 1)
    assert store.catalog.get_gallery(NFD).id == ids[NFC]


def test_user_and_group_names_find_the_row_stored_under_them(database: Any) -> None:
    store = _store_from_0006(
        database,
        [(_USER, {"n": NFC}), (_USER, {"n": NFD}), (_GROUP, {"n": NFC}), (_GROUP, {"n": NFD})],
    )
    ids = {u.name: u.id for u in store.accounts.list_users()}
    assert (
        store.accounts.get_user(NFD).id == ids[NFD] and store.accounts.get_user(NFC).id == ids[NFC]
    )
    store.catalog.create_gallery("g", legal_basis="test")
    store.groups.add_grant(NFD, "g", granted_by="root")
    assert (
        store.groups.granted_galleries(NFD) == ["g"] and store.groups.granted_galleries(NFC) == []
    )
    store.groups.add_group_member(NFD, NFD, added_by="root")
    assert store.groups.get_group(NFD).members == (NFD,)
    assert store.groups.get_group(NFC).members == ()
    store.groups.delete_group(NFD)
    assert [g.name for g in store.groups.list_groups()] == [NFC]
    assert store.groups.get_group(NFD).name == NFC  # NFD input finds the NFC row once alone


def test_a_subject_label_finds_the_row_stored_under_it(database: Any, make: Make) -> None:
    store = _store_from_0006(database, [(_GALLERY, {"n": "g"})])
    gallery = store.catalog.get_gallery("g")
    with database.engine().begin() as conn:
        for label in (NFC, NFD):  # as migration 0007 leaves them: both kept
            conn.execute(
                text("INSERT INTO subjects (gallery_id, label) VALUES (:g, :l)"),
                {"g": gallery.id, "l": label},
            )
    ids = {s.label: s.id for s in store.catalog.list_subjects("g")}
    assert (
        store.catalog.add_image(
            gallery.id, make.image(), [make.face()], [], subject_label=NFD
        ).subject_id
        == ids[NFD]
    )
    assert (
        store.catalog.add_image(
            gallery.id, make.image(), [make.face()], [], subject_label=NFC
        ).subject_id
        == ids[NFC]
    )
    assert [f.subject_id for f in store.catalog.list_faces(subject=NFD)] == [ids[NFD]]
    assert [f.subject_id for f in store.catalog.list_faces(gallery="g", subject=NFD)] == [ids[NFD]]
    store.catalog.delete_subject("g", NFD)
    assert [s.id for s in store.catalog.list_subjects("g")] == [ids[NFC]]
    assert [f.subject_id for f in store.catalog.list_faces(subject=NFD)] == [ids[NFC]]


def test_a_look_alike_refusal_shows_escapes_when_the_names_render_alike(database: Any) -> None:
    store = _store_from_0006(database, [(_GALLERY, {"n": NFC}), (_GALLERY, {"n": NFD})])
    store.catalog.delete_gallery(NFC)  # the NFD row is left, under its stored (NFD) name
    with pytest.raises(AlreadyExists) as refused:
        store.catalog.create_gallery(NFC, legal_basis="test")
    assert str(refused.value) == (r"gallery 'Jos\xe9' looks like the existing gallery 'Jose\u0301'")
    store.accounts.create_user("admin", ["curator"])
    with pytest.raises(AlreadyExists) as refused:
        store.accounts.create_user("аdmin", ["curator"])  # Cyrillic а
    assert str(refused.value) == r"user '\u0430dmin' looks like the existing user 'admin'"
    store.groups.create_group("g", created_by="root")
    with pytest.raises(AlreadyExists) as refused:
        store.groups.create_group("G", created_by="root")  # looks different: shown as typed
    assert str(refused.value) == "group 'G' looks like the existing group 'g'"


def test_the_collision_report_lists_only_open_collisions(database: Any) -> None:
    """Deleting the flagged rows resolves their collisions: they leave the report (and,
    asked for, are listed as resolved); one whose row remains stays open."""
    store = _store_from_0006(
        database,
        [(_GALLERY, {"n": n}) for n in ("g", "ɡ", ".", "..", NFC, NFD)],
    )
    before = {(c.kind, c.name, c.reason) for c in store.catalog.name_collisions()}
    assert before == {
        ("gallery", "ɡ", "look-alike"),
        ("gallery", ".", "reserved"),
        ("gallery", "..", "reserved"),
        ("gallery", NFD, "nfc"),
    }
    for name in (".", "..", "ɡ"):
        store.catalog.delete_gallery(name)
    [left] = store.catalog.name_collisions()
    assert (left.name, left.resolved) == (NFD, False)
    everything = store.catalog.name_collisions(include_resolved=True)
    assert sorted((c.name, c.resolved) for c in everything) == sorted(
        [("ɡ", True), (".", True), ("..", True), (NFD, False)]
    )
    store.catalog.delete_gallery(NFD)
    assert store.catalog.name_collisions() == []
    assert sorted(g.name for g in store.catalog.list_galleries()) == sorted(["g", NFC])
