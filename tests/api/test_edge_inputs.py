"""Edge values at the API boundary: they are refused with a 422 naming the field, never a
5xx from deeper down."""

from __future__ import annotations

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
