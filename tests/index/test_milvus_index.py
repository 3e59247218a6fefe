"""The milvus backend against a real Milvus server: the same answers as the exact FAISS
index on the same data, gallery and id filters, deletions, idempotent writes, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from facesearch.errors import IndexUnavailable, InvalidInput
from facesearch.index import FaissFlatIndex, IndexMissing, VectorIndex
from facesearch.index.milvus_index import (
    IndexMismatch,
    IndexTimeout,
    IndexUnreachable,
    MilvusIndex,
    collection_name,
)
from facesearch.settings import MilvusIndexType, MilvusSettings
from facesearch.types import FloatArray, IntArray

from ..milvus_server import unique_prefix
from .conftest import DIM, unit_vectors

N = 3000
N_GALLERIES = 5
MODEL = "test-model/v1"


class DictSource:
    """The store's side of the contract, from dicts: gallery id and embedding by face id."""

    def __init__(self, ids: IntArray, vectors: FloatArray, galleries: IntArray) -> None:
        self.rows = {int(i): (int(g), v) for i, g, v in zip(ids, galleries, vectors, strict=True)}

    def galleries_of(self, ids: IntArray) -> IntArray:
        return np.asarray([self.rows[int(i)][0] if int(i) in self.rows else -1 for i in ids])

    def vectors_of(self, ids: IntArray) -> tuple[IntArray, FloatArray]:
        found = np.asarray(sorted(int(i) for i in ids if int(i) in self.rows), dtype=np.int64)
        if found.size == 0:
            return found, np.empty((0, DIM), dtype=np.float32)
        return found, np.stack([self.rows[int(i)][1] for i in found])


@pytest.fixture(scope="module")
def data() -> tuple[IntArray, FloatArray, IntArray, FloatArray]:
    ids = np.arange(1, N + 1, dtype=np.int64) * 7  # sparse ids, like a store after deletions
    vectors = unit_vectors(N, seed=11)
    galleries = (ids % N_GALLERIES).astype(np.int64)
    queries = unit_vectors(40, seed=12)
    return ids, vectors, galleries, queries


def _open(uri: str, source: Any, **settings: Any) -> MilvusIndex:
    index = MilvusIndex(
        MilvusSettings(uri=uri, collection_prefix=unique_prefix(), **settings),
        model_id=MODEL,
        dim=DIM,
        source=source,
        rerank=64,
    )
    index.open()
    return index


@pytest.fixture(scope="module", params=[MilvusIndexType.HNSW, MilvusIndexType.FLAT])
def filled(
    request: pytest.FixtureRequest, milvus_server: Any, data: Any
) -> Iterator[tuple[MilvusIndex, FaissFlatIndex]]:
    ids, vectors, galleries, _ = data
    index = _open(milvus_server.uri, DictSource(ids, vectors, galleries), index_type=request.param)
    index.add(ids, vectors)
    index.flush()  # sealed segments: the HNSW graph is built and searched, not a scan
    flat = FaissFlatIndex(DIM)
    flat.add(ids, vectors)
    yield index, flat
    index.drop()
    index.close()


def test_it_is_a_vector_index(filled: Any) -> None:
    index, _ = filled
    assert isinstance(index, VectorIndex)
    assert len(index) == N and index.dim == DIM


def test_same_top_k_ids_and_cosines_as_the_exact_flat_index(filled: Any, data: Any) -> None:
    index, flat = filled
    queries = data[3]
    got_scores, got_ids = index.search(queries, 10)
    want_scores, want_ids = flat.search(queries, 10)
    np.testing.assert_array_equal(got_ids, want_ids)
    np.testing.assert_allclose(got_scores, want_scores, atol=1e-6)


def test_gallery_filter_matches_the_flat_index_on_those_galleries_faces(
    filled: Any, data: Any
) -> None:
    index, flat = filled
    ids, _, galleries, queries = data
    wanted = [1, 3]
    got_scores, got_ids = index.search(queries, 10, galleries=wanted)
    want_scores, want_ids = flat.search(queries, 10, subset=ids[np.isin(galleries, wanted)])
    np.testing.assert_array_equal(got_ids, want_ids)
    np.testing.assert_allclose(got_scores, want_scores, atol=1e-6)
    assert set(np.unique(galleries[np.isin(ids, got_ids)])) <= set(wanted)


def test_id_subset_matches_the_flat_index_across_filter_chunks(
    filled: Any, data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facesearch.index import milvus_index

    monkeypatch.setattr(milvus_index, "EXPR_CHUNK", 300)  # 1,000 ids: four searches, merged
    index, flat = filled
    ids, _, _, queries = data
    subset = ids[::3][:1000]
    got_scores, got_ids = index.search(queries, 10, subset=subset)
    want_scores, want_ids = flat.search(queries, 10, subset=subset)
    np.testing.assert_array_equal(got_ids, want_ids)
    np.testing.assert_allclose(got_scores, want_scores, atol=1e-6)


def test_small_or_empty_filters_pad_like_the_flat_index(filled: Any, data: Any) -> None:
    index, flat = filled
    ids, _, _, queries = data
    got_scores, got_ids = index.search(queries[:2], 5, subset=ids[:3])
    _, want_ids = flat.search(queries[:2], 5, subset=ids[:3])
    np.testing.assert_array_equal(got_ids, want_ids)
    assert np.isneginf(got_scores[:, 3:]).all()
    for empty in ({"subset": ids[:0]}, {"galleries": []}):
        scores, out = index.search(queries[:2], 5, **empty)
        assert (out == -1).all() and np.isneginf(scores).all()


def test_bad_arguments_are_invalid_input(filled: Any, data: Any) -> None:
    index, _ = filled
    with pytest.raises(InvalidInput):
        index.search(data[3], 0)
    with pytest.raises(InvalidInput):
        index.search(np.zeros((1, DIM + 1), dtype=np.float32), 3)
    with pytest.raises(InvalidInput):
        index.add(np.array([1, 1]), unit_vectors(2, seed=1))


def test_contains_and_ids(filled: Any, data: Any) -> None:
    index, _ = filled
    ids = data[0]
    np.testing.assert_array_equal(
        index.contains(np.array([ids[0], 1, ids[-1]])), [True, False, True]
    )
    np.testing.assert_array_equal(index.ids(), ids)


def test_deletions_writes_and_the_store_as_truth(milvus_server: Any, data: Any) -> None:
    ids, vectors, galleries, queries = data
    source = DictSource(ids[:500], vectors[:500], galleries[:500])
    index = _open(milvus_server.uri, source)
    try:
        index.add(ids[:500], vectors[:500])
        index.add(ids[:100], vectors[:100])  # again (a reconcile racing an enrollment): one row
        assert len(index) == 500
        # a face the store no longer holds is not written, and never returned
        del source.rows[int(ids[499])]
        index.add(ids[499:500], vectors[499:500])
        _, got = index.search(vectors[498:500], 1)
        assert got[0, 0] == ids[498] and got[1, 0] != ids[499]
        gone = ids[:50]
        assert index.remove(np.concatenate([gone, [10**12]])) == 50
        assert index.remove(gone) == 0
        assert len(index) == 450
        assert not index.contains(gone).any()
        _, got = index.search(vectors[:50], 5)
        assert not np.isin(got, gone).any()
        flat = FaissFlatIndex(DIM)
        keep = slice(50, 499)
        flat.add(ids[keep], vectors[keep])
        np.testing.assert_array_equal(index.search(queries, 10)[1], flat.search(queries, 10)[1])
    finally:
        index.drop()
        index.close()


def test_collection_name_is_per_model_and_dimension() -> None:
    assert collection_name("facesearch_", "dlib-resnet-v1", 128) == "facesearch_dlib_resnet_v1_d128"
    assert collection_name("p_", "a.b/c", 512) == "p_a_b_c_d512"


def test_missing_collection_and_dimension_mismatch(milvus_server: Any, data: Any) -> None:
    ids, vectors, galleries, _ = data
    source = DictSource(ids, vectors, galleries)
    settings = MilvusSettings(uri=milvus_server.uri, collection_prefix=unique_prefix())
    index = MilvusIndex(settings, model_id=MODEL, dim=DIM, source=source)
    with pytest.raises(IndexMissing) as missing:
        index.open(create=False)
    assert missing.value.http_status == 503
    index.open()
    index.add(ids[:10], vectors[:10])
    index.drop()  # dropped under a live index (an operator, another process's rebuild)
    with pytest.raises(IndexUnavailable, match=r"missing|not found|not exist|collection"):
        index.search(vectors[:1], 3)
    # a collection of that name built for another dimension
    from pymilvus import MilvusClient

    client = MilvusClient(uri=milvus_server.uri)
    try:
        client.create_collection(index.collection, dimension=DIM // 2, auto_id=False)
        with pytest.raises(IndexMismatch, match="dimension 64, expected 128"):
            MilvusIndex(settings, model_id=MODEL, dim=DIM, source=source).open()
    finally:
        client.drop_collection(index.collection)
        client.close()
        index.close()


def test_unreachable_server_is_index_unavailable() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = MilvusSettings(uri=f"http://127.0.0.1:{port}", timeout_s=2.0)
    index = MilvusIndex(settings, model_id=MODEL, dim=DIM, source=DictSource(*[np.empty(0)] * 3))
    with pytest.raises((IndexUnreachable, IndexTimeout)) as err:
        index.open()
    assert err.value.http_status == 503
    assert f"127.0.0.1:{port}" in err.value.message or "timed out" in err.value.message
