"""``facesearch eval ...`` and ``facesearch calibrate``: accuracy the way the field measures it.

Thin wrappers over :mod:`facesearch.evaluation`; heavy imports happen inside the commands.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from facesearch.cli import output
from facesearch.settings import DetectorKind, Settings

if TYPE_CHECKING:
    from facesearch.evaluation.embedcache import Recipe
    from facesearch.evaluation.lfw import Lfw

eval_app = typer.Typer(
    help="Measure accuracy on LFW: verification, open-set identification, demographics.",
    no_args_is_help=True,
)

LfwDir = Annotated[
    Path | None,
    typer.Option("--lfw-dir", help="LFW folder (default: $FACESEARCH_LFW_DIR)."),
]
CacheDir = Annotated[
    Path, typer.Option("--cache-dir", help="Embedding cache folder (reused across runs).")
]
Workers = Annotated[int, typer.Option("--workers", min=1, help="Embedding processes.")]
Json = Annotated[bool, typer.Option("--json", help="Print the JSON result instead of tables.")]
Jitters = Annotated[
    int | None, typer.Option("--jitters", min=0, help="Override embedding.jitters.")
]
Detector = Annotated[
    DetectorKind | None, typer.Option("--detector", help="Override detection.detector.")
]
Fallback = Annotated[
    str | None,
    typer.Option("--fallback-detector", help="Override detection.fallback_detector ('none': off)."),
]
MinFace = Annotated[
    int | None, typer.Option("--min-face-px", min=10, help="Override detection.min_face_px.")
]
Selection = Annotated[
    str,
    typer.Option(
        "--selection",
        help="Face kept per image: 'central' (nearest the centre, within a quarter of the "
        "image), 'centre' (nearest, any distance) or 'largest'.",
    ),
]
Padding = Annotated[
    float | None,
    typer.Option("--padding", help="Variant: re-crop chips with this padding (pipeline: 0.25)."),
]
Landmarks68 = Annotated[
    bool, typer.Option("--landmarks68", help="Variant: align with dlib's 68-point model.")
]
Flip = Annotated[
    bool, typer.Option("--flip", help="Variant: average the chip's and its mirror's descriptors.")
]


def _recipe(
    *,
    jitters: int | None = None,
    detector: DetectorKind | None = None,
    fallback: str | None = None,
    min_face_px: int | None = None,
    selection: str = "central",
    padding: float | None = None,
    landmarks68: bool = False,
    flip: bool = False,
) -> Recipe:
    from facesearch.cli import common
    from facesearch.errors import InvalidInput
    from facesearch.evaluation.embedcache import Recipe

    settings = common.settings()
    detection: dict[str, Any] = {}
    if detector is not None:
        detection["detector"] = detector
    if fallback is not None:
        detection["fallback_detector"] = None if fallback == "none" else DetectorKind(fallback)
    if min_face_px is not None:
        detection["min_face_px"] = min_face_px
    updates: dict[str, Any] = {}
    if detection:
        updates["detection"] = settings.detection.model_copy(update=detection)
    if jitters is not None:
        updates["embedding"] = settings.embedding.model_copy(update={"jitters": jitters})
    if updates:
        settings = settings.model_copy(update=updates)
    if selection not in ("central", "centre", "largest"):
        raise InvalidInput("--selection must be 'central', 'centre' or 'largest'")
    return Recipe(
        settings,
        selection=selection,  # type: ignore[arg-type]
        padding=padding,
        landmarks68=landmarks68,
        flip=flip,
    )


def _locate(lfw_dir: Path | None) -> Lfw:
    """The LFW dataset. Neither ``--lfw-dir`` nor ``$FACESEARCH_LFW_DIR``, or a wrong
    ``--lfw-dir``: bad input (exit 2); a wrong ``$FACESEARCH_LFW_DIR`` stays a
    configuration error (exit 3)."""
    from facesearch.errors import ConfigurationError, InvalidInput
    from facesearch.evaluation.lfw import LFW_ENV, Lfw

    try:
        return Lfw.locate(lfw_dir)
    except ConfigurationError as err:
        if lfw_dir is not None:
            raise InvalidInput(f"--lfw-dir: {err.message}") from err
        if not os.environ.get(LFW_ENV):
            raise InvalidInput(err.message) from err
        raise


def _progress(json_out: bool) -> bool:
    return not json_out and sys.stderr.isatty()


def _command() -> str:
    return "facesearch " + " ".join(sys.argv[1:]) if sys.argv[1:] else "facesearch"


@eval_app.command("lfw")
def eval_lfw(
    lfw_dir: LfwDir = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out/eval/lfw"),
    cache_dir: CacheDir = Path("out/cache"),
    workers: Workers = 2,
    pairs_per_fold: Annotated[
        int | None, typer.Option("--pairs-per-fold", min=2, help="Subset: pairs per fold.")
    ] = None,
    jitters: Jitters = None,
    detector: Detector = None,
    fallback_detector: Fallback = None,
    min_face_px: MinFace = None,
    selection: Selection = "central",
    padding: Padding = None,
    landmarks68: Landmarks68 = False,
    flip: Flip = False,
    json_out: Json = False,
) -> None:
    """LFW View 2: 10-fold accuracy, ROC, EER, TAR at FAR 1e-2 / 1e-3."""
    from facesearch.evaluation.lfw_run import run_lfw

    recipe = _recipe(
        jitters=jitters,
        detector=detector,
        fallback=fallback_detector,
        min_face_px=min_face_px,
        selection=selection,
        padding=padding,
        landmarks68=landmarks68,
        flip=flip,
    )
    summary = run_lfw(
        _locate(lfw_dir),
        recipe,
        out_dir=out,
        cache_dir=cache_dir,
        workers=workers,
        progress=_progress(json_out),
        pairs_per_fold=pairs_per_fold,
        command=_command(),
    )
    if json_out:
        output.print_json(_compact(summary))
        return
    acc, roc, img = summary["accuracy"], summary["roc"], summary["images"]
    output.print_table(
        "LFW View 2 verification",
        ["metric", "value"],
        [
            ["pairs", summary["pairs"]["total"]],
            ["mean accuracy ± std", f"{acc['mean']:.2%} ± {acc['std']:.2%}"],
            ["no-face pairs as errors", f"{acc['mean_no_face_pairs_as_errors']:.2%}"],
            ["EER", f"{roc['eer']:.2%}"],
            *[[f"TAR at FAR {t['far']:g}", f"{t['tar']:.2%}"] for t in roc["tar_at_far"]],
            ["images without a face (centred box)", img["no_face_centre_box"]],
        ],
    )
    output.info(f"report: {out / 'report.md'}")


@eval_app.command("identification")
def eval_identification(
    lfw_dir: LfwDir = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
        "out/eval/identification"
    ),
    workers: Workers = 2,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Candidates per search.")] = 10,
    holdout_fraction: Annotated[float, typer.Option(min=0.01, max=0.9)] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the held-out identities.")] = 1,
    max_identities: Annotated[
        int | None, typer.Option(min=2, help="Subset: this many multi- and single-image ids.")
    ] = None,
    max_probes_per_identity: Annotated[int | None, typer.Option(min=1)] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the service data first.")] = False,
    json_out: Json = False,
) -> None:
    """Open-set identification through the service: CMC, FNIR at FPIR, DET, latency."""
    from facesearch.evaluation.identification import run_identification

    data_dir = out / "service-data"
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    settings = Settings(data_dir=data_dir, database_url=None, workers=workers)
    summary = run_identification(
        _locate(lfw_dir),
        settings,
        out_dir=out,
        progress=_progress(json_out),
        k=k,
        holdout_fraction=holdout_fraction,
        seed=seed,
        max_identities=max_identities,
        max_probes_per_identity=max_probes_per_identity,
        command=_command(),
    )
    if json_out:
        output.print_json(summary)
        return
    output.print_table(
        "Open-set identification",
        ["metric", "value"],
        [
            ["gallery faces", summary["design"]["gallery_faces_enrolled"]],
            [
                "mated / non-mated probes",
                f"{summary['design']['mated_probes']} / {summary['design']['nonmated_probes']}",
            ],
            *[[f"CMC {name.replace('_', ' ')}", f"{v:.2%}"] for name, v in summary["cmc"].items()],
            *[
                [
                    f"FNIR at FPIR {p['target_fpir']:g}",
                    f"{p['fnir']:.2%}" if p["measurable"] else "not measurable",
                ]
                for p in summary["fnir_at_fpir"]
            ],
            [
                "search latency p50 / p95 ms",
                f"{summary['latency_ms']['p50']:.0f} / {summary['latency_ms']['p95']:.0f}",
            ],
        ],
    )
    output.info(f"report: {out / 'report.md'}")


@eval_app.command("demographics")
def eval_demographics(
    lfw_dir: LfwDir = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
        "out/eval/demographics"
    ),
    cache_dir: CacheDir = Path("out/cache"),
    workers: Workers = 2,
    target_fmr: Annotated[
        list[float] | None, typer.Option("--target-fmr", help="Global threshold targets.")
    ] = None,
    max_images_per_identity: Annotated[int, typer.Option(min=2)] = 10,
    max_identities: Annotated[int | None, typer.Option(min=4, help="Subset of identities.")] = None,
    bootstraps: Annotated[int, typer.Option(min=100)] = 2000,
    json_out: Json = False,
) -> None:
    """Per-group FMR and FNMR at one global threshold (NIST IR 8280 style)."""
    from facesearch.evaluation.demographics_run import run_demographics

    summary = run_demographics(
        _locate(lfw_dir),
        _recipe(),
        out_dir=out,
        cache_dir=cache_dir,
        workers=workers,
        progress=_progress(json_out),
        target_fmrs=tuple(target_fmr or (1e-3, 1e-4)),
        max_images_per_identity=max_images_per_identity,
        max_identities=max_identities,
        n_boot=bootstraps,
        command=_command(),
    )
    if json_out:
        output.print_json(summary)
        return
    rows = []
    for attribute, by_target in summary["groups"].items():
        for target, groups in by_target.items():
            for g in groups:
                rows.append(
                    [
                        attribute,
                        target,
                        g.group,
                        g.identities,
                        f"{g.fmr.estimate:.2g}" if g.fmr else "n/a",
                        f"{g.fnmr.estimate:.2%}" if g.fnmr else "n/a",
                    ]
                )
    output.print_table(
        "Demographic differentials",
        ["attribute", "target FMR", "group", "identities", "FMR", "FNMR"],
        rows,
    )
    output.info(f"report: {out / 'report.md'}")


def calibrate_command(
    lfw_dir: LfwDir = None,
    cache_dir: CacheDir = Path("out/cache"),
    workers: Workers = 2,
    output_path: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Table file (default: where the service finds it: the one shipped in the "
            "package for dlib-resnet-v1, data_dir/calibration/<model_id>.json for a model "
            "by file).",
        ),
    ] = None,
    report_dir: Annotated[Path, typer.Option("--report-dir")] = Path("out/calibration"),
    max_identities: Annotated[
        int | None, typer.Option(min=4, help="Subset: identities per View 1 split.")
    ] = None,
    json_out: Json = False,
) -> None:
    """Build the configured model's similarity -> false-match-rate table from LFW View 1,
    check it on held-out identities, and install it where the service finds it."""
    from facesearch.calibration import data_table_path, packaged_table_path
    from facesearch.embedding.registry import is_packaged
    from facesearch.evaluation import plots
    from facesearch.evaluation.calibrate import build_calibration
    from facesearch.evaluation.metrics import rate_at_or_above
    from facesearch.evaluation.reports import write_json

    recipe = _recipe()
    built = build_calibration(
        _locate(lfw_dir),
        recipe,
        cache_dir=cache_dir,
        workers=workers,
        progress=_progress(json_out),
        max_identities=max_identities,
        command=_command(),
    )
    table = built.table
    passed = all(c.ok for c in built.checks)
    settings = recipe.settings
    target = output_path or (
        packaged_table_path(table.model_id)
        if is_packaged(settings.embedding)
        else data_table_path(settings.calibration_dir, table.model_id)
    )
    if not passed:  # never replace a table with one that failed its held-out check
        target = report_dir / f"rejected-{table.model_id}.json"
    table.save(target)
    report_dir.mkdir(parents=True, exist_ok=True)
    held = (table.similarities, rate_at_or_above(built.held_out_scores, table.similarities))
    plots.calibration_plot(
        table.similarities,
        table.fmrs,
        report_dir / "calibration.png",
        title=f"Similarity -> FMR ({table.model_id})",
        held_out=held,
    )
    write_json(report_dir / "calibration.json", table.to_dict())
    if json_out:
        output.print_json(
            {
                "table": str(target),
                "installed": passed,
                "checks": built.checks,
                "provenance": table.provenance,
            }
        )
        if not passed:
            raise typer.Exit(code=1)
        return
    output.info(
        f"wrote {target}: {len(table.similarities)} knots from {table.n_impostor_pairs:,} "
        f"impostor pairs, FMR down to {table.min_fmr:.2g}"
    )
    output.print_table(
        "Held-out check (View 1 DevTest identities)",
        ["target FMR", "threshold", "empirical FMR", "false matches", "ratio", "within 2x"],
        [
            [
                f"{c.target_fmr:g}",
                f"{c.threshold:.4f}",
                f"{c.empirical_fmr:.3g}",
                c.false_matches,
                f"{c.ratio:.2f}",
                "yes" if c.ok else "NO",
            ]
            for c in built.checks
        ],
    )
    if not built.checks:
        output.info("too few held-out impostor pairs for the 1e-3 / 1e-4 check (a subset run)")
    if not passed:
        output.error(f"held-out check failed: table written to {target}, not installed")
        raise typer.Exit(code=1)


def _compact(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without the long per-image lists (for --json on a terminal)."""
    out = dict(summary)
    out["images"] = {k: v for k, v in summary["images"].items() if k != "no_face_images"}
    return out


@eval_app.command("compare")
def eval_compare(
    models: Annotated[
        list[str],
        typer.Argument(
            help="Models: dlib-resnet-v1 (packaged) and/or model spec .json files "
            "(docs/models/*.json).",
            show_default=False,
        ),
    ],
    lfw_dir: LfwDir = None,
    models_dir: Annotated[
        Path | None,
        typer.Option(
            "--models-dir", help="Folder of the ONNX files a spec names by a relative path."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out/eval/compare"),
    cache_dir: CacheDir = Path("out/cache"),
    workers: Workers = 2,
    identification: Annotated[
        bool,
        typer.Option(
            "--identification/--no-identification",
            help="Also run open-set identification through the service (the slow part).",
        ),
    ] = True,
    holdout_fraction: Annotated[
        float, typer.Option(min=0.01, max=0.9, help="Identification: identities held out.")
    ] = 0.1,
    max_probes_per_identity: Annotated[
        int | None, typer.Option(min=1, help="Identification: probes per identity at most.")
    ] = None,
    max_identities: Annotated[
        int | None,
        typer.Option(min=4, help="Subset: identities sampled for every protocol but View 2."),
    ] = None,
    pairs_per_fold: Annotated[
        int | None, typer.Option("--pairs-per-fold", min=2, help="Subset: View 2 pairs per fold.")
    ] = None,
    bootstraps: Annotated[int, typer.Option(min=100)] = 2000,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Delete the identification service data first.")
    ] = False,
    json_out: Json = False,
) -> None:
    """Models side by side on one protocol: LFW View 2, open-set identification and the
    demographic report, same images and detector; one Markdown report with plots."""
    from facesearch.evaluation.compare import model_from_token, run_compare

    base = _recipe().settings
    chosen = [model_from_token(token, base, models_dir) for token in models]
    if fresh:
        for m in chosen:
            data = out / m.model_id / "identification" / "service-data"
            if data.exists():
                shutil.rmtree(data)
    summary = run_compare(
        _locate(lfw_dir),
        chosen,
        out_dir=out,
        cache_dir=cache_dir,
        workers=workers,
        progress=_progress(json_out),
        identification=identification,
        holdout_fraction=holdout_fraction,
        max_identities=max_identities,
        max_probes_per_identity=max_probes_per_identity,
        pairs_per_fold=pairs_per_fold,
        n_boot=bootstraps,
        command=_command(),
    )
    if json_out:
        output.print_json(summary)
        return
    rows = summary["models"]
    output.print_table(
        "Models compared on LFW",
        ["model", "View 2 accuracy", "EER", "TAR@FMR 1e-3", "FNIR@FPIR 0.01", "race FMR ratio"],
        [
            [
                r["label"],
                f"{r['view2']['accuracy']:.2%}",
                f"{r['view2']['eer']:.2%}",
                f"{r['all_lfw']['tar_at_fmr']['0.001']['tar']:.2%}",
                (
                    f"{r['identification']['fnir_at_fpir']['0.01']['fnir']:.2%}"
                    if r.get("identification")
                    else "not run"
                ),
                (
                    "n/a"
                    if r["largest_group_fmr_ratio"].get("race", {}).get("0.001", {}).get("ratio")
                    is None
                    else f"{r['largest_group_fmr_ratio']['race']['0.001']['ratio']:.2f}"
                ),
            ]
            for r in rows
        ],
    )
    output.info(f"report: {out / 'report.md'}")
