"""Two `facesearch serve` processes over one PostgreSQL database and one Milvus server:
a face enrolled through one is found through the other without a restart, and a face
erased through one is gone from the other's searches. And `serve --workers` is refused
without a shared vector index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from facesearch.audit import AuditContext, AuditLog
from facesearch.auth import Accounts
from facesearch.settings import AuthSettings
from facesearch.store import Store

from ..milvus_server import unique_prefix
from ..pg_schema import fresh_schema_url
from .test_serve import _free_port, _stop

SETUP = AuditContext(actor="test-setup", client_address="127.0.0.1")
WHY = {
    "purpose": "two-process test: find the enrolled person",
    "case_reference": "TWO-PROC-1",
    "authorization_reference": "TWO-PROC-AUTH-1",
    "threshold": "-1",
}


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema of the test database (dropped afterwards), as a URL whose
    connections use it (libpq ``options``), so other tests' tables never collide."""
    with fresh_schema_url("the two-process test") as url:
        yield url


def _keys(url: str, anchor: Path) -> dict[str, str]:
    """Users made before the servers start: an admin, a curator and an investigator."""
    store = Store(url)
    try:
        accounts = Accounts(store, AuditLog(store, anchor_path=anchor), AuthSettings())
        _, root = accounts.create_first_admin("root", context=SETUP)
        keys = {"admin": root.secret}
        for role in ("curator", "investigator"):
            accounts.create_user(role, [role], context=SETUP)
            keys[role] = accounts.issue_key(role, context=SETUP).secret
        return keys
    finally:
        store.close()


def _serve(env: dict[str, str], data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "facesearch.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**env, "FACESEARCH_DATA_DIR": str(data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"facesearch serve at {url} did not become ready")


def _search(url: str, key: str, photo: Path) -> list[dict[str, Any]]:
    r = httpx.post(
        f"{url}/api/v1/search",
        files={"probe": (photo.name, photo.read_bytes(), "image/jpeg")},
        data={**WHY, "k": "10"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    candidates: list[dict[str, Any]] = r.json()["faces"][0]["candidates"]
    return candidates


@pytest.mark.slow
def test_enroll_on_one_process_search_and_erase_across_the_other(
    pg_url: str, milvus_server: Any, tmp_path: Path, test_images: dict[str, list[Path]]
) -> None:
    anchor = tmp_path / "setup-anchor.json"
    keys = _keys(pg_url, anchor)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "FACESEARCH_DATABASE_URL": pg_url,
        "FACESEARCH_INDEX__BACKEND": "milvus",
        "FACESEARCH_INDEX__MILVUS__URI": milvus_server.uri,
        "FACESEARCH_INDEX__MILVUS__COLLECTION_PREFIX": unique_prefix(),
        "FACESEARCH_INDEX__MILVUS__CONSISTENCY_LEVEL": "Strong",
        "FACESEARCH_WORKERS": "1",
        "FACESEARCH_RETENTION__INTERVAL_S": "0",
        # dlib runs the descriptor: no model conversion per data folder on a slow machine
        "FACESEARCH_EMBEDDING__RUNTIME": "dlib",
    }
    ports = [_free_port(), _free_port()]
    # two machines: each process has its own data folder, seeded with a copy of the audit
    # log's anchor as the README says (a node with no anchor over a non-empty log is unready)
    for i in range(2):
        (tmp_path / f"node{i}").mkdir()
        shutil.copy(anchor, tmp_path / f"node{i}" / "audit-head.json")
    procs = [_serve(env, tmp_path / f"node{i}", port) for i, port in enumerate(ports)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    one, other = urls
    try:
        for url in urls:
            _wait_ready(url, timeout=240)
        curator = {"Authorization": f"Bearer {keys['curator']}"}
        r = httpx.post(
            f"{one}/api/v1/galleries", json={"name": "g", "legal_basis": "test"}, headers=curator
        )
        assert r.status_code == 201, r.text
        r = httpx.post(
            f"{other}/api/v1/grants",
            json={"user": "investigator", "gallery": "g"},
            headers={"Authorization": f"Bearer {keys['admin']}"},
        )
        assert r.status_code == 201, r.text
        serena = test_images["Serena_Williams"]
        powell = test_images["Colin_Powell"]
        enrolled = {}
        for name, photo, url in (("Serena", serena[0], one), ("Powell", powell[0], one)):
            r = httpx.post(
                f"{url}/api/v1/galleries/g/images",
                files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))],
                data={"subject": name},
                headers=curator,
                timeout=120,
            )
            assert r.status_code == 200 and r.json()["enrolled"] == 1, r.text
            enrolled[name] = r.json()["files"][0]["face_ids"][0]
        # found through the other process, without a restart
        found = _search(other, keys["investigator"], serena[1])
        assert found[0]["face_id"] == enrolled["Serena"] and found[0]["subject"] == "Serena"
        # erased through the other, gone from the first one's searches at once
        r = httpx.delete(f"{other}/api/v1/faces/{enrolled['Serena']}", headers=curator)
        assert r.status_code == 200, r.text
        after = _search(one, keys["investigator"], serena[1])
        assert enrolled["Serena"] not in {c["face_id"] for c in after}
        assert [c["face_id"] for c in after] == [enrolled["Powell"]]
        for url in urls:  # both see the same index state
            r = httpx.get(
                f"{url}/api/v1/system/index", headers={"Authorization": f"Bearer {keys['admin']}"}
            )
            assert r.status_code == 200, r.text
    finally:
        outputs = [_stop(p) for p in procs]
        for out in outputs:  # shown when the test fails
            print(out[-5000:])
    assert all("Traceback" not in out for out in outputs), outputs


def test_workers_are_refused_with_faiss(tmp_path: Path) -> None:
    env = {**os.environ, "FACESEARCH_DATA_DIR": str(tmp_path), "FACESEARCH_INDEX__BACKEND": "faiss"}
    proc = subprocess.run(
        [sys.executable, "-m", "facesearch.cli", "serve", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--workers 2 needs a shared vector index" in lines[0]
    assert not (tmp_path / "facesearch.db").exists()  # refused before anything was written
