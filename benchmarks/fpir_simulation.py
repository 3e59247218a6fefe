"""FPIR of non-mated searches at gallery sizes up to 10M faces: simulation against the
formulas (``facesearch.calibration.table.fpir``).

A gallery of face embeddings drawn from the generator fitted to the model's LFW embeddings
(:class:`facesearch.evaluation.synthetic.FaceEmbeddingModel`, about 3 faces an identity)
is searched exactly by non-mated probes (faces of identities not in the gallery). For each
probe and threshold (FMR 1e-3, 1e-4, 1e-5 of the shipped calibration) the number of
gallery faces at or above it is counted over the first N faces, N = each ``--sizes`` (the
faces are i.i.d., so the first N are a random gallery of N). Observed FPIR at N: the share
of probes with at least one.

Predictions at each N:
- independent: 1 - (1 - f)^N, ``f`` the pooled FMR observed at the smallest size;
- log-normal and beta-binomial fitted at the smallest size: ``sigma``
  (:func:`~facesearch.calibration.fit_lognormal`) and ``kappa``
  (:func:`~facesearch.calibration.fit_dispersion`) fitted to the per-probe counts over the
  first ``--sizes[0]`` faces (13,233: the size of LFW, on which the shipped ones were
  fitted), extrapolated to N. This is the test of the models: fitted where data is cheap,
  used where it is not;
- the service's estimate (the shipped table's FMR and log-normal ``sigma``, fitted on
  real LFW).

    PYTHONPATH=src .venv/bin/python benchmarks/fpir_simulation.py \\
        --lfw-embeddings out/cache/embeddings-<key>.npz --gallery 10000000 --probes 2000

Not a test: prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ann_search import MODEL_ID, load_caches
from facesearch.calibration import (
    CalibrationError,
    fit_dispersion,
    fit_lognormal,
    fpir,
    fpir_lognormal,
)
from facesearch.evaluation.synthetic import FaceEmbeddingModel
from facesearch.service.leads import LeadScorer
from facesearch.settings import SearchSettings
from search_latency import machine_info

TARGET_FMRS = (1e-3, 1e-4, 1e-5)


def count_hits(
    model: FaceEmbeddingModel,
    probes: np.ndarray,
    thresholds: np.ndarray,
    sizes: list[int],
    args: argparse.Namespace,
) -> np.ndarray:
    """``(len(sizes), n_thresholds, n_probes)`` counts of gallery faces at or above each
    threshold among the first ``sizes[i]`` faces of a gallery drawn chunk by chunk."""
    rng = np.random.default_rng(args.seed + 1)
    counts = np.zeros((len(sizes), thresholds.size, probes.shape[0]), dtype=np.int64)
    running = np.zeros((thresholds.size, probes.shape[0]), dtype=np.int64)
    done, started = 0, time.perf_counter()
    bounds = sorted(set(sizes))
    while done < bounds[-1]:
        # chunks never cross a size boundary; identities are chunk-local (i.i.d. anyway)
        end = min(done + args.chunk, next(b for b in bounds if b > done))
        n = end - done
        n_ids = max(1, round(n / args.faces_per_identity))
        centres = model.centres(n_ids, rng)
        faces = model.faces_of(centres, np.sort(rng.integers(0, n_ids, size=n)), rng)
        for s in range(0, n, args.block):
            sims = probes @ faces[s : s + args.block].T
            for t, thr in enumerate(thresholds):
                running[t] += np.count_nonzero(sims >= thr, axis=1)
        done = end
        for i, size in enumerate(sizes):
            if size == done:
                counts[i] = running
        if done % 1_000_000 < args.chunk or done == bounds[-1]:
            print(f"  {done:,} faces, {time.perf_counter() - started:.0f} s", flush=True)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lfw-embeddings", type=Path, action="append", required=True)
    ap.add_argument("--gallery", type=int, default=10_000_000)
    ap.add_argument("--sizes", default="13233,100000,1000000,3000000")
    ap.add_argument("--probes", type=int, default=2000)
    ap.add_argument("--faces-per-identity", type=float, default=3.0)
    ap.add_argument("--chunk", type=int, default=500_000)
    ap.add_argument("--block", type=int, default=50_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=29)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/fpir_simulation.json"))
    args = ap.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s} | {args.gallery})

    real, labels, _ = load_caches(args.lfw_embeddings)
    model = FaceEmbeddingModel.fit(real, labels)
    leads = LeadScorer.for_model(MODEL_ID, SearchSettings())
    cal = leads.calibration
    thresholds = np.asarray([cal.threshold_for_fmr(f) for f in TARGET_FMRS], dtype=np.float32)
    rng = np.random.default_rng(args.seed)
    probes = model.faces_of(
        model.centres(args.probes, rng), np.arange(args.probes), rng
    )  # non-mated: identities of their own
    with threadpool_limits(args.threads):
        counts = count_hits(model, probes, thresholds, sizes, args)

    n0 = sizes[0]
    rows: list[dict[str, Any]] = []
    for t, (target, thr) in enumerate(zip(TARGET_FMRS, thresholds, strict=True)):
        hits0 = counts[0, t]
        f0 = float(hits0.sum()) / (args.probes * n0)
        try:
            kappa0 = fit_dispersion(hits0, np.full(args.probes, n0))
            sigma0 = fit_lognormal(hits0, np.full(args.probes, n0))
        except CalibrationError as err:  # no hits at the smallest size: nothing to fit
            print(f"  FMR {target:g}: {err}")
            kappa0 = sigma0 = float("nan")
        for i, n in enumerate(sizes):
            observed = float(np.mean(counts[i, t] >= 1))
            se = float(np.sqrt(observed * (1 - observed) / args.probes))
            rows.append(
                {
                    "target_fmr": target,
                    "threshold": float(thr),
                    "faces": n,
                    "observed_fpir": observed,
                    "observed_se": se,
                    "pooled_fmr": float(counts[i, t].sum()) / (args.probes * n),
                    "fitted_fmr": f0,
                    "fitted_kappa": kappa0,
                    "fitted_sigma": sigma0,
                    "lognormal_fitted": fpir_lognormal(f0, n, sigma0)
                    if np.isfinite(sigma0)
                    else float("nan"),
                    "independent": float(fpir(f0, n)),
                    "beta_binomial_fitted": float(fpir(f0, n, kappa0))
                    if np.isfinite(kappa0)
                    else float("nan"),
                    "service": float(leads.fpir(float(thr), n)),
                    "service_fmr": float(cal.fmr(float(thr))),
                }
            )

    print(
        f"\nnon-mated probes: {args.probes:,}; kappa fitted on the first {n0:,} faces\n"
        "\n| FMR target (threshold) | faces | observed FPIR (± s.e.) | pooled FMR | "
        "log-normal fitted | beta-binomial fitted | independent | service (LFW sigma) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['target_fmr']:g} ({r['threshold']:.4f}) | {r['faces']:,} | "
            f"{r['observed_fpir']:.4f} ± {r['observed_se']:.4f} | {r['pooled_fmr']:.2e} | "
            f"{r['lognormal_fitted']:.4f} (sigma {r['fitted_sigma']:.2f}) | "
            f"{r['beta_binomial_fitted']:.4f} (kappa {r['fitted_kappa']:.0f}) | "
            f"{r['independent']:.4f} | {r['service']:.4f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"machine": machine_info(), "argv": sys.argv, "rows": rows},
            indent=2,
            default=str,
        )
    )
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
