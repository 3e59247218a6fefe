"""Roles and the one permission table: which roles may perform which action.

A user holds any number of roles; an action is allowed when the user holds at least one of
the roles :data:`PERMISSIONS` lists for it. Roles separate duties: an administrator manages
accounts but does not search, an investigator searches but does not read the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    """Users, roles, API keys and settings."""
    CURATOR = "curator"
    """Galleries: create, enroll, delete."""
    INVESTIGATOR = "investigator"
    """Search and verify."""
    AUDITOR = "auditor"
    """Read the audit log and verify its chain."""
    REVIEWER = "reviewer"
    """Judge search candidates in two-person review of leads."""


class Action(StrEnum):
    """What a request does; every API route names exactly one (or is public)."""

    CATALOG_READ = "catalog.read"
    """List and read galleries, subjects, images, faces and face thumbnails."""
    GALLERY_WRITE = "gallery.write"
    """Create and delete galleries."""
    ENROLL = "enroll"
    """Enroll images into a gallery."""
    DELETE = "delete"
    """Delete faces, images and subjects."""
    SEARCH = "search"
    VERIFY = "verify"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    USERS_MANAGE = "users.manage"
    """Create users, change their roles, disable them."""
    KEYS_MANAGE = "keys.manage"
    """Issue, list and revoke API keys of any user."""
    SYSTEM_READ = "system.read"
    """Read the settings and the vector index status."""
    SELF_READ = "self.read"
    """Read one's own user and roles."""
    ERASURE_MANAGE = "erasure.manage"
    """File, confirm and cancel erasure requests (erasure by face, suppression list)."""
    ERASURE_READ = "erasure.read"
    """Read erasure requests and the suppression list's provenance (never its vectors)."""
    RETENTION_MANAGE = "retention.manage"
    """Set galleries' retention periods; list and purge expired images."""
    GRANTS_MANAGE = "grants.manage"
    """Grant and withdraw users' and groups' rights to search galleries."""
    GROUPS_MANAGE = "groups.manage"
    """Create and delete groups of users; add and remove their members."""
    REVIEW_JUDGE = "review.judge"
    """Record a judgement (possible lead or excluded) of a search's candidate."""
    REVIEW_READ = "review.read"
    """Read a search's candidates with their lead state, and lead sheets."""


_ALL = frozenset(Role)

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.CATALOG_READ: frozenset({Role.CURATOR, Role.INVESTIGATOR, Role.AUDITOR}),
    Action.GALLERY_WRITE: frozenset({Role.CURATOR}),
    Action.ENROLL: frozenset({Role.CURATOR}),
    Action.DELETE: frozenset({Role.CURATOR}),
    Action.SEARCH: frozenset({Role.INVESTIGATOR}),
    Action.VERIFY: frozenset({Role.INVESTIGATOR}),
    Action.AUDIT_READ: frozenset({Role.AUDITOR}),
    Action.AUDIT_VERIFY: frozenset({Role.AUDITOR, Role.ADMIN}),
    Action.USERS_MANAGE: frozenset({Role.ADMIN}),
    Action.KEYS_MANAGE: frozenset({Role.ADMIN}),
    Action.SYSTEM_READ: frozenset({Role.ADMIN}),
    Action.SELF_READ: _ALL,
    Action.ERASURE_MANAGE: frozenset({Role.CURATOR}),
    Action.ERASURE_READ: frozenset({Role.CURATOR, Role.AUDITOR}),
    Action.RETENTION_MANAGE: frozenset({Role.ADMIN, Role.CURATOR}),
    Action.GRANTS_MANAGE: frozenset({Role.ADMIN}),
    Action.GROUPS_MANAGE: frozenset({Role.ADMIN}),
    Action.REVIEW_JUDGE: frozenset({Role.REVIEWER}),
    Action.REVIEW_READ: frozenset({Role.REVIEWER, Role.AUDITOR}),
}
"""The permission table: action -> roles allowed to perform it."""

GRANT_SCOPED: dict[Action, frozenset[Role]] = {
    Action.CATALOG_READ: frozenset({Role.INVESTIGATOR}),
}
"""Roles whose right to an action covers only the galleries granted to the user (directly
or through a group): an investigator reads the catalog of the galleries they may search."""


def allowed(roles: Iterable[Role | str], action: Action) -> bool:
    """Whether a holder of ``roles`` may perform ``action``."""
    return any(Role(r) in PERMISSIONS[action] for r in roles if r in _ROLE_NAMES)


def grant_scoped(roles: Iterable[Role | str], action: Action) -> bool:
    """Whether a holder of ``roles`` may perform ``action`` only within their granted
    galleries: every role of theirs that allows it is scoped by grants (see
    :data:`GRANT_SCOPED`). ``False`` when the action is not allowed at all."""
    allowing = {Role(r) for r in roles if r in _ROLE_NAMES} & PERMISSIONS[action]
    return bool(allowing) and allowing <= GRANT_SCOPED.get(action, frozenset())


def known_roles(names: Iterable[str]) -> frozenset[Role]:
    """The names that are roles, as :class:`Role` values (others are ignored)."""
    return frozenset(Role(n) for n in names if n in _ROLE_NAMES)


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Role names as :class:`Role` values; ``ValueError`` names the first unknown one."""
    out = set()
    for name in names:
        if name not in _ROLE_NAMES:
            raise ValueError(f"unknown role {name!r}; roles: {', '.join(sorted(_ROLE_NAMES))}")
        out.add(Role(name))
    return frozenset(out)


_ROLE_NAMES = frozenset(r.value for r in Role)
