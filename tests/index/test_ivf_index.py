"""The approximate index: IVF candidates (PQ fast-scan or SQ8 codes) re-ranked exactly
from the re-rank file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from facesearch.errors import InvalidInput
from facesearch.index import IndexCorrupt, ivf_index, watermark_for
from facesearch.index.faiss_index import OVERFETCH_SHARE, WATERMARK_FILE, FaissFlatIndex
from facesearch.index.ivf_index import FaissIVFIndex, IVFParams, nlist_for
from facesearch.index.registry import create_index, load_index, saved_kind
from facesearch.settings import IndexBackend, IndexKind, IVFCodes

from .conftest import DIM, BruteForce

# every list probed and 200 candidates re-ranked: the result must be the exact one
EXHAUSTIVE = IVFParams(nprobe=4096, rerank=200, train_min=500, exact_subset_max=100)


@pytest.fixture(params=list(IVFCodes), ids=str)
def codes(request: pytest.FixtureRequest) -> IVFCodes:
    """Each kind of codes, for the tests whose answer must not depend on them."""
    return IVFCodes(request.param)


def _trained(db: tuple[np.ndarray, np.ndarray], params: IVFParams = EXHAUSTIVE) -> FaissIVFIndex:
    ids, vectors = db
    index = FaissIVFIndex(DIM, params=params)
    index.add(ids, vectors)
    assert index.trained and index.n_trained == len(ids)
    return index


def _assert_exact(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> None:
    """Same ids in the same order (ties aside) and the same scores, to float32 rounding."""
    np.testing.assert_allclose(got[0], want[0], atol=1e-5)
    same = got[1] == want[1]
    tie = np.isclose(got[0], want[0], atol=1e-5)
    assert bool(np.all(same | tie))
    assert np.mean(same) > 0.99


def test_reranked_results_equal_flat_search(
    db, queries, brute_force: BruteForce, codes: IVFCodes
) -> None:
    ids, vectors = db
    index = _trained(db, dataclasses.replace(EXHAUSTIVE, codes=codes))
    assert index.nlist == nlist_for(len(ids)) and index.codes is codes
    got = index.search(queries, 10)
    _assert_exact(got, brute_force(vectors, ids, queries, 10))
    # each score is the exact inner product of the stored vector, not the codes' estimate
    rows = {int(i): v for i, v in zip(ids, vectors, strict=True)}
    for q, row_s, row_i in zip(queries, *got, strict=True):
        exact = np.array([float(rows[int(i)] @ q) for i in row_i])
        np.testing.assert_allclose(row_s, exact, atol=1e-6)


def test_untrained_index_scans_exactly_then_trains_on_reaching_train_min(
    db, queries, brute_force: BruteForce
) -> None:
    ids, vectors = db
    index = FaissIVFIndex(DIM, params=EXHAUSTIVE)
    index.add(ids[:400], vectors[:400])
    assert not index.trained
    _assert_exact(index.search(queries, 5), brute_force(vectors[:400], ids[:400], queries, 5))
    index.add(ids[400:600], vectors[400:600])
    assert index.trained and index.n_trained == 600
    # later adds go in without retraining and are found
    index.add(ids[600:], vectors[600:])
    assert index.n_trained == 600 and len(index) == len(ids)
    s, i = index.search(vectors[1500:1510], 1)
    assert list(i[:, 0]) == list(ids[1500:1510])
    np.testing.assert_allclose(s[:, 0], 1.0, atol=1e-5)
    assert not index.needs_retraining  # 2000 <= 4 * 600


def test_retraining_rule_and_retrain(db) -> None:
    ids, vectors = db
    index = FaissIVFIndex(DIM, params=IVFParams(train_min=400))
    index.add(ids[:400], vectors[:400])
    index.add(ids[400:1600], vectors[400:1600])
    assert index.n_trained == 400 and not index.needs_retraining  # 1600 = 4x: not past it
    index.add(ids[1600:], vectors[1600:])
    assert index.needs_retraining
    index.train()
    assert index.n_trained == len(ids) and not index.needs_retraining


def test_bulk_adds_train_once_at_the_end(db) -> None:
    ids, vectors = db
    index = FaissIVFIndex(DIM, params=IVFParams(train_min=100))
    with index.bulk():
        for s in range(0, len(ids), 300):
            index.add(ids[s : s + 300], vectors[s : s + 300])
            assert not index.trained
    assert index.n_trained == len(ids)


@pytest.mark.parametrize(
    ("exact_subset_max", "every"),
    [(100_000, 7), (1, 20), (1, 2)],
    ids=["scan", "ivf-selector", "ivf-overfetch"],
)
def test_filtered_search_equals_flat_search_over_the_allowed_faces(
    db, queries, brute_force: BruteForce, exact_subset_max: int, every: int, codes: IVFCodes
) -> None:
    ids, vectors = db
    params = IVFParams(
        codes=codes, nprobe=4096, rerank=200, train_min=500, exact_subset_max=exact_subset_max
    )
    index = _trained(db, params)
    keep = np.arange(0, len(ids), every)
    if exact_subset_max == 1:  # which of the two IVF paths is under test
        assert (len(keep) >= OVERFETCH_SHARE * len(ids)) == (every == 2)
    unknown = np.array([10**9], dtype=np.int64)
    got = index.search(queries, 10, subset=np.concatenate([ids[keep], unknown]))
    assert set(got[1].ravel()) <= set(ids[keep])
    _assert_exact(got, brute_force(vectors[keep], ids[keep], queries, 10))
    flat = FaissFlatIndex(DIM)
    flat.add(ids, vectors)
    _assert_exact(got, flat.search(queries, 10, subset=ids[keep]))


@pytest.mark.parametrize("share", [0.3, 0.9])
def test_a_large_filter_over_fetched_finds_the_candidates_the_id_selector_finds(
    db, queries, share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With few probes (approximate), filtering unfiltered candidate lists of a growing
    depth gives the IVF's same best k' candidates among the subset as FAISS's id
    selector, so the same re-ranked answer."""
    ids, _vectors = db
    index = _trained(db, IVFParams(nprobe=4, rerank=50, train_min=500, exact_subset_max=1))
    keep = np.sort(np.random.default_rng(5).choice(ids, round(share * len(ids)), replace=False))
    over = index.search(queries, 10, subset=keep)
    monkeypatch.setattr(ivf_index, "OVERFETCH_SHARE", 2.0)  # never: the selector path
    selector = index.search(queries, 10, subset=keep)
    assert set(over[1].ravel()) <= set(keep) | {-1}
    np.testing.assert_array_equal(over[1], selector[1])
    np.testing.assert_allclose(over[0], selector[0], atol=1e-6)


def test_a_one_percent_filter_is_exact_even_with_few_probes(db, queries) -> None:
    ids, vectors = db
    index = _trained(db, IVFParams(nprobe=1, rerank=10, train_min=500))
    keep = ids[::100]
    flat = FaissFlatIndex(DIM)
    flat.add(ids, vectors)
    _assert_exact(index.search(queries, 5, subset=keep), flat.search(queries, 5, subset=keep))


def test_removed_faces_are_never_returned(db, queries) -> None:
    ids, _vectors = db
    index = _trained(db)
    top = index.search(queries, 3)[1]
    gone = np.unique(top)
    assert index.remove(np.concatenate([gone, [10**9]])) == gone.size
    assert len(index) == len(ids) - gone.size
    assert not np.isin(index.search(queries, 10)[1], gone).any()
    assert not index.contains(gone).any()
    assert index.remove(gone) == 0


def test_bad_input_changes_nothing(db) -> None:
    ids, vectors = db
    index = _trained(db)
    with pytest.raises(InvalidInput):
        index.add(ids[:2], vectors[:2])
    with pytest.raises(InvalidInput):
        index.add(np.array([5, 5]) + 10**8, vectors[:2])
    with pytest.raises(InvalidInput):
        index.add(np.array([10**8]), np.full((1, DIM), np.nan, dtype=np.float32))
    with pytest.raises(InvalidInput):
        index.search(vectors[:1], 0)
    assert len(index) == len(ids)


def test_save_load_round_trip_and_adds_after_load(
    db, queries, tmp_path: Path, codes: IVFCodes
) -> None:
    ids, _vectors = db
    params = dataclasses.replace(EXHAUSTIVE, codes=codes)
    index = _trained(db, params)
    before = index.search(queries, 10)
    index.save(tmp_path, watermark_for(index, model_id="m", deletion_seq=3))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and names[-1] == WATERMARK_FILE
    assert saved_kind(tmp_path) is IndexKind.IVF
    assert json.loads((tmp_path / WATERMARK_FILE).read_text())["codes"] == str(codes)
    loaded, wm = load_index(IndexBackend.FAISS, tmp_path, params=params)
    assert isinstance(loaded, FaissIVFIndex) and wm.deletion_seq == 3
    assert loaded.n_trained == len(ids) and loaded.codes is codes
    assert not loaded.needs_retraining
    _assert_exact(loaded.search(queries, 10), before)
    new_id = np.array([int(ids.max()) + 1000])
    loaded.add(new_id, queries[:1])
    assert loaded.search(queries[:1], 1)[1][0, 0] == new_id[0]


def test_codes_other_than_the_settings_ask_for_need_retraining(
    db, queries, brute_force: BruteForce, tmp_path: Path
) -> None:
    """An index saved with SQ8 codes, under a backend name of before PQ codes, loads and
    serves; asked for PQ codes it wants retraining, and retraining switches its codes."""
    ids, vectors = db
    index = _trained(db, dataclasses.replace(EXHAUSTIVE, codes=IVFCodes.SQ8))
    index.save(tmp_path, watermark_for(index, model_id="m", deletion_seq=0))
    meta = json.loads((tmp_path / WATERMARK_FILE).read_text())
    meta["backend"] = "faiss-ivf-sq8-rerank"
    del meta["codes"]
    (tmp_path / WATERMARK_FILE).write_text(json.dumps(meta))
    assert saved_kind(tmp_path) is IndexKind.IVF
    asks_pq = dataclasses.replace(EXHAUSTIVE, codes=IVFCodes.PQ, rerank=None)
    loaded, _ = FaissIVFIndex.load(tmp_path, asks_pq)
    assert loaded.codes is IVFCodes.SQ8 and loaded.needs_retraining
    assert loaded.rerank == 256  # k' follows the codes the index has
    _assert_exact(loaded.search(queries, 10), brute_force(vectors, ids, queries, 10))
    loaded.train()
    assert loaded.codes is IVFCodes.PQ and not loaded.needs_retraining
    assert loaded.rerank == 1024 and loaded._k_prime(10, 500) == 500
    _assert_exact(loaded.search(queries, 10), brute_force(vectors, ids, queries, 10))


def test_unset_nprobe_probes_a_quarter_of_the_lists(db) -> None:
    index = _trained(db, IVFParams(train_min=500))  # nprobe unset
    assert index.nlist >= 8 and index.nprobe == round(0.25 * index.nlist)
    index.params = IVFParams(nprobe=10**6, train_min=500)
    assert index.nprobe == index.nlist  # never more than the lists there are


def test_pq_codes_wait_for_16_faces_whatever_train_min(
    db, queries, brute_force: BruteForce
) -> None:
    """4-bit PQ learns 16 centroids a sub-quantiser: with train_min 8 the index stays
    untrained (exact) until it holds 16 faces, and every add succeeds on the way."""
    ids, vectors = db
    index = FaissIVFIndex(DIM, params=IVFParams(train_min=8, rerank=50))
    for i in range(15):
        index.add(ids[i : i + 1], vectors[i : i + 1])
    assert not index.trained and len(index) == 15
    _assert_exact(index.search(queries, 3), brute_force(vectors[:15], ids[:15], queries, 3))
    with pytest.raises(InvalidInput, match="at least 16"):
        index.train()
    assert not index.trained and len(index) == 15
    index.add(ids[15:16], vectors[15:16])
    assert index.trained and index.n_trained == 16 and index.codes is IVFCodes.PQ
    sq8 = FaissIVFIndex(DIM, params=IVFParams(codes=IVFCodes.SQ8, train_min=8))
    sq8.add(ids[:8], vectors[:8])
    assert sq8.trained and sq8.n_trained == 8


def test_pq_searches_of_many_queries_go_in_chunks_with_the_same_answer(
    db, queries, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAISS 1.15's fast-scan look-up tables overflow 32-bit offsets (SIGSEGV) when one
    search holds queries * nprobe * M2 * 16 >= 2^31 bytes: searches are cut into chunks of
    queries whose tables stay under a budget, which changes no answer."""
    ids, vectors = db
    index = _trained(db, IVFParams(nprobe=16, rerank=100, train_min=500))
    many = np.concatenate([queries, vectors[:50]])
    whole = index.search(many, 10)
    calls: list[int] = []
    real_search = faiss.IndexIVFPQFastScan.search

    def counting(self, x, k, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(x))
        return real_search(self, x, k, **kw)

    monkeypatch.setattr(faiss.IndexIVFPQFastScan, "search", counting)
    per_query = 16 * 64 * 16 * 4  # nprobe * M2 * ksub * 4 bytes of float tables
    monkeypatch.setattr(ivf_index, "_LUT_BUDGET", 7 * per_query)
    chunked = index.search(many, 10)
    assert calls and max(calls) == 7 and sum(calls) == len(many)
    np.testing.assert_array_equal(chunked[1], whole[1])
    np.testing.assert_allclose(chunked[0], whole[0])
    # a large filter (over-fetched) and a selector search go through the same chunks
    keep = ids[::2]
    calls.clear()
    index.params = IVFParams(nprobe=16, rerank=100, train_min=500, exact_subset_max=1)
    assert set(index.search(many, 10, subset=keep)[1].ravel()) <= set(keep) | {-1}
    assert calls and max(calls) == 7


def test_pq_codes_need_an_even_dimension_and_unknown_codes_are_refused() -> None:
    with pytest.raises(InvalidInput, match="even"):
        FaissIVFIndex(127, params=IVFParams(codes=IVFCodes.PQ))
    assert FaissIVFIndex(127, params=IVFParams(codes=IVFCodes.SQ8)).dim == 127
    with pytest.raises(InvalidInput, match="codes"):
        IVFParams(codes="pq16")  # type: ignore[arg-type]


def test_untrained_index_persists(db, queries, tmp_path: Path, brute_force: BruteForce) -> None:
    ids, vectors = db
    index = create_index(IndexBackend.FAISS, DIM, kind=IndexKind.IVF, params=EXHAUSTIVE)
    index.add(ids[:50], vectors[:50])
    index.save(tmp_path, watermark_for(index, model_id="m", deletion_seq=0))
    loaded, _ = FaissIVFIndex.load(tmp_path)
    assert not loaded.trained
    _assert_exact(loaded.search(queries, 4), brute_force(vectors[:50], ids[:50], queries, 4))


def test_saving_elsewhere_copies_and_leaves_the_first_folder_loadable(
    db, queries, tmp_path: Path
) -> None:
    ids, _vectors = db
    index = _trained(db)
    index.save(tmp_path / "a", watermark_for(index, model_id="m", deletion_seq=0))
    index.save(tmp_path / "b", watermark_for(index, model_id="m", deletion_seq=0))
    index.add(np.array([10**7]), queries[:1])  # written to b's re-rank file only
    a, wm = FaissIVFIndex.load(tmp_path / "a")
    assert len(a) == len(ids) == wm.n_vectors
    assert a.search(queries[:1], 1)[1][0, 0] != 10**7


def test_a_torn_save_leaves_the_previous_index(db, tmp_path: Path) -> None:
    ids, vectors = db
    index = _trained(db)
    index.save(tmp_path, watermark_for(index, model_id="m", deletion_seq=0))
    index.add(np.array([10**7]), vectors[:1])
    # a crash after the new index file but before the new watermark: the old one still loads
    (tmp_path / "ivf-0000000000000000.index").write_bytes(b"half written")
    loaded, wm = FaissIVFIndex.load(tmp_path)
    assert wm.n_vectors == len(loaded) == len(ids)


def _saved(db, tmp_path: Path) -> dict[str, object]:
    index = _trained(db)
    index.save(tmp_path, watermark_for(index, model_id="m", deletion_seq=0))
    return dict(json.loads((tmp_path / WATERMARK_FILE).read_text()))


def test_a_tampered_index_file_is_corrupt(db, tmp_path: Path) -> None:
    meta = _saved(db, tmp_path)
    path = tmp_path / str(meta["index_file"])
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(IndexCorrupt, match="checksum"):
        FaissIVFIndex.load(tmp_path)


def test_a_missing_or_damaged_rerank_file_is_corrupt(db, tmp_path: Path) -> None:
    ids, _ = db
    meta = _saved(db, tmp_path)
    rows = np.memmap(tmp_path / str(meta["vectors_file"]), dtype=np.float32, mode="r+")
    rows.reshape(-1, DIM)[ids[::10]] = 0.0  # rows lost: not unit vectors
    rows.flush()
    del rows
    with pytest.raises(IndexCorrupt, match="unit vectors"):
        FaissIVFIndex.load(tmp_path)
    (tmp_path / str(meta["vectors_file"])).unlink()
    with pytest.raises(IndexCorrupt, match="missing"):
        FaissIVFIndex.load(tmp_path)


def test_flat_save_removes_an_ivf_index_of_the_folder(db, tmp_path: Path) -> None:
    ids, vectors = db
    _saved(db, tmp_path)
    flat = FaissFlatIndex(DIM)
    flat.add(ids, vectors)
    flat.save(tmp_path, watermark_for(flat, model_id="m", deletion_seq=0))
    assert saved_kind(tmp_path) is IndexKind.FLAT
    assert not list(tmp_path.glob("ivf-*")) and not list(tmp_path.glob("vectors-*"))
    assert isinstance(load_index(IndexBackend.FAISS, tmp_path)[0], FaissFlatIndex)


def test_nlist_rule() -> None:
    assert nlist_for(0) == 1
    assert nlist_for(100) == 12  # at most n / 8
    assert nlist_for(1_000_000) == 4096
    assert nlist_for(10_000_000) == 16384


def test_a_filter_through_the_ivf_with_fewer_candidates_than_k_prime(db, queries) -> None:
    """The IVF pads with -1 when a filter leaves fewer than k' faces in the probed lists;
    the padding must not be read as face 0's re-rank row."""
    ids, _vectors = db
    index = _trained(db, IVFParams(nprobe=2, rerank=500, train_min=500, exact_subset_max=1))
    keep = ids[:30]
    s, i = index.search(queries, 10, subset=keep)
    assert set(i[i >= 0]) <= set(keep)
    assert bool(np.all(np.isfinite(s[i >= 0])))
