"""Edge values at the API boundary: they are refused with a 422 naming the field, never a
5xx from deeper down."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from .conftest import Api

EDGE_TIMES = [
    ("since", "0001-01-01T00:00:00+01:00"),
    ("until", "9999-12-31T23:59:59-01:00"),
]


@pytest.mark.parametrize(("name", "value"), EDGE_TIMES)
def test_audit_times_outside_utc_are_a_422(api: Api, name: str, value: str) -> None:
    r = api.client.get("/api/v1/audit/events", params={name: value}, headers=api.headers("auditor"))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and error["message"].startswith(f"{name}:")


def test_audit_times_at_the_ends_of_the_calendar_still_filter(api: Api) -> None:
    h = api.headers("auditor")
    everything = api.client.get("/api/v1/audit/events", headers=h).json()["events"]
    assert everything
    r = api.client.get(
        "/api/v1/audit/events",
        params={"since": "0001-01-01T00:00:00+00:00", "until": "9999-12-31T23:59:59"},
        headers=h,
    )
    assert r.status_code == 200 and len(r.json()["events"]) == len(everything)
    r = api.client.get(
        "/api/v1/audit/events", params={"since": "9999-12-31T00:00:00-00:30"}, headers=h
    )
    assert r.status_code == 200 and r.json()["events"] == []


@pytest.mark.parametrize(
    ("start", "end", "named"),
    [
        ("0001-01-01T00:00:00+01:00", "0001-01-02", "from"),
        ("9999-12-30", "9999-12-31T23:59:59-01:00", "to"),
    ],
)
def test_usage_report_times_outside_utc_are_a_422(
    api: Api, start: str, end: str, named: str
) -> None:
    r = api.client.get(
        "/api/v1/oversight/usage",
        params={"from": start, "to": end},
        headers=api.headers("auditor"),
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and error["message"].startswith(f"{named}:")


def test_usage_report_at_the_ends_of_the_calendar(api: Api) -> None:
    h = api.headers("auditor")
    for start, end in [("0001-01-01", "0001-01-03"), ("9999-12-29", "9999-12-31T23:59:59")]:
        r = api.client.get("/api/v1/oversight/usage", params={"from": start, "to": end}, headers=h)
        assert r.status_code == 200, r.text
    api.client.post("/ui/signin", data={"key": api.keys["auditor"]})
    r = api.client.get(
        "/ui/oversight", params={"from": "0001-01-01T00:00:00+01:00", "to": "0001-01-02"}
    )
    assert r.status_code == 422 and "out of range" in r.text


BAD_NAMES = ["a/b", "what?", "no#1", "100%", "back\\slash", "tab\there", "line\nbreak", "nul\x00"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_names_a_url_cannot_address_are_refused(
    api: Api, test_images: dict[str, list[Path]], bad: str
) -> None:
    curator = api.headers("curator")
    r = api.client.post(
        "/api/v1/galleries", json={"name": bad, "legal_basis": "test"}, headers=curator
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("name ")
    r = api.client.post(
        "/api/v1/users", json={"name": f"x{bad}", "roles": []}, headers=api.headers("admin")
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("name ")

    assert (
        api.client.post(
            "/api/v1/galleries", json={"name": "g", "legal_basis": "test"}, headers=curator
        ).status_code
        == 201
    )
    photo = test_images["Colin_Powell"][0]
    r = api.client.post(
        "/api/v1/galleries/g/images",
        files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))],
        data={"subject": f"x{bad}"},
        headers=curator,
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("subject ")
    assert api.engine.store.catalog.list_subjects("g") == []
    names = [g["name"] for g in api.client.get("/api/v1/galleries", headers=curator).json()]
    assert names == ["g"]


def test_names_keep_inner_spaces_and_any_script_and_lose_spaces_at_the_ends(
    api: Api, test_images: dict[str, list[Path]]
) -> None:
    curator = api.headers("curator")
    name, label = "Archiv Zürich 2024 (Presse)", "Åsa Öberg-Ñúñez"
    r = api.client.post(
        "/api/v1/galleries", json={"name": f" {name} ", "legal_basis": "test"}, headers=curator
    )
    assert r.status_code == 201 and r.json()["name"] == name, r.text
    assert r.status_code == 201, r.text
    assert api.client.get(f"/api/v1/galleries/{quote(name)}", headers=curator).status_code == 200
    photo = test_images["Colin_Powell"][0]
    r = api.client.post(
        f"/api/v1/galleries/{quote(name)}/images",
        files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))],
        data={"subject": f" {label}\t"},
        headers=curator,
    )
    assert r.status_code == 200 and r.json()["enrolled"] == 1, r.text
    assert [s.label for s in api.engine.store.catalog.list_subjects(name)] == [label]
    r = api.client.delete(
        f"/api/v1/galleries/{quote(name)}/subjects/{quote(label)}", headers=curator
    )
    assert r.status_code == 200 and len(r.json()["deleted_face_ids"]) == 1, r.text
    r = api.client.post(
        "/api/v1/users", json={"name": " Ana María ", "roles": []}, headers=api.headers("admin")
    )
    assert r.status_code == 201, r.text
    r = api.client.get(f"/api/v1/users/{quote('Ana María')}", headers=api.headers("admin"))
    assert r.status_code == 200 and r.json()["name"] == "Ana María"
