"""Galleries, subjects, images (enrollment) and faces."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status

from facesearch.api.deps import (
    CatalogReader,
    Deleter,
    Enroller,
    GalleryWriter,
    catalog_scope,
    check_gallery_scope,
)
from facesearch.api.schemas.catalog import (
    DeletedOut,
    EnrolledFile,
    EnrollOut,
    ErrorDetail,
    GalleryIn,
    GalleryOut,
    ImageOut,
    RejectedFaceOut,
    SubjectOut,
)
from facesearch.api.schemas.faces import FaceOut
from facesearch.api.uploads import read_image
from facesearch.errors import FaceSearchError, InvalidInput, NotFound

router = APIRouter(prefix="/api/v1")

FaceId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A face id.")]
ImageId = Annotated[int, Path(ge=1, le=2**31 - 1, description="An image id.")]
GalleryName = Annotated[str, Path(min_length=1, max_length=200, description="A gallery name.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Most items to return.")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip.")]


# --- galleries ---------------------------------------------------------------------------
@router.get("/galleries", tags=["galleries"], summary="List galleries")
def list_galleries(caller: CatalogReader) -> list[GalleryOut]:
    """Every gallery; an investigator sees only the galleries granted to them."""
    scope = catalog_scope(caller)
    galleries = caller.engine.list_galleries()
    return [GalleryOut.of(g) for g in galleries if scope is None or g.name in scope]


@router.post(
    "/galleries",
    tags=["galleries"],
    summary="Create a gallery",
    status_code=status.HTTP_201_CREATED,
)
def create_gallery(body: GalleryIn, caller: GalleryWriter) -> GalleryOut:
    """A gallery holds lawfully held photos; its legal basis says why they may be searched."""
    record = caller.engine.create_gallery(
        body.name,
        legal_basis=body.legal_basis,
        description=body.description,
        source_category=body.source_category,
        retention_days=body.retention_days,
        context=caller.context,
    )
    return GalleryOut.of(record)


@router.get("/galleries/{name}", tags=["galleries"], summary="Read a gallery")
def get_gallery(name: GalleryName, caller: CatalogReader) -> GalleryOut:
    name = check_gallery_scope(catalog_scope(caller), name, f"gallery {name!r} not found")
    return GalleryOut.of(caller.engine.store.catalog.get_gallery(name))


@router.delete("/galleries/{name}", tags=["galleries"], summary="Delete a gallery")
def delete_gallery(name: GalleryName, caller: GalleryWriter) -> DeletedOut:
    """Deletes the gallery with its subjects, images and faces, from the store and the index."""
    return DeletedOut(deleted_face_ids=caller.engine.delete_gallery(name, context=caller.context))


# --- subjects ----------------------------------------------------------------------------
@router.get("/galleries/{name}/subjects", tags=["subjects"], summary="List a gallery's subjects")
def list_gallery_subjects(name: GalleryName, caller: CatalogReader) -> list[SubjectOut]:
    name = check_gallery_scope(catalog_scope(caller), name, f"gallery {name!r} not found")
    return [SubjectOut.of(s) for s in caller.engine.list_subjects(name)]


@router.get("/subjects", tags=["subjects"], summary="List subjects")
def list_subjects(
    caller: CatalogReader,
    gallery: Annotated[str | None, Query(max_length=200, description="Only this gallery.")] = None,
) -> list[SubjectOut]:
    scope = catalog_scope(caller)
    if gallery is not None:
        gallery = check_gallery_scope(scope, gallery, f"gallery {gallery!r} not found")
    subjects = caller.engine.list_subjects(gallery)
    return [SubjectOut.of(s) for s in subjects if scope is None or s.gallery_name in scope]


@router.delete(
    "/galleries/{name}/subjects/{label}", tags=["subjects"], summary="Delete a subject's faces"
)
def delete_subject(
    name: GalleryName,
    label: Annotated[str, Path(min_length=1, max_length=200)],
    caller: Deleter,
) -> DeletedOut:
    """Deletes the subject and its faces (their images stay, with their other faces)."""
    ids = caller.engine.delete_subject(name, label, context=caller.context)
    return DeletedOut(deleted_face_ids=ids)


# --- images ------------------------------------------------------------------------------
@router.post("/galleries/{name}/images", tags=["images"], summary="Enroll images")
def enroll_images(
    name: GalleryName,
    caller: Enroller,
    files: Annotated[list[UploadFile], File(description="One or more image files.")],
    legal_basis: Annotated[
        str | None,
        Form(
            max_length=2000,
            description="Legal basis for these images (default: gallery's).",
            examples=["newsroom archive, editorial use"],
        ),
    ] = None,
    source_uri: Annotated[
        str | None,
        Form(
            max_length=2000,
            description="Provenance of the images (default: upload:<name>).",
            examples=["archive://box-12/scan-0042"],
        ),
    ] = None,
    subject: Annotated[
        str | None,
        Form(
            max_length=200,
            description="Enroll the largest face of each file as this subject.",
            examples=["Alice Example"],
        ),
    ] = None,
    subject_reference: Annotated[
        str | None,
        Form(
            max_length=200,
            description="The subject's external reference.",
            examples=["ARCH-PERSON-0005"],
        ),
    ] = None,
    captured_at: Annotated[
        datetime | None,
        Form(
            description="When the photos were taken (ISO 8601).",
            examples=["1998-06-02T00:00:00Z"],
        ),
    ] = None,
    collected_at: Annotated[
        datetime | None,
        Form(
            description="When the photos were collected (ISO 8601, not in the future); the "
            "gallery's retention period counts from it. Default: now.",
            examples=["2026-01-05T10:00:00Z"],
        ),
    ] = None,
) -> EnrollOut:
    """Every face is detected, embedded, quality-checked, stored and indexed; each file has its
    own outcome (a file that fails does not stop the others). Each image is audited. A
    sensitive identifier in a field shared by the files (subject, subject_reference,
    source_uri, legal_basis) refuses the whole request with 422; one in a file's name (the
    default source URI) fails that file."""
    fs = caller.engine
    gallery = fs.store.catalog.get_gallery(name)
    if len(files) > fs.settings.api.max_files:
        raise InvalidInput(f"at most {fs.settings.api.max_files} files per request")
    if captured_at is not None and captured_at.tzinfo is None:
        raise InvalidInput("captured_at needs a time zone (e.g. 2024-05-01T12:00:00Z)")
    if collected_at is not None and collected_at.tzinfo is None:
        raise InvalidInput("collected_at needs a time zone (e.g. 2024-05-01T12:00:00Z)")
    subject = (subject or "").strip() or None  # as galleries and users: ends trimmed
    # fields shared by every file: a label no URL can carry or a sensitive identifier
    # fails the request (422 naming the field), before any file is read
    fs.check_enroll_request(
        gallery=gallery.name,
        subject=subject,
        subject_reference=subject_reference or None,
        source_uri=source_uri or None,
        legal_basis=legal_basis or None,
        context=caller.context,
    )
    out: list[EnrolledFile] = []
    for upload in files:
        filename = (upload.filename or "upload")[:200]
        try:
            data = read_image(upload, fs.settings)
            result = fs.enroll(
                data,
                gallery=gallery.name,
                subject=subject or None,
                subject_reference=subject_reference or None,
                source_uri=source_uri or f"upload:{filename}",
                legal_basis=legal_basis or None,
                captured_at=captured_at,
                collected_at=collected_at,
                context=caller.context,
            )
        except FaceSearchError as err:
            out.append(
                EnrolledFile(
                    filename=filename,
                    outcome="failed",
                    error=ErrorDetail(code=err.code, message=err.message),
                )
            )
            continue
        out.append(
            EnrolledFile(
                filename=filename,
                outcome="enrolled",
                image_id=result.image_id,
                sha256=result.sha256,
                face_ids=list(result.face_ids),
                rejected=[RejectedFaceOut.of(r) for r in result.rejected],
            )
        )
    enrolled = sum(f.outcome == "enrolled" for f in out)
    return EnrollOut(gallery=gallery.name, enrolled=enrolled, failed=len(out) - enrolled, files=out)


@router.get("/images/{image_id}", tags=["images"], summary="Read an image's provenance")
def get_image(image_id: ImageId, caller: CatalogReader) -> ImageOut:
    record = caller.engine.store.catalog.get_image(image_id)
    check_gallery_scope(catalog_scope(caller), record.gallery_name, f"image {image_id} not found")
    return ImageOut.of(record)


@router.delete("/images/{image_id}", tags=["images"], summary="Delete an image and its faces")
def delete_image(image_id: ImageId, caller: Deleter) -> DeletedOut:
    return DeletedOut(deleted_face_ids=caller.engine.delete_image(image_id, context=caller.context))


# --- faces -------------------------------------------------------------------------------
@router.get("/faces", tags=["faces"], summary="List faces")
def list_faces(
    caller: CatalogReader,
    gallery: Annotated[str | None, Query(max_length=200, description="Only this gallery.")] = None,
    subject: Annotated[
        str | None, Query(max_length=200, description="Only this subject label.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[FaceOut]:
    scope = catalog_scope(caller)
    if scope is not None and gallery is None:
        records = caller.engine.store.catalog.list_faces(
            galleries=sorted(scope), subject=subject, limit=limit, offset=offset
        )
    else:
        if scope is not None and gallery is not None:
            gallery = check_gallery_scope(scope, gallery, f"gallery {gallery!r} not found")
        records = caller.engine.list_faces(
            gallery=gallery, subject=subject, limit=limit, offset=offset
        )
    return [FaceOut.of(f) for f in records]


@router.get("/faces/{face_id}", tags=["faces"], summary="Read a face")
def get_face(face_id: FaceId, caller: CatalogReader) -> FaceOut:
    record = caller.engine.get_face(face_id)
    check_gallery_scope(catalog_scope(caller), record.gallery_name, f"face {face_id} not found")
    return FaceOut.of(record)


@router.get(
    "/faces/{face_id}/thumbnail",
    tags=["faces"],
    summary="A face's thumbnail (JPEG)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The JPEG thumbnail."}},
)
def face_thumbnail(face_id: FaceId, caller: CatalogReader) -> Response:
    scope = catalog_scope(caller)
    if scope is not None:
        gallery = caller.engine.get_face(face_id).gallery_name
        check_gallery_scope(scope, gallery, f"face {face_id} not found")
    data = caller.engine.store.catalog.get_thumbnail(face_id)
    return Response(content=data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.delete("/faces/{face_id}", tags=["faces"], summary="Delete a face")
def delete_face(face_id: FaceId, caller: Deleter) -> DeletedOut:
    deleted = caller.engine.delete_faces([face_id], context=caller.context)
    if not deleted:
        raise NotFound(f"face {face_id} not found")
    return DeletedOut(deleted_face_ids=deleted)
