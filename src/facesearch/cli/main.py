"""The ``facesearch`` command: thin wrappers over :class:`facesearch.service.FaceSearch`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from facesearch.audit import trail
from facesearch.cli import common, output
from facesearch.cli.accounts import audit_app, users_app
from facesearch.cli.common import Authorization, Case, Json, Purpose, operator, read, state
from facesearch.cli.evaluate import calibrate_command, eval_app
from facesearch.cli.governance import grants_app, groups_app, retention_app
from facesearch.cli.privacy import erasure_app
from facesearch.cli.report import report_app
from facesearch.cli.review import review_app
from facesearch.cli.serve import serve_command
from facesearch.errors import AuditUnavailable, FaceSearchError
from facesearch.service.results import EnrollSummary
from facesearch.service.reviews import LEAD_DISCLAIMER
from facesearch.settings import Settings

app = typer.Typer(
    name="facesearch",
    help="Face search with accountability: results are investigative leads, never identifications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
gallery_app = typer.Typer(help="Create, list and delete galleries.", no_args_is_help=True)
subjects_app = typer.Typer(help="List subjects.", no_args_is_help=True)
faces_app = typer.Typer(help="List and delete enrolled faces.", no_args_is_help=True)
index_app = typer.Typer(help="Inspect and rebuild the vector index.", no_args_is_help=True)
models_app = typer.Typer(
    help="Prepare model files (the converted ONNX descriptor); list the models a data "
    "folder holds; move a gallery to another model (migrate, drop).",
    no_args_is_help=True,
)
app.add_typer(gallery_app, name="gallery")
app.add_typer(subjects_app, name="subjects")
app.add_typer(faces_app, name="faces")
app.add_typer(index_app, name="index")
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval")
app.command("calibrate")(calibrate_command)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(erasure_app, name="erasure")
app.add_typer(review_app, name="review")
app.add_typer(retention_app, name="retention")
app.add_typer(grants_app, name="grants")
app.add_typer(groups_app, name="groups")
app.add_typer(report_app, name="report")
app.command("serve")(serve_command)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (default: $FACESEARCH_DATA_DIR or ./data)."),
]


@app.callback()
def _root(
    data_dir: DataDir = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    state.data_dir = data_dir
    state.verbose = verbose
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _settings() -> Settings:
    return common.settings()


def _engine() -> Any:
    return common.engine()


# --- models -------------------------------------------------------------------------
@models_app.command("prepare")
def models_prepare(json_out: Json = False) -> None:
    """Convert dlib's ResNet to ONNX into the models cache (done on first use otherwise),
    then load every configured model once (detector, fallback, embedder), so a missing or
    corrupt file is reported now, naming its setting."""
    from facesearch.embedding.dlib_onnx.cache import load_or_convert
    from facesearch.service import FacePipeline

    settings = _settings()
    converted = load_or_convert(settings.models_cache_dir)
    FacePipeline(settings).warm_up()
    if json_out:
        output.print_json(
            {"path": str(converted.path), "sha256": converted.sha256, "rebuilt": converted.rebuilt}
        )
    else:
        verb = "converted" if converted.rebuilt else "verified"
        output.info(f"{verb} {converted.path} (sha256 {converted.sha256})")


@models_app.command("list")
def models_list(json_out: Json = False) -> None:
    """The configured (active) model and every model with faces or a calibration table in
    the data folder: faces, faces that can be re-embedded (a kept crop), calibration, index,
    and erasures its suppression list lacks (suppressed under another model only)."""
    from facesearch.service.models import model_inventory

    rows = model_inventory(_settings())
    if json_out:
        output.print_json(rows)
        return
    output.print_table(
        "Models",
        [
            "model id",
            "active",
            "faces",
            "re-embeddable",
            "calibration",
            "index",
            "erasures not suppressed",
        ],
        [
            [
                r.model_id,
                "yes" if r.active else "",
                r.faces,
                r.with_crop,
                r.calibration,
                "yes" if r.index else "no",
                r.unsuppressed_erasures,
            ]
            for r in rows
        ],
    )


@models_app.command("migrate")
def models_migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="The model to move to: dlib-resnet-v1 (packaged) or a model spec .json file "
            "(docs/models/*.json).",
            show_default=False,
        ),
    ],
    gallery: Annotated[
        str | None, typer.Option("--gallery", help="Only this gallery's faces.")
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Faces re-embedded per transaction.")
    ] = 64,
    models_dir: Annotated[
        Path | None,
        typer.Option(
            "--models-dir", help="Folder of the ONNX files a spec names by a relative path."
        ),
    ] = None,
    allow_unfollowed: Annotated[
        bool,
        typer.Option(
            "--allow-unfollowed-suppressions",
            help="DANGEROUS: migrate even though some suppressions keep no face crop and "
            "cannot follow; the people they suppress would not stay erased under the new "
            "model.",
        ),
    ] = False,
    json_out: Json = False,
) -> None:
    """Re-embed the active model's suppressions and faces (those with a kept crop) under
    another model, beside the old rows and into that model's own index; resumable.
    Searches keep using the active model until the embedding settings change."""
    from facesearch.evaluation.compare import model_from_token
    from facesearch.service import FacePipeline

    context = operator()
    settings = _settings()
    target = model_from_token(to, settings, models_dir)
    pipeline = FacePipeline(target.settings)
    with _engine() as engine:
        if json_out or not sys.stderr.isatty():
            report = engine.migrate_model(
                pipeline,
                context=context,
                gallery=gallery,
                batch=batch,
                allow_unfollowed=allow_unfollowed,
            )
        else:
            with output.progress_bar(f"re-embedding under {pipeline.model_id}") as progress:
                report = engine.migrate_model(
                    pipeline,
                    context=context,
                    gallery=gallery,
                    batch=batch,
                    allow_unfollowed=allow_unfollowed,
                    progress=progress,
                )
    if json_out:
        output.print_json(report)
        return
    output.info(
        f"{report.source} -> {report.target}: {report.migrated} face(s) re-embedded now, "
        f"{report.already} earlier, {report.suppressions} suppression(s) carried over; "
        f"its index: {report.index}"
    )
    if report.without_crop:
        output.info(
            f"{report.without_crop} face(s) keep no crop and cannot be re-embedded "
            f"(face ids {', '.join(str(i) for i in report.without_crop_ids)}"
            f"{', ...' if report.without_crop > len(report.without_crop_ids) else ''})"
        )
    if report.not_found:
        output.info(
            f"{len(report.not_found)} face(s) not found again by the new model's detector "
            f"in their crop (face ids {', '.join(str(i) for i in report.not_found[:20])})"
        )
    if report.unfollowed_references:
        output.info(
            "suppressions NOT carried over (no crop), erasure request(s) "
            + ", ".join(report.unfollowed_references)
        )


@models_app.command("drop")
def models_drop(
    model_id: Annotated[str, typer.Argument(help="The model id (see `models list`).")],
    json_out: Json = False,
) -> None:
    """Delete every face row of a model that is not the active one (after a migration,
    the old model's rows); the rows re-embedded from them stay."""
    context = operator()
    with _engine() as engine:
        ids = engine.drop_model(model_id, context=context)
    if json_out:
        output.print_json({"model_id": model_id, "faces_deleted": len(ids)})
    else:
        output.info(f"{len(ids)} face row(s) of {model_id} deleted")


# --- galleries ------------------------------------------------------------------------
@gallery_app.command("create")
def gallery_create(
    name: str,
    legal_basis: Annotated[str, typer.Option(help="Why these photos may be held and searched.")],
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    source_category: Annotated[
        str, typer.Option(help="Where the photos come from, e.g. booking, id-document.")
    ] = "unspecified",
    retention_days: Annotated[
        int | None,
        typer.Option(
            help="Days an image is kept after it was collected (default: until deleted).",
            min=1,
            max=36_500,
        ),
    ] = None,
    json_out: Json = False,
) -> None:
    """Create a gallery."""
    with _engine() as engine:
        record = engine.create_gallery(
            name,
            legal_basis=legal_basis,
            description=description,
            source_category=source_category,
            retention_days=retention_days,
            context=operator(),
        )
    if json_out:
        output.print_json(record)
    else:
        output.info(f"created gallery {record.name!r} (id {record.id})")


@gallery_app.command("list")
def gallery_list(json_out: Json = False) -> None:
    """List galleries with their counts."""
    with _engine() as engine:
        records = engine.list_galleries()
    if json_out:
        output.print_json(records)
        return
    output.print_table(
        "Galleries",
        [
            "name",
            "source category",
            "legal basis",
            "retention",
            "subjects",
            "images",
            "faces",
            "created",
        ],
        [
            [
                g.name,
                g.source_category,
                g.legal_basis,
                f"{g.retention_days} days" if g.retention_days else "keep",
                g.n_subjects,
                g.n_images,
                g.n_faces,
                g.created_at.strftime("%Y-%m-%d %H:%M"),
            ]
            for g in records
        ],
    )


@gallery_app.command("delete")
def gallery_delete(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a gallery with its subjects, images and faces (store and index)."""
    if not yes:
        typer.confirm(f"Delete gallery {name!r} and every face in it?", abort=True)
    with _engine() as engine:
        ids = engine.delete_gallery(name, context=operator())
    output.info(f"deleted gallery {name!r} ({len(ids)} faces)")


@gallery_app.command("blind-review")
def gallery_blind_review(
    name: str,
    on: Annotated[
        bool, typer.Option("--on/--off", help="Hide gallery and source category until judged.")
    ] = True,
) -> None:
    """Mark a gallery for blind review (in a search with any candidate from it, reviewers
    see every candidate without subject, gallery and source category until they have
    recorded a judgement of it), or unmark it."""
    with _engine() as engine:
        record = engine.set_blind_review(name, on, context=operator())
    state = "on" if record.mask_source_category else "off"
    output.info(f"blind review for gallery {record.name!r} is {state}")


# --- enrollment -----------------------------------------------------------------------
@app.command("enroll")
def enroll(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders (recursive).")],
    gallery: Annotated[str, typer.Option("--gallery", "-g", help="Target gallery.")],
    legal_basis: Annotated[
        str | None,
        typer.Option(help="Legal basis for these images (default: the gallery's)."),
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="Subject label for every face enrolled.")
    ] = None,
    subject_from_folder: Annotated[
        bool, typer.Option("--subject-from-folder", help="Subject = the folder holding each file.")
    ] = False,
    source_uri: Annotated[
        str | None, typer.Option(help="Provenance URI (default: each file's path).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: cores).", min=1)
    ] = None,
    collected_at: Annotated[
        str | None,
        typer.Option(
            help="When the images were collected (ISO 8601 date or time, UTC unless it names "
            "a zone); the gallery's retention period counts from it. Default: now."
        ),
    ] = None,
    json_out: Json = False,
) -> None:
    """Enroll images: every face is detected, embedded, quality-checked and indexed.

    Images already in the gallery (same sha256) are skipped, so an interrupted run resumes.
    """
    if subject and subject_from_folder:
        raise FaceSearchError("use either --subject or --subject-from-folder, not both")
    for path in paths:
        if not path.exists():
            raise FaceSearchError(f"no such file or folder: {path}")
    settings = _settings()
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    from facesearch.service import FaceSearch

    with FaceSearch(settings) as engine:
        summary = engine.enroll_paths(
            paths,
            gallery=gallery,
            subject=subject,
            subject_from_folder=subject_from_folder,
            source_uri=source_uri,
            legal_basis=legal_basis,
            collected_at=common.parse_time("collected-at", collected_at),
            progress=not json_out and sys.stderr.isatty(),
            context=operator(),
        )
    if json_out:
        output.print_json(summary)
    else:
        output.print_table(
            "Enrollment",
            ["", "count"],
            [
                ["files found", summary.files],
                ["images enrolled", summary.images],
                ["faces enrolled", summary.faces],
                ["images already enrolled (skipped)", summary.skipped_existing],
                ["images without a face", summary.images_without_faces],
                ["faces rejected for quality", summary.faces_rejected],
                ["files skipped (no image)", len(summary.skipped)],
                ["errors", len(summary.errors)],
                ["seconds", f"{summary.seconds:.1f}"],
            ],
        )
        if summary.skipped:
            output.print_table(
                "Skipped (no image)", ["file", "reason"], [list(s) for s in summary.skipped]
            )
    for failed_path, message in summary.errors:  # on stderr with --json too
        output.error(f"{failed_path}: {message}")
    raise typer.Exit(code=_enroll_exit_code(paths, summary))


def _enroll_exit_code(paths: list[Path], summary: EnrollSummary) -> int:
    """0: every image found reached an outcome; 1: some did, some failed; 2: no image was
    found, or every one failed for a reason of its own (bad input); 3: every one failed
    and some of them in facesearch itself (server side)."""
    if summary.errors:
        if summary.processed:
            return 1
        return 3 if summary.server_errors else 2
    if summary.processed == 0:
        where = ", ".join(str(p) for p in paths)
        passed = f" ({len(summary.skipped)} skipped, listed above)" if summary.skipped else ""
        output.error(f"no image found in {where}{passed}")
        return 2
    return 0


# --- search and verify ----------------------------------------------------------------
@app.command("search")
def search(
    image: Annotated[Path, typer.Argument(help="Probe photo.")],
    purpose: Purpose,
    case: Case,
    authorization: Authorization,
    k: Annotated[int | None, typer.Option("--k", "-k", help="Candidates per face.")] = None,
    gallery: Annotated[
        list[str] | None, typer.Option("--gallery", "-g", help="Search only these galleries.")
    ] = None,
    all_faces: Annotated[
        bool, typer.Option("--all-faces", help="Search every face, not just the largest.")
    ] = False,
    threshold: Annotated[
        float | None, typer.Option(help="Minimum similarity (default: the search threshold).")
    ] = None,
    json_out: Json = False,
) -> None:
    """Search a probe photo; candidates are investigative leads, not identifications.

    The search, its purpose, case and authorization, the probe's sha256 and every candidate
    returned are recorded in the audit log (actor cli:<user>) before results are shown.
    """
    data = read(image)
    context = operator(purpose=purpose, case=case, authorization=authorization)
    with _engine() as engine:
        result = engine.search(
            data,
            k=k,
            galleries=gallery,
            all_faces=all_faces,
            threshold=threshold,
            context=context,
        )
    if json_out:
        output.print_json({"notice": LEAD_DISCLAIMER, **output.to_jsonable(result)})
        return
    output.info(
        f"searched {result.gallery_size} faces in {', '.join(result.galleries) or '(none)'} "
        f"with {result.model_id}; threshold {result.threshold:.4f} (estimated FMR "
        f"{result.threshold_fmr:.1e}; chance of any false candidate at this gallery size "
        f"{result.threshold_fpir:.1%})"
    )
    for n, face in enumerate(result.faces, start=1):
        b = face.box
        output.print_table(
            f"Probe face {n} at ({b.x1:.0f},{b.y1:.0f},{b.x2:.0f},{b.y2:.0f}), "
            f"quality {face.quality.score:.2f}: {len(face.candidates)} candidates",
            [
                "rank",
                "similarity",
                "FMR",
                "expected others",
                "subject",
                "gallery",
                "face id",
                "source",
                "quality",
            ],
            [
                [
                    c.rank,
                    f"{c.similarity:.4f}",
                    f"{c.fmr:.1e}",
                    f"{c.expected_false_candidates:.2g}",
                    c.subject,
                    c.gallery,
                    c.face_id,
                    c.source_uri,
                    f"{c.quality.score:.2f}",
                ]
                for c in face.candidates
            ],
        )
    output.info(
        "Candidates are investigative leads, not identifications. FMR: the share of "
        "comparisons of two different people that score this high; expected others: how many "
        f"such faces a search of {result.gallery_size} faces is expected to turn up this high."
    )
    output.info(f"Calibration: {result.calibration}")
    output.info(LEAD_DISCLAIMER)


@app.command("verify")
def verify(
    image_a: Annotated[Path, typer.Argument(help="First photo.")],
    image_b: Annotated[Path, typer.Argument(help="Second photo.")],
    purpose: Purpose,
    case: Case,
    authorization: Authorization,
    json_out: Json = False,
) -> None:
    """Compare the largest face of two photos (1:1); audited like a search."""
    a, b = read(image_a), read(image_b)
    context = operator(purpose=purpose, case=case, authorization=authorization)
    with _engine() as engine:
        result = engine.verify(a, b, context=context)
    if json_out:
        output.print_json(result)
        return
    verdict = "at or above" if result.above_threshold else "below"
    output.info(
        f"similarity {result.similarity:.4f} (estimated FMR {result.fmr:.1e}) is "
        f"{verdict} the verify threshold {result.threshold:.4f} (set for an FMR of "
        f"{result.threshold_fmr:.0e}; {result.model_id})"
    )


# --- subjects and faces ---------------------------------------------------------------
@subjects_app.command("list")
def subjects_list(
    gallery: Annotated[str | None, typer.Option("--gallery", "-g")] = None, json_out: Json = False
) -> None:
    """List subjects (optionally of one gallery)."""
    with _engine() as engine:
        records = engine.list_subjects(gallery)
    if json_out:
        output.print_json(records)
        return
    output.print_table(
        "Subjects",
        ["id", "gallery", "label", "external reference", "faces"],
        [[s.id, s.gallery_name, s.label, s.external_reference, s.n_faces] for s in records],
    )


@faces_app.command("list")
def faces_list(
    gallery: Annotated[str | None, typer.Option("--gallery", "-g")] = None,
    subject: Annotated[str | None, typer.Option("--subject")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    json_out: Json = False,
) -> None:
    """List enrolled faces."""
    with _engine() as engine:
        records = engine.list_faces(gallery=gallery, subject=subject, limit=limit, offset=offset)
    if json_out:
        output.print_json(records)
        return
    output.print_table(
        "Faces",
        ["id", "gallery", "subject", "image", "box", "quality", "model", "source"],
        [
            [
                f.id,
                f.gallery_name,
                f.subject_label,
                f.image_id,
                f"{f.box.x1:.0f},{f.box.y1:.0f},{f.box.x2:.0f},{f.box.y2:.0f}",
                f"{f.quality.score:.2f}",
                f.model_id,
                f.source_uri,
            ]
            for f in records
        ],
    )


@faces_app.command("delete")
def faces_delete(
    face_ids: Annotated[list[int], typer.Argument(help="Face ids.")],
) -> None:
    """Delete faces from the store and the index."""
    with _engine() as engine:
        deleted = engine.delete_faces(face_ids, context=operator())
    missing = sorted(set(face_ids) - set(deleted))
    if deleted:
        output.info(f"deleted {len(deleted)} face(s): {', '.join(map(str, deleted))}")
    if missing:
        message = f"no face with id {', '.join(map(str, missing))}"
        if not deleted:  # nothing done: an unknown id is bad input
            raise FaceSearchError(message)
        output.error(message)
        raise typer.Exit(code=1)  # a partial failure: the others are deleted


# --- index ----------------------------------------------------------------------------
@index_app.command("status")
def index_status(json_out: Json = False) -> None:
    """Compare the vector index with the store."""
    with _engine() as engine:
        status = engine.index_status()
        report = engine.reconcile_report
    if json_out:
        output.print_json({"status": status, "in_sync": status.in_sync, "on_open": report})
        return
    output.print_table(
        f"Index {status.model_id} ({status.backend})",
        ["", "index", "store"],
        [
            ["faces", status.n_index, status.n_store],
            ["highest face id", status.max_face_id_index, status.max_face_id_store],
            ["deletion seq", status.deletion_seq_index, status.deletion_seq_store],
        ],
    )
    output.info(
        f"{'in sync' if status.in_sync else 'OUT OF SYNC'}; on open: {report.action} "
        f"({report.reason}, +{report.added} -{report.removed}); path {status.path}"
    )


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Rebuild the vector index from the store, streaming its embeddings in batches."""
    with _engine() as engine, output.progress_bar("rebuilding the index") as progress:
        report = engine.rebuild_index(progress=progress)
    output.info(f"rebuilt: {report.added} faces indexed")


# --- plumbing -------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure becomes one line on stderr and a non-zero exit.

    Exit codes (README, "A worked example (CLI)"): 0 all done; 1 a partial failure (some
    files of an ``enroll`` or ids of a ``faces delete`` failed, the rest was done), a
    check that found a fault (``audit verify``, ``calibrate``) or a declined confirmation;
    2 bad input or unknown names and ids (usage errors included); 3 a failure of
    facesearch itself (store, index, models, settings, anything unexpected); 130 when
    interrupted.

    A failed write that left no audit event with its code is audited here
    (:func:`_audit_refusal`); when that fails, the same line says so."""

    command = trail.RequestTrail(action=_command_action(argv if argv is not None else sys.argv[1:]))
    token = trail.begin(command)
    try:
        _run(argv, command)
    finally:
        trail.end(token)


def _command_action(argv: list[str]) -> str:
    """``cli.<group>.<command>`` of the command ``argv`` names (its audit action)."""
    words: list[str] = []
    current: Any = typer.main.get_command(app)
    for token in argv:
        commands = getattr(current, "commands", None)
        if not commands or token not in commands:
            continue  # an option, an option's value or an argument
        words.append(token)
        current = commands[token]
    return ".".join(["cli", *words])[:64]


def _audit_refusal(command: trail.RequestTrail, err: FaceSearchError) -> str:
    """Append the refusal of a write command (one that asked for the operator's context)
    unless an event with its code is on record. Returns what to add to the error's one
    line: nothing, or that the refusal could not be audited (and why)."""
    if command.context is None or err.code in command.outcomes:
        return ""
    if isinstance(err, AuditUnavailable):
        return ""  # the log is what failed: nothing can be recorded
    event = command.context.event(
        command.action or "cli", outcome=err.code, details={"error": err.message}
    )
    try:
        with common.engine() as engine:
            engine.audit.record(event)
    except FaceSearchError as audit_err:
        return f" (and the refusal could not be audited: {audit_err.message})"
    return ""


def _run(argv: list[str] | None, command: trail.RequestTrail) -> None:
    try:
        # Outside standalone mode click *returns* the code of a ``typer.Exit`` instead of
        # exiting with it; a command's non-zero verdict must still reach the shell.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except FaceSearchError as err:
        # one line, and the exit code of the error itself: bad input stays 2 even when
        # its refusal could not be audited (the line says so)
        unaudited = _audit_refusal(command, err)
        output.error(err.message + unaudited)
        sys.exit(2 if err.http_status < 500 else 3)
    except typer.Abort:
        output.error("aborted")
        sys.exit(1)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except typer.TyperException as err:
        if type(err).__name__ == "NoArgsIsHelpError":
            err.show()  # type: ignore[attr-defined]
        else:
            output.error(err.format_message().replace("\n", " ") + " (see --help)")
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        output.error("interrupted")
        sys.exit(130)
    except Exception as err:  # never a traceback for a user; a failure of facesearch
        logging.getLogger(__name__).debug("unexpected failure", exc_info=True)
        output.error(
            f"unexpected {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        )
        sys.exit(3)
