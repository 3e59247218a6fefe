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
    gallery = store.create_gallery("g", legal_basis="test")
    one = store.add_image(gallery.id, make.image(), [make.face()], [], subject_label=NFC)
    two = store.add_image(gallery.id, make.image(), [make.face()], [], subject_label=NFD)
    assert one.subject_id == two.subject_id
    [subject] = store.list_subjects("g")
    assert subject.label == NFC and subject.n_faces == 2
    assert len(store.list_faces(subject=NFD)) == 2


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
        "gallery": lambda n: store.create_gallery(n, legal_basis="test"),
        "user": lambda n: store.create_user(n, ["curator"]),
        "group": lambda n: store.create_group(n, created_by="root"),
    }[kind]
    create(first)
    for other in others:
        assert name_key(other) == name_key(first)
        with pytest.raises(AlreadyExists, match="looks like"):
            create(other)


def test_names_are_stored_in_nfc_and_found_in_either_form(store: Store) -> None:
    assert store.create_gallery(NFD, legal_basis="test").name == NFC
    assert store.get_gallery(NFD).name == NFC
    with pytest.raises(AlreadyExists):
        store.create_gallery(NFC, legal_basis="test")
    assert store.create_user(NFD, ["curator"]).name == NFC
    assert store.get_user(NFC).name == NFC
    assert store.create_group(NFD, created_by="root").name == NFC


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(InvalidInput, match=r"\. or \.\."):
        store.create_gallery(name, legal_basis="test")
    with pytest.raises(InvalidInput, match=r"\. or \.\."):
        store.create_user(name, ["curator"])
    with pytest.raises(InvalidInput, match=r"\. or \.\."):
        store.create_group(name, created_by="root")
    assert store.list_galleries() == []
    # a name that merely holds dots is fine
    assert store.create_gallery("a.b", legal_basis="test").name == "a.b"


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
    names = [g.name for g in store.list_galleries()]
    assert len(names) == 6  # nothing merged, nothing dropped
    assert "Zoë" in names  # made NFC: it collided with nothing
    assert NFD in names and NFC in names  # left as they were
    assert sorted(u.name for u in store.list_users()) == sorted(["admin", "аdmin", "ａｄｍｉｎ"])
    labels = sorted(s.label for s in store.list_subjects("g"))
    assert labels == sorted([NFC, NFD, unicodedata.normalize("NFC", "Aná")])
    found = {(c.kind, c.name, c.other, c.reason) for c in store.name_collisions()}
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
        store.create_gallery("ｇ", legal_basis="test")
    with pytest.raises(AlreadyExists, match="looks like"):
        store.create_user("ADMIN", ["curator"])
    assert store.create_gallery("h", legal_basis="test").name == "h"


def test_a_fresh_store_reports_no_collisions(store: Store) -> None:
    assert store.name_collisions() == []
