"""Retention (per-gallery periods, expired images, purges) and gallery grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from facesearch.api.deps import GalleryWriter, GrantManager, RetentionManager
from facesearch.api.schemas import GalleryOut
from facesearch.api.schemas_governance import (
    BlindReviewIn,
    GrantIn,
    GrantOut,
    RetentionIn,
    RetentionOut,
)
from facesearch.service.retention import RetentionReport

router = APIRouter(prefix="/api/v1")

GalleryName = Annotated[str, Path(min_length=1, max_length=200, description="A gallery name.")]
UserName = Annotated[str, Path(min_length=1, max_length=200, description="A user name.")]


# --- retention ---------------------------------------------------------------------------
@router.put(
    "/galleries/{name}/retention", tags=["retention"], summary="Set a gallery's retention period"
)
def set_retention(name: GalleryName, body: RetentionIn, caller: RetentionManager) -> GalleryOut:
    """Images of the gallery are purged `retention_days` after they were collected (null:
    kept until deleted). Takes effect at the next purge."""
    record = caller.engine.set_retention(name, body.retention_days, context=caller.context)
    return GalleryOut.of(record)


@router.put(
    "/galleries/{name}/blind-review",
    tags=["galleries"],
    summary="Mark a gallery for blind review (or unmark it)",
)
def set_blind_review(name: GalleryName, body: BlindReviewIn, caller: GalleryWriter) -> GalleryOut:
    """With blind review on, reviewers see the gallery's candidates without gallery name and
    source category (for example booking photos) until they have recorded a judgement.
    Audited (`gallery.blind_review`)."""
    record = caller.engine.set_blind_review(name, body.mask_source_category, context=caller.context)
    return GalleryOut.of(record)


@router.get("/retention/expired", tags=["retention"], summary="List expired images (dry run)")
def expired_images(caller: RetentionManager) -> RetentionOut:
    """What a purge would delete now; nothing is deleted."""
    fs = caller.engine
    return RetentionOut.of(fs.apply_retention(context=caller.context, dry_run=True))


@router.post("/retention/apply", tags=["retention"], summary="Purge expired images now")
def apply_retention(caller: RetentionManager) -> RetentionOut:
    """Deletes every expired image with its faces and thumbnails from the store and the
    index (the deletions are logged), and subjects left without faces; audited as
    `retention.purge` with the counts. The server also does this every
    `retention.interval_s` seconds."""
    report: RetentionReport = caller.engine.apply_retention(context=caller.context)
    return RetentionOut.of(report)


# --- grants ------------------------------------------------------------------------------
@router.get("/grants", tags=["grants"], summary="List gallery grants")
def list_grants(
    caller: GrantManager,
    user: Annotated[str | None, Query(max_length=200, description="Only this user's.")] = None,
    gallery: Annotated[
        str | None, Query(max_length=200, description="Only this gallery's.")
    ] = None,
) -> list[GrantOut]:
    return [GrantOut.of(g) for g in caller.engine.list_grants(user=user, gallery=gallery)]


@router.post(
    "/grants",
    tags=["grants"],
    summary="Grant a user the right to search a gallery",
    status_code=status.HTTP_201_CREATED,
)
def add_grant(body: GrantIn, caller: GrantManager) -> GrantOut:
    """A search by this user may then name the gallery, and searches naming none cover it."""
    return GrantOut.of(caller.engine.grant(body.user, body.gallery, context=caller.context))


@router.delete(
    "/grants/{user}/{gallery}", tags=["grants"], summary="Withdraw a user's grant on a gallery"
)
def remove_grant(user: UserName, gallery: GalleryName, caller: GrantManager) -> GrantOut:
    return GrantOut.of(caller.engine.revoke_grant(user, gallery, context=caller.context))
