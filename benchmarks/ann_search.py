"""Approximate search with exact re-ranking (``FaissIVFIndex``) against exact search
(``FaissFlatIndex``), in the same run, on face-like embeddings fitted to real ones.

Data: the model's LFW embeddings (``--lfw-embeddings``: embedding caches written by the
evaluation commands, ``.npz`` with ``embeddings`` and ``paths``; several are merged by path,
the first wins) fit :class:`facesearch.evaluation.synthetic.FaceEmbeddingModel`; the fit is
checked on held-out identities (KS distance of genuine and impostor cosines, FMR at the
search threshold). Each gallery holds every real LFW embedding except the probes, topped up
with synthetic identities (``--faces-per-identity``) to N faces. Probes: one photo each of
real LFW people whose other photos are indexed, and fresh faces of indexed synthetic
identities (half each).

Per size, one thread, k = 10: build time, resident bytes a face (anonymous RSS: the
re-rank file is file-backed and counted apart), start-up (load a saved index), p50/p99 of
single probes and queries/s in batches of 64, then for each ``--nprobe``: recall@10 against
exact search, threshold recall (share of exact candidates at or above the FMR 1e-4
threshold, among the exact top 50, that the approximate top 50 returns), top-1 identity
agreement; a gallery filter keeping 1% of the faces (both kinds, exactness checked); the
FPIR of non-mated synthetic probes against the formula's prediction.

    PYTHONPATH=src .venv/bin/python benchmarks/ann_search.py --sizes 1000000 \\
        --lfw-embeddings out/cache/embeddings-<key>.npz --out benchmarks/results/ann.json

Not a test: prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from facesearch.calibration.table import fpir
from facesearch.evaluation.synthetic import FaceEmbeddingModel, fit_check
from facesearch.index import FaissFlatIndex, watermark_for
from facesearch.index.ivf_index import DEFAULT_RERANK, FaissIVFIndex, IVFParams
from facesearch.index.registry import configure_backend
from facesearch.service.leads import LeadScorer
from facesearch.settings import IndexBackend, IVFCodes, SearchSettings
from search_latency import _release_free_memory, batch_qps, machine_info, single_query_ms

K = 10
K_THRESHOLD = 50
MODEL_ID = "dlib-resnet-v1"


def load_caches(paths: list[Path]) -> tuple[NDArray[np.float32], NDArray[np.str_], list[str]]:
    """Unit embeddings, identity labels and paths of the images embedded in any cache."""
    seen: dict[str, NDArray[np.float32]] = {}
    for path in paths:
        with np.load(path, allow_pickle=False) as z:
            for p, e in zip(z["paths"], z["embeddings"], strict=True):
                if str(p) not in seen and float(np.linalg.norm(e)) > 0:
                    seen[str(p)] = e
    names = sorted(seen)
    x = np.stack([seen[p] for p in names]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, np.asarray([p.split("/")[0] for p in names]), names


@contextlib.contextmanager
def faiss_threads(n: int, restore: int) -> Iterator[None]:
    """FAISS's OpenMP threads set to ``n`` inside the block, ``restore`` after it."""
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(restore)


def anon_rss() -> int:
    """Anonymous resident memory of this process, bytes (RssAnon: not the page cache)."""
    _release_free_memory()
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def build_data(
    n: int,
    real: NDArray[np.float32],
    labels: NDArray[np.str_],
    model: FaceEmbeddingModel,
    args: argparse.Namespace,
) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    n_q = args.queries // 2
    # real probes: one photo of people with 2+ photos; the others stay in the gallery
    names, first, counts = np.unique(labels, return_index=True, return_counts=True)
    multi = first[counts >= 2]
    probe_rows = np.sort(rng.choice(multi, size=min(n_q, multi.size), replace=False))
    keep = np.ones(len(real), dtype=bool)
    keep[probe_rows] = False
    real_db, real_ident = real[keep], np.searchsorted(names, labels[keep])
    n_real = min(n, len(real_db))
    n_syn = n - n_real
    n_ids = max(1, round(n_syn / args.faces_per_identity))
    centres = model.centres(n_ids, rng)
    who = np.sort(rng.integers(0, n_ids, size=n_syn)) if n_syn else np.empty(0, np.int64)
    db = np.empty((n, real.shape[1]), dtype=np.float32)
    db[:n_real] = real_db[:n_real]
    db[n_real:] = model.faces_of(centres, who, rng)
    ident = np.concatenate([real_ident[:n_real], names.size + who])
    # synthetic probes: fresh faces of indexed synthetic identities; non-mated: new identities
    syn_q_who = rng.choice(np.unique(who), size=n_q, replace=False) if n_syn else who[:0]
    syn_q = model.faces_of(centres, syn_q_who, rng)
    nonmated = model.faces_of(model.centres(args.nonmated, rng), np.arange(args.nonmated), rng)
    queries = np.concatenate([real[probe_rows], syn_q])
    q_ident = np.concatenate([np.searchsorted(names, labels[probe_rows]), names.size + syn_q_who])
    return {
        "db": db,
        "ids": np.arange(1, n + 1, dtype=np.int64),
        "ident": ident,
        "queries": np.ascontiguousarray(queries),
        "q_ident": q_ident,
        "nonmated": nonmated,
        "n_real": n_real,
        "n_real_probes": int(probe_rows.size),
        "probe_paths": list(args.paths[probe_rows]),
    }


def quality(
    exact: tuple[NDArray[Any], NDArray[Any]],
    got: tuple[NDArray[Any], NDArray[Any]],
    ident: NDArray[np.int64],
    threshold: float,
    q_ident: NDArray[np.int64],
    threshold_strict: float,
) -> dict[str, float]:
    e_s, e_i = exact
    g_s, g_i = got
    recall10 = np.mean([len(set(a[:K]) & set(b[:K])) / K for a, b in zip(e_i, g_i, strict=True)])
    above = e_s >= threshold
    found = np.array([np.isin(e_i[r], g_i[r]) for r in range(len(e_i))])
    thr_recall = float(found[above].mean()) if above.any() else float("nan")
    top1 = float(np.mean(ident[e_i[:, 0] - 1] == ident[g_i[:, 0] - 1]))
    # the same for mates only (candidates of the probe's identity), and at FMR 1e-5
    mated = (ident[np.maximum(e_i, 1) - 1] == q_ident[:, None]) & above
    strict = e_s >= threshold_strict
    max_score_err = float(np.max(np.abs(np.where(g_i == e_i, g_s - e_s, 0.0))))
    return {
        "recall_at_10": float(recall10),
        "threshold_recall": thr_recall,
        "threshold_candidates": int(above.sum()),
        "top1_identity_agreement": top1,
        "threshold_recall_mates": float(found[mated].mean()) if mated.any() else float("nan"),
        "mates_above_threshold": int(mated.sum()),
        "threshold_recall_fmr_1e-5": float(found[strict].mean()) if strict.any() else float("nan"),
        "candidates_above_fmr_1e-5": int(strict.sum()),
        "max_score_error_same_id": max_score_err,
    }


def bench_size(
    n: int, data: dict[str, Any], threshold: float, args: argparse.Namespace
) -> dict[str, Any]:
    db, ids, q = data["db"], data["ids"], data["queries"]
    out: dict[str, Any] = {
        "faces": n,
        "real_faces": data["n_real"],
        "probes": len(q),
        "real_probes": data["n_real_probes"],
    }
    tmp = Path(tempfile.mkdtemp(prefix="ann-bench-", dir=args.tmp))

    # --- flat ---
    base = anon_rss()
    t0 = time.perf_counter()
    flat = FaissFlatIndex(db.shape[1])
    for s in range(0, n, 262144):
        flat.add(ids[s : s + 262144], db[s : s + 262144])
    flat_build = time.perf_counter() - t0
    flat_bytes = (anon_rss() - base) / n
    flat.save(tmp / "flat", watermark_for(flat, model_id=MODEL_ID, deletion_seq=0))
    del flat
    gc.collect()
    t0 = time.perf_counter()
    flat, _ = FaissFlatIndex.load(tmp / "flat")
    flat_start = time.perf_counter() - t0
    sub = np.sort(np.random.default_rng(1).choice(ids, size=max(1, n // 100), replace=False))
    with faiss_threads(args.build_threads, args.threads):  # ground truth, not timed
        exact = flat.search(q, K_THRESHOLD)
        exact_sub = flat.search(q, K, subset=sub)
        # non-mated searches (new identities) for the FPIR check, exact
        nm_s, _ = flat.search(data["nonmated"], 1)
    out["flat"] = {
        "build_s": flat_build,
        "bytes_per_face": flat_bytes,
        "startup_s": flat_start,
        **single_query_ms(lambda x, flat=flat: flat.search(x, K), q),
        "qps_batch64": batch_qps(lambda x, flat=flat: flat.search(x, K), q, 64, args.min_seconds),
    }
    out["flat"]["filter_1pct"] = single_query_ms(
        lambda x, flat=flat: flat.search(x, K, subset=sub), q
    )
    del flat
    gc.collect()
    (tmp / "flat").exists() and [p.unlink() for p in (tmp / "flat").iterdir()]

    # --- ivf, once per kind of codes ---
    out["ivf"] = [
        bench_ivf(n, data, exact, exact_sub, sub, threshold, args, tmp, codes)
        for codes in args.codes
    ]
    out["fpir_check"] = fpir_check(nm_s[:, 0], n, threshold)
    for p in sorted(tmp.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    tmp.rmdir()
    return out


def bench_ivf(
    n: int,
    data: dict[str, Any],
    exact: tuple[NDArray[np.float32], NDArray[np.int64]],
    exact_sub: tuple[NDArray[np.float32], NDArray[np.int64]],
    sub: NDArray[np.int64],
    threshold: float,
    args: argparse.Namespace,
    tmp: Path,
    codes: IVFCodes,
) -> dict[str, Any]:
    """Build, save, load and sweep one ``FaissIVFIndex`` with ``codes``."""
    db, ids, q = data["db"], data["ids"], data["queries"]
    rerank = args.rerank or DEFAULT_RERANK[codes]
    params = IVFParams(codes=codes, nprobe=args.nprobe[0], rerank=rerank, train_min=1)
    base = anon_rss()
    t0 = time.perf_counter()
    ivf = FaissIVFIndex(db.shape[1], params=params, staging=tmp)
    with faiss_threads(args.build_threads, args.threads), ivf.bulk():
        for s in range(0, n, 262144):
            ivf.add(ids[s : s + 262144], db[s : s + 262144])
    ivf_build = time.perf_counter() - t0
    print(f"  n={n:,} ivf {codes} built in {ivf_build:.0f} s", flush=True)
    ivf.save(tmp / "ivf", watermark_for(ivf, model_id=MODEL_ID, deletion_seq=0))
    del ivf
    gc.collect()
    base = anon_rss()
    t0 = time.perf_counter()
    ivf, _ = FaissIVFIndex.load(tmp / "ivf", params)
    ivf_start = time.perf_counter() - t0
    ivf_bytes = (anon_rss() - base) / n
    res: dict[str, Any] = {
        "codes": str(codes),
        "build_s": ivf_build,
        "bytes_per_face": ivf_bytes,
        "startup_s": ivf_start,
        "nlist": ivf.nlist,
        "rerank": rerank,
        "build_threads": args.build_threads,
        "sweep": [],
    }
    for nprobe in args.nprobe:
        ivf.params = IVFParams(codes=codes, nprobe=nprobe, rerank=rerank, train_min=1)
        got = ivf.search(q, K_THRESHOLD)
        row = {
            "nprobe": ivf.nprobe,
            "nprobe_setting": nprobe or "auto",
            **quality(exact, got, data["ident"], threshold, data["q_ident"], args.strict),
            **single_query_ms(lambda x, ivf=ivf: ivf.search(x, K), q),
            "qps_batch64": batch_qps(lambda x, ivf=ivf: ivf.search(x, K), q, 64, args.min_seconds),
        }
        res["sweep"].append(row)
        print(f"  n={n:,} {codes} nprobe={nprobe}: {json.dumps(row)}", flush=True)
    ivf.params = IVFParams(codes=codes, nprobe=args.nprobe[0], rerank=rerank, train_min=1)
    got_sub = ivf.search(q, K, subset=sub)
    res["filter_1pct"] = {
        **single_query_ms(lambda x, ivf=ivf: ivf.search(x, K, subset=sub), q),
        "same_ids_as_flat": float(np.mean(got_sub[1] == exact_sub[1])),
        "max_score_diff": float(np.max(np.abs(got_sub[0] - exact_sub[0]))),
    }
    ivf.params = IVFParams(
        codes=codes, nprobe=args.nprobe[0], rerank=rerank, train_min=1, exact_subset_max=1
    )
    res["filter_1pct_via_ivf_selector"] = {
        **single_query_ms(lambda x, ivf=ivf: ivf.search(x, K, subset=sub), q),
        "recall_at_10": float(
            np.mean(
                [
                    len(set(a) & set(b)) / K
                    for a, b in zip(exact_sub[1], ivf.search(q, K, subset=sub)[1], strict=True)
                ]
            )
        ),
    }
    del ivf
    gc.collect()
    for p in sorted((tmp / "ivf").rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    return res


def service_level(
    n: int, data: dict[str, Any], probe_photo: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """``FaceSearch`` on a data folder of ``n`` faces inserted through ``Store.add_image``
    (2,000 faces an image row, no pixels): start-up (open a saved index), ``search`` p50
    for a real probe photo over all faces and over a gallery holding 1%, process RSS."""
    import hashlib

    from facesearch.audit import AuditContext
    from facesearch.service import FaceSearch
    from facesearch.settings import IndexKind, Settings
    from facesearch.store import NewFace, NewImage
    from facesearch.types import BoundingBox, FaceQuality, Landmarks5

    folder = Path(tempfile.mkdtemp(prefix="ann-service-", dir=args.tmp))
    settings = Settings(data_dir=folder, database_url=None)
    settings.index.kind = IndexKind.IVF
    settings.index.nprobe = args.nprobe[0]
    codes = args.codes[0]
    rerank = args.rerank or DEFAULT_RERANK[codes]
    settings.index.codes = codes
    out_kind = {"codes": str(codes), "nprobe": args.nprobe[0] or "auto", "rerank": rerank}
    settings.index.rerank = rerank
    context = AuditContext(
        actor="benchmark",
        key_prefix="fsk_00000000",
        client_address="127.0.0.1",
        purpose="index benchmark",
        case_reference="BENCH-1",
        authorization_reference="BENCH-A",
    )
    out: dict[str, Any] = {"faces": n, **out_kind}
    with FaceSearch(settings) as fs:
        big = fs.store.catalog.create_gallery("bulk", legal_basis="benchmark").id
        small = fs.store.catalog.create_gallery("one-percent", legal_basis="benchmark").id
        model_id = fs.model_id
        t0 = time.perf_counter()
        quality_ = FaceQuality(interocular_px=30.0, sharpness=100.0, frontalness=0.9, score=0.9)
        marks = Landmarks5(((1.0, 1.0), (2.0, 1.0), (1.5, 2.0), (1.0, 3.0), (2.0, 3.0)))
        step = 2000
        for j, s in enumerate(range(0, n, step)):
            faces = [
                NewFace(
                    box=BoundingBox(0.0, 0.0, 50.0, 50.0),
                    landmarks=marks,
                    detector="bench",
                    detector_score=1.0,
                    quality=quality_,
                    model_id=model_id,
                    embedding=v,
                    thumbnail=b"",
                )
                for v in data["db"][s : s + step]
            ]
            image = NewImage(
                sha256=hashlib.sha256(f"bulk-{j}".encode()).hexdigest(),
                width=1,
                height=1,
                n_bytes=1,
                format="JPEG",
                legal_basis="benchmark",
                source_uri=None,
            )
            gallery = small if j % 100 == 0 else big
            fs.store.catalog.add_image(gallery, image, faces, [])
        out["insert_s"] = time.perf_counter() - t0
    import shutil

    shutil.rmtree(settings.index_dir, ignore_errors=True)
    t0 = time.perf_counter()
    with FaceSearch(settings) as fs:  # rebuilds the index from the store
        out["first_open_s"] = time.perf_counter() - t0
        out["first_open"] = fs.reconcile_report.action
    t0 = time.perf_counter()
    with FaceSearch(settings) as fs:
        out["startup_s"] = time.perf_counter() - t0
        out["startup"] = fs.reconcile_report.action
        photo = probe_photo.read_bytes()
        # the first gallery-restricted search reads the gallery map (every face's gallery)
        t1 = time.perf_counter()
        fs.search(photo, context=context, galleries=["one-percent"])
        out["first_filtered_search_ms"] = (time.perf_counter() - t1) * 1000
        cases = (
            ("all", None),
            ("one_percent_gallery", ["one-percent"]),
            ("ninety_nine_percent_gallery", ["bulk"]),
            ("both_galleries", ["bulk", "one-percent"]),
        )
        for label, galleries in cases:
            fs.search(photo, context=context, galleries=galleries)  # warm-up
            times = []
            for _ in range(args.service_searches):
                t1 = time.perf_counter()
                fs.search(photo, context=context, galleries=galleries)
                times.append((time.perf_counter() - t1) * 1000)
            out[f"search_{label}_p50_ms"] = float(np.median(times))
        emb = fs.pipeline.analyze(photo).faces[0].embedding[None, :].astype(np.float32)
        t1 = time.perf_counter()
        fs.pipeline.analyze(photo)
        out["analyze_ms"] = (time.perf_counter() - t1) * 1000
        for label, gallery in (("one_percent", small), ("ninety_nine_percent", big)):
            # the index's own part of a filtered search: the gallery's ids from the map,
            # then the filtered search
            out[f"index_search_{label}_gallery_ms"] = single_query_ms(
                lambda x, fs=fs, g=gallery: fs.index.search(x, 10, galleries=[g]),
                np.repeat(emb, 20, axis=0),
            )["p50_ms"]
        out["index_search_ms"] = single_query_ms(
            lambda x, fs=fs: fs.index.search(x, 10), np.repeat(emb, 50, axis=0)
        )["p50_ms"]
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "RssAnon:", "RssFile:")):
                    out[line.split(":")[0]] = int(line.split()[1]) * 1024
    print("service:", json.dumps(out), flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    return out


def fpir_check(best: NDArray[np.float32], n: int, threshold: float) -> dict[str, Any]:
    """Observed FPIR of non-mated probes (share whose best exact score >= threshold) against
    the service's estimate (``LeadScorer.fpir``) and 1 - (1 - FMR)^N with the calibration's
    FMR at the threshold."""
    leads = LeadScorer.for_model(MODEL_ID, SearchSettings())
    fmr = leads.fmr(threshold)
    return {
        "probes": int(best.size),
        "threshold": threshold,
        "observed_fpir": float(np.mean(best >= threshold)),
        "predicted_fpir_independent": float(fpir(fmr, n)),
        "predicted_fpir_service": leads.fpir(threshold, n),
        "predicted_expected_false": fmr * n,
    }


def _ivf_runs(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The IVF results of one size (a list; one dict in files written before codes)."""
    return r["ivf"] if isinstance(r["ivf"], list) else [r["ivf"]]


def print_tables(results: list[dict[str, Any]], fit: dict[str, Any]) -> None:
    print("\nfit check (held-out LFW identities vs synthetic):")
    print(
        " | ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in fit.items())
    )
    print(
        "\n| faces | kind | build s | bytes/face | start-up s | p50 ms | p99 ms | q/s (64) "
        "| recall@10 | threshold recall (candidates) | mates | at FMR 1e-5 | top-1 agreement |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        f = r["flat"]
        print(
            f"| {r['faces']:,} | flat | {f['build_s']:.1f} | {f['bytes_per_face']:.0f} | "
            f"{f['startup_s']:.2f} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} | "
            f"{f['qps_batch64']:.0f} | 1 | 1 | 1 | 1 | 1 |"
        )
        for v in _ivf_runs(r):
            codes = v.get("codes", "sq8")
            for s in v["sweep"]:
                print(
                    f"| | ivf {codes} nlist {v['nlist']} nprobe {s['nprobe']} k' {v['rerank']} | "
                    f"{v['build_s']:.1f} | {v['bytes_per_face']:.0f} | {v['startup_s']:.2f} | "
                    f"{s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['qps_batch64']:.0f} | "
                    f"{s['recall_at_10']:.4f} | {s['threshold_recall']:.4f} "
                    f"({s['threshold_candidates']}) | "
                    f"{s.get('threshold_recall_mates', float('nan')):.4f} "
                    f"({s.get('mates_above_threshold', '')}) | "
                    f"{s.get('threshold_recall_fmr_1e-5', float('nan')):.4f} "
                    f"({s.get('candidates_above_fmr_1e-5', '')}) | "
                    f"{s['top1_identity_agreement']:.3f} |"
                )
            s0 = v["sweep"][0]
            print(
                f"| | ivf {codes}/flat (nprobe {s0['nprobe']}) | "
                f"{v['build_s'] / max(f['build_s'], 1e-9):.2f} | "
                f"{v['bytes_per_face'] / max(f['bytes_per_face'], 1):.2f} | "
                f"{v['startup_s'] / f['startup_s']:.2f} | {s0['p50_ms'] / f['p50_ms']:.3f} | "
                f"{s0['p99_ms'] / f['p99_ms']:.3f} | "
                f"{s0['qps_batch64'] / f['qps_batch64']:.1f} | | | | | |"
            )
    print(
        "\n| faces | filter keeping 1% | flat p50 ms | ivf p50 ms (exact scan) | same ids | "
        "ivf p50 ms (IVF + id selector) | its recall@10 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        for v in _ivf_runs(r):
            a, b, c = (
                r["flat"]["filter_1pct"],
                v["filter_1pct"],
                v["filter_1pct_via_ivf_selector"],
            )
            print(
                f"| {r['faces']:,} ({v.get('codes', 'sq8')}) | {r['faces'] // 100:,} faces | "
                f"{a['p50_ms']:.2f} | {b['p50_ms']:.2f} | {b['same_ids_as_flat']:.4f} | "
                f"{c['p50_ms']:.2f} | {c['recall_at_10']:.4f} |"
            )
    print(
        "\n| faces | non-mated probes | threshold | observed FPIR | the service's estimate "
        "| 1-(1-FMR)^N | FMR x N |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        c = r["fpir_check"]
        print(
            f"| {r['faces']:,} | {c['probes']} | {c['threshold']:.4f} | {c['observed_fpir']:.4f} | "
            f"{c.get('predicted_fpir_service', c.get('predicted_fpir_beta_binomial')):.4f} | "
            f"{c['predicted_fpir_independent']:.4f} | "
            f"{c['predicted_expected_false']:.2f} |"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--lfw-embeddings", type=Path, action="append", required=True)
    ap.add_argument("--queries", type=int, default=400, help="probes, half real, half synthetic")
    ap.add_argument("--nonmated", type=int, default=1000)
    ap.add_argument("--faces-per-identity", type=float, default=3.0)
    ap.add_argument(
        "--nprobe",
        default="auto,128,256,512",
        help="lists probed, swept; the first is the one used for the filters and the "
        "service; auto: the service's default (a quarter of the lists)",
    )
    ap.add_argument("--rerank", type=int, default=0, help="k' (0: 1,024 for pq, 256 for sq8)")
    ap.add_argument("--codes", default="pq,sq8", help="IVF codes to build, comma-separated")
    ap.add_argument("--threads", type=int, default=1, help="threads of the timed searches")
    ap.add_argument(
        "--build-threads",
        type=int,
        default=None,
        help="threads for building indexes and the exact ground truth (default: --threads)",
    )
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--service", type=int, default=0, help="faces for the service-level run")
    ap.add_argument("--service-searches", type=int, default=20)
    ap.add_argument("--lfw-dir", type=Path, default=None, help="LFW root, for the probe photo")
    ap.add_argument("--tmp", type=Path, default=None, help="folder for saved indexes")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/ann_search.json"))
    args = ap.parse_args(argv)
    args.nprobe = [None if x == "auto" else int(x) for x in args.nprobe.split(",")]
    args.codes = [IVFCodes(c) for c in args.codes.split(",") if c]
    if args.build_threads is None:
        args.build_threads = args.threads
    configure_backend(IndexBackend.FAISS, threads=args.threads)
    faiss.omp_set_num_threads(args.threads)

    real, labels, paths = load_caches(args.lfw_embeddings)
    args.paths = np.asarray(paths)
    threshold = LeadScorer.for_model(MODEL_ID, SearchSettings()).search_threshold(0)
    args.strict = LeadScorer.for_model(MODEL_ID, SearchSettings()).calibration.threshold_for_fmr(
        1e-5
    )
    # fit check: fit on half of the identities, compare with the other half
    people = np.unique(labels)
    half = np.random.default_rng(args.seed).choice(people, people.size // 2, replace=False)
    in_half = np.isin(labels, half)
    fitted_half = FaceEmbeddingModel.fit(real[in_half], labels[in_half])
    syn, who = fitted_half.sample(
        int((~in_half).sum()), 1.0, seed=args.seed, n_faces=int((~in_half).sum())
    )
    _, per = np.unique(labels[~in_half], return_counts=True)
    syn, who = fitted_half.sample(per.size, float(per.mean()), seed=args.seed)
    checks = {}
    for name, t in (
        ("fmr_1e-4", threshold),
        ("fmr_1e-3", LeadScorer.for_model(MODEL_ID, SearchSettings()).verify_threshold),
    ):
        c = fit_check(real[~in_half], labels[~in_half], syn, who, threshold=t)
        checks[name] = {
            "threshold": t,
            "ks_genuine": c.ks_genuine,
            "ks_impostor": c.ks_impostor,
            "fmr_real": c.fmr_real,
            "fmr_synthetic": c.fmr_synthetic,
            "fmr_ratio": c.fmr_ratio,
            "fnmr_real": c.fnmr_real,
            "fnmr_synthetic": c.fnmr_synthetic,
        }
    fit = {
        "lfw_images": len(real),
        "lfw_people": int(people.size),
        **{f"{a}_{b}": v for a, d in checks.items() for b, v in d.items()},
    }
    print("fit check:", json.dumps(fit), flush=True)
    model = FaceEmbeddingModel.fit(real, labels)

    results = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        data = build_data(n, real, labels, model, args)
        results.append(bench_size(n, data, threshold, args))
        del data
        gc.collect()
    service = None
    if args.service:
        from facesearch.evaluation.lfw import Lfw

        data = build_data(args.service, real, labels, model, args)
        lfw = Lfw.locate(args.lfw_dir)
        probe = lfw.images / data["probe_paths"][0]
        service = service_level(args.service, data, probe, args)
        service["probe"] = data["probe_paths"][0]
    if results:
        print_tables(results, fit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": machine_info(),
                "threads": args.threads,
                "threshold": threshold,
                "fit_check": fit,
                "results": results,
                "argv": sys.argv,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
