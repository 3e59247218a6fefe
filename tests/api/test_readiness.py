"""/readyz and every route wait for the index to be reconciled; /healthz answers at once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import facesearch.service
from facesearch.api import create_app
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import DetectorKind, Settings

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


def test_a_cut_audit_log_makes_the_service_unready_until_acknowledged(
    settings: Settings, real_pipeline: FacePipeline
) -> None:
    from sqlalchemy import text

    from facesearch.audit import AuditContext

    from .conftest import start

    for api in start(settings, real_pipeline):
        assert api.client.get("/readyz").status_code == 200
        with api.engine.store.engine.begin() as conn:  # behind the application's back
            conn.execute(
                text("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
            )
        head = api.engine.audit.list(limit=1)[0].seq
        ready = api.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert f"ends at event {head}" in ready.json()["problem"]
        h = api.headers("curator")
        body = {"name": "g", "legal_basis": "test"}
        for _ in range(2):
            r = api.client.post("/api/v1/galleries", json=body, headers=h)
            assert r.status_code == 503 and r.json()["error"]["code"] == "audit_log_cut"
        assert api.engine.audit.list(limit=1)[0].seq == head  # nothing appended
        api.engine.audit.acknowledge_cut(
            "newest event deleted in a test", context=AuditContext(actor="cli:operator")
        )
        assert api.client.get("/readyz").status_code == 200
        assert api.client.post("/api/v1/galleries", json=body, headers=h).status_code == 201
        assert api.client.get("/api/v1/audit/verify", headers=api.headers("auditor")).json()[
            "acknowledged_cuts"
        ] == [head + 2]


def test_a_model_file_that_fails_its_checksum_keeps_the_service_unready(
    settings: Settings, models_dir: Path
) -> None:
    """Found by review: with YuNet's sha256 wrong, /readyz said ready and every enroll,
    search and verify failed; the app's own models are now loaded before it is ready."""
    detection = settings.detection.model_copy(
        update={
            "detector": DetectorKind.YUNET,
            "yunet_model_path": models_dir / "yunet_s_dynamic.onnx",
            "yunet_model_sha256": "0" * 64,
        }
    )
    app = create_app(settings.model_copy(update={"detection": detection}))
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.runtime.ready.wait(60)
        assert client.get("/readyz").status_code == 503
        assert app.state.runtime.failure is not None
        assert "YUNET_MODEL_SHA256" in app.state.runtime.failure
