"""Gallery grants and user groups, a part of the engine (:class:`~facesearch.service.FaceSearch`).

An administrator grants a user the right to search one gallery. A search made for a user
(the API and web UI pass the caller's grants as ``allowed_galleries``) names galleries or
defaults to all the user's granted ones; it never touches an ungranted gallery (a named
one is refused with 403, audited), and its audit event records the galleries actually
searched. Verify compares two uploaded photos and touches no gallery, so it needs no
grant. The command line is the local operator, who holds the data folder and so every
gallery: its searches pass no ``allowed_galleries`` and are unrestricted (still audited).

Administrators also group users: a grant to a group is a grant to each member, so a user's
grants (:meth:`Grants.granted_galleries`) are their own and their groups'. Group names
follow the rule of user and gallery names (non-blank, at most 200 characters, surrounding
blanks dropped) and pass the sensitive-identifier guard; a name it refuses is audited
without the name. Every change is audited: ``group.create``, ``group.delete``,
``group.member.add``, ``group.member.remove``, and ``grant.add``/``grant.remove`` with
target ``group:<name>``.

No one widens their own search rights: granting a gallery to oneself, adding oneself to a
group, or granting a gallery to a group one belongs to is refused (``PermissionDenied``,
audited); another administrator must do it. (Roles follow the same rule in
:meth:`facesearch.auth.Accounts.update_user`.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from facesearch.audit import AuditContext, AuditLog
from facesearch.errors import PermissionDenied
from facesearch.names import nfc
from facesearch.privacy import FieldKind, check_fields
from facesearch.service.accountability import Accountability
from facesearch.store import GrantRecord, GroupGrantRecord, GroupRecord
from facesearch.store.groups import GroupRepository

T = TypeVar("T")


class Grants:
    """Gallery grants, user groups, their members and their grants: a part of the engine.
    Every change is audited in its own transaction; a refusal is audited too."""

    def __init__(
        self, *, groups: GroupRepository, audit: AuditLog, accountability: Accountability
    ) -> None:
        self._groups = groups
        self._audit = audit
        self._accountability = accountability

    def grant(self, user: str, gallery: str, *, context: AuditContext) -> GrantRecord:
        """Let ``user`` search ``gallery``. Audited (``grant.add``); refused for oneself."""
        try:
            _not_oneself(context, user, "grant a gallery to themselves")
            record = self._groups.add_grant(
                user,
                gallery,
                granted_by=context.actor,
                audit=lambda g: context.event(
                    "grant.add", target=f"user:{g.user_name}", galleries=(g.gallery_name,)
                ),
            )
        except Exception as err:
            self._accountability.failed(
                context, "grant.add", err, target=f"user:{user}", galleries=(gallery,)
            )
            raise
        self._audit.committed()
        return record

    def revoke_grant(self, user: str, gallery: str, *, context: AuditContext) -> GrantRecord:
        """Withdraw ``user``'s grant on ``gallery``. Audited (``grant.remove``)."""
        try:
            record = self._groups.remove_grant(
                user,
                gallery,
                audit=lambda g: context.event(
                    "grant.remove", target=f"user:{g.user_name}", galleries=(g.gallery_name,)
                ),
            )
        except Exception as err:
            self._accountability.failed(
                context, "grant.remove", err, target=f"user:{user}", galleries=(gallery,)
            )
            raise
        self._audit.committed()
        return record

    def list_grants(
        self, *, user: str | None = None, gallery: str | None = None
    ) -> list[GrantRecord]:
        return self._groups.list_grants(user=user, gallery=gallery)

    def granted_galleries(self, user: str) -> list[str]:
        """The galleries ``user`` may search, by name: their own grants and their groups'."""
        return self._groups.granted_galleries(user)

    # --- groups --------------------------------------------------------------------------
    def create_group(self, name: str, *, context: AuditContext) -> GroupRecord:
        """A new, empty group of users. Audited (``group.create``)."""
        name = self._group_name(name, "group.create", context)
        return self._audited(
            "group.create",
            context,
            target=f"group:{name}",
            write=lambda: self._groups.create_group(
                name,
                created_by=context.actor,
                audit=lambda g: context.event("group.create", target=f"group:{g.name}"),
            ),
        )

    def delete_group(self, name: str, *, context: AuditContext) -> GroupRecord:
        """Delete a group with its memberships and grants (its members keep their own
        grants). Audited (``group.delete``, with the members and galleries it had)."""
        name = self._group_name(name, "group.delete", context)
        return self._audited(
            "group.delete",
            context,
            target=f"group:{name}",
            write=lambda: self._groups.delete_group(
                name,
                audit=lambda g: context.event(
                    "group.delete",
                    target=f"group:{g.name}",
                    galleries=g.galleries,
                    details={"members": list(g.members)},
                ),
            ),
        )

    def add_group_member(self, group: str, user: str, *, context: AuditContext) -> GroupRecord:
        """Add ``user`` to ``group``: they may search the group's galleries. Audited
        (``group.member.add``)."""
        group = self._group_name(group, "group.member.add", context)
        return self._audited(
            "group.member.add",
            context,
            target=f"group:{group}",
            details={"user": user},
            check=lambda: _not_oneself(context, user, "add themselves to a group"),
            write=lambda: self._groups.add_group_member(
                group,
                user,
                added_by=context.actor,
                audit=lambda g: context.event(
                    "group.member.add", target=f"group:{g.name}", details={"user": user}
                ),
            ),
        )

    def remove_group_member(self, group: str, user: str, *, context: AuditContext) -> GroupRecord:
        """Remove ``user`` from ``group``. Audited (``group.member.remove``)."""
        group = self._group_name(group, "group.member.remove", context)
        return self._audited(
            "group.member.remove",
            context,
            target=f"group:{group}",
            details={"user": user},
            write=lambda: self._groups.remove_group_member(
                group,
                user,
                audit=lambda g: context.event(
                    "group.member.remove", target=f"group:{g.name}", details={"user": user}
                ),
            ),
        )

    def get_group(self, name: str) -> GroupRecord:
        return self._groups.get_group(name)

    def list_groups(self, *, user: str | None = None) -> list[GroupRecord]:
        """Every group by name, or only those ``user`` belongs to."""
        return self._groups.list_groups(user=user)

    def grant_group(self, group: str, gallery: str, *, context: AuditContext) -> GroupGrantRecord:
        """Let every member of ``group`` search ``gallery``. Audited (``grant.add``, target
        ``group:<name>``)."""
        group = self._group_name(group, "grant.add", context)
        return self._audited(
            "grant.add",
            context,
            target=f"group:{group}",
            galleries=(gallery,),
            check=lambda: self._not_a_member(context, group),
            write=lambda: self._groups.add_group_grant(
                group,
                gallery,
                granted_by=context.actor,
                audit=lambda g: context.event(
                    "grant.add", target=f"group:{g.group_name}", galleries=(g.gallery_name,)
                ),
            ),
        )

    def revoke_group_grant(
        self, group: str, gallery: str, *, context: AuditContext
    ) -> GroupGrantRecord:
        """Withdraw ``group``'s grant on ``gallery``. Audited (``grant.remove``, target
        ``group:<name>``)."""
        group = self._group_name(group, "grant.remove", context)
        return self._audited(
            "grant.remove",
            context,
            target=f"group:{group}",
            galleries=(gallery,),
            write=lambda: self._groups.remove_group_grant(
                group,
                gallery,
                audit=lambda g: context.event(
                    "grant.remove", target=f"group:{g.group_name}", galleries=(g.gallery_name,)
                ),
            ),
        )

    def list_group_grants(
        self, *, group: str | None = None, gallery: str | None = None
    ) -> list[GroupGrantRecord]:
        return self._groups.list_group_grants(group=group, gallery=gallery)

    def _not_a_member(self, context: AuditContext, group: str) -> None:
        """``PermissionDenied`` when the actor is a member of ``group``."""
        if context.actor in self._groups.get_group(group).members:
            raise PermissionDenied(
                "no one may grant a gallery to a group they belong to: "
                "another administrator must do it"
            )

    def _group_name(self, name: str, action: str, context: AuditContext) -> str:
        """``name`` without surrounding blanks, once the sensitive-identifier guard passed
        it; a refusal is audited without the refused name."""
        try:
            check_fields({"name": (name, FieldKind.REFERENCE)})
        except Exception as err:
            self._accountability.failed(context, action, err)
            raise
        return name.strip() if isinstance(name, str) else name

    def _audited(
        self,
        action: str,
        context: AuditContext,
        *,
        target: str,
        write: Callable[[], T],
        check: Callable[[], None] | None = None,
        galleries: Sequence[str] = (),
        details: dict[str, str] | None = None,
    ) -> T:
        """Run ``check`` then ``write`` (which appends its own event); audit a failure of
        either under ``action``."""
        try:
            if check is not None:
                check()
            result = write()
        except Exception as err:
            self._accountability.failed(
                context,
                action,
                err,
                target=target,
                galleries=galleries,
                details=dict(details) if details else None,
            )
            raise
        self._audit.committed()
        return result


def _not_oneself(context: AuditContext, user: str, what: str) -> None:
    """``PermissionDenied`` when ``user`` is the actor of ``context``."""
    if context.actor == (user.strip() if isinstance(user, str) else user):
        raise PermissionDenied(f"no one may {what}: another administrator must do it")


def galleries_to_search(
    named: Sequence[str] | None, allowed: Collection[str] | None
) -> Sequence[str] | None:
    """The galleries a search covers: ``named`` (``None``: all), within ``allowed``
    (``None``: unrestricted). ``PermissionDenied`` names the first ungranted gallery, or
    says that none is granted."""
    if allowed is None:
        return named  # the store finds each by its stored form first, then NFC
    granted = set(allowed)
    if named:
        # The granted (stored) name each one names: itself, else its NFC form (NFD input
        # of a granted NFC name), so the search never lands on an ungranted row.
        resolved = []
        for name in named:
            if name not in granted and nfc(name) not in granted:
                raise PermissionDenied(f"you hold no grant to search gallery {name!r}")
            resolved.append(name if name in granted else nfc(name))
        return resolved
    if not granted:
        raise PermissionDenied("no gallery is granted to you: an administrator grants galleries")
    return sorted(granted)
