"""Milvus per-face costs on face-like data: insert rate, index build, search latency and
recall@10 against exact search, for HNSW and IVF_PQ (and FLAT as the exact baseline).

Data: the model's LFW embeddings (``--lfw-embeddings``, caches written by ``facesearch
eval``) fit :class:`facesearch.evaluation.synthetic.FaceEmbeddingModel`; the gallery is
``--n`` synthetic faces of identities with about 3 faces each, the probes fresh faces of
indexed identities (the same generator, another seed) and real LFW faces. Exact top-10 by
numpy (float64) is the reference.

Each index type gets its own collection on one Milvus standalone server (started here on
free loopback ports unless ``--uri`` names one), written through the backend's own path
(:meth:`facesearch.index.milvus_index.MilvusIndex.upsert`, batches of 5,000), then flushed
and indexed. Search latency: one query at a time (the API's case), raw Milvus top-10 and
the backend's full path (top-``rerank`` candidates re-scored exactly from the vectors, as
from the store). The server's resident memory after loading each collection (its RSS
growth) gives memory per face.

    python benchmarks/milvus_scale.py --lfw-embeddings out/cache/embeddings-<key>.npz \\
        --n 100000 --out benchmarks/results/milvus_scale_100k.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.evaluation.synthetic import FaceEmbeddingModel
from facesearch.index.milvus_index import MilvusIndex
from facesearch.index.milvus_server import start_local_milvus
from facesearch.settings import MilvusConsistency, MilvusIndexType, MilvusSettings
from facesearch.types import FloatArray, IntArray

K = 10


def load_lfw(paths: list[Path]) -> tuple[NDArray[np.float32], NDArray[np.str_]]:
    seen: dict[str, NDArray[np.float32]] = {}
    for path in paths:
        with np.load(path, allow_pickle=False) as z:
            for p, e in zip(z["paths"], z["embeddings"], strict=True):
                if str(p) not in seen and float(np.linalg.norm(e)) > 0:
                    seen[str(p)] = e
    names = sorted(seen)
    x = np.stack([seen[p] for p in names]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, np.asarray([p.split("/")[0] for p in names])


class ArraySource:
    """The store's answers from arrays (ids are 1..n)."""

    def __init__(self, vectors: FloatArray, galleries: IntArray) -> None:
        self.vectors = vectors
        self.galleries = galleries

    def galleries_of(self, ids: IntArray) -> IntArray:
        return self.galleries[np.asarray(ids) - 1]

    def vectors_of(self, ids: IntArray) -> tuple[IntArray, FloatArray]:
        ids = np.sort(np.asarray(ids, dtype=np.int64))
        return ids, self.vectors[ids - 1]


def exact_top(db: FloatArray, queries: FloatArray, k: int) -> IntArray:
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 64):
        sims = queries[start : start + 64].astype(np.float64) @ db.astype(np.float64).T
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        out[start : start + 64] = np.take_along_axis(top, order, axis=1) + 1
    return out


def recall(got: IntArray, want: IntArray) -> float:
    hits = sum(len(set(g.tolist()) & set(w.tolist())) for g, w in zip(got, want, strict=True))
    return hits / want.size


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_one(
    uri: str,
    pid: int | None,
    index_type: MilvusIndexType,
    vectors: FloatArray,
    queries: FloatArray,
    want: IntArray,
    args: argparse.Namespace,
) -> dict[str, Any]:
    n = len(vectors)
    settings = MilvusSettings(
        uri=uri,
        collection_prefix=f"bench_{index_type.value.lower()}_",
        index_type=index_type,
        nlist=args.nlist,
        nprobe=args.nprobe,
        hnsw_ef=args.ef,
        consistency_level=MilvusConsistency.BOUNDED,
        timeout_s=600,
    )
    galleries = (np.arange(n) % 10).astype(np.int64)
    index = MilvusIndex(
        settings,
        model_id="dlib-resnet-v1",
        dim=vectors.shape[1],
        source=ArraySource(vectors, galleries),
        rerank=args.rerank,
    )
    index.drop()
    rss_before = rss_kb(pid) if pid else 0
    index.open()
    ids = np.arange(1, n + 1, dtype=np.int64)
    t0 = time.perf_counter()
    for start in range(0, n, 5000):
        index.upsert(
            ids[start : start + 5000],
            galleries[start : start + 5000],
            vectors[start : start + 5000],
        )
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.flush()
    flush_s = time.perf_counter() - t0
    client = index._connect()
    t0 = time.perf_counter()
    while True:  # wait until every sealed row is indexed
        info = client.describe_index(index.collection, "vector")
        if int(info.get("indexed_rows", 0)) >= n and int(info.get("pending_index_rows", 0)) == 0:
            break
        if time.perf_counter() - t0 > args.build_timeout:
            raise TimeoutError(f"{index_type} not built in {args.build_timeout} s: {info}")
        time.sleep(1.0)
    build_s = time.perf_counter() - t0
    client.release_collection(index.collection)
    client.load_collection(index.collection)
    time.sleep(2.0)
    rss_after = rss_kb(pid) if pid else 0
    search_params = index._search_params(K)
    raw_ids = np.full((len(queries), K), -1, dtype=np.int64)
    lat_raw: list[float] = []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        hits = client.search(
            index.collection,
            data=[q],
            limit=K,
            output_fields=["id"],
            search_params=search_params,
            consistency_level="Bounded",
        )
        lat_raw.append(time.perf_counter() - t)
        got = [int(h["id"]) for h in hits[0]]
        raw_ids[i, : len(got)] = got
    full_ids = np.full((len(queries), K), -1, dtype=np.int64)
    lat_full: list[float] = []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _, got_ids = index.search(q[None, :], K)
        lat_full.append(time.perf_counter() - t)
        full_ids[i] = got_ids[0]
    lat_strong: list[float] = []
    for q in queries[:50]:
        t = time.perf_counter()
        client.search(
            index.collection,
            data=[q],
            limit=K,
            output_fields=["id"],
            search_params=search_params,
            consistency_level="Strong",
        )
        lat_strong.append(time.perf_counter() - t)
    ms = lambda xs, p: round(float(np.percentile(np.asarray(xs) * 1000, p)), 2)  # noqa: E731
    sweep = []
    if index_type not in (MilvusIndexType.HNSW, MilvusIndexType.FLAT):
        for nprobe in args.sweep_nprobe:
            # the same collection searched with another nprobe (a search parameter only)
            index._settings = settings.model_copy(update={"nprobe": nprobe})
            params = index._search_params(K)
            raw = np.full((len(queries), K), -1, dtype=np.int64)
            full = np.full((len(queries), K), -1, dtype=np.int64)
            t_raw: list[float] = []
            t_full: list[float] = []
            for i, q in enumerate(queries):
                t = time.perf_counter()
                hits = client.search(
                    index.collection, data=[q], limit=K, output_fields=["id"],
                    search_params=params, consistency_level="Bounded",
                )  # fmt: skip
                t_raw.append(time.perf_counter() - t)
                got = [int(h["id"]) for h in hits[0]]
                raw[i, : len(got)] = got
                t = time.perf_counter()
                full[i] = index.search(q[None, :], K)[1][0]
                t_full.append(time.perf_counter() - t)
            sweep.append(
                {
                    "nprobe": nprobe,
                    "p50_raw_ms": ms(t_raw, 50),
                    "p50_rescored_ms": ms(t_full, 50),
                    "recall10_raw": round(recall(raw, want), 4),
                    "recall10_rescored": round(recall(full, want), 4),
                }
            )
            print(json.dumps({"sweep": sweep[-1]}), flush=True)
        index._settings = settings
    if not args.keep:
        index.drop()
    index.close()
    return {
        "index_type": index_type.value,
        "params": index._build_params(),
        "search_params": search_params["params"],
        "n": n,
        "insert_s": round(insert_s, 2),
        "insert_per_s": round(n / insert_s),
        "flush_s": round(flush_s, 2),
        "build_s": round(build_s, 1),
        "rss_growth_mb": round((rss_after - rss_before) / 1024, 1) if pid else None,
        "rss_bytes_per_face": round((rss_after - rss_before) * 1024 / n) if pid else None,
        "p50_raw_ms": ms(lat_raw, 50),
        "p95_raw_ms": ms(lat_raw, 95),
        "p50_strong_raw_ms": ms(lat_strong, 50),
        "p50_rescored_ms": ms(lat_full, 50),
        "p95_rescored_ms": ms(lat_full, 95),
        "recall10_raw": round(recall(raw_ids, want), 4),
        "recall10_rescored": round(recall(full_ids, want), 4),
        "nprobe_sweep": sweep,
    }


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw-embeddings", type=Path, nargs="+", required=True)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--index",
        nargs="+",
        default=["FLAT", "HNSW", "IVF_PQ"],
        choices=[t.value for t in MilvusIndexType],
    )
    parser.add_argument("--uri", help="an existing Milvus server (default: start one here)")
    parser.add_argument("--pid", type=int, help="that server's pid (for its memory)")
    parser.add_argument("--nlist", type=int, default=1024)
    parser.add_argument("--nprobe", type=int, default=64)
    parser.add_argument(
        "--sweep-nprobe",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default=[],
        help="IVF types: also search the built collection at these nprobe values (e.g. 256,512)",
    )
    parser.add_argument("--ef", type=int, default=128)
    parser.add_argument("--rerank", type=int, default=256)
    parser.add_argument("--build-timeout", type=float, default=1800)
    parser.add_argument("--keep", action="store_true", help="keep the collections")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/milvus_scale.json"))
    args = parser.parse_args()

    real, labels = load_lfw(args.lfw_embeddings)
    model = FaceEmbeddingModel.fit(real, labels)
    n_ident = max(1, args.n // 3)
    vectors, _ = model.sample(n_ident, 3.0, seed=1, n_faces=args.n)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    # probes: half fresh faces of indexed synthetic identities, half real LFW faces
    half = args.queries // 2
    rng = np.random.default_rng(2)
    fresh, _ = model.sample(n_ident, 3.0, seed=1, n_faces=args.n + half)
    probes = np.concatenate(
        [fresh[args.n :], real[rng.choice(len(real), args.queries - half, replace=False)]]
    )
    probes = np.ascontiguousarray(probes, dtype=np.float32)
    t0 = time.perf_counter()
    want = exact_top(vectors, probes, K)
    exact_s = time.perf_counter() - t0

    server = None
    uri, pid = args.uri, args.pid
    # a SIGTERM (``timeout``, a closed session) must still stop the server this run
    # started and remove its folder: Python's default SIGTERM skips ``finally``
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    base = Path(tempfile.mkdtemp(prefix="milvus-bench-"))
    if uri is None:
        server = start_local_milvus(base)
        uri, pid = server.uri, server.pid
        print(f"milvus server pid {pid} on {uri}, started in {server.startup_s:.1f} s")
    rows = []
    try:
        for name in args.index:
            print(f"{name}: n={args.n:,} ...", flush=True)
            row = run_one(uri, pid, MilvusIndexType(name), vectors, probes, want, args)
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
    header = (
        "| index | insert/s | build s | MB RSS | B/face | p50 raw | p95 raw | p50 strong | "
        "p50 rescored | p95 rescored | recall@10 raw | recall@10 rescored |"
    )
    print(header)
    print("|" + " --- |" * 12)
    for r in rows:
        print(
            f"| {r['index_type']} | {r['insert_per_s']:,} | {r['build_s']} | "
            f"{r['rss_growth_mb']} | "
            f"{r['rss_bytes_per_face']} | {r['p50_raw_ms']} | {r['p95_raw_ms']} | "
            f"{r['p50_strong_raw_ms']} | {r['p50_rescored_ms']} | {r['p95_rescored_ms']} | "
            f"{r['recall10_raw']} | {r['recall10_rescored']} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "n": args.n,
                "queries": len(probes),
                "k": K,
                "machine": f"{platform.machine()} {platform.processor()}, shared 2 cores",
                "exact_numpy_s_all_queries": round(exact_s, 2),
                "lfw_embeddings": len(real),
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
