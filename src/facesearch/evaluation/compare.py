"""``facesearch eval compare MODEL...``: several embedding models on one protocol, side by side.

Every model sees the same images through the same detector settings (the configured
``detection`` group, YuNet for ArcFace-style models), so the detector's output is the same
for all of them (checked and reported: boxes of the View 2 images compared across
models). For each model, in its own folder under the output folder:

* ``calibration.json``: a similarity -> FMR table built from LFW View 1 like
  ``facesearch calibrate`` (:mod:`facesearch.evaluation.calibrate`), not installed anywhere;
  the identification run's service uses it;
* ``lfw/``: LFW View 2 (:func:`~facesearch.evaluation.lfw_run.run_lfw`): 10-fold accuracy,
  EER, TAR at FAR 1e-3 and 1e-4 of the 3,000 impostor pairs;
* ``demographics/``: the NIST IR 8280-style report
  (:func:`~facesearch.evaluation.demographics_run.run_demographics`): FMR and FNMR by sex
  and race label at global thresholds for FMR 1e-3 and 1e-4, ratios to the lowest group;
  its image set (at most 10 images per identity, about 55 million impostor pairs) also
  gives a verification DET curve down to FMR 1e-6 and TAR at those global thresholds;
* ``identification/`` (unless turned off): open-set search through the service
  (:func:`~facesearch.evaluation.identification.run_identification`), FNIR at FPIR 0.01
  and 0.001.

Then ``report.md`` (the side-by-side table), ``compare.json`` and the plots: verification
DET curves of all models on one figure, identification DET curves, and per-group FMR bars.
Embeddings are cached per model recipe (:mod:`facesearch.evaluation.embedcache`), so a
rerun, or ``eval lfw`` / ``calibrate`` of the same configuration, reuses them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.errors import ConfigurationError, InvalidInput
from facesearch.evaluation import plots
from facesearch.evaluation.demographics import GroupResult
from facesearch.evaluation.reports import md_table, pct, run_metadata, sci, write_json
from facesearch.settings import EmbedderKind, OnnxRecognizerSettings, Settings

logger = logging.getLogger(__name__)

#: The token that names the packaged model on the command line.
PACKAGED = (EmbedderKind.DLIB_RESNET_V1.value, "dlib")
#: FMR levels of the side-by-side table (global thresholds over all LFW impostor pairs).
TARGET_FMRS = (1e-3, 1e-4)
#: FPIR levels of the identification columns.
TARGET_FPIRS = (0.01, 0.001)
#: Groups with fewer identities than this are left out of the ratio columns and bars.
MIN_IDENTITIES = 20
#: Bins of the score histograms behind the verification DET curves (cosine -1 to 1).
HIST_BINS = 20_000


@dataclass(frozen=True, slots=True)
class ModelUnderTest:
    """One model of a comparison: its label, its id and the settings that run it."""

    label: str
    model_id: str
    settings: Settings


def model_from_token(token: str, base: Settings, models_dir: Path | None) -> ModelUnderTest:
    """The model a command-line token names, on ``base``'s other settings.

    ``dlib-resnet-v1`` (or ``dlib``): the packaged model. A path to a ``.json`` model spec:
    the fields of ``embedding.onnx`` (``name``, ``path``, ``sha256``, ``channel_order``,
    ``input_mean``, ``input_std``; see ``docs/models/``), a relative ``path`` taken from
    ``models_dir`` when given, else from the spec's folder. Raises :class:`InvalidInput`
    for anything else.
    """
    from facesearch.embedding.registry import embedding_model_id

    if token in PACKAGED:
        embedding = base.embedding.model_copy(update={"model": EmbedderKind.DLIB_RESNET_V1})
        label = EmbedderKind.DLIB_RESNET_V1.value
    else:
        spec_path = Path(token)
        if spec_path.suffix != ".json" or not spec_path.is_file():
            raise InvalidInput(
                f"model {token!r}: give dlib-resnet-v1 or a model spec .json file (see "
                "docs/models/)"
            )
        try:
            data = json.loads(spec_path.read_text())
            spec = OnnxRecognizerSettings.model_validate(data)
        except (OSError, ValueError) as err:
            raise InvalidInput(f"model spec {spec_path.name}: {err}") from err
        if spec.path is None or spec.name is None:
            raise InvalidInput(f"model spec {spec_path.name}: needs 'name' and 'path'")
        label = spec.name
        if not spec.path.is_absolute():
            root = models_dir if models_dir is not None else spec_path.parent
            spec = spec.model_copy(update={"path": (root / spec.path).resolve()})
        embedding = base.embedding.model_copy(
            update={"model": EmbedderKind.ARCFACE_ONNX, "onnx": spec}
        )
    settings = base.model_copy(update={"embedding": embedding})
    return ModelUnderTest(label, embedding_model_id(settings.embedding), settings)


def check_models(models: Sequence[ModelUnderTest]) -> None:
    """Refuse an empty list, two models with one id, and a model the configured detector
    cannot feed (start-up checks of :class:`~facesearch.service.FacePipeline`)."""
    from facesearch.service import FacePipeline

    if not models:
        raise InvalidInput("name at least one model")
    ids = [m.model_id for m in models]
    if len(set(ids)) != len(ids):
        raise InvalidInput(f"the same model is named twice ({', '.join(ids)})")
    for m in models:
        try:
            FacePipeline(m.settings)  # builds (does not load): detector and chip must fit
        except ConfigurationError as err:
            raise ConfigurationError(f"model {m.label}: {err.message}") from err


@dataclass(frozen=True, slots=True)
class VerificationCurve:
    """Verification over the demographic image set: genuine scores (exact) and an impostor
    histogram; ``fmr``/``fnmr`` ``(b,)`` at each threshold of ``thresholds`` ``(b,)``."""

    thresholds: NDArray[np.float64]
    fmr: NDArray[np.float64]
    fnmr: NDArray[np.float64]
    genuine: NDArray[np.float64]
    impostor_pairs: int

    def tar_at(self, threshold: float) -> float:
        return float(np.mean(self.genuine >= threshold))


def verification_curve(
    embeddings: NDArray[np.float32], identities: Sequence[str], *, block: int = 1024
) -> VerificationCurve:
    """FMR and FNMR at every histogram edge for all pairs of ``embeddings`` ``(n, d)``
    (unit rows) labelled ``identities``: genuine pairs kept exactly, impostor pairs counted
    in :data:`HIST_BINS` bins over [-1, 1] (memory stays at ``block * n`` scores)."""
    _, codes = np.unique(np.asarray(identities), return_inverse=True)
    e = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = e.shape[0]
    edges = np.linspace(-1.0, 1.0, HIST_BINS + 1)
    counts = np.zeros(HIST_BINS, dtype=np.int64)
    genuine = []
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        sims = e[r0:r1] @ e[r0:].T
        upper = np.arange(r0, r1)[:, None] < np.arange(r0, n)[None, :]
        same = codes[r0:r1, None] == codes[None, r0:]
        genuine.append(sims[upper & same].astype(np.float64))
        idx = np.floor((sims[upper & ~same] + 1.0) * (HIST_BINS / 2.0)).astype(np.int64)
        idx = np.clip(idx, 0, HIST_BINS - 1)
        counts += np.bincount(idx, minlength=HIST_BINS)
    g = np.sort(np.concatenate(genuine) if genuine else np.zeros(0))
    total = int(counts.sum())
    thresholds = edges[:-1]
    at_or_above = np.cumsum(counts[::-1])[::-1]  # impostors in bins at or above each edge
    fmr = at_or_above / max(total, 1)
    fnmr = np.searchsorted(g, thresholds, side="left") / max(g.size, 1)
    return VerificationCurve(thresholds, fmr, fnmr.astype(np.float64), g, total)


def same_detections(boxes: dict[str, NDArray[np.float32]]) -> dict[str, int]:
    """Images whose kept face box differs by more than half a pixel from the first
    model's, per model (``boxes``: label -> ``(n, 4)`` over the same images)."""
    labels = list(boxes)
    if not labels:
        return {}
    first = boxes[labels[0]]
    return {
        label: int(np.count_nonzero(np.abs(b - first).max(axis=1) > 0.5))
        for label, b in boxes.items()
    }


def run_compare(
    lfw: Any,
    models: Sequence[ModelUnderTest],
    *,
    out_dir: Path,
    cache_dir: Path,
    workers: int = 2,
    progress: bool = False,
    identification: bool = True,
    holdout_fraction: float = 0.1,
    max_identities: int | None = None,
    max_probes_per_identity: int | None = None,
    pairs_per_fold: int | None = None,
    n_boot: int = 2000,
    command: str = "facesearch eval compare",
) -> dict[str, Any]:
    """Run every evaluation for every model (see the module doc), write ``report.md``,
    ``compare.json`` and the plots into ``out_dir``; returns the JSON summary."""
    from facesearch.evaluation.calibrate import build_calibration
    from facesearch.evaluation.demographics_run import capped_set, report_people, run_demographics
    from facesearch.evaluation.embedcache import Recipe, embed_images
    from facesearch.evaluation.identification import run_identification
    from facesearch.evaluation.identification_report import ProbeResults
    from facesearch.evaluation.lfw_run import run_lfw
    from facesearch.evaluation.metrics import det_curve

    check_models(models)
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    curves: dict[str, VerificationCurve] = {}
    id_curves: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    groups: dict[str, dict[str, dict[str, list[GroupResult]]]] = {}
    boxes: dict[str, NDArray[np.float32]] = {}
    for m in models:
        folder = out_dir / m.model_id
        folder.mkdir(parents=True, exist_ok=True)
        recipe = Recipe(m.settings)
        logger.info("compare: %s (%s)", m.label, m.model_id)
        t0 = time.perf_counter()
        built = build_calibration(
            lfw,
            recipe,
            cache_dir=cache_dir,
            workers=workers,
            progress=progress,
            max_identities=max_identities,
            command=command,
        )
        table_path = folder / "calibration.json"
        built.table.save(table_path)
        lfw_summary = run_lfw(
            lfw,
            recipe,
            out_dir=folder / "lfw",
            cache_dir=cache_dir,
            workers=workers,
            progress=progress,
            pairs_per_fold=pairs_per_fold,
            command=command,
        )
        demo = run_demographics(
            lfw,
            recipe,
            out_dir=folder / "demographics",
            cache_dir=cache_dir,
            workers=workers,
            progress=progress,
            target_fmrs=TARGET_FMRS,
            max_identities=max_identities,
            n_boot=n_boot,
            command=command,
        )
        groups[m.label] = demo["groups"]
        every = embed_images(
            lfw.images,
            lfw.images_of(report_people(lfw, max_identities)),
            recipe,
            cache_dir=cache_dir,
            workers=workers,
            progress=progress,
        )
        boxes[m.label] = every.boxes
        _, vectors, idents, _ = capped_set(every, 10)
        curve = verification_curve(vectors, idents)
        curves[m.label] = curve
        ident: dict[str, Any] | None = None
        if identification:
            service = m.settings.model_copy(
                update={
                    "data_dir": folder / "identification" / "service-data",
                    "database_url": None,
                    "workers": workers,
                    "search": m.settings.search.model_copy(
                        update={"calibration_path": table_path.resolve()}
                    ),
                }
            )
            ident = run_identification(
                lfw,
                service,
                out_dir=folder / "identification",
                progress=progress,
                holdout_fraction=holdout_fraction,
                max_identities=max_identities,
                max_probes_per_identity=max_probes_per_identity,
                command=command,
            )
            probes = ProbeResults.load(folder / "identification" / "probes.npz")
            _, fpir_c, fnir_c = det_curve(probes.mated_ranks, probes.mated_scores, probes.top)
            id_curves[m.label] = (fpir_c, fnir_c)
        rows.append(_row(m, lfw_summary, demo, curve, ident, built, int(vectors.shape[1]), t0))
    detections = same_detections(boxes)
    summary: dict[str, Any] = {
        "models": rows,
        "same_detections": {
            "images": int(next(iter(boxes.values())).shape[0]) if boxes else 0,
            "boxes_differing_from_first_model": detections,
        },
        "settings": {
            "detection": models[0].settings.detection.model_dump(mode="json"),
            "max_identities": max_identities,
            "pairs_per_fold": pairs_per_fold,
            "identification": identification,
            "holdout_fraction": holdout_fraction,
            "max_probes_per_identity": max_probes_per_identity,
        },
        "run": run_metadata(command, started),
    }
    _plots(out_dir, curves, id_curves, groups)
    write_json(out_dir / "compare.json", summary)
    (out_dir / "report.md").write_text(markdown(summary, groups))
    return summary


def _largest_ratio(groups: list[GroupResult]) -> tuple[float | None, str]:
    readable = [
        g for g in groups if g.identities >= MIN_IDENTITIES and g.fmr_ratio_to_lowest is not None
    ]
    if not readable:
        return None, ""
    top = max(readable, key=lambda g: g.fmr_ratio_to_lowest or 0.0)
    return top.fmr_ratio_to_lowest, top.group


def _row(
    m: ModelUnderTest,
    lfw_summary: dict[str, Any],
    demo: dict[str, Any],
    curve: VerificationCurve,
    ident: dict[str, Any] | None,
    built: Any,
    dim: int,
    t0: float,
) -> dict[str, Any]:
    acc, roc = lfw_summary["accuracy"], lfw_summary["roc"]
    tar_view2 = {f"{t['far']:g}": t for t in roc["tar_at_far"]}
    global_t = {f"{t['target_fmr']:g}": t for t in demo["thresholds"]}
    ratios: dict[str, dict[str, Any]] = {}
    for attribute, by_target in demo["groups"].items():
        ratios[attribute] = {}
        for target, results in by_target.items():
            ratio, group = _largest_ratio(results)
            ratios[attribute][target] = {"ratio": ratio, "group": group}
    row: dict[str, Any] = {
        "label": m.label,
        "model_id": m.model_id,
        "dim": dim,
        "view2": {
            "accuracy": acc["mean"],
            "std": acc["std"],
            "sem": acc["sem"],
            "accuracy_no_face_as_errors": acc["mean_no_face_pairs_as_errors"],
            "eer": roc["eer"],
            "auc": roc["auc"],
            "tar_at_far": {
                k: {"tar": v["tar"], "impostors_at_or_above": v["impostors_at_or_above"]}
                for k, v in tar_view2.items()
            },
            "pairs": lfw_summary["pairs"]["total"],
            "images_without_face": lfw_summary["images"]["no_face_centre_box"],
        },
        "all_lfw": {
            "images": demo["images"]["used"],
            "identities": demo["images"]["identities"],
            "impostor_pairs": demo["images"]["impostor_pairs"],
            "genuine_pairs": int(curve.genuine.size),
            "tar_at_fmr": {
                k: {"threshold": v["threshold"], "tar": curve.tar_at(v["threshold"])}
                for k, v in global_t.items()
            },
        },
        "largest_group_fmr_ratio": ratios,
        "calibration": {
            "impostor_pairs": built.table.n_impostor_pairs,
            "floor_fmr": built.table.min_fmr,
            "threshold_fmr_1e-3": _threshold_or_none(built.table, 1e-3),
            "held_out": [
                {"target_fmr": c.target_fmr, "ratio": c.ratio, "ok": c.ok} for c in built.checks
            ],
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if ident is not None:
        row["identification"] = {
            "gallery_faces": ident["design"]["gallery_faces_enrolled"],
            "mated_probes": ident["design"]["mated_probes"],
            "nonmated_probes": ident["design"]["nonmated_probes"],
            "rank_1": ident["cmc"].get("rank_1"),
            "fnir_at_fpir": {
                f"{p['target_fpir']:g}": {
                    "fnir": p["fnir"],
                    "fpir": p["fpir"],
                    "measurable": p["measurable"],
                }
                for p in ident["fnir_at_fpir"]
            },
            "latency_ms_p50": ident["latency_ms"]["p50"],
        }
    return row


def _threshold_or_none(table: Any, fmr: float) -> float | None:
    from facesearch.calibration import CalibrationError

    try:
        return float(table.threshold_for_fmr(fmr))
    except CalibrationError:
        return None


def _plots(
    out_dir: Path,
    curves: dict[str, VerificationCurve],
    id_curves: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]],
    groups: dict[str, dict[str, dict[str, list[GroupResult]]]],
) -> None:
    plots.det_compare_plot(
        {label: (c.fmr, c.fnmr) for label, c in curves.items()},
        out_dir / "det_verification.png",
        title="Verification DET on LFW (at most 10 images per identity)",
        xlabel="FMR (impostor pairs at or above the threshold)",
        ylabel="FNMR (genuine pairs below it)",
        marks=TARGET_FMRS,
    )
    if id_curves:
        plots.det_compare_plot(
            id_curves,
            out_dir / "det_identification.png",
            title="Open-set identification DET on LFW (rank 1, through the service)",
            xlabel="FPIR (non-mated searches returning a candidate)",
            ylabel="FNIR (mated searches missing the mate at rank 1)",
            marks=TARGET_FPIRS,
        )
    for attribute in ("sex", "race"):
        target = f"{TARGET_FMRS[0]:g}"
        names = sorted(
            {
                g.group
                for by_attr in groups.values()
                for g in by_attr.get(attribute, {}).get(target, [])
                if g.identities >= MIN_IDENTITIES
            }
        )
        if not names:
            continue
        series = {}
        for label, by_attr in groups.items():
            found = {g.group: g for g in by_attr.get(attribute, {}).get(target, [])}
            est, low, high = [], [], []
            for name in names:
                rate = found[name].fmr if name in found else None
                est.append(rate.estimate if rate else np.nan)
                low.append(rate.low if rate else np.nan)
                high.append(rate.high if rate else np.nan)
            series[label] = (np.asarray(est), np.asarray(low), np.asarray(high))
        plots.grouped_rates_plot(
            names,
            series,
            out_dir / f"fmr_by_{attribute}.png",
            title=f"FMR by {attribute} at each model's threshold for FMR {_level(TARGET_FMRS[0])}",
            ylabel="FMR (same-group impostor pairs)",
            reference=TARGET_FMRS[0],
        )


def _level(value: float) -> str:
    """``0.001`` -> ``"1e-3"``."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _ratio_cell(entry: dict[str, Any]) -> str:
    ratio = entry.get("ratio")
    return "n/a" if ratio is None else f"{ratio:.2f} ({entry['group']})"


def markdown(
    summary: dict[str, Any], groups: dict[str, dict[str, dict[str, list[GroupResult]]]]
) -> str:
    """The side-by-side report."""
    rows = summary["models"]
    labels = [r["label"] for r in rows]

    def line(name: str, cell: Any) -> list[str]:
        return [name, *[cell(r) for r in rows]]

    def tar(r: dict[str, Any], key: str) -> str:
        t = r["view2"]["tar_at_far"].get(key)
        return "n/a" if t is None else f"{pct(t['tar'])} ({t['impostors_at_or_above']} imp.)"

    def fnir(r: dict[str, Any], key: str) -> str:
        ident = r.get("identification")
        if ident is None:
            return "not run"
        p = ident["fnir_at_fpir"].get(key)
        if p is None:
            return "n/a"
        return pct(p["fnir"]) + ("" if p["measurable"] else " (not measurable)")

    table = [
        line("model id", lambda r: f"`{r['model_id']}`"),
        line(
            "LFW View 2 accuracy ± std (10 folds)",
            lambda r: f"**{pct(r['view2']['accuracy'])}** ± {pct(r['view2']['std'])}",
        ),
        line("View 2 EER", lambda r: pct(r["view2"]["eer"])),
        line("View 2 TAR at FAR 1e-3", lambda r: tar(r, "0.001")),
        line("View 2 TAR at FAR 1e-4", lambda r: tar(r, "0.0001")),
        *[
            line(
                f"TAR at FMR {_level(t)} (all LFW, global threshold)",
                lambda r, t=t: pct(r["all_lfw"]["tar_at_fmr"][f"{t:g}"]["tar"]),
            )
            for t in TARGET_FMRS
        ],
        line(
            "identification rank-1",
            lambda r: pct(r["identification"]["rank_1"]) if r.get("identification") else "not run",
        ),
        *[
            line(f"FNIR at FPIR {_level(t)}", lambda r, t=t: fnir(r, f"{t:g}"))
            for t in TARGET_FPIRS
        ],
        *[
            line(
                f"largest {attribute} FMR ratio at FMR {_level(t)}",
                lambda r, a=attribute, t=t: _ratio_cell(
                    r["largest_group_fmr_ratio"].get(a, {}).get(f"{t:g}", {})
                ),
            )
            for attribute in ("sex", "race")
            for t in TARGET_FMRS
        ],
        line(
            "calibration: threshold at FMR 1e-3 (View 1)",
            lambda r: (
                "n/a"
                if r["calibration"]["threshold_fmr_1e-3"] is None
                else f"{r['calibration']['threshold_fmr_1e-3']:.4f}"
            ),
        ),
        line(
            "calibration held-out ratio at 1e-3 / 1e-4",
            lambda r: (
                " / ".join(f"{c['ratio']:.2f}" for c in r["calibration"]["held_out"]) or "n/a"
            ),
        ),
    ]
    same = summary["same_detections"]
    lines = [
        "# Embedding models compared on LFW",
        "",
        f"Command: `{summary['run']['command']}`",
        "",
        "Every model embedded the same images with the same detector settings (detector "
        f"`{summary['settings']['detection']['detector']}`, fallback "
        f"`{summary['settings']['detection']['fallback_detector']}`).",
        "",
        md_table(["", *labels], table),
        "",
    ]
    if same["images"]:
        lines += [
            "Same detector output: of the "
            f"{same['images']:,} images embedded, the kept face's box differs from the first "
            "model's in "
            + ", ".join(f"{k}: {v}" for k, v in same["boxes_differing_from_first_model"].items())
            + " images.",
            "",
        ]
    lines += [
        "Rows: View 2 is the standard protocol (6,000 pairs, threshold fitted on the other 9 "
        "folds); its TAR at FAR rests on 3,000 impostor pairs (FAR 1e-4 is below what they "
        "can show: the threshold is then above every impostor). 'All LFW' uses every image "
        "with a detected face, at most 10 per identity, and one global threshold per target "
        "FMR set over all its impostor pairs (NIST IR 8280); the group ratios compare FMR "
        f"of same-group impostor pairs at that threshold, over groups of at least "
        f"{MIN_IDENTITIES} identities, to the lowest group's. Identification goes through "
        "the service (store, quality gate, FAISS) with each model's own View 1 calibration.",
        "",
    ]
    for attribute in ("sex", "race"):
        for target in TARGET_FMRS:
            key = f"{target:g}"
            body = []
            for label, by_attr in groups.items():
                for g in by_attr.get(attribute, {}).get(key, []):
                    if g.identities < MIN_IDENTITIES:
                        continue
                    body.append(
                        [
                            label,
                            g.group,
                            g.identities,
                            _rate(g.fmr),
                            "n/a"
                            if g.fmr_ratio_to_lowest is None
                            else f"{g.fmr_ratio_to_lowest:.2f}",
                            _rate(g.fnmr),
                            "n/a"
                            if g.fnmr_ratio_to_lowest is None
                            else f"{g.fnmr_ratio_to_lowest:.2f}",
                        ]
                    )
            if body:
                lines += [
                    f"## FMR and FNMR by {attribute} at the global threshold for FMR "
                    f"{_level(target)}",
                    "",
                    md_table(
                        [
                            "model",
                            "group",
                            "identities",
                            "FMR [95% CI] (false/pairs)",
                            "FMR ratio",
                            "FNMR [95% CI] (misses/pairs)",
                            "FNMR ratio",
                        ],
                        body,
                    ),
                    "",
                ]
    lines += [
        "Plots: `det_verification.png` (FNMR against FMR, all models), "
        "`det_identification.png` (FNIR against FPIR), `fmr_by_sex.png`, `fmr_by_race.png` "
        "(per-group FMR with 95% intervals at each model's threshold for FMR 1e-3). Each "
        "model's folder holds its full reports (`lfw/`, `demographics/`, `identification/`) "
        "and its calibration table.",
        "",
        "LFW is a research benchmark of mostly frontal press photos of public figures, not "
        "demographically representative; its race labels cover 775 identities, mostly "
        "labelled Caucasian. These numbers rank models on LFW; they do not show fitness for "
        "any operational use.",
        "",
    ]
    return "\n".join(lines)


def _rate(r: Any) -> str:
    if r is None:
        return "n/a"
    return f"{sci(r.estimate)} [{sci(r.low)}, {sci(r.high)}] ({r.events:,}/{r.comparisons:,})"
