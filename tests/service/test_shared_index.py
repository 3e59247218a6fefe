"""The service over a shared Milvus index (a real server): enroll, search, filters,
deletion, start-up and periodic reconciles after a process killed between the store commit
and the Milvus write, rebuild, and the errors of an unreachable server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facesearch.api import create_app
from facesearch.errors import IndexUnavailable
from facesearch.service import FacePipeline, FaceSearch
from facesearch.service.shared_index import SharedIndexSync
from facesearch.settings import IndexBackend, Settings

from ..milvus_server import unique_prefix
from .helpers import CURATOR, INVESTIGATION


@pytest.fixture
def milvus_settings(settings: Settings, milvus_server: Any) -> Settings:
    settings.index.backend = IndexBackend.MILVUS
    settings.index.milvus.uri = milvus_server.uri
    settings.index.milvus.collection_prefix = unique_prefix()
    settings.index.milvus.reconcile_interval_s = 0  # the tests reconcile when they mean to
    return settings


@pytest.fixture
def shared(milvus_settings: Settings, real_pipeline: FacePipeline) -> Iterator[FaceSearch]:
    with FaceSearch(milvus_settings, pipeline=real_pipeline) as fs:
        yield fs
        _sync(fs).shared.drop()


def _sync(fs: FaceSearch) -> SharedIndexSync:
    sync = fs.index
    assert isinstance(sync, SharedIndexSync)
    return sync


def _enroll_all(fs: FaceSearch, images: dict[str, list[Path]]) -> None:
    fs.create_gallery("a", legal_basis="test", context=CURATOR)
    fs.create_gallery("b", legal_basis="test", context=CURATOR)
    for name, paths in images.items():
        fs.enroll(paths[0].read_bytes(), gallery="a", subject=name, context=CURATOR)
        fs.enroll(paths[1].read_bytes(), gallery="b", subject=name, context=CURATOR)


def test_enroll_search_filter_and_delete(
    shared: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    assert shared.reconcile_report.action == "rebuilt"  # a new collection
    _enroll_all(shared, test_images)
    status = shared.index_status()
    assert status.backend == "milvus" and status.n_index == status.n_store == 8
    for name, paths in test_images.items():
        result = shared.search(paths[2].read_bytes(), k=5, threshold=-1.0, context=INVESTIGATION)
        candidates = result.faces[0].candidates
        assert result.gallery_size == 8 and len(candidates) == 5
        assert candidates[0].subject == name
        # exact cosines of the stored embeddings
        probe = shared.pipeline.analyze(paths[2].read_bytes()).faces[0].embedding
        for c in candidates:
            stored = shared.store.catalog.get_faces([c.face_id])[c.face_id]
            assert stored is not None
        sims = [c.similarity for c in candidates]
        assert sims == sorted(sims, reverse=True)
        assert abs(sims[0] - float(np.dot(probe, _embedding(shared, candidates[0].face_id)))) < 1e-5
        only_b = shared.search(
            paths[2].read_bytes(), k=5, threshold=-1.0, galleries=["b"], context=INVESTIGATION
        )
        assert only_b.gallery_size == 4
        assert {c.gallery for c in only_b.faces[0].candidates} == {"b"}
        granted = shared.search(
            paths[2].read_bytes(),
            k=5,
            threshold=-1.0,
            allowed_galleries={"a"},
            context=INVESTIGATION,
        )
        assert {c.gallery for c in granted.faces[0].candidates} == {"a"}
    powell = test_images["Colin_Powell"]
    first = shared.search(powell[2].read_bytes(), k=1, threshold=-1.0, context=INVESTIGATION)
    face_id, gallery = first.faces[0].candidates[0].face_id, first.faces[0].candidates[0].gallery
    in_gallery = shared.search(  # its face count is now kept until the store changes
        powell[2].read_bytes(), k=1, threshold=-1.0, galleries=[gallery], context=INVESTIGATION
    )
    assert in_gallery.gallery_size == 4
    assert shared.delete_faces([face_id], context=CURATOR) == [face_id]
    in_gallery = shared.search(
        powell[2].read_bytes(), k=8, threshold=-1.0, galleries=[gallery], context=INVESTIGATION
    )
    assert in_gallery.gallery_size == 3 and len(in_gallery.faces[0].candidates) == 3
    after = shared.search(powell[2].read_bytes(), k=8, threshold=-1.0, context=INVESTIGATION)
    assert face_id not in {c.face_id for c in after.faces[0].candidates}
    assert not _sync(shared).shared.contains(np.array([face_id])).any()
    status = shared.index_status()
    assert status.deletion_seq_index == status.deletion_seq_store > 0


def _embedding(fs: FaceSearch, face_id: int) -> Any:
    (_, vectors), *_ = list(fs.store.index_rows.iter_embeddings(fs.model_id, ids=[face_id]))
    return vectors[0]


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from facesearch.index.milvus_index import MilvusIndex
    from facesearch.service import FaceSearch
    from facesearch.settings import Settings
    from facesearch.audit import AuditContext

    def die(*args, **kwargs):  # the store has committed; the Milvus write never happens
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(MilvusIndex, sys.argv[1], die)
    who = AuditContext(actor="test-crash", client_address="127.0.0.1")
    with FaceSearch(Settings()) as fs:
        if sys.argv[1] == "add":
            fs.enroll(open(sys.argv[2], "rb").read(), gallery="a", subject="x", context=who)
        else:
            fs.delete_faces([int(sys.argv[2])], context=who)
    """
)


def _run_child(settings: Settings, op: str, arg: str) -> int:
    env = {
        **os.environ,
        "FACESEARCH_DATA_DIR": str(settings.data_dir),
        "FACESEARCH_WORKERS": "1",
        "FACESEARCH_EMBEDDING__RUNTIME": "dlib",  # no model conversion in the child
        "FACESEARCH_INDEX__BACKEND": "milvus",
        "FACESEARCH_INDEX__MILVUS__URI": settings.index.milvus.uri,
        "FACESEARCH_INDEX__MILVUS__COLLECTION_PREFIX": settings.index.milvus.collection_prefix,
        "FACESEARCH_INDEX__MILVUS__RECONCILE_INTERVAL_S": "0",
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, op, arg], env=env, capture_output=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    return proc.returncode


@pytest.mark.slow
def test_a_process_killed_between_commit_and_milvus_write_loses_nothing(
    milvus_settings: Settings, real_pipeline: FacePipeline, test_images: dict[str, list[Path]]
) -> None:
    with FaceSearch(milvus_settings, pipeline=real_pipeline) as fs:
        fs.create_gallery("a", legal_basis="test", context=CURATOR)
        fs.enroll(test_images["Colin_Powell"][0].read_bytes(), gallery="a", context=CURATOR)
    serena = test_images["Serena_Williams"]
    _run_child(milvus_settings, "add", str(serena[0]))  # killed after the store commit
    with FaceSearch(milvus_settings, pipeline=real_pipeline) as fs:
        sync = _sync(fs)
        try:
            # the start-up reconcile found the committed face the collection lacked
            report = fs.reconcile_report
            assert (report.action, report.added) == ("caught-up", 1)
            assert fs.index_status().n_index == fs.index_status().n_store == 2
            hit = fs.search(serena[1].read_bytes(), k=1, threshold=-1.0, context=INVESTIGATION)
            lost_id = hit.faces[0].candidates[0].face_id
            assert hit.faces[0].candidates[0].subject == "x"
            # killed between the store's deletion and Milvus's: a reconcile (periodic, in
            # any process) applies it
            _run_child(milvus_settings, "remove", str(lost_id))
            assert sync.shared.contains(np.array([lost_id])).all()  # still in Milvus
            sync._next_reconcile = 0.0  # due now: the next search starts it
            fs.search(serena[1].read_bytes(), k=1, threshold=-1.0, context=INVESTIGATION)
            assert sync.wait_for_rebuild(60)
            assert not sync.shared.contains(np.array([lost_id])).any()
            assert fs.index_status().in_sync
        finally:
            sync.shared.drop()


def test_rebuild_streams_the_store_with_progress(
    shared: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    _enroll_all(shared, test_images)
    seen: list[tuple[int, int]] = []
    report = shared.rebuild_index(progress=lambda done, total: seen.append((done, total)))
    assert (report.action, report.added) == ("rebuilt", 8)
    assert seen[0] == (0, 8) and seen[-1] == (8, 8)
    assert shared.index_status().in_sync
    probe = test_images["Gloria_Macapagal_Arroyo"][2].read_bytes()
    result = shared.search(probe, k=1, threshold=-1.0, context=INVESTIGATION)
    assert result.faces[0].candidates[0].subject == "Gloria_Macapagal_Arroyo"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_is_503_and_not_ready(
    settings: Settings, real_pipeline: FacePipeline
) -> None:
    settings.index.backend = IndexBackend.MILVUS
    settings.index.milvus.uri = f"http://127.0.0.1:{_closed_port()}"
    settings.index.milvus.timeout_s = 2.0
    with pytest.raises(IndexUnavailable) as err:
        FaceSearch(settings, pipeline=real_pipeline)
    assert err.value.http_status == 503
    app = create_app(settings, pipeline=real_pipeline)
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.runtime.ready.wait(60)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "milvus" in ready.json()["problem"]
        r = client.get("/api/v1/galleries", headers={"X-API-Key": "anything"})
        assert r.status_code == 503 and "milvus" in r.json()["error"]["message"]


def test_readyz_turns_unready_when_milvus_goes_away(
    shared: FaceSearch, milvus_settings: Settings, real_pipeline: FacePipeline
) -> None:
    sync = _sync(shared)
    assert shared.index_health() is None
    sync.shared.drop()  # the collection vanishes under a running service
    assert "milvus" in (shared.index_health() or "")
    sync.shared.open()
