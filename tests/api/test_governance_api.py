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


def _gallery_h(api: Api, test_images: dict[str, list[Path]]) -> tuple[int, int]:
    """Gallery ``h`` (granted to nobody) with one face of Colin Powell: (image id, face id)."""
    curator = api.headers("curator")
    api.client.post("/api/v1/galleries", json={"name": "h", "legal_basis": "t"}, headers=curator)
    photo = test_images["Colin_Powell"][0]
    r = api.client.post(
        "/api/v1/galleries/h/images",
        files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))],
        data={"subject": "Colin_Powell_h"},
        headers=curator,
    )
    enrolled = r.json()["files"][0]
    return enrolled["image_id"], enrolled["face_ids"][0]


def test_group_grants_decide_which_galleries_a_member_searches(
    enrolled_api: Api, test_images: dict[str, list[Path]]
) -> None:
    api, admin = enrolled_api, enrolled_api.headers("admin")
    _gallery_h(api, test_images)
    for user in ("ivy", "joe"):
        api.engine.accounts.create_user(user, ["investigator"], context=SETUP)
    ivy = {"Authorization": f"Bearer {api.engine.accounts.issue_key('ivy', context=SETUP).secret}"}
    joe = {"Authorization": f"Bearer {api.engine.accounts.issue_key('joe', context=SETUP).secret}"}
    probe = _probe(test_images["Colin_Powell"][2])
    data = {**WHY, "threshold": "-1"}

    r = api.client.post("/api/v1/groups", json={"name": "team"}, headers=admin)
    assert r.status_code == 201 and r.json()["members"] == [] and r.json()["created_by"] == "root"
    assert (
        api.client.post("/api/v1/groups", json={"name": "team"}, headers=admin).status_code == 409
    )
    r = api.client.post("/api/v1/groups", json={"name": "a/b"}, headers=admin)
    assert r.status_code == 422 and set(r.json()) == {"error"}
    r = api.client.post("/api/v1/groups", json={"name": "ssn 123-45-6789"}, headers=admin)
    assert r.status_code == 422 and "123-45" not in r.text
    r = api.client.post("/api/v1/groups/team/members", json={"user": "ivy"}, headers=admin)
    assert r.status_code == 201 and r.json()["members"] == ["ivy"]
    r = api.client.post("/api/v1/groups/team/grants", json={"gallery": "h"}, headers=admin)
    assert r.status_code == 201 and (r.json()["group"], r.json()["gallery"]) == ("team", "h")
    r = api.client.get("/api/v1/groups/team", headers=admin)
    assert r.json()["galleries"] == ["h"]
    assert [g["name"] for g in api.client.get("/api/v1/groups", headers=admin).json()] == ["team"]
    r = api.client.get("/api/v1/groups", params={"user": "joe"}, headers=admin)
    assert r.status_code == 200 and r.json() == []

    # the member searches the group's gallery (and only it); the event says so
    r = api.client.post("/api/v1/search", files=probe, data=data, headers=ivy)
    assert r.status_code == 200 and r.json()["galleries"] == ["h"]
    assert {c["gallery"] for c in r.json()["faces"][0]["candidates"]} == {"h"}
    event = api.engine.audit.list(limit=1)[0]
    assert (event.actor, event.action, event.galleries) == ("ivy", "search", ("h",))
    r = api.client.post(
        "/api/v1/search", files=probe, data={**data, "galleries": ["g"]}, headers=ivy
    )
    assert r.status_code == 403
    # a non-member holds no grant
    r = api.client.post("/api/v1/search", files=probe, data=data, headers=joe)
    assert r.status_code == 403 and "no gallery" in r.json()["error"]["message"]

    # removing the member removes the right
    r = api.client.delete("/api/v1/groups/team/members/ivy", headers=admin)
    assert r.status_code == 200 and r.json()["members"] == []
    r = api.client.post("/api/v1/search", files=probe, data=data, headers=ivy)
    assert r.status_code == 403
    assert api.client.delete("/api/v1/groups/team/members/ivy", headers=admin).status_code == 404

    r = api.client.delete("/api/v1/groups/team/grants/h", headers=admin)
    assert r.status_code == 200 and r.json()["granted_by"] == "root"
    r = api.client.delete("/api/v1/groups/team", headers=admin)
    assert r.status_code == 200 and r.json()["name"] == "team"
    assert api.client.get("/api/v1/groups/team", headers=admin).status_code == 404
    changes = [(e.action, e.target) for e in api.engine.audit.list(limit=3)][::-1]
    assert changes[1:] == [("grant.remove", "group:team"), ("group.delete", "group:team")]
    # only administrators manage groups
    r = api.client.post("/api/v1/groups", json={"name": "x"}, headers=api.headers("curator"))
    assert r.status_code == 403


def test_investigators_read_only_the_catalog_of_granted_galleries(
    enrolled_api: Api, test_images: dict[str, list[Path]]
) -> None:
    api = enrolled_api  # the investigator holds a grant on "g" only
    image_id, face_id = _gallery_h(api, test_images)
    inv = api.headers("investigator")
    hidden = [
        "/api/v1/galleries/h",
        "/api/v1/galleries/h/subjects",
        "/api/v1/subjects?gallery=h",
        "/api/v1/faces?gallery=h",
        f"/api/v1/images/{image_id}",
        f"/api/v1/faces/{face_id}",
        f"/api/v1/faces/{face_id}/thumbnail",
    ]
    for url in hidden:
        r = api.client.get(url, headers=inv)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", url
    # the same answers as for things that do not exist
    r = api.client.get("/api/v1/galleries/h", headers=inv)
    assert r.json()["error"]["message"] == "gallery 'h' not found"
    r = api.client.get(f"/api/v1/faces/{face_id}/thumbnail", headers=inv)
    assert r.json()["error"]["message"] == f"face {face_id} not found"
    r = api.client.get(f"/api/v1/images/{image_id}", headers=inv)
    assert r.json()["error"]["message"] == f"image {image_id} not found"
    assert [g["name"] for g in api.client.get("/api/v1/galleries", headers=inv).json()] == ["g"]
    subjects = api.client.get("/api/v1/subjects", headers=inv).json()
    assert subjects and {s["gallery"] for s in subjects} == {"g"}
    faces = api.client.get("/api/v1/faces", params={"limit": 1000}, headers=inv).json()
    assert faces and face_id not in {f["id"] for f in faces}
    assert {f["gallery"] for f in faces} == {"g"}
    r = api.client.get("/api/v1/faces", params={"subject": "Colin_Powell_h"}, headers=inv)
    assert r.status_code == 404

    # curators and auditors read every gallery; the investigator once a group grants it
    for who in ("curator", "auditor", "all"):
        for url in hidden:
            assert api.client.get(url, headers=api.headers(who)).status_code == 200, (who, url)
    api.engine.create_group("readers", context=SETUP)
    api.engine.add_group_member("readers", "investigator", context=SETUP)
    api.engine.grant_group("readers", "h", context=SETUP)
    for url in hidden:
        assert api.client.get(url, headers=inv).status_code == 200, url
    faces = api.client.get("/api/v1/faces", params={"limit": 1000}, headers=inv).json()
    assert face_id in {f["id"] for f in faces}
