"""Retention and gallery grants through the HTTP API, and the retention task's lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from facesearch.api import create_app
from facesearch.service import FacePipeline
from facesearch.settings import RetentionSettings, Settings

from .conftest import SETUP, WHY, Api, wait_ready


def _probe(path: Path) -> dict[str, tuple[str, bytes, str]]:
    return {"probe": (path.name, path.read_bytes(), "image/jpeg")}


def test_retention_is_set_previewed_and_applied(
    enrolled_api: Api, test_images: dict[str, list[Path]]
) -> None:
    api, h = enrolled_api, enrolled_api.headers("curator")
    old = datetime.now(UTC) - timedelta(days=40)
    photo = test_images["Colin_Powell"][1]
    r = api.client.post(
        "/api/v1/galleries/g/images",
        files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))],
        data={"collected_at": old.isoformat()},
        headers=h,
    )
    image_id = r.json()["files"][0]["image_id"]
    assert api.client.get(f"/api/v1/images/{image_id}", headers=h).json()["collected_at"]
    r = api.client.put("/api/v1/galleries/g/retention", json={"retention_days": 0}, headers=h)
    assert r.status_code == 422
    r = api.client.put(
        "/api/v1/galleries/g/retention", json={"retention_days": 30}, headers=api.headers("admin")
    )
    assert r.status_code == 200 and r.json()["retention_days"] == 30

    r = api.client.get("/api/v1/retention/expired", headers=h)
    body = r.json()
    assert r.status_code == 200 and body["dry_run"] and body["n_images"] == 1
    assert body["images"][0]["image_id"] == image_id and body["deleted_face_ids"] == []
    r = api.client.post("/api/v1/retention/apply", headers=h)
    body = r.json()
    assert r.status_code == 200 and not body["dry_run"]
    assert body["by_gallery"] == {"g": {"images": 1, "faces": 1}}
    assert api.client.get(f"/api/v1/images/{image_id}", headers=h).status_code == 404
    event = api.engine.audit.list(limit=1)[0]
    assert (event.action, event.actor, event.details["faces"]) == ("retention.purge", "curator", 1)


def test_grants_decide_which_galleries_a_search_touches(
    enrolled_api: Api, test_images: dict[str, list[Path]]
) -> None:
    api, admin = enrolled_api, enrolled_api.headers("admin")
    curator = api.headers("curator")
    api.client.post("/api/v1/galleries", json={"name": "h", "legal_basis": "t"}, headers=curator)
    photo = test_images["Colin_Powell"][0]
    api.client.post(
        "/api/v1/galleries/h/images",
        files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))],
        headers=curator,
    )
    ivy = api.headers("investigator")
    probe = _probe(test_images["Colin_Powell"][2])
    data = {**WHY, "threshold": "-1"}

    r = api.client.post("/api/v1/search", files=probe, data=data, headers=ivy)
    assert r.status_code == 200 and r.json()["galleries"] == ["g"]
    assert {c["gallery"] for c in r.json()["faces"][0]["candidates"]} == {"g"}
    assert api.engine.audit.list(limit=1)[0].galleries == ("g",)
    r = api.client.post(
        "/api/v1/search", files=probe, data={**data, "galleries": ["h"]}, headers=ivy
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    refused = api.engine.audit.list(limit=1)[0]
    assert (refused.action, refused.outcome) == ("search", "permission_denied")

    r = api.client.post(
        "/api/v1/grants", json={"user": "investigator", "gallery": "h"}, headers=admin
    )
    assert r.status_code == 201 and r.json()["granted_by"] == "root"
    r = api.client.post(
        "/api/v1/grants", json={"user": "investigator", "gallery": "h"}, headers=admin
    )
    assert r.status_code == 409
    r = api.client.get("/api/v1/grants", params={"user": "investigator"}, headers=admin)
    assert [g["gallery"] for g in r.json()] == ["g", "h"]
    r = api.client.post("/api/v1/search", files=probe, data=data, headers=ivy)
    assert r.json()["galleries"] == ["g", "h"]
    assert {c["gallery"] for c in r.json()["faces"][0]["candidates"]} == {"g", "h"}

    for gallery in ("g", "h"):
        r = api.client.delete(f"/api/v1/grants/investigator/{gallery}", headers=admin)
        assert r.status_code == 200
    r = api.client.post("/api/v1/search", files=probe, data=data, headers=ivy)
    assert r.status_code == 403 and "no gallery" in r.json()["error"]["message"]
    actions = [e.action for e in api.engine.audit.list(limit=4)]
    assert actions == ["search", "grant.remove", "grant.remove", "search"]


def test_the_app_runs_the_retention_task_and_stops_it(
    settings: Settings, real_pipeline: FacePipeline
) -> None:
    custom = settings.model_copy(update={"retention": RetentionSettings(interval_s=3600)})
    app = create_app(custom, pipeline=real_pipeline, clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    with TestClient(app) as client:
        wait_ready(client)
        task = app.state.runtime.retention
        assert task is not None and task.running
        engine = app.state.runtime.engine
        assert engine is not None and engine.clock().year == 2030
        engine.create_gallery("g", legal_basis="t", retention_days=5, context=SETUP)
    assert not task.running and app.state.runtime.retention is None

    off = settings.model_copy(update={"retention": RetentionSettings(interval_s=0)})
    app = create_app(off, pipeline=real_pipeline)
    with TestClient(app) as client:
        wait_ready(client)
        assert app.state.runtime.retention is None
