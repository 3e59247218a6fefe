from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import pytest

from facesearch.errors import IndexUnavailable, InvalidInput
from facesearch.index import (
    FaissFlatIndex,
    IndexCorrupt,
    IndexMissing,
    Watermark,
    watermark_for,
)
from facesearch.index.faiss_index import WATERMARK_FILE, saved_index_path
from facesearch.types import FloatArray, IntArray

DIM = 128  # as conftest's db fixture
MODEL = "dlib-resnet-v1"

UnitVectors = Callable[..., FloatArray]


@pytest.fixture
def index(db: tuple[IntArray, FloatArray]) -> FaissFlatIndex:
    ids, vectors = db
    idx = FaissFlatIndex(DIM)
    idx.add(ids, vectors)
    return idx


@pytest.fixture
def saved(index: FaissFlatIndex, tmp_path: Path) -> tuple[Path, Watermark]:
    wm = watermark_for(index, model_id=MODEL, deletion_seq=42)
    folder = tmp_path / "index" / MODEL
    index.save(folder, wm)
    return folder, wm


def _rewrite_meta(folder: Path, **changes: object) -> None:
    path = folder / WATERMARK_FILE
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def test_round_trip(
    index: FaissFlatIndex, saved: tuple[Path, Watermark], queries: FloatArray
) -> None:
    folder, wm = saved
    loaded, got_wm = FaissFlatIndex.load(folder)
    assert got_wm == wm
    assert got_wm.n_vectors == len(index) and got_wm.max_face_id == int(index.ids()[-1])
    assert loaded.dim == DIM and len(loaded) == len(index)
    np.testing.assert_array_equal(loaded.ids(), index.ids())
    for subset in (None, index.ids()[::7]):
        want = index.search(queries, 10, subset=subset)
        got = loaded.search(queries, 10, subset=subset)
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[0], want[0])
    # the loaded index is fully usable: duplicate checks, adds and removes
    with pytest.raises(InvalidInput):
        loaded.add(index.ids()[:1], queries[:1])
    assert loaded.remove(index.ids()[:3]) == 3


def test_save_writes_checksum_and_leaves_no_temp_files(saved: tuple[Path, Watermark]) -> None:
    folder, wm = saved
    index_file = saved_index_path(folder)
    assert index_file.name.startswith("faiss-") and index_file.suffix == ".index"
    assert sorted(p.name for p in folder.iterdir()) == [index_file.name, WATERMARK_FILE]
    meta = json.loads((folder / WATERMARK_FILE).read_text())
    blob = index_file.read_bytes()
    assert meta["index_sha256"] == hashlib.sha256(blob).hexdigest()
    assert meta["index_bytes"] == len(blob)
    assert Watermark.from_json(json.dumps(meta)) == wm


def test_save_replaces_previous(
    index: FaissFlatIndex, saved: tuple[Path, Watermark], queries: FloatArray
) -> None:
    folder, _ = saved
    assert index.remove(index.ids()[:100]) == 100
    wm2 = watermark_for(index, model_id=MODEL, deletion_seq=43)
    index.save(folder, wm2)
    loaded, got = FaissFlatIndex.load(folder)
    assert got == wm2 and len(loaded) == len(index)
    np.testing.assert_array_equal(loaded.search(queries, 5)[1], index.search(queries, 5)[1])
    assert len(list(folder.iterdir())) == 2


def test_empty_round_trip(tmp_path: Path, queries: FloatArray) -> None:
    idx = FaissFlatIndex(16)
    wm = Watermark(model_id=MODEL, dim=16, max_face_id=0, n_vectors=0, deletion_seq=0)
    idx.save(tmp_path, wm)
    loaded, got = FaissFlatIndex.load(tmp_path)
    assert got == wm and len(loaded) == 0 and loaded.dim == 16


@pytest.mark.parametrize(
    "change", [{"dim": 64}, {"n_vectors": 1999}, {"n_vectors": 2001}, {"max_face_id": 5}]
)
def test_save_rejects_disagreeing_watermark(
    index: FaissFlatIndex, tmp_path: Path, change: dict[str, int]
) -> None:
    wm = watermark_for(index, model_id=MODEL, deletion_seq=0).to_dict() | change
    with pytest.raises(InvalidInput):
        index.save(tmp_path / "x", Watermark(**wm))
    assert not (tmp_path / "x").exists()


def test_max_face_id_may_exceed_highest_id(index: FaissFlatIndex, tmp_path: Path) -> None:
    """A watermark may record a higher face id whose face was since removed."""
    wm = watermark_for(index, model_id=MODEL, deletion_seq=0)
    wm = Watermark(MODEL, DIM, wm.max_face_id + 10, wm.n_vectors, 3)
    index.save(tmp_path, wm)
    assert FaissFlatIndex.load(tmp_path)[1] == wm


def test_missing_folder_or_files_raise_index_missing(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing) as info:
        FaissFlatIndex.load(tmp_path / "nope")
    assert isinstance(info.value, IndexUnavailable)
    assert info.value.code == "index_missing" and info.value.http_status == 503
    with pytest.raises(IndexMissing):
        FaissFlatIndex.load(tmp_path)


@pytest.mark.parametrize("which", ["index", WATERMARK_FILE])
def test_one_file_missing_is_corrupt(saved: tuple[Path, Watermark], which: str) -> None:
    folder, _ = saved
    (saved_index_path(folder) if which == "index" else folder / which).unlink()
    with pytest.raises(IndexCorrupt) as info:
        FaissFlatIndex.load(folder)
    assert isinstance(info.value, IndexUnavailable) and info.value.code == "index_corrupt"


@pytest.mark.parametrize("offset", [0, 100, -1, -5000])
def test_flipped_bytes_are_corrupt(saved: tuple[Path, Watermark], offset: int) -> None:
    folder, _ = saved
    path = saved_index_path(folder)
    blob = bytearray(path.read_bytes())
    blob[offset] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(IndexCorrupt, match="checksum"):
        FaissFlatIndex.load(folder)


@pytest.mark.parametrize("keep", [0, 10, 0.5])
def test_truncated_index_is_corrupt(saved: tuple[Path, Watermark], keep: float) -> None:
    folder, _ = saved
    path = saved_index_path(folder)
    blob = path.read_bytes()
    path.write_bytes(blob[: int(keep * len(blob)) if isinstance(keep, float) else keep])
    with pytest.raises(IndexCorrupt):
        FaissFlatIndex.load(folder)


def test_truncated_or_garbage_watermark_is_corrupt(saved: tuple[Path, Watermark]) -> None:
    folder, _ = saved
    path = folder / WATERMARK_FILE
    text = path.read_text()
    for bad in (text[: len(text) // 2], "", "[]", "\xff garbage", '{"format": 1}'):
        path.write_text(bad)
        with pytest.raises(IndexCorrupt):
            FaissFlatIndex.load(folder)


@pytest.mark.parametrize(
    "change",
    [
        {"n_vectors": 1999},
        {"n_vectors": 2001},
        {"dim": 64},
        {"max_face_id": 1},
        {"n_vectors": -1},
        {"format": 99},
        {"backend": "milvus"},
    ],
)
def test_watermark_disagreeing_with_index_is_corrupt(
    saved: tuple[Path, Watermark], change: dict[str, object]
) -> None:
    folder, _ = saved
    _rewrite_meta(folder, **change)
    with pytest.raises(IndexCorrupt):
        FaissFlatIndex.load(folder)


def test_index_file_swapped_under_its_watermark_is_corrupt(
    index: FaissFlatIndex, saved: tuple[Path, Watermark], tmp_path: Path
) -> None:
    """Another valid index written over the file the watermark names."""
    folder, _ = saved
    index.remove(index.ids()[:1])
    other = tmp_path / "other"
    index.save(other, watermark_for(index, model_id=MODEL, deletion_seq=0))
    saved_index_path(folder).write_bytes(saved_index_path(other).read_bytes())
    with pytest.raises(IndexCorrupt, match=r"checksum|size"):
        FaissFlatIndex.load(folder)


def test_valid_checksum_over_garbage_is_corrupt(saved: tuple[Path, Watermark]) -> None:
    folder, _ = saved
    junk = b"not a faiss index" * 10
    saved_index_path(folder).write_bytes(junk)
    _rewrite_meta(folder, index_sha256=hashlib.sha256(junk).hexdigest(), index_bytes=len(junk))
    with pytest.raises(IndexCorrupt, match="readable"):
        FaissFlatIndex.load(folder)


def test_other_faiss_index_type_is_corrupt(
    saved: tuple[Path, Watermark], unit_vectors: UnitVectors
) -> None:
    folder, _ = saved
    l2 = faiss.IndexIDMap2(faiss.IndexFlatL2(DIM))
    l2.add_with_ids(unit_vectors(2000, seed=3), np.arange(1, 2001, dtype=np.int64))
    blob = faiss.serialize_index(l2).tobytes()
    saved_index_path(folder).write_bytes(blob)
    _rewrite_meta(folder, index_sha256=hashlib.sha256(blob).hexdigest(), index_bytes=len(blob))
    with pytest.raises(IndexCorrupt, match="IDMap2"):
        FaissFlatIndex.load(folder)


def test_unreadable_file_is_unavailable(
    saved: tuple[Path, Watermark], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = saved

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(IndexUnavailable) as info:
        FaissFlatIndex.load(folder)
    assert not isinstance(info.value, IndexCorrupt)


def test_a_save_killed_before_its_watermark_leaves_the_old_index_loadable(
    saved: tuple[Path, Watermark], index: FaissFlatIndex, tmp_path: Path
) -> None:
    """The crash window of save: the new index file is written, the watermark is not."""
    folder, old = saved
    before = sorted(FaissFlatIndex.load(folder)[0].ids().tolist())
    index.remove(index.ids()[:1])
    other = tmp_path / "other"
    index.save(other, watermark_for(index, model_id=MODEL, deletion_seq=0))
    new_file = saved_index_path(other)
    (folder / new_file.name).write_bytes(new_file.read_bytes())  # new file, old watermark
    loaded, watermark = FaissFlatIndex.load(folder)
    assert watermark == old
    assert sorted(loaded.ids().tolist()) == before
    # the next save removes the orphan
    loaded.save(folder, watermark)
    assert len(list(folder.glob("faiss*.index"))) == 1
