"""``facesearch retention``, ``facesearch grants`` and ``facesearch groups``: retention
periods and purges, and who may search which gallery (users directly, or through groups).

The command line acts as the local operator (``cli:<os user>``), who holds the data folder
and so every right: its own searches are not restricted by grants (they are audited like
every other). Grants restrict the users of the API and web UI.
"""

from __future__ import annotations

from typing import Annotated

import typer

from facesearch.cli import common, output
from facesearch.cli.common import Json, operator
from facesearch.errors import FaceSearchError
from facesearch.service.retention import RetentionReport

retention_app = typer.Typer(
    help="Retention: per-gallery periods; list and purge images past them.",
    no_args_is_help=True,
)
grants_app = typer.Typer(
    help="Gallery grants: which users of the API and web UI may search which gallery.",
    no_args_is_help=True,
)

groups_app = typer.Typer(
    help="Groups of users: a gallery granted to a group may be searched by each member.",
    no_args_is_help=True,
)

Gallery = Annotated[str, typer.Argument(help="A gallery name.")]
User = Annotated[str, typer.Argument(help="A user name.")]
Group = Annotated[str, typer.Argument(help="A group name.")]


def _show(report: RetentionReport, json_out: bool) -> None:
    if json_out:
        output.print_json(report)
        return
    verb = "would delete" if report.dry_run else "deleted"
    output.info(
        f"retention as of {report.now:%Y-%m-%d %H:%M:%S} UTC: {verb} {len(report.images)} "
        f"image(s) holding {report.n_faces} face(s)"
    )
    if report.images:
        output.print_table(
            "Expired images" if report.dry_run else "Purged images",
            ["image", "gallery", "collected", "expired", "faces"],
            [
                [
                    i.image_id,
                    i.gallery_name,
                    f"{i.collected_at:%Y-%m-%d %H:%M}",
                    f"{i.expires_at:%Y-%m-%d %H:%M}",
                    i.n_faces,
                ]
                for i in report.images
            ],
        )


@retention_app.command("apply")
def retention_apply(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
    json_out: Json = False,
) -> None:
    """Delete every image past its gallery's retention period, with its faces and
    thumbnails, from the store and the index (audited as retention.purge)."""
    with common.engine() as engine:
        report = engine.apply_retention(context=operator(), dry_run=dry_run)
    _show(report, json_out)


@retention_app.command("set")
def retention_set(
    gallery: Gallery,
    days: Annotated[
        int | None,
        typer.Argument(help="Days an image is kept after it was collected.", min=1, max=36_500),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="No retention period: keep images until deleted.")
    ] = False,
) -> None:
    """Set a gallery's retention period (DAYS, or --keep)."""
    if (days is None) == (not keep):
        raise FaceSearchError("give either DAYS or --keep")
    with common.engine() as engine:
        record = engine.set_retention(gallery, None if keep else days, context=operator())
    period = f"{record.retention_days} days" if record.retention_days else "kept until deleted"
    output.info(f"gallery {record.name!r}: {period}")


@grants_app.command("add")
def grants_add(user: User, gallery: Gallery) -> None:
    """Let USER search GALLERY."""
    with common.engine() as engine:
        engine.grant(user, gallery, context=operator())
    output.info(f"{user} may search gallery {gallery!r}")


@grants_app.command("remove")
def grants_remove(user: User, gallery: Gallery) -> None:
    """Withdraw USER's grant on GALLERY."""
    with common.engine() as engine:
        engine.revoke_grant(user, gallery, context=operator())
    output.info(f"{user} may no longer search gallery {gallery!r}")


@grants_app.command("list")
def grants_list(
    user: Annotated[str | None, typer.Option(help="Only this user's grants.")] = None,
    gallery: Annotated[str | None, typer.Option(help="Only this gallery's grants.")] = None,
    json_out: Json = False,
) -> None:
    """List gallery grants."""
    with common.engine() as engine:
        grants = engine.list_grants(user=user, gallery=gallery)
    if json_out:
        output.print_json(grants)
        return
    output.print_table(
        "Gallery grants",
        ["user", "gallery", "granted by", "since"],
        [[g.user_name, g.gallery_name, g.granted_by, f"{g.created_at:%Y-%m-%d}"] for g in grants],
    )


@groups_app.command("create")
def groups_create(name: Group) -> None:
    """Create an empty group NAME."""
    with common.engine() as engine:
        group = engine.create_group(name, context=operator())
    output.info(f"created group {group.name!r}")


@groups_app.command("delete")
def groups_delete(name: Group) -> None:
    """Delete group NAME with its memberships and grants (members keep their own grants)."""
    with common.engine() as engine:
        group = engine.delete_group(name, context=operator())
    output.info(
        f"deleted group {group.name!r} ({len(group.members)} member(s), "
        f"{len(group.galleries)} gallery grant(s))"
    )


@groups_app.command("add-member")
def groups_add_member(group: Group, user: User) -> None:
    """Add USER to GROUP."""
    with common.engine() as engine:
        engine.add_group_member(group, user, context=operator())
    output.info(f"{user} is a member of group {group!r}")


@groups_app.command("remove-member")
def groups_remove_member(group: Group, user: User) -> None:
    """Remove USER from GROUP."""
    with common.engine() as engine:
        engine.remove_group_member(group, user, context=operator())
    output.info(f"{user} is no longer a member of group {group!r}")


@groups_app.command("grant")
def groups_grant(group: Group, gallery: Gallery) -> None:
    """Let every member of GROUP search GALLERY."""
    with common.engine() as engine:
        engine.grant_group(group, gallery, context=operator())
    output.info(f"members of group {group!r} may search gallery {gallery!r}")


@groups_app.command("revoke")
def groups_revoke(group: Group, gallery: Gallery) -> None:
    """Withdraw GROUP's grant on GALLERY."""
    with common.engine() as engine:
        engine.revoke_group_grant(group, gallery, context=operator())
    output.info(f"group {group!r} may no longer search gallery {gallery!r}")


@groups_app.command("list")
def groups_list(
    user: Annotated[str | None, typer.Option(help="Only the groups of this user.")] = None,
    json_out: Json = False,
) -> None:
    """List groups with their members and the galleries granted to them."""
    with common.engine() as engine:
        groups = engine.list_groups(user=user)
    if json_out:
        output.print_json(groups)
        return
    output.print_table(
        "Groups",
        ["group", "members", "galleries", "created by", "since"],
        [
            [
                g.name,
                ", ".join(g.members),
                ", ".join(g.galleries),
                g.created_by,
                f"{g.created_at:%Y-%m-%d}",
            ]
            for g in groups
        ],
    )
