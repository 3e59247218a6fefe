"""``facesearch eval identification``: open-set 1:N search on LFW through the real service.

Gallery: the first image of every identity with two or more images, except a seeded tenth
of them held out, plus the one image of every single-image identity (distractors).
Mated probes: the other images of gallery identities. Non-mated probes: every image of
the held-out identities. Every enrollment and search goes through
:class:`facesearch.service.FaceSearch` (store, quality gate, FAISS index), exactly as a
user's would.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from facesearch.errors import FaceSearchError, NoFaceFound
from facesearch.evaluation import plots
from facesearch.evaluation.lfw import Lfw, identity_of, image_path
from facesearch.evaluation.metrics import cmc, det_curve, fnir_at_fpir
from facesearch.evaluation.reports import md_table, pct, run_metadata, sci, write_json
from facesearch.settings import Settings

if TYPE_CHECKING:
    from facesearch.audit import AuditContext

logger = logging.getLogger(__name__)

GALLERY = "lfw-identification"
RANKS = (1, 5, 10)
FPIR_LEVELS = (0.1, 0.01, 0.001)


@dataclass(frozen=True, slots=True)
class Design:
    """Which images go where (relative paths)."""

    gallery: list[str]
    mated: list[str]
    nonmated: list[str]
    held_out: list[str]
    distractors: int


def design(
    people: dict[str, int],
    *,
    holdout_fraction: float = 0.1,
    seed: int = 1,
    max_probes_per_identity: int | None = None,
) -> Design:
    """The gallery / probe split of ``people`` (name -> image count); see the module doc."""
    rng = random.Random(seed)
    multi = sorted(n for n, c in people.items() if c >= 2)
    single = sorted(n for n, c in people.items() if c == 1)
    held = sorted(rng.sample(multi, round(holdout_fraction * len(multi))))
    held_set = set(held)
    enrolled = [n for n in multi if n not in held_set]

    def probes(name: str, first: int) -> list[str]:
        numbers = list(range(first, people[name] + 1))
        if max_probes_per_identity is not None and len(numbers) > max_probes_per_identity:
            numbers = sorted(rng.sample(numbers, max_probes_per_identity))
        return [image_path(name, k) for k in numbers]

    return Design(
        gallery=[image_path(n, 1) for n in sorted(enrolled + single)],
        mated=[p for n in enrolled for p in probes(n, 2)],
        nonmated=[p for n in held for p in probes(n, 1)],
        held_out=held,
        distractors=len(single),
    )


def run_identification(
    lfw: Lfw,
    settings: Settings,
    *,
    out_dir: Path,
    progress: bool = False,
    k: int = 10,
    holdout_fraction: float = 0.1,
    seed: int = 1,
    max_identities: int | None = None,
    max_probes_per_identity: int | None = None,
    command: str = "facesearch eval identification",
) -> dict[str, Any]:
    """Enroll the gallery and run every probe through ``FaceSearch.search``; write the report.

    ``settings.data_dir`` is the service's data folder (a rerun resumes enrollment: images
    already in the gallery are skipped by sha256). ``max_identities`` samples that many
    multi-image and that many single-image identities (small runs).
    """
    from facesearch.service import FaceSearch

    started = time.perf_counter()
    context = evaluation_context()
    people = lfw.identities()
    if max_identities is not None:
        rng = random.Random(seed)
        multi = sorted(n for n, c in people.items() if c >= 2)
        single = sorted(n for n, c in people.items() if c == 1)
        chosen = rng.sample(multi, min(max_identities, len(multi)))
        chosen += rng.sample(single, min(max_identities, len(single)))
        people = {n: people[n] for n in sorted(chosen)}
    split = design(
        people,
        holdout_fraction=holdout_fraction,
        seed=seed,
        max_probes_per_identity=max_probes_per_identity,
    )
    with FaceSearch(settings) as fs:
        if GALLERY not in {g.name for g in fs.list_galleries()}:
            fs.create_gallery(
                GALLERY,
                legal_basis="research benchmark (LFW), evaluation only",
                source_category="research-dataset",
                context=context,
            )
        enroll = fs.enroll_paths(
            [lfw.images / p for p in split.gallery],
            gallery=GALLERY,
            subject_from_folder=True,
            progress=progress,
            context=context,
        )
        enrolled = {s.label for s in fs.list_subjects(GALLERY) if s.n_faces > 0}
        mated, nonmated, latencies, gallery_size = _search_all(fs, lfw, split, k, progress, context)
    ranks = np.asarray([r for r, _ in mated], dtype=np.int64)
    mate_scores = np.asarray([s for _, s in mated], dtype=np.float64)
    top = np.asarray(nonmated, dtype=np.float64)
    curve = cmc(ranks, k)
    points = fnir_at_fpir(ranks, mate_scores, top, FPIR_LEVELS)
    _, fpir_curve, fnir_curve = det_curve(ranks, mate_scores, top)
    lat = np.asarray(latencies) * 1000.0
    summary: dict[str, Any] = {
        "design": {
            "gallery_images": len(split.gallery),
            "gallery_faces_enrolled": gallery_size,
            "distractor_identities": split.distractors,
            "identities_held_out": len(split.held_out),
            "mated_probes": len(split.mated),
            "nonmated_probes": len(split.nonmated),
            "mated_probes_whose_identity_has_no_enrolled_face": int(
                sum(identity_of(p) not in enrolled for p in split.mated)
            ),
            "holdout_fraction": holdout_fraction,
            "seed": seed,
            "max_probes_per_identity": max_probes_per_identity,
            "k": k,
        },
        "enrollment": {
            "images": enroll.images,
            "faces": enroll.faces,
            "images_without_faces": enroll.images_without_faces,
            "faces_rejected_for_quality": enroll.faces_rejected,
            "skipped_existing": enroll.skipped_existing,
            "errors": len(enroll.errors),
            "seconds": round(enroll.seconds, 1),
        },
        "probes_without_face": {
            "mated": int(np.count_nonzero(ranks < 0)),
            "nonmated": int(np.count_nonzero(np.isneginf(top))),
        },
        "cmc": {f"rank_{r}": float(curve[r - 1]) for r in RANKS if r <= k},
        "fnir_at_fpir": [
            {
                "target_fpir": p.target_fpir,
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
        "calibration_check": _calibration_check(fs.model_id, top, gallery_size),
        "run": run_metadata(command, started),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
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


def evaluation_context() -> AuditContext:
    """The audit context of an evaluation run: the local operator, an evaluation purpose."""
    from facesearch.audit import AuditContext

    return AuditContext.local_operator(
        purpose="accuracy evaluation: LFW open-set identification benchmark "
        "(facesearch eval identification)",
        case_reference="evaluation:lfw-identification",
        authorization_reference="research benchmark, no operational use",
    )


def _search_all(
    fs: Any, lfw: Lfw, split: Design, k: int, progress: bool, context: AuditContext
) -> tuple[list[tuple[int, float]], list[float], list[float], int]:
    """Mated results ``(rank, mate score)`` (rank 0: not in the top k; -1: no probe face),
    non-mated top scores (``-inf``: no candidate or no face), latencies in seconds."""
    mated: list[tuple[int, float]] = []
    nonmated: list[float] = []
    latencies: list[float] = []
    gallery_size = 0
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not progress,
    )
    with bar:
        task = bar.add_task("searching", total=len(split.mated) + len(split.nonmated))
        for is_mated, rel in [(True, p) for p in split.mated] + [
            (False, p) for p in split.nonmated
        ]:
            data = (lfw.images / rel).read_bytes()
            t0 = time.perf_counter()
            try:
                result = fs.search(data, k=k, galleries=[GALLERY], threshold=-1.0, context=context)
            except NoFaceFound:
                latencies.append(time.perf_counter() - t0)
                (mated.append((-1, -math.inf)) if is_mated else nonmated.append(-math.inf))
                bar.advance(task)
                continue
            except FaceSearchError as err:
                logger.warning("probe %s failed: %s", rel, err)
                (mated.append((-1, -math.inf)) if is_mated else nonmated.append(-math.inf))
                bar.advance(task)
                continue
            latencies.append(time.perf_counter() - t0)
            gallery_size = result.gallery_size
            candidates = result.faces[0].candidates
            if is_mated:
                name = identity_of(rel)
                hit = next((c for c in candidates if c.subject == name), None)
                mated.append((hit.rank, hit.similarity) if hit else (0, -math.inf))
            else:
                nonmated.append(candidates[0].similarity if candidates else -math.inf)
            bar.advance(task)
    return mated, nonmated, latencies, gallery_size


def _calibration_check(model_id: str, top: np.ndarray, gallery_size: int) -> dict[str, Any]:
    """Observed FPIR against the calibration's prediction 1 - (1 - FMR(t))^N."""
    from facesearch.calibration import CalibrationError, fpir, load_calibration

    try:
        table = load_calibration(model_id)
    except CalibrationError as err:
        return {"available": False, "reason": str(err)}
    rows = []
    for target in (1e-3, 1e-4, 1e-5):
        if target < table.min_fmr:
            continue
        t = table.threshold_for_fmr(target)
        rows.append(
            {
                "fmr": target,
                "threshold": t,
                "predicted_fpir": float(fpir(target, gallery_size)),
                "observed_fpir": float(np.mean(top >= t)),
                "expected_false_candidates": target * gallery_size,
            }
        )
    return {"available": True, "gallery_size": gallery_size, "rows": rows}


def _markdown(s: dict[str, Any]) -> str:
    d, e, lat = s["design"], s["enrollment"], s["latency_ms"]
    lines = [
        "# Open-set identification on LFW (through the service)",
        "",
        f"Command: `{s['run']['command']}`",
        "",
        f"Gallery: {d['gallery_images']:,} images (first image of each multi-image identity not "
        f"held out, plus {d['distractor_identities']:,} single-image identities as "
        f"distractors); {e['faces']:,} faces enrolled, {e['images_without_faces']} images "
        f"without a face, {e['faces_rejected_for_quality']} faces rejected by the quality "
        f"gate. {d['identities_held_out']} multi-image identities (a seeded "
        f"{pct(d['holdout_fraction'], 0)}) are held out. "
        f"Mated probes: {d['mated_probes']:,} (of which "
        f"{d['mated_probes_whose_identity_has_no_enrolled_face']} have no enrolled face of "
        f"their person and cannot succeed); non-mated probes: {d['nonmated_probes']:,}. "
        f"Probes without a face: {s['probes_without_face']['mated']} mated (counted as "
        f"misses), {s['probes_without_face']['nonmated']} non-mated (no candidate).",
        "",
        "## CMC (mated probes)",
        "",
        md_table(
            ["rank", "mate at or above rank"],
            [[k.split("_")[1], pct(v)] for k, v in s["cmc"].items()],
        ),
        "",
        "## FNIR at FPIR (rank 1)",
        "",
        md_table(
            ["target FPIR", "threshold", "FPIR achieved", "non-mated probes above", "FNIR"],
            [
                [
                    sci(p["target_fpir"]),
                    f"{p['threshold']:.4f}",
                    sci(p["fpir"]),
                    p["nonmated_above"],
                    pct(p["fnir"]),
                ]
                for p in s["fnir_at_fpir"]
            ],
        ),
        "",
        f"With {d['nonmated_probes']:,} non-mated probes, FPIR below about "
        f"{sci(1 / max(d['nonmated_probes'], 1))} cannot be observed: the 0.001 row is "
        "then set just above the highest non-mated score.",
        "",
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
    ]
    cal = s["calibration_check"]
    if cal.get("available"):
        lines += [
            "## Calibration cross-check",
            "",
            "FPIR predicted from the shipped calibration table as 1 - (1 - FMR)^N for this "
            "gallery, against what the non-mated probes show:",
            "",
            md_table(
                [
                    "FMR",
                    "threshold",
                    "expected false candidates",
                    "predicted FPIR",
                    "observed FPIR",
                ],
                [
                    [
                        sci(r["fmr"]),
                        f"{r['threshold']:.4f}",
                        f"{r['expected_false_candidates']:.2f}",
                        pct(r["predicted_fpir"]),
                        pct(r["observed_fpir"]),
                    ]
                    for r in cal["rows"]
                ],
            ),
            "",
        ]
    lines += [
        "Plots: `cmc.png`, `det.png`. Candidates are investigative leads, not "
        "identifications; LFW is not an operational gallery.",
        "",
    ]
    return "\n".join(lines)
