"""Exact search latency: FAISS flat inner product vs a numpy brute-force scan.

For each gallery size: single-query latency (p50, p99; k=10), throughput in batches of
64 and 1024 queries, memory per face (RSS delta of building the index, from
/proc/self/status), and the same for ``scores = q @ db.T`` + ``argpartition`` in numpy,
with the ratio faiss/numpy. The gallery is LFW embeddings (``--lfw-embeddings``, an
``.npy`` of shape (n, 128) float32) topped up with seeded, clustered synthetic vectors
that mimic face embeddings: identity centres on the unit sphere, ~5 faces an identity,
Gaussian noise sized so that two faces of one identity have cosine ~0.75.

    .venv/bin/python benchmarks/search_latency.py --sizes 10000,100000,1000000 \\
        --queries 200 --out benchmarks/results/search_latency.json

numpy's BLAS runs with as many threads as faiss (``--threads``, default faiss's own), so
the two compare on equal terms. Not a test: prints a table and writes JSON. Exactness is
checked on the way (faiss and numpy must return the same top-k ids, up to float ties).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_info, threadpool_limits

from facesearch.index import FaissFlatIndex
from facesearch.index.registry import configure_backend
from facesearch.settings import IndexBackend

DIM = 128
K = 10
BATCHES = (64, 1024)
NUMPY_BLOCK_FLOATS = 2**25  # numpy scores one (b, n) block of at most 128 MB at a time


# --- data ---------------------------------------------------------------------------------
def _normalise(x: NDArray[np.float32]) -> NDArray[np.float32]:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def noise_sigma(dim: int, intra_cosine: float) -> float:
    """Per-coordinate noise so two noisy copies of one unit centre have this cosine.

    ``x = c + s*g``: ``x1.x2 ~ 1`` and ``|x|^2 ~ 1 + s^2 d``, so cosine ``~ 1/(1 + s^2 d)``.
    """
    return math.sqrt((1.0 / intra_cosine - 1.0) / dim)


class ClusteredFaces:
    """Seeded synthetic face embeddings: unit identity centres plus Gaussian noise."""

    def __init__(
        self, n_identities: int, *, dim: int = DIM, intra_cosine: float = 0.75, seed: int
    ) -> None:
        rng = np.random.default_rng(seed)
        self.centres = _normalise(rng.standard_normal((n_identities, dim), dtype=np.float32))
        self.sigma = noise_sigma(dim, intra_cosine)
        self.dim = dim

    def sample(
        self, n: int, *, seed: int, chunk: int = 65536
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """``n`` unit vectors ``(n, dim)`` float32 and their identity index ``(n,)``."""
        rng = np.random.default_rng(seed)
        who = rng.integers(0, len(self.centres), size=n)
        return self._noisy(who, rng, chunk), who

    def sample_of(
        self, who: NDArray[np.int64], *, seed: int, chunk: int = 65536
    ) -> NDArray[np.float32]:
        """One fresh unit vector of each identity in ``who``."""
        return self._noisy(who, np.random.default_rng(seed), chunk)

    def _noisy(
        self, who: NDArray[np.int64], rng: np.random.Generator, chunk: int
    ) -> NDArray[np.float32]:
        n = len(who)
        out = np.empty((n, self.dim), dtype=np.float32)
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            block = rng.standard_normal((e - s, self.dim), dtype=np.float32)
            block *= self.sigma
            block += self.centres[who[s:e]]
            out[s:e] = _normalise(block)
        return out


def load_lfw(path: Path | None) -> NDArray[np.float32] | None:
    if path is None or not path.is_file():
        return None
    loaded = np.load(path)
    # an embedding cache written by `facesearch eval` (.npz) or a plain (n, 128) .npy
    x = loaded["embeddings"] if isinstance(loaded, np.lib.npyio.NpzFile) else loaded
    if x.ndim != 2 or x.shape[1] != DIM or x.dtype.kind != "f":
        sys.exit(f"{path}: expected (n, {DIM}) float embeddings, got {x.shape} {x.dtype}")
    return _normalise(np.ascontiguousarray(x, dtype=np.float32))


def gallery(
    n: int, lfw: NDArray[np.float32] | None, seed: int, faces_per_identity: int, max_ids: int
) -> tuple[NDArray[np.float32], int, ClusteredFaces | None]:
    """(vectors (n, DIM), how many are LFW, the synthetic generator if any were made)."""
    n_lfw = 0 if lfw is None else min(n, len(lfw))
    n_syn = n - n_lfw
    parts = [] if lfw is None else [lfw[:n_lfw]]
    faces = None
    if n_syn:
        faces = ClusteredFaces(max(1, min(max_ids, n_syn // faces_per_identity)), seed=seed)
        parts.append(faces.sample(n_syn, seed=seed + 1)[0])
    db = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.ascontiguousarray(db), n_lfw, faces


def measured_intra_cosine(faces: ClusteredFaces, seed: int, pairs: int = 2000) -> float:
    """Mean cosine between two fresh samples of the same identity."""
    a, who = faces.sample(pairs, seed=seed)
    b = faces.sample_of(who, seed=seed + 1)
    return float(np.mean(np.sum(a * b, axis=1)))


# --- measuring ----------------------------------------------------------------------------
def _release_free_memory() -> None:
    """Collect garbage and hand free heap pages back to the OS, so RSS deltas mean growth."""
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_bytes() -> int:
    """Resident set size of this process after releasing free memory (/proc/self/status)."""
    _release_free_memory()
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def numpy_topk(
    db: NDArray[np.float32], queries: NDArray[np.float32], k: int
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Exact top-k by inner product: ``q @ db.T``, argpartition, sort the k."""
    n = db.shape[0]
    kk = min(k, n)
    out_s = np.empty((len(queries), kk), dtype=np.float32)
    out_i = np.empty((len(queries), kk), dtype=np.int64)
    step = max(1, NUMPY_BLOCK_FLOATS // n)
    for s in range(0, len(queries), step):
        scores = queries[s : s + step] @ db.T
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        top = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-top, axis=1)
        out_i[s : s + step] = np.take_along_axis(part, order, axis=1)
        out_s[s : s + step] = np.take_along_axis(top, order, axis=1)
    return out_s, out_i


def single_query_ms(fn: Callable[[NDArray[np.float32]], object], qs: NDArray[np.float32]) -> Any:
    for q in qs[:5]:  # warm-up
        fn(q[None, :])
    times = np.empty(len(qs))
    for j, q in enumerate(qs):
        t0 = time.perf_counter_ns()
        fn(q[None, :])
        times[j] = (time.perf_counter_ns() - t0) / 1e6
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
        "mean_ms": float(times.mean()),
    }


def batch_qps(
    fn: Callable[[NDArray[np.float32]], object],
    qs: NDArray[np.float32],
    batch: int,
    min_seconds: float,
) -> float:
    """Queries per second over whole batches, at least 2 batches and ``min_seconds``."""
    fn(qs[:batch])  # warm-up
    done, t0, i = 0, time.perf_counter(), 0
    while True:
        s = (i * batch) % (len(qs) - batch + 1)
        fn(qs[s : s + batch])
        done += batch
        i += 1
        elapsed = time.perf_counter() - t0
        if i >= 2 and elapsed >= min_seconds:
            return done / elapsed


def agreement(a: NDArray[np.int64], b: NDArray[np.int64]) -> float:
    """Mean fraction of shared ids between two top-k lists (1.0 = identical sets)."""
    return float(np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b, strict=True)]))


def bench_size(n: int, lfw: NDArray[np.float32] | None, args: argparse.Namespace) -> dict[str, Any]:
    db, n_lfw, faces = gallery(n, lfw, args.seed, args.faces_per_identity, args.max_identities)
    ids = np.arange(1, n + 1, dtype=np.int64)
    numpy_bytes = db.nbytes + ids.nbytes  # a numpy scan needs exactly these arrays
    n_q = max(args.queries, max(BATCHES))
    rng = np.random.default_rng(args.seed + 3)
    if faces is not None:  # mated probes: fresh faces of gallery identities
        queries = faces.sample(n_q, seed=args.seed + 2)[0]
    else:
        queries = np.empty((n_q, DIM), dtype=np.float32)
    if n_lfw:  # half the probes (all without synthetic faces) are LFW gallery faces
        m = n_q if faces is None else n_q // 2
        queries[:m] = db[rng.choice(n_lfw, size=m, replace=n_lfw < m)]
    single = queries[: args.queries]

    rss1 = rss_bytes()
    t0 = time.perf_counter()
    index = FaissFlatIndex(DIM)
    index.add(ids, db)
    build_s = time.perf_counter() - t0
    rss_faiss = rss_bytes() - rss1

    def faiss_search(q: NDArray[np.float32]) -> object:
        return index.search(q, K)

    raw = index._index  # the bare faiss index, to show what the wrapper costs

    def raw_search(q: NDArray[np.float32]) -> object:
        return raw.search(q, K)

    def numpy_search(q: NDArray[np.float32]) -> object:
        return numpy_topk(db, q, K)

    check_q = queries[:64]
    agree = agreement(index.search(check_q, K)[1], ids[numpy_topk(db, check_q, K)[1]])

    res: dict[str, Any] = {
        "n": n,
        "n_lfw": n_lfw,
        "n_synthetic": n - n_lfw,
        "synthetic_identities": 0 if faces is None else len(faces.centres),
        "intra_identity_cosine": (
            None if faces is None else measured_intra_cosine(faces, args.seed + 4)
        ),
        "topk_agreement": agree,
    }
    for name, fn, build, mem in (
        ("faiss", faiss_search, build_s, rss_faiss),
        ("numpy", numpy_search, 0.0, numpy_bytes),
    ):
        r: dict[str, Any] = single_query_ms(fn, single)
        for b in BATCHES:
            r[f"qps_batch{b}"] = batch_qps(fn, queries, b, args.min_seconds)
        r["build_s"] = build
        r["memory_bytes"] = mem
        r["memory_method"] = "RSS delta of building" if name == "faiss" else "array nbytes"
        r["bytes_per_face"] = mem / n
        res[name] = r
        print(
            f"  n={n:>9,} {name:5s} p50 {r['p50_ms']:8.3f} ms  p99 {r['p99_ms']:8.3f} ms",
            flush=True,
        )
    res["faiss"]["raw_faiss_p50_ms"] = single_query_ms(raw_search, single)["p50_ms"]
    res["faiss"]["theoretical_bytes_per_face"] = DIM * 4 + 8 + 8  # vectors + id_map + id set
    res["numpy"]["theoretical_bytes_per_face"] = DIM * 4 + 8  # vectors + ids
    res["ratio_faiss_over_numpy"] = {
        key: res["faiss"][key] / res["numpy"][key]
        for key in ("p50_ms", "p99_ms", *(f"qps_batch{b}" for b in BATCHES), "bytes_per_face")
        if res["numpy"][key]
    }
    return res


# --- reporting ----------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    cpu_model = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas_name = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        blas_name = "unknown"
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "faiss_version": faiss.__version__,
        "faiss_omp_threads": faiss.omp_get_max_threads(),
        "blas_threads": max(
            (p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"),
            default=0,
        ),
        "numpy_version": np.__version__,
        "numpy_blas": blas_name,
        "load_average_at_start": list(os.getloadavg()),
    }


def print_table(results: list[dict[str, Any]], header: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=header, title_justify="left")
    for col in (
        "faces",
        "engine",
        "p50 ms",
        "p99 ms",
        "q/s @64",
        "q/s @1024",
        "bytes/face",
        "build s",
    ):
        table.add_column(col, justify="right")
    for r in results:
        for eng in ("faiss", "numpy"):
            m = r[eng]
            table.add_row(
                f"{r['n']:,}",
                eng,
                f"{m['p50_ms']:.3f}",
                f"{m['p99_ms']:.3f}",
                f"{m['qps_batch64']:,.0f}",
                f"{m['qps_batch1024']:,.0f}",
                f"{m['bytes_per_face']:.0f}",
                f"{m['build_s']:.2f}" if eng == "faiss" else "",
            )
        ra = r["ratio_faiss_over_numpy"]
        table.add_row(
            "",
            "faiss/numpy",
            f"{ra['p50_ms']:.2f}",
            f"{ra['p99_ms']:.2f}",
            f"{ra['qps_batch64']:.2f}",
            f"{ra['qps_batch1024']:.2f}",
            f"{ra.get('bytes_per_face', float('nan')):.2f}",
            "",
            end_section=True,
        )
    Console(width=120).print(table)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated gallery sizes")
    p.add_argument("--queries", type=int, default=200, help="single queries timed per size (>=200)")
    p.add_argument(
        "--lfw-embeddings",
        type=Path,
        default=None,
        metavar="PATH",
        help="(n, 128) float32 LFW embeddings put first in every gallery: a .npy, or the "
        ".npz embedding cache of `facesearch eval` (key embeddings)",
    )
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/search_latency.json"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--faces-per-identity", type=int, default=5)
    p.add_argument("--max-identities", type=int, default=200_000)
    p.add_argument("--min-seconds", type=float, default=1.0, help="least time per throughput run")
    p.add_argument(
        "--threads", type=int, default=None, help="faiss OpenMP threads (default: faiss's)"
    )
    args = p.parse_args(argv)
    threads = args.threads or faiss.omp_get_max_threads()
    configure_backend(IndexBackend.FAISS, threads=threads)  # as the service configures it
    # numpy's BLAS gets the same number of threads as faiss, or the comparison is unequal
    with threadpool_limits(limits=threads, user_api="blas"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    lfw = load_lfw(args.lfw_embeddings)
    if lfw is not None:
        source = f"{len(lfw):,} LFW embeddings ({args.lfw_embeddings}) + clustered synthetic"
    elif args.lfw_embeddings is not None:
        source = f"synthetic only: {args.lfw_embeddings} not found"
    else:
        source = "synthetic only: no --lfw-embeddings given"
    info = machine_info()
    print(
        f"{source}; {info['cpu_model']}, {info['cpu_count']} CPUs, faiss {info['faiss_version']} "
        f"({info['faiss_omp_threads']} OpenMP threads), numpy {info['numpy_version']} "
        f"({info['blas_threads']} BLAS threads)",
        flush=True,
    )

    results = [bench_size(n, lfw, args) for n in sizes]
    header = (
        f"Exact search, d={DIM}, k={K} — {source} "
        f"(~{args.faces_per_identity} faces/identity, intra-identity cosine ~0.75); "
        f"{info['cpu_count']} CPUs, faiss {info['faiss_version']}, "
        f"{info['faiss_omp_threads']} faiss and {info['blas_threads']} BLAS threads"
    )
    print_table(results, header)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": "search_latency",
        "data": source,
        "dim": DIM,
        "k": K,
        "queries": args.queries,
        "seed": args.seed,
        "faces_per_identity": args.faces_per_identity,
        "intra_identity_cosine": 0.75,
        "noise_sigma": noise_sigma(DIM, 0.75),
        "machine": info,
        "results": results,
    }
    doc["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
