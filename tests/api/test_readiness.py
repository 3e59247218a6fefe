"""/readyz and every route wait for the index to be reconciled; /healthz answers at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

import facesearch.service
from facesearch.api import create_app
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import Settings

from .conftest import wait_ready


def test_routes_answer_503_until_the_index_is_reconciled(
    settings: Settings, real_pipeline: FacePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    entered = threading.Event()

    class HeldEngine(FaceSearch):
        """The real engine, whose start (store open, index reconciliation) waits."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            entered.set()
            assert release.wait(60)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(facesearch.service, "FaceSearch", HeldEngine)
    app = create_app(settings, pipeline=real_pipeline)
    with TestClient(app, raise_server_exceptions=False) as client:
        try:
            assert entered.wait(30)
            assert client.get("/healthz").status_code == 200
            starting = client.get("/readyz")
            assert starting.status_code == 503 and starting.json()["ready"] is False
            held = client.get("/api/v1/galleries", headers={"X-API-Key": "anything"})
            assert held.status_code == 503
            assert held.json()["error"]["code"] == "index_unavailable"
            assert "reconciled" in held.json()["error"]["message"]
        finally:
            release.set()
        wait_ready(client)
        ready = client.get("/readyz").json()
        assert ready["ready"] is True and ready["index"]
        assert client.get("/api/v1/galleries").status_code == 401  # now past the gate


def test_a_failed_start_stays_unready_and_says_so(
    settings: Settings, real_pipeline: FacePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    class BrokenEngine(FaceSearch):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("disk on fire: /secret/path")

    monkeypatch.setattr(facesearch.service, "FaceSearch", BrokenEngine)
    app = create_app(settings, pipeline=real_pipeline)
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.runtime.ready.wait(30)
        assert client.get("/readyz").status_code == 503
        failed = client.get("/api/v1/me", headers={"X-API-Key": "anything"})
        assert failed.status_code == 503
        assert failed.json()["error"]["code"] == "index_unavailable"
        assert "/secret/path" not in failed.text  # the cause is logged, not sent
