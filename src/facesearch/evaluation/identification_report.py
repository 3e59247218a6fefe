"""Open-set identification results: per-probe outcomes saved as ``probes.npz``, metrics,
the calibration cross-check, plots and the Markdown report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.evaluation import plots
from facesearch.evaluation.metrics import cmc, det_curve, fnir_at_fpir
from facesearch.evaluation.reports import md_table, pct, run_metadata, sci, write_json

GALLERY = "lfw-identification"
RANKS = (1, 5, 10)
FPIR_LEVELS = (0.1, 0.01, 0.001)
FMR_LEVELS = (1e-3, 1e-4, 1e-5)


@dataclass(frozen=True, slots=True)
class ProbeResults:
    """What every search returned.

    ``mated_ranks`` ``(n,)``: rank of the mate among the candidates (1-based; 0 not in the
    top k; -1 no face in the probe); ``mated_scores`` ``(n,)`` its similarity (``-inf``
    when absent); ``nonmated_scores`` ``(m, k)`` candidate similarities of each non-mated
    search, best first, ``-inf`` padded; ``latencies_s`` one per search, seconds;
    ``gallery_size`` faces searched.
    """

    mated_paths: list[str]
    mated_ranks: NDArray[np.int64]
    mated_scores: NDArray[np.float64]
    nonmated_paths: list[str]
    nonmated_scores: NDArray[np.float64]
    latencies_s: NDArray[np.float64]
    gallery_size: int

    @property
    def top(self) -> NDArray[np.float64]:
        """Best candidate similarity of each non-mated search ``(m,)``."""
        k = self.nonmated_scores.shape[1] if self.nonmated_scores.ndim == 2 else 0
        if k == 0:
            return np.full(len(self.nonmated_paths), -np.inf)
        return np.asarray(self.nonmated_scores[:, 0], dtype=np.float64)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            mated_paths=np.asarray(self.mated_paths, dtype=str),
            mated_ranks=self.mated_ranks,
            mated_scores=self.mated_scores,
            nonmated_paths=np.asarray(self.nonmated_paths, dtype=str),
            nonmated_scores=self.nonmated_scores,
            latencies_s=self.latencies_s,
            gallery_size=np.asarray(self.gallery_size),
        )

    @classmethod
    def load(cls, path: Path) -> ProbeResults:
        with np.load(path, allow_pickle=False) as d:
            return cls(
                mated_paths=[str(p) for p in d["mated_paths"]],
                mated_ranks=d["mated_ranks"].astype(np.int64),
                mated_scores=d["mated_scores"].astype(np.float64),
                nonmated_paths=[str(p) for p in d["nonmated_paths"]],
                nonmated_scores=d["nonmated_scores"].astype(np.float64),
                latencies_s=d["latencies_s"].astype(np.float64),
                gallery_size=int(d["gallery_size"]),
            )


def write_report(
    out_dir: Path,
    probes: ProbeResults,
    meta: dict[str, Any],
    *,
    model_id: str,
    command: str,
    started: float,
    calibration_path: Path | None = None,
    calibration_dir: Path | None = None,
) -> dict[str, Any]:
    """Metrics of ``probes`` into ``identification.json``, ``report.md``, ``cmc.png`` and
    ``det.png`` under ``out_dir``; returns the summary."""
    ranks, mated, top = probes.mated_ranks, probes.mated_scores, probes.top
    k = int(meta["design"]["k"])
    curve = cmc(ranks, k)
    points = fnir_at_fpir(ranks, mated, top, FPIR_LEVELS)
    _, fpir_curve, fnir_curve = det_curve(ranks, mated, top)
    lat = probes.latencies_s * 1000.0
    m = top.size
    summary: dict[str, Any] = {
        **meta,
        "probes_without_face": {
            "mated": int(np.count_nonzero(ranks < 0)),
            "nonmated": int(np.count_nonzero(np.isneginf(top))),
        },
        "cmc": {f"rank_{r}": float(curve[r - 1]) for r in RANKS if r <= k},
        "fnir_at_fpir": [
            {
                "target_fpir": p.target_fpir,
                "measurable": p.target_fpir * m >= 1.0,
                "threshold": p.threshold,
                "fpir": p.fpir,
                "fnir": p.fnir,
                "nonmated_above": int(np.count_nonzero(top >= p.threshold)),
            }
            for p in points
        ],
        "latency_ms": {
            "searches": int(lat.size),
            "mean": float(lat.mean()),
            "p50": float(np.percentile(lat, 50)),
            "p95": float(np.percentile(lat, 95)),
            "max": float(lat.max()),
            "includes": "FaceSearch.search end to end: decode, detect, align, embed, "
            "index search, candidate rows (one process, sequential)",
        },
        "calibration_check": calibration_check(
            model_id, probes, path=calibration_path, calibration_dir=calibration_dir
        ),
        "run": run_metadata(command, started if started else time.perf_counter()),
    }
    plots.cmc_plot(curve, out_dir / "cmc.png", title="LFW open-set identification: CMC")
    plots.det_plot(
        fpir_curve,
        fnir_curve,
        out_dir / "det.png",
        title="LFW open-set identification: DET (rank 1)",
        points=[(p.fpir, p.fnir) for p in points],
    )
    write_json(out_dir / "identification.json", summary)
    (out_dir / "report.md").write_text(_markdown(summary))
    return summary


def calibration_check(
    model_id: str,
    probes: ProbeResults,
    *,
    path: Path | None = None,
    calibration_dir: Path | None = None,
) -> dict[str, Any]:
    """The model's calibration table's predictions for this gallery against the searches
    (the table the service uses: ``path``, else ``calibration_dir``'s, else the shipped one).

    At the thresholds for FMR 1e-3 / 1e-4 / 1e-5: expected false candidates per search
    (``FMR * N``) against the mean number of non-mated candidates at or above (counted in
    the top k), and predicted FPIR ``1 - (1 - FMR)^N`` against the share of non-mated
    searches with any. At the thresholds the service would use for a target FPIR: the
    FPIR and FNIR they give.
    """
    from facesearch.calibration import CalibrationError, fpir, load_calibration

    try:
        table = load_calibration(model_id, path, calibration_dir=calibration_dir)
    except CalibrationError as err:
        return {"available": False, "reason": str(err)}
    n = probes.gallery_size
    scores, top = probes.nonmated_scores, probes.top
    by_fmr = []
    for target in FMR_LEVELS:
        if target < table.min_fmr:
            continue
        t = table.threshold_for_fmr(target)
        by_fmr.append(
            {
                "fmr": target,
                "threshold": t,
                "expected_false_candidates": target * n,
                "observed_false_candidates": float(np.mean(np.sum(scores >= t, axis=1))),
                "predicted_fpir": float(fpir(target, n)),
                "observed_fpir": float(np.mean(top >= t)),
            }
        )
    by_fpir = []
    for target in FPIR_LEVELS:
        try:
            t = table.threshold_for_fpir(target, n)
        except CalibrationError:
            continue
        ok = (probes.mated_ranks == 1) & (probes.mated_scores >= t)
        by_fpir.append(
            {
                "target_fpir": target,
                "threshold": t,
                "observed_fpir": float(np.mean(top >= t)),
                "fnir": float(1.0 - np.mean(ok)),
            }
        )
    return {"available": True, "gallery_size": n, "by_fmr": by_fmr, "by_fpir": by_fpir}


def _markdown(s: dict[str, Any]) -> str:
    d, e, lat = s["design"], s["enrollment"], s["latency_ms"]
    lines = [
        "# Open-set identification on LFW (through the service)",
        "",
        f"Command: `{s['run']['command']}`",
        "",
        f"Gallery: {d['gallery_images']:,} images (first image of each multi-image identity "
        f"not held out, plus {d['distractor_identities']:,} single-image identities as "
        f"distractors), enrolled with the service's `enroll_paths` (subject = folder): "
        f"{e['faces']:,} faces enrolled, {e['images_without_faces']} images without a face, "
        f"{e['faces_rejected']} faces not enrolled (quality gate, or a smaller face in a "
        f"subject photo). {d['identities_held_out']} multi-image identities (a seeded "
        f"{pct(d['holdout_fraction'], 0)}) are held out. Mated probes: {d['mated_probes']:,}, "
        f"of which {d['mated_probes_whose_identity_has_no_enrolled_face']} have no enrolled "
        f"face of their person and cannot succeed; non-mated probes: {d['nonmated_probes']:,}. "
        f"Probes without a face: {s['probes_without_face']['mated']} mated (counted as "
        f"misses), {s['probes_without_face']['nonmated']} non-mated (no candidate).",
        "",
        "## CMC (mated probes)",
        "",
        md_table(
            ["rank", "mate at or above rank"],
            [[key.split("_")[1], pct(v)] for key, v in s["cmc"].items()],
        ),
        "",
        "## FNIR at FPIR (rank 1, thresholds set on the non-mated searches)",
        "",
        md_table(
            ["target FPIR", "threshold", "FPIR achieved", "non-mated above", "FNIR"],
            [
                [
                    sci(p["target_fpir"]),
                    f"{p['threshold']:.4f}",
                    sci(p["fpir"]),
                    p["nonmated_above"],
                    pct(p["fnir"]) if p["measurable"] else "not measurable",
                ]
                for p in s["fnir_at_fpir"]
            ],
        ),
        "",
        f"With {d['nonmated_probes']:,} non-mated searches an FPIR below "
        f"{sci(1 / max(d['nonmated_probes'], 1))} cannot be observed; such rows are marked "
        "'not measurable' (the calibrated rows below give the service's own estimate).",
        "",
    ]
    lines += _calibration_lines(s["calibration_check"])
    lines += [
        "## Search latency",
        "",
        md_table(
            ["searches", "mean ms", "p50 ms", "p95 ms", "max ms"],
            [
                [
                    lat["searches"],
                    f"{lat['mean']:.0f}",
                    f"{lat['p50']:.0f}",
                    f"{lat['p95']:.0f}",
                    f"{lat['max']:.0f}",
                ]
            ],
        ),
        "",
        "Latency is " + lat["includes"] + f", gallery of {d['gallery_faces_enrolled']:,} faces.",
        "",
        "Plots: `cmc.png`, `det.png`; per-probe outcomes: `probes.npz`. Candidates are "
        "investigative leads, not identifications; LFW is not an operational gallery.",
        "",
    ]
    return "\n".join(lines)


def _calibration_lines(cal: dict[str, Any]) -> list[str]:
    if not cal.get("available"):
        return ["No calibration table: " + str(cal.get("reason")), ""]
    n = cal["gallery_size"]
    return [
        "## Calibration cross-check",
        "",
        f"What the shipped table predicts for a search of these {n:,} faces, against what "
        "the non-mated searches show (observed candidates are counted within the top k):",
        "",
        md_table(
            [
                "FMR",
                "threshold",
                "expected false candidates",
                "observed (mean per search)",
                "predicted FPIR",
                "observed FPIR",
            ],
            [
                [
                    sci(r["fmr"]),
                    f"{r['threshold']:.4f}",
                    f"{r['expected_false_candidates']:.3g}",
                    f"{r['observed_false_candidates']:.3g}",
                    pct(r["predicted_fpir"]),
                    pct(r["observed_fpir"]),
                ]
                for r in cal["by_fmr"]
            ],
        ),
        "",
        "Thresholds the service would set for a target FPIR at this gallery size "
        "(from the table, FMR = 1 - (1 - FPIR)^(1/N)):",
        "",
        md_table(
            ["target FPIR", "threshold", "observed FPIR", "FNIR (rank 1)"],
            [
                [
                    sci(r["target_fpir"]),
                    f"{r['threshold']:.4f}",
                    pct(r["observed_fpir"]),
                    pct(r["fnir"]),
                ]
                for r in cal["by_fpir"]
            ],
        ),
        "",
    ]
