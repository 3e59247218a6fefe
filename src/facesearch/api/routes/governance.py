"""Retention (per-gallery periods, expired images, purges), gallery grants and groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from facesearch.api.deps import GalleryWriter, GrantManager, GroupManager, RetentionManager
from facesearch.api.schemas.catalog import BlindReviewIn, GalleryOut
from facesearch.api.schemas.grants import (
    GrantIn,
    GrantOut,
    GroupGrantIn,
    GroupGrantOut,
    GroupIn,
    GroupMemberIn,
    GroupOut,
)
from facesearch.api.schemas.retention import RetentionIn, RetentionOut
from facesearch.service.retention import RetentionReport

router = APIRouter(prefix="/api/v1")

GalleryName = Annotated[str, Path(min_length=1, max_length=200, description="A gallery name.")]
UserName = Annotated[str, Path(min_length=1, max_length=200, description="A user name.")]
GroupName = Annotated[str, Path(min_length=1, max_length=200, description="A group name.")]


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


# --- groups ------------------------------------------------------------------------------
@router.get("/groups", tags=["groups"], summary="List groups of users")
def list_groups(
    caller: GroupManager,
    user: Annotated[
        str | None, Query(max_length=200, description="Only the groups of this user.")
    ] = None,
) -> list[GroupOut]:
    return [GroupOut.of(g) for g in caller.engine.list_groups(user=user)]


@router.post(
    "/groups",
    tags=["groups"],
    summary="Create a group of users",
    status_code=status.HTTP_201_CREATED,
)
def create_group(body: GroupIn, caller: GroupManager) -> GroupOut:
    """A grant to the group lets each member search the gallery. Audited (`group.create`)."""
    return GroupOut.of(caller.engine.create_group(body.name, context=caller.context))


@router.get("/groups/{name}", tags=["groups"], summary="Read a group")
def get_group(name: GroupName, caller: GroupManager) -> GroupOut:
    return GroupOut.of(caller.engine.get_group(name))


@router.delete("/groups/{name}", tags=["groups"], summary="Delete a group")
def delete_group(name: GroupName, caller: GroupManager) -> GroupOut:
    """Deletes the group with its memberships and grants (members keep their own grants);
    returns the group as it was. Audited (`group.delete`)."""
    return GroupOut.of(caller.engine.delete_group(name, context=caller.context))


@router.post(
    "/groups/{name}/members",
    tags=["groups"],
    summary="Add a user to a group",
    status_code=status.HTTP_201_CREATED,
)
def add_group_member(name: GroupName, body: GroupMemberIn, caller: GroupManager) -> GroupOut:
    """Audited (`group.member.add`)."""
    return GroupOut.of(caller.engine.add_group_member(name, body.user, context=caller.context))


@router.delete(
    "/groups/{name}/members/{user}", tags=["groups"], summary="Remove a user from a group"
)
def remove_group_member(name: GroupName, user: UserName, caller: GroupManager) -> GroupOut:
    """The user loses the group's grants at once (their own stay). Audited
    (`group.member.remove`)."""
    return GroupOut.of(caller.engine.remove_group_member(name, user, context=caller.context))


@router.post(
    "/groups/{name}/grants",
    tags=["grants"],
    summary="Grant a group the right to search a gallery",
    status_code=status.HTTP_201_CREATED,
)
def add_group_grant(name: GroupName, body: GroupGrantIn, caller: GrantManager) -> GroupGrantOut:
    """Each member may then search the gallery. Audited (`grant.add`, target `group:<name>`)."""
    record = caller.engine.grant_group(name, body.gallery, context=caller.context)
    return GroupGrantOut.of(record)


@router.delete(
    "/groups/{name}/grants/{gallery}",
    tags=["grants"],
    summary="Withdraw a group's grant on a gallery",
)
def remove_group_grant(
    name: GroupName, gallery: GalleryName, caller: GrantManager
) -> GroupGrantOut:
    """Audited (`grant.remove`, target `group:<name>`)."""
    record = caller.engine.revoke_group_grant(name, gallery, context=caller.context)
    return GroupGrantOut.of(record)
