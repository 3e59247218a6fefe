"""Names people can confuse, through the API: one form, look-alikes refused, no . or .."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest

from .conftest import Api

NFC = unicodedata.normalize("NFC", "José")
NFD = unicodedata.normalize("NFD", "José")


def test_a_subject_typed_and_from_a_mac_folder_is_one(
    api: Api, test_images: dict[str, list[Path]]
) -> None:
    h = api.headers("curator")
    r = api.client.post("/api/v1/galleries", json={"name": "g", "legal_basis": "t"}, headers=h)
    assert r.status_code == 201
    photos = test_images["Colin_Powell"][:2]
    for label, photo in zip((NFC, NFD), photos, strict=True):
        r = api.client.post(
            "/api/v1/galleries/g/images",
            files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))],
            data={"subject": label},
            headers=h,
        )
        assert r.status_code == 200 and r.json()["enrolled"] == 1, r.text
    r = api.client.get("/api/v1/galleries/g/subjects", headers=h)
    assert [s["label"] for s in r.json()] == [NFC]
    r = api.client.delete(f"/api/v1/galleries/g/subjects/{quote(NFD)}", headers=h)
    assert r.status_code in (200, 204), r.text


def test_look_alike_galleries_and_users_are_refused(api: Api) -> None:
    h = api.headers("admin")
    c = api.headers("curator")
    r = api.client.post("/api/v1/galleries", json={"name": "g", "legal_basis": "t"}, headers=c)
    assert r.status_code == 201
    for name in ("ɡ", "ｇ"):
        r = api.client.post("/api/v1/galleries", json={"name": name, "legal_basis": "t"}, headers=c)
        assert r.status_code == 409 and "looks like" in r.json()["error"]["message"], r.text
    r = api.client.post("/api/v1/users", json={"name": "admin", "roles": []}, headers=h)
    assert r.status_code == 201, r.text
    for name in ("аdmin", "ａｄｍｉｎ"):
        r = api.client.post("/api/v1/users", json={"name": name, "roles": []}, headers=h)
        assert r.status_code == 409 and "looks like" in r.json()["error"]["message"], r.text
    assert sorted(g["name"] for g in api.client.get("/api/v1/galleries", headers=c).json()) == ["g"]


def test_dot_galleries_are_refused(api: Api) -> None:
    c = api.headers("curator")
    for name in (".", ".."):
        r = api.client.post("/api/v1/galleries", json={"name": name, "legal_basis": "t"}, headers=c)
        assert r.status_code == 422 and ". or .." in r.json()["error"]["message"], r.text
    assert api.client.get("/api/v1/galleries", headers=c).json() == []


def test_a_key_label_and_a_group_name_are_stored_in_nfc(api: Api) -> None:
    h = api.headers("admin")
    r = api.client.post("/api/v1/users", json={"name": "ivy", "roles": ["investigator"]}, headers=h)
    assert r.status_code == 201
    r = api.client.post("/api/v1/users/ivy/keys", json={"label": NFD}, headers=h)
    assert r.status_code == 201, r.text
    assert [k.label for k in api.engine.accounts.list_keys("ivy")] == [NFC]
    r = api.client.post("/api/v1/groups", json={"name": NFD}, headers=h)
    assert r.status_code == 201 and r.json()["name"] == NFC
    r = api.client.post(f"/api/v1/groups/{quote(NFC)}/members", json={"user": "ivy"}, headers=h)
    assert r.status_code == 201, r.text
    assert api.client.get(f"/api/v1/groups/{quote(NFD)}", headers=h).json()["members"] == ["ivy"]


def test_a_grant_scoped_name_resolves_to_the_granted_stored_name() -> None:
    """The store looks a name up exactly first (a row migration 0007 left in NFD is found
    under its NFD name), so a grant check must hand the store the granted stored name:
    NFD input of a granted NFC gallery goes on as the NFC name, never as an NFD name that
    could land on an ungranted row."""
    from facesearch.api.deps import check_gallery_scope
    from facesearch.errors import NotFound, PermissionDenied
    from facesearch.service.grants import galleries_to_search

    assert check_gallery_scope(frozenset({NFC}), NFD, "x") == NFC
    assert check_gallery_scope(frozenset({NFD}), NFD, "x") == NFD
    assert check_gallery_scope(None, NFD, "x") == NFD
    with pytest.raises(NotFound):
        check_gallery_scope(frozenset({"g"}), NFD, "x")
    assert galleries_to_search([NFD], [NFC]) == [NFC]
    assert galleries_to_search([NFD], [NFD, NFC]) == [NFD]
    assert galleries_to_search([NFD], None) == [NFD]  # unrestricted: the store resolves it
    with pytest.raises(PermissionDenied):
        galleries_to_search([NFD], ["g"])
