"""``facesearch erasure``: erasure by face and the suppression list, for a local curator.

The command line acts as the local operator (``cli:<os user>``), who holds the data folder
and so every right; each step is audited like the API's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from facesearch.cli import common, output
from facesearch.cli.common import Json, operator, read
from facesearch.service.privacy import ErasureView
from facesearch.store import ErasureRecord

erasure_app = typer.Typer(
    help="Erasure by face: file a request with the requester's photo, review the faces it "
    "proposes, confirm or cancel; list the suppression list.",
    no_args_is_help=True,
)

RequestId = Annotated[int, typer.Argument(help="The erasure request's id.", min=1)]


def _show(view: ErasureView, json_out: bool) -> None:
    r = view.request
    if json_out:
        output.print_json(view)
        return
    output.info(
        f"erasure request {r.id} ({r.reference}): {r.status}; "
        f"{len(view.faces)} face(s) at similarity >= {r.threshold:.4f} (FMR {r.target_fmr:g})"
    )
    output.print_table(
        f"Faces proposed by erasure request {r.id}",
        ["face", "similarity", "found via", "gallery", "subject", "image", "source"],
        [
            [
                f.face_id,
                f"{f.similarity:.4f}",
                "requester" if f.via is None else f"face {f.via}",
                f.face.gallery_name if f.face else "(gone)",
                f.face.subject_label if f.face else "",
                f.face.image_id if f.face else "",
                f.face.source_uri if f.face else "",
            ]
            for f in view.faces
        ],
    )


def _summary(record: ErasureRecord) -> str:
    return (
        f"erasure request {record.id} ({record.reference}): {record.status}; "
        f"{len(record.erased_face_ids)} face(s) erased"
    )


@erasure_app.command("request")
def erasure_request(
    photo: Annotated[Path, typer.Argument(help="A photo of the requester (not kept).")],
    reference: Annotated[str, typer.Option(help="The request's reference.")],
    note: Annotated[str, typer.Option(help="Free text (no identifiers).")] = "",
    json_out: Json = False,
) -> None:
    """File a request: list the faces it proposes for erasure (nothing is deleted yet)."""
    with common.engine() as engine:
        view = engine.request_erasure(
            read(photo), reference=reference, note=note, context=operator()
        )
    _show(view, json_out)
    if not json_out:
        output.info(f"review them, then: facesearch erasure confirm {view.request.id}")


@erasure_app.command("show")
def erasure_show(request_id: RequestId, json_out: Json = False) -> None:
    """Show a request and the faces it proposed."""
    with common.engine() as engine:
        view = engine.erasure(request_id)
    _show(view, json_out)


@erasure_app.command("list")
def erasure_list(
    status: Annotated[str | None, typer.Option(help="pending, completed or cancelled.")] = None,
    json_out: Json = False,
) -> None:
    """List erasure requests, newest first."""
    with common.engine() as engine:
        records = engine.list_erasures(status)
    if json_out:
        output.print_json(records)
        return
    output.print_table(
        "Erasure requests",
        ["id", "reference", "status", "proposed", "erased", "by", "filed", "decided by"],
        [
            [
                r.id,
                r.reference,
                r.status,
                len(r.proposed),
                len(r.erased_face_ids),
                r.created_by,
                r.created_at.strftime("%Y-%m-%d %H:%M"),
                r.decided_by or "",
            ]
            for r in records
        ],
    )


@erasure_app.command("confirm")
def erasure_confirm(
    request_id: RequestId,
    face: Annotated[
        list[int] | None,
        typer.Option("--face", help="Erase only this proposed face (repeatable)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    json_out: Json = False,
) -> None:
    """Erase the proposed faces (images and thumbnails too) and suppress the requester.

    Refused when faces were enrolled since the request was filed that are as close to the
    requester: they are added to its proposals; show the request and confirm again."""
    with common.engine() as engine:
        view = engine.erasure(request_id)
        n = len(face) if face else len(view.faces)
        if not yes and not typer.confirm(
            f"erase {n} face(s) for request {view.request.reference} and suppress this person?"
        ):
            raise typer.Abort()
        done = engine.confirm_erasure(request_id, face_ids=face or None, context=operator())
    if json_out:
        output.print_json(done)
    else:
        output.info(_summary(done.record))
        output.info(
            f"{len(done.hidden_face_ids)} kept face(s) stay stored but are hidden from every "
            "search by the suppression"
            + (f": {', '.join(map(str, done.hidden_face_ids))}" if done.hidden_face_ids else "")
        )


@erasure_app.command("cancel")
def erasure_cancel(request_id: RequestId, json_out: Json = False) -> None:
    """Cancel a pending request (nothing is deleted; its embedding is wiped)."""
    with common.engine() as engine:
        record = engine.cancel_erasure(request_id, context=operator())
    if json_out:
        output.print_json(record)
    else:
        output.info(_summary(record))


@erasure_app.command("suppressions")
def suppressions(json_out: Json = False) -> None:
    """List the suppression list's entries (their provenance, never the vectors)."""
    with common.engine() as engine:
        records = engine.list_suppressions()
    if json_out:
        output.print_json(records)
        return
    output.print_table(
        "Suppression list",
        ["id", "request", "reference", "model", "since"],
        [
            [s.id, s.request_id, s.reference, s.model_id, s.created_at.strftime("%Y-%m-%d")]
            for s in records
        ],
    )
