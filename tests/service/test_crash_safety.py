"""Kill an enrolling process with SIGKILL partway; nothing committed is lost or duplicated."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import IndexKind, Settings

from .helpers import INVESTIGATION

N_PEOPLE = 40


def _faces_committed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


@pytest.mark.lfw
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_sigkill_during_enroll_loses_nothing_and_resumes_without_duplicates(
    lfw_root: Path, tmp_path: Path, real_pipeline: FacePipeline, kind: str
) -> None:
    people = sorted(p for p in (lfw_root / "lfw-deepfunneled").iterdir() if p.is_dir())[:N_PEOPLE]
    folder = tmp_path / "photos"
    for person in people:
        target = folder / person.name
        target.mkdir(parents=True)
        for photo in sorted(person.glob("*.jpg"))[:2]:
            shutil.copy(photo, target / photo.name)
    n_files = sum(1 for _ in folder.rglob("*.jpg"))
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "FACESEARCH_DATA_DIR": str(data_dir),
        "FACESEARCH_INDEX__SAVE_EVERY": "4",  # the saved index lags, then the process dies
        "FACESEARCH_INDEX__KIND": kind,
        # ivf: trained after 16 faces (the fewest 4-bit PQ codes train on), so the kill
        # (from 24 faces) falls on a trained index and its re-rank file
        "FACESEARCH_INDEX__TRAIN_MIN": "16",
    }
    cli = [sys.executable, "-m", "facesearch.cli"]
    subprocess.run([*cli, "gallery", "create", "g", "--legal-basis", "test"], env=env, check=True)
    proc = subprocess.Popen(
        [*cli, "enroll", str(folder), "--gallery", "g", "--subject-from-folder", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = data_dir / "facesearch.db"
    deadline = time.monotonic() + 300
    while _faces_committed(db) < 24 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "enrollment finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its pool workers
    proc.wait()
    committed = _faces_committed(db)
    assert 24 <= committed < n_files

    settings = Settings(data_dir=data_dir, workers=2)
    settings.index.kind = IndexKind(kind)
    settings.index.train_min = 16
    with FaceSearch(settings, pipeline=real_pipeline) as fs:
        # "loaded" when the kill fell right after a save, else "caught-up"; never a rebuild:
        # a save killed midway leaves the previous index and its watermark intact
        assert fs.reconcile_report.action in {"loaded", "caught-up"}, fs.reconcile_report
        status = fs.index_status()
        assert status.in_sync and status.n_index == status.n_store == committed
        # every committed face is searchable: its own photo finds it first
        for face in fs.list_faces(limit=committed)[:: max(1, committed // 6)]:
            assert face.source_uri is not None
            photo = Path(face.source_uri.removeprefix("file://")).read_bytes()
            top = fs.search(photo, k=1, threshold=-1, context=INVESTIGATION).faces[0].candidates[0]
            assert top.face_id == face.id
            assert top.similarity == pytest.approx(1.0, abs=1e-4)

    done = subprocess.run(
        [*cli, "enroll", str(folder), "--gallery", "g", "--subject-from-folder", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"skipped_existing"' in done.stdout
    with FaceSearch(settings, pipeline=real_pipeline) as fs:
        images = fs.store.catalog.list_galleries()[0].n_images
        with fs.store.engine.connect() as conn:
            from sqlalchemy import text

            dupes = conn.execute(
                text(
                    "SELECT COUNT(*) FROM (SELECT sha256 FROM images GROUP BY sha256 "
                    "HAVING COUNT(*) > 1) d"
                )
            ).scalar_one()
        assert dupes == 0
        assert images <= n_files
        status = fs.index_status()
        assert status.in_sync and status.n_index == status.n_store >= n_files - 3
