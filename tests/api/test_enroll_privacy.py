"""Enrollment through the API and the sensitive-identifier guard; thumbnails are not cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..disclosure import audit_texts, disclosed
from .conftest import Api

Images = dict[str, list[Path]]

SHARED_FIELDS = [
    ("subject", "Jane Roe, DOB 1984-03-07", "date of birth", "1984-03-07"),
    ("subject_reference", "jane.roe@example.org", "e-mail address", "jane.roe@example.org"),
    ("source_uri", "archive://box/123-45-6789", "social security number", "123-45-6789"),
    (
        "source_uri",
        "archive://x?c=4111%201111%201111%201111",
        "payment card number",
        "4111 1111 1111 1111",
    ),
    ("legal_basis", "consent, call 415-555-0142", "phone number", "415-555-0142"),
]


@pytest.fixture
def gallery_api(api: Api) -> Api:
    h = api.headers("curator")
    r = api.client.post("/api/v1/galleries", json={"name": "g", "legal_basis": "test"}, headers=h)
    assert r.status_code == 201, r.text
    return api


@pytest.mark.parametrize(("field", "value", "kind", "secret"), SHARED_FIELDS)
def test_a_sensitive_shared_field_refuses_the_request_with_422(
    gallery_api: Api, test_images: Images, field: str, value: str, kind: str, secret: str
) -> None:
    api = gallery_api
    photo = test_images["Colin_Powell"][0]
    files = [("files", (photo.name, photo.read_bytes(), "image/jpeg"))] * 2
    r = api.client.post(
        "/api/v1/galleries/g/images",
        files=files,
        data={"subject": "Colin", field: value},
        headers=api.headers("curator"),
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "sensitive_identifier"
    assert repr(field) in error["message"] and kind in error["message"]
    # the whole value and the identifier (also as digits only), never a short run of
    # digits that a hash or a random id may hold by chance
    for shown in (value, secret):
        assert not disclosed(shown, [r.text]), shown
    gallery = api.client.get("/api/v1/galleries/g", headers=api.headers("curator")).json()
    assert (gallery["n_images"], gallery["n_faces"]) == (0, 0)
    event = api.engine.audit.list(limit=1)[0]
    assert (event.action, event.outcome) == ("enroll", "sensitive_identifier")
    assert event.details["refused_field"] == field and event.details["identifier_kind"] == kind
    texts = audit_texts(api.engine.store)
    assert texts and not disclosed(value, texts) and not disclosed(secret, texts)


def test_a_sensitive_file_name_fails_that_file_only(gallery_api: Api, test_images: Images) -> None:
    api = gallery_api
    colin, serena = test_images["Colin_Powell"][0], test_images["Serena_Williams"][0]
    r = api.client.post(
        "/api/v1/galleries/g/images",
        files=[
            ("files", ("jane.roe@example.org.jpg", colin.read_bytes(), "image/jpeg")),
            ("files", (serena.name, serena.read_bytes(), "image/jpeg")),
        ],
        headers=api.headers("curator"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [f["outcome"] for f in body["files"]] == ["failed", "enrolled"]
    assert body["files"][0]["error"]["code"] == "sensitive_identifier"
    assert "'source_uri'" in body["files"][0]["error"]["message"]
    assert not disclosed("jane.roe@example.org", audit_texts(api.engine.store))


def test_thumbnails_are_sent_with_no_store(gallery_api: Api, test_images: Images) -> None:
    api = gallery_api
    h = api.headers("curator")
    photo = test_images["Colin_Powell"][0]
    r = api.client.post(
        "/api/v1/galleries/g/images",
        files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))],
        headers=h,
    )
    face_id = r.json()["files"][0]["face_ids"][0]
    thumb = api.client.get(f"/api/v1/faces/{face_id}/thumbnail", headers=h)
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    assert thumb.headers["cache-control"] == "no-store"
