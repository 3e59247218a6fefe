"""Erasure by face: file a request with a photo, review the proposed faces, confirm or
cancel; the suppression list's provenance."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status

from facesearch.api.deps import ErasureManager, ErasureReader
from facesearch.api.schemas.privacy import (
    ErasureConfirmedOut,
    ErasureConfirmIn,
    ErasureOut,
    SuppressionOut,
)
from facesearch.api.uploads import read_image

router = APIRouter(prefix="/api/v1", tags=["erasure"])

RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="An erasure request id.")]


@router.post(
    "/erasures",
    summary="File an erasure request (a photo of the requester)",
    status_code=status.HTTP_201_CREATED,
)
def request_erasure(
    caller: ErasureManager,
    photo: Annotated[UploadFile, File(description="A photo of the requester.")],
    reference: Annotated[
        str,
        Form(
            min_length=1,
            max_length=200,
            description="The request's reference.",
            examples=["ER-2026-007"],
        ),
    ],
    note: Annotated[
        str,
        Form(
            max_length=4000,
            description="Free text (no identifiers).",
            examples=["request received by post, identity checked at the desk"],
        ),
    ] = "",
) -> ErasureOut:
    """Compares the requester's largest face with every enrolled face and proposes those at
    or above the erasure threshold (`privacy.erasure_target_fmr`) for confirmation. Nothing
    is deleted yet; the photo is not kept, only the face's embedding until the request is
    confirmed (then it joins the suppression list) or cancelled (then it is wiped)."""
    fs = caller.engine
    view = fs.request_erasure(
        read_image(photo, fs.settings), reference=reference, note=note, context=caller.context
    )
    return ErasureOut.of(view.request, view)


@router.get("/erasures", summary="List erasure requests")
def list_erasures(
    caller: ErasureReader,
    status: Annotated[
        Literal["pending", "completed", "cancelled"] | None,
        Query(description="Only requests of this status."),
    ] = None,
) -> list[ErasureOut]:
    return [ErasureOut.of(r) for r in caller.engine.list_erasures(status)]


@router.get("/erasures/{request_id}", summary="Read an erasure request and its proposed faces")
def get_erasure(request_id: RequestId, caller: ErasureReader) -> ErasureOut:
    view = caller.engine.erasure(request_id)
    return ErasureOut.of(view.request, view)


@router.post("/erasures/{request_id}/confirm", summary="Confirm an erasure request")
def confirm_erasure(
    request_id: RequestId, caller: ErasureManager, body: ErasureConfirmIn | None = None
) -> ErasureConfirmedOut:
    """Deletes the proposed faces (or `face_ids` among them) with their images, thumbnails
    and review judgements from the store and the index, and puts the requester on the
    suppression list: from then on their face is refused at enrollment and never returned
    by a search. Faces not erased but as close to the requester stay stored and are hidden
    from every search too: `kept_faces_hidden_by_suppression` counts them.

    409 when faces were enrolled since the request was filed that are as close to the
    requester: they are added to the request's proposals; review them and confirm again."""
    fs = caller.engine
    face_ids = body.face_ids if body is not None else None
    done = fs.confirm_erasure(request_id, face_ids=face_ids, context=caller.context)
    return ErasureConfirmedOut.of_confirmation(done)


@router.post("/erasures/{request_id}/cancel", summary="Cancel an erasure request")
def cancel_erasure(request_id: RequestId, caller: ErasureManager) -> ErasureOut:
    """Nothing is deleted; the requester's embedding is wiped."""
    return ErasureOut.of(caller.engine.cancel_erasure(request_id, context=caller.context))


@router.get("/suppressions", summary="List the suppression list's entries (no vectors)")
def list_suppressions(caller: ErasureReader) -> list[SuppressionOut]:
    return [SuppressionOut.of(s) for s in caller.engine.list_suppressions()]
