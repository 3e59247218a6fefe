"""API fixtures: a real app (real models, temporary data folder) and a key for every role."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facesearch.api import create_app
from facesearch.audit import AuditContext
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import Settings

SETUP = AuditContext(actor="test-setup", client_address="127.0.0.1")

ROLES = ("admin", "curator", "investigator", "auditor", "reviewer")

WHY = {
    "purpose": "API test: find the person in the probe",
    "case_reference": "API-CASE-1",
    "authorization_reference": "API-AUTH-1",
}


def wait_ready(client: TestClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.02)
    raise AssertionError("the app did not become ready")


@dataclass
class Api:
    """A running app, its engine and a key per role (``all``: every role; ``none``: no role)."""

    client: TestClient
    engine: FaceSearch
    keys: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


def start(settings: Settings, pipeline: FacePipeline) -> Iterator[Api]:
    app = create_app(settings, pipeline=pipeline)
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)
        engine = app.state.runtime.engine
        assert engine is not None
        keys: dict[str, str] = {}
        _, first = engine.accounts.create_first_admin("root", context=SETUP)
        keys["admin"] = first.secret
        for role in ROLES[1:]:
            engine.accounts.create_user(role, [role], context=SETUP)
            keys[role] = engine.accounts.issue_key(role, context=SETUP).secret
        engine.accounts.create_user("everyone", list(ROLES), context=SETUP)
        keys["all"] = engine.accounts.issue_key("everyone", context=SETUP).secret
        engine.accounts.create_user("nobody", [], context=SETUP)
        keys["none"] = engine.accounts.issue_key("nobody", context=SETUP).secret
        yield Api(client, engine, keys)


@pytest.fixture
def api(settings: Settings, real_pipeline: FacePipeline) -> Iterator[Api]:
    yield from start(settings, real_pipeline)


def grant_search(api: Api, gallery: str) -> None:
    """Let the ``investigator`` and ``everyone`` users search ``gallery``."""
    for user in ("investigator", "everyone"):
        api.engine.grant(user, gallery, context=SETUP)


@pytest.fixture
def enrolled_api(api: Api, test_images: dict[str, list[Path]]) -> Api:
    """Gallery ``g`` with the first photo of each of the four test identities."""
    h = api.headers("curator")
    r = api.client.post("/api/v1/galleries", json={"name": "g", "legal_basis": "test"}, headers=h)
    assert r.status_code == 201, r.text
    files = [
        ("files", (paths[0].name, paths[0].read_bytes(), "image/jpeg"))
        for paths in test_images.values()
    ]
    for name, paths in test_images.items():
        r = api.client.post(
            "/api/v1/galleries/g/images",
            files=[("files", (paths[0].name, paths[0].read_bytes(), "image/jpeg"))],
            data={"subject": name, "source_uri": f"test:{paths[0].name}"},
            headers=h,
        )
        assert r.status_code == 200 and r.json()["enrolled"] == 1, r.text
    del files
    grant_search(api, "g")
    return api
