"""The usage report over HTTP: ``GET /api/v1/oversight/usage`` and the auditor's web page."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .conftest import WHY, Api


def _period() -> dict[str, str]:
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=1), today + timedelta(days=2)
    return {"from": start.isoformat(), "to": end.isoformat()}


@pytest.fixture
def searched(enrolled_api: Api, test_images: dict[str, list[Path]]) -> Api:
    """Two searches by the investigator (robbery, other) and one refused (purpose too short)."""
    api = enrolled_api
    probe = test_images["Colin_Powell"][1]
    for purpose in ("street robbery near the market", "check of a camera still"):
        r = api.client.post(
            "/api/v1/search",
            files={"probe": (probe.name, probe.read_bytes(), "image/jpeg")},
            data={**WHY, "purpose": purpose},
            headers=api.headers("investigator"),
        )
        assert r.status_code == 200, r.text
    r = api.client.post(
        "/api/v1/search",
        files={"probe": (probe.name, probe.read_bytes(), "image/jpeg")},
        data={**WHY, "purpose": "why not"},
        headers=api.headers("investigator"),
    )
    assert r.status_code == 422
    return api


def test_usage_as_json(searched: Api) -> None:
    api = searched
    r = api.client.get("/api/v1/oversight/usage", params=_period(), headers=api.headers("auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    s = body["searches"]
    assert (s["completed"], s["refused"], s["failed"]) == (2, 1, 0)
    assert s["by_user"] == {"investigator": 2}
    assert s["by_gallery"] == {"g": 2}
    assert (s["by_category"]["robbery"], s["by_category"]["other"]) == (1, 1)
    assert s["refused_by_outcome"] == {"invalid_input": 1}
    assert body["candidates"]["returned"] >= 2  # Colin Powell's enrolled photo, twice
    assert body["leads"] == {"confirmed": 0, "judgements": 0, "review_events": False}
    assert body["period_from"].startswith(_period()["from"])
    assert not re.search(r"match|identified", r.text, re.IGNORECASE)


def test_usage_refuses_bad_periods_and_other_roles(api: Api) -> None:
    url, auditor = "/api/v1/oversight/usage", api.headers("auditor")
    r = api.client.get(url, params={"from": "2026-02-30", "to": "2026-03-01"}, headers=auditor)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
    assert "from: '2026-02-30' is not a date" in r.json()["error"]["message"]
    r = api.client.get(url, params={"from": "2026-03-01"}, headers=auditor)
    assert r.status_code == 422 and set(r.json()) == {"error"}
    r = api.client.get(url, params=_period(), headers=api.headers("investigator"))
    assert r.status_code == 403


def test_oversight_page_and_csv(searched: Api) -> None:
    ui = searched
    ui.client.post("/ui/signin", data={"key": ui.keys["investigator"]})
    assert ui.client.get("/ui/oversight", headers={"accept": "text/html"}).status_code == 403
    assert ui.client.get("/ui/oversight/usage.csv", params=_period()).status_code == 403

    ui.client.post("/ui/signin", data={"key": ui.keys["auditor"]})
    r = ui.client.get("/ui/oversight")  # default: the last 30 days
    assert r.status_code == 200
    for text in ("Searches by purpose category", "robbery", "investigator", "Download"):
        assert text in r.text
    assert r.text.count('src="data:image/png;base64,') == 4
    assert not re.search(r"match|identified", r.text, re.IGNORECASE)

    href = re.search(r'id="csv" href="([^"]+)"', r.text)
    assert href is not None
    r = ui.client.get(href.group(1).replace("&amp;", "&"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert ["searches", "completed", "2"] in rows
    assert ["searches.by_user", "investigator", "2"] in rows

    r = ui.client.get("/ui/oversight", params={"from": "2026-05-01", "to": "2026-04-01"})
    assert r.status_code == 422 and "to must be after from" in r.text
