"""``facesearch users`` and ``facesearch audit``: accounts, keys and the audit log.

A key is printed exactly once, when it is made; only its hash is stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from facesearch.audit import Anchor
from facesearch.auth.roles import Role
from facesearch.cli import common, output
from facesearch.cli.common import Json, operator
from facesearch.errors import InvalidInput
from facesearch.store import AuditFilter

users_app = typer.Typer(help="Users, roles and API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Read the audit log and verify its hash chain.", no_args_is_help=True)

ROLE_HELP = ", ".join(role.value for role in Role) + " (repeatable)."
"""The ``--role`` help, from the :class:`Role` enum so that it cannot leave a role out."""

Roles = Annotated[list[str] | None, typer.Option("--role", "-r", help=ROLE_HELP)]
Days = Annotated[
    int | None, typer.Option("--days", min=1, max=3650, help="Key lifetime (default: setting).")
]


def _show_key(user: str, prefix: str, secret: str, expires: str, json_out: bool) -> None:
    if json_out:
        output.print_json({"user": user, "prefix": prefix, "key": secret, "expires_at": expires})
        return
    output.info(f"API key for {user!r} (prefix {prefix}, expires {expires}):")
    output.info(secret)
    output.info("It is shown once and stored only as a hash: keep it now.")


@users_app.command("create-admin")
def create_admin(
    name: Annotated[str, typer.Argument(help="User name of the first admin.")] = "admin",
    json_out: Json = False,
) -> None:
    """Make the first admin and print its API key once (refused when any user exists)."""
    with common.engine() as engine:
        user, issued = engine.accounts.create_first_admin(name, context=operator())
    expires = issued.key.expires_at.isoformat() if issued.key.expires_at else "never"
    _show_key(user.name, issued.key.prefix, issued.secret, expires, json_out)


@users_app.command("create")
def create_user(name: str, role: Roles = None, json_out: Json = False) -> None:
    """Create a user with roles (no key: see `users new-key`)."""
    with common.engine() as engine:
        user = engine.accounts.create_user(name, role or [], context=operator())
    if json_out:
        output.print_json(user)
    else:
        output.info(f"created user {user.name!r} with roles {', '.join(user.roles) or '(none)'}")


@users_app.command("update")
def update_user(
    name: str,
    role: Roles = None,
    disable: Annotated[
        bool | None, typer.Option("--disable/--enable", help="Disable or enable the user.")
    ] = None,
    json_out: Json = False,
) -> None:
    """Replace a user's roles and/or disable or enable them."""
    with common.engine() as engine:
        user = engine.accounts.update_user(name, roles=role, disabled=disable, context=operator())
    if json_out:
        output.print_json(user)
    else:
        state = "disabled" if user.disabled else "enabled"
        output.info(f"user {user.name!r}: roles {', '.join(user.roles) or '(none)'}; {state}")


@users_app.command("list")
def list_users(json_out: Json = False) -> None:
    """List users and their roles."""
    with common.engine() as engine:
        users = engine.accounts.list_users()
    if json_out:
        output.print_json(users)
        return
    output.print_table(
        "Users",
        ["name", "roles", "disabled", "created"],
        [[u.name, ", ".join(u.roles), u.disabled, u.created_at.isoformat()] for u in users],
    )


@users_app.command("new-key")
def new_key(
    name: str,
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
    days: Days = None,
    json_out: Json = False,
) -> None:
    """Issue an API key for a user and print it once."""
    with common.engine() as engine:
        issued = engine.accounts.issue_key(
            name, label=label, expires_in_days=days, context=operator()
        )
    expires = issued.key.expires_at.isoformat() if issued.key.expires_at else "never"
    _show_key(name, issued.key.prefix, issued.secret, expires, json_out)


@users_app.command("keys")
def list_keys(
    name: Annotated[str | None, typer.Argument(help="Only this user's keys.")] = None,
    json_out: Json = False,
) -> None:
    """List API keys (prefixes only)."""
    with common.engine() as engine:
        keys = engine.accounts.list_keys(name)
    if json_out:
        output.print_json(keys)
        return
    output.print_table(
        "API keys",
        ["prefix", "user", "label", "expires", "revoked", "last used"],
        [
            [k.prefix, k.user_name, k.label, k.expires_at, k.revoked_at, k.last_used_at]
            for k in keys
        ],
    )


@users_app.command("revoke-key")
def revoke_key(prefix: str) -> None:
    """Revoke an API key by its prefix."""
    with common.engine() as engine:
        key = engine.accounts.revoke_key(prefix, context=operator())
    output.info(f"revoked key {key.prefix} of {key.user_name!r}")


# --- audit ------------------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(
    head: Annotated[
        Path | None,
        typer.Option(
            "--head",
            exists=True,
            dir_okay=False,
            help="Also check the log against a head exported earlier by `audit head`.",
        ),
    ] = None,
    json_out: Json = False,
) -> None:
    """Verify the audit log's hash chain; exit 1 and name the first broken link if broken."""
    exported = None if head is None else _exported_anchor(head)
    with common.engine() as engine:
        report = engine.audit.verify(exported)
    if json_out:
        output.print_json(report)
    elif report.ok:
        output.info(f"audit log intact: {report.events_checked} events, head {report.head_seq}")
        if report.acknowledged_cuts:
            seqs = ", ".join(map(str, report.acknowledged_cuts))
            output.info(f"cuts acknowledged by an operator: events {seqs} (see their details)")
        for note in report.notes:
            output.info(f"the exported head: {note}")
    if not report.ok:
        if not json_out:
            output.error(f"audit log broken at event {report.first_broken_seq}: {report.problem}")
        raise typer.Exit(code=1)


def _exported_anchor(path: Path) -> Anchor:
    """The ``(seq, hash)`` of a head exported by ``audit head`` (JSON)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Anchor(seq=int(data["seq"]), hash=str(data["hash"]))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InvalidInput(f"{path.name} is not a head exported by `audit head`") from err


@audit_app.command("head")
def audit_head() -> None:
    """Print the newest event's seq, hash and time as JSON, to keep elsewhere.

    The anchor file beside the database catches a log cut short, but not someone who
    edits both; sign this output and keep it off this machine (for example
    `facesearch audit head | gpg --clearsign >> heads.asc` from cron), then check the log
    with `audit verify --head FILE`.

    Exits 1 (a check that found a fault), still printing the JSON, when the log's end
    disagrees with its anchor (``anchor_agrees`` false), so a pipeline that ships the
    head fails instead of shipping a cut head unnoticed."""
    with common.engine() as engine:
        exported = engine.audit.head()
    output.print_json(exported)
    if not exported.anchor_agrees:
        output.error(f"the audit log disagrees with its anchor: {exported.problem}")
        raise typer.Exit(code=1)


@audit_app.command("acknowledge-cut")
def audit_acknowledge_cut(
    reason: Annotated[
        str,
        typer.Option(
            "--reason", help="Why, and what was done about it (recorded in the audit log)."
        ),
    ],
    head: Annotated[
        Path | None,
        typer.Option(
            "--head",
            exists=True,
            dir_okay=False,
            help="The newest head exported by `audit head` (kept elsewhere): events after "
            "the log's end that it names are recorded as lost, and never given again.",
        ),
    ] = None,
    json_out: Json = False,
) -> None:
    """Record that the audit log was cut, and let appends resume.

    While the log disagrees with its anchor (newest events deleted or rewritten, the
    anchor missing or unreadable) every audited action is refused. This appends an
    `audit.cut_acknowledged` event by the local operator, holding the reason, the problem,
    the log's end and the anchor as found and the seqs lost; the anchor then names it.
    `audit verify` accepts the recorded gap and lists the acknowledgement. Give `--head`
    when the anchor is missing too: without anchor or export, events cut from the log's
    end cannot be known, and their seqs would be given again."""
    exported = None if head is None else _exported_anchor(head)
    with common.engine() as engine:
        event = engine.audit.acknowledge_cut(reason, context=operator(), exported=exported)
    if json_out:
        output.print_json(event)
        return
    lost = event.details.get("missing_from")
    gone = f"; events {lost} to {event.details.get('missing_to')} are lost" if lost else ""
    output.info(f"cut acknowledged as event {event.seq}{gone}: {event.details['problem']}")


@audit_app.command("list")
def audit_list(
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (search, ...).")] = None,
    case: Annotated[str | None, typer.Option("--case", help="Only this case reference.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    json_out: Json = False,
) -> None:
    """List audit events, newest first."""
    where = AuditFilter(actor=actor, action=action, case_reference=case)
    with common.engine() as engine:
        events = engine.audit.list(where, limit=limit)
    if json_out:
        output.print_json(events)
        return
    output.print_table(
        "Audit events",
        ["seq", "time", "actor", "action", "outcome", "case", "purpose", "results"],
        [
            [
                e.seq,
                e.occurred_at.isoformat(timespec="seconds"),
                e.actor,
                e.action,
                e.outcome,
                e.case_reference,
                e.purpose,
                len(e.results),
            ]
            for e in events
        ],
    )
