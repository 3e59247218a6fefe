"""IndexSync with the approximate kind: rebuild, reconcile, re-rank file checked against
the store, retraining and ``auto`` switching in the background (SQLite store, fake faces)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from facesearch.index.faiss_index import WATERMARK_FILE, FaissFlatIndex
from facesearch.index.ivf_index import FaissIVFIndex, IVFParams
from facesearch.service.index_sync import IndexSync
from facesearch.settings import IndexBackend, IndexKind, IVFCodes
from facesearch.store import NewFace, NewImage, Store
from facesearch.types import BoundingBox, FaceQuality, Landmarks5

MODEL = "test-model-v1"
DIM = 16
PARAMS = IVFParams(nprobe=4096, rerank=100, train_min=40)


class Gallery:
    """A SQLite store with one gallery; adds images of seeded random faces."""

    def __init__(self, path: Path) -> None:
        self.store = Store(f"sqlite:///{path / 'fs.db'}")
        self.gallery = self.store.catalog.create_gallery("g", legal_basis="test").id
        self.rng = np.random.default_rng(7)
        self.n = 0

    def add(self, n_faces: int) -> tuple[np.ndarray, np.ndarray]:
        vectors = self.rng.standard_normal((n_faces, DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids: list[int] = []
        for s in range(0, n_faces, 10):
            self.n += 1
            image = NewImage(
                sha256=hashlib.sha256(f"img-{self.n}".encode()).hexdigest(),
                width=640,
                height=480,
                n_bytes=1,
                format="JPEG",
                legal_basis="test",
                source_uri=None,
            )
            faces = [_face(v) for v in vectors[s : s + 10]]
            ids += self.store.catalog.add_image(self.gallery, image, faces, []).face_ids
        return np.asarray(ids, dtype=np.int64), vectors


def _face(v: np.ndarray) -> NewFace:
    return NewFace(
        box=BoundingBox(10.0, 20.0, 60.0, 80.0),
        landmarks=Landmarks5(((1.5, 2.0), (3.0, 4.0), (5.0, 6.0), (7.0, 8.0), (9.0, 10.5))),
        detector="fake",
        detector_score=0.9,
        quality=FaceQuality(interocular_px=22.5, sharpness=140.0, frontalness=0.9, score=0.8),
        model_id=MODEL,
        embedding=v,
        thumbnail=b"\xff\xd8thumb",
    )


@pytest.fixture
def gallery(tmp_path: Path) -> Iterator[Gallery]:
    g = Gallery(tmp_path)
    yield g
    g.store.close()


def _sync(
    tmp_path: Path,
    gallery: Gallery,
    kind: IndexKind,
    crossover: int = 10**6,
    params: IVFParams = PARAMS,
) -> IndexSync:
    return IndexSync(
        gallery.store,
        model_id=MODEL,
        dim=DIM,
        backend=IndexBackend.FAISS,
        folder=tmp_path / "index" / MODEL,
        save_every=10**6,
        kind=kind,
        auto_crossover=crossover,
        ivf_params=params,
    )


def _exact(sync: IndexSync, gallery: Gallery, queries: np.ndarray, k: int) -> np.ndarray:
    flat = FaissFlatIndex(DIM)
    for ids, vectors in gallery.store.index_rows.iter_embeddings(MODEL):
        flat.add(ids, vectors)
    return flat.search(queries, k)[1]


def test_ivf_kind_rebuilds_reloads_and_catches_up(tmp_path: Path, gallery: Gallery) -> None:
    gallery.add(60)
    sync = _sync(tmp_path, gallery, IndexKind.IVF)
    assert sync.open().action == "rebuilt"
    assert sync.current_kind is IndexKind.IVF
    queries = gallery.rng.standard_normal((5, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    assert np.array_equal(sync.search(queries, 5)[1], _exact(sync, gallery, queries, 5))

    sync2 = _sync(tmp_path, gallery, IndexKind.IVF)
    assert sync2.open().action == "loaded"
    # the store moves on while no index is open (a process killed before it saved)
    new_ids, _ = gallery.add(20)
    gallery.store.catalog.delete_faces([int(new_ids[0]), 1])
    sync3 = _sync(tmp_path, gallery, IndexKind.IVF)
    report = sync3.open()
    assert report.action == "caught-up" and (report.added, report.removed) == (19, 1)
    assert sync3.status().in_sync
    assert np.array_equal(sync3.search(queries, 5)[1], _exact(sync3, gallery, queries, 5))


def test_rerank_rows_that_disagree_with_the_store_force_a_rebuild(
    tmp_path: Path, gallery: Gallery
) -> None:
    ids, vectors = gallery.add(30)
    sync = _sync(tmp_path, gallery, IndexKind.IVF)
    sync.open()
    folder = tmp_path / "index" / MODEL
    meta = json.loads((folder / WATERMARK_FILE).read_text())
    rows = np.memmap(folder / meta["vectors_file"], dtype=np.float32, mode="r+")
    rows.reshape(-1, DIM)[ids] = vectors[::-1]  # unit vectors, but of other faces
    rows.flush()
    del rows
    reopened = _sync(tmp_path, gallery, IndexKind.IVF)
    report = reopened.open()
    assert report.action == "rebuilt" and "disagree" in report.reason
    _s, i = reopened.search(vectors[:3], 1)
    assert list(i[:, 0]) == list(ids[:3])


def test_auto_switches_to_ivf_in_the_background_and_back(tmp_path: Path, gallery: Gallery) -> None:
    ids, vectors = gallery.add(30)
    sync = _sync(tmp_path, gallery, IndexKind.AUTO, crossover=50)
    sync.open()
    assert sync.current_kind is IndexKind.FLAT
    more_ids, more = gallery.add(30)
    sync.add(more_ids, more)  # reaches the crossover: a rebuild starts, flat serves on
    assert sync.wait_for_rebuild(60)
    assert sync.current_kind is IndexKind.IVF and sync.last_switch is not None
    assert sync.status().in_sync
    all_ids = np.concatenate([ids, more_ids])
    _s, i = sync.search(np.concatenate([vectors, more]), 1)
    assert np.array_equal(i[:, 0], all_ids)
    # a reopen loads the ivf index as saved
    again = _sync(tmp_path, gallery, IndexKind.AUTO, crossover=50)
    assert again.open().action == "loaded" and again.current_kind is IndexKind.IVF
    # below half the crossover it goes back to flat
    gallery.store.catalog.delete_faces([int(x) for x in all_ids[:40]])
    again.apply_deletions()
    assert again.wait_for_rebuild(60)
    assert again.current_kind is IndexKind.FLAT and again.status().in_sync
    assert not list((tmp_path / "index" / MODEL).glob("vectors-*"))


def test_writes_during_a_background_switch_are_not_lost(tmp_path: Path, gallery: Gallery) -> None:
    gallery.add(60)
    sync = _sync(tmp_path, gallery, IndexKind.FLAT)
    sync.open()
    sync.kind = IndexKind.IVF  # as if the setting changed: the next write starts a switch
    late_ids, late = gallery.add(10)
    sync.add(late_ids, late)
    gone = int(late_ids[0])
    gallery.store.catalog.delete_faces([gone])
    sync.apply_deletions()
    assert sync.wait_for_rebuild(60)
    assert sync.current_kind is IndexKind.IVF
    status = sync.status()
    assert status.in_sync and status.n_index == 69
    assert gone not in set(sync.search(late, 3)[1].ravel())


def test_an_ivf_index_past_its_retraining_rule_is_retrained(
    tmp_path: Path, gallery: Gallery
) -> None:
    gallery.add(40)
    sync = _sync(tmp_path, gallery, IndexKind.IVF)
    sync.open()
    index = sync._index
    assert isinstance(index, FaissIVFIndex) and index.n_trained == 40
    ids, vectors = gallery.add(130)  # 170 > 4 x 40
    sync.add(ids, vectors)
    assert sync.wait_for_rebuild(60)
    index = sync._index
    assert isinstance(index, FaissIVFIndex) and index.n_trained == 170
    assert sync.last_switch is not None and "retraining" in sync.last_switch.reason


def test_changed_codes_rebuild_in_the_background_while_the_old_index_serves(
    tmp_path: Path, gallery: Gallery
) -> None:
    """A saved SQ8 index opened with settings asking for PQ codes serves at once and is
    rebuilt with PQ codes in the background; searches stay exact throughout."""
    gallery.add(60)
    sq8 = dataclasses.replace(PARAMS, codes=IVFCodes.SQ8)
    first = _sync(tmp_path, gallery, IndexKind.IVF, params=sq8)
    first.open()
    assert isinstance(first._index, FaissIVFIndex) and first._index.codes is IVFCodes.SQ8
    first.save()
    queries = gallery.rng.standard_normal((5, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    want = _exact(first, gallery, queries, 5)
    np.testing.assert_array_equal(first.search(queries, 5)[1], want)

    sync = _sync(tmp_path, gallery, IndexKind.IVF, params=PARAMS)
    report = sync.open()
    assert report.action == "loaded"
    np.testing.assert_array_equal(sync.search(queries, 5)[1], want)
    assert sync.wait_for_rebuild(60)
    index = sync._index
    assert isinstance(index, FaissIVFIndex) and index.codes is IVFCodes.PQ
    assert sync.last_switch is not None and "sq8 codes" in sync.last_switch.reason
    np.testing.assert_array_equal(sync.search(queries, 5)[1], want)


def test_a_model_of_odd_dimension_gets_sq8_codes(tmp_path: Path, gallery: Gallery) -> None:
    """PQ fast-scan codes need an even dimension: the service falls back to SQ8 (logged)
    rather than failing every background build."""
    from facesearch.service.facesearch import _local_index
    from facesearch.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    assert settings.index.codes is IVFCodes.PQ
    odd = _local_index(gallery.store, settings, "odd-model", 127)
    even = _local_index(gallery.store, settings, "even-model", 128)
    assert odd._ivf_params is not None and odd._ivf_params.codes is IVFCodes.SQ8
    assert even._ivf_params is not None and even._ivf_params.codes is IVFCodes.PQ
