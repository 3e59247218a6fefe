"""Accounts: users with roles, API keys, authentication and authorization, all audited.

Every change (user created or updated, key issued or revoked) commits in one transaction
with its audit event; every failed authentication and every refused action is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from facesearch.audit import AuditContext, AuditLog
from facesearch.auth.keys import generate_key, key_matches, key_prefix
from facesearch.auth.roles import PERMISSIONS, Action, Role, allowed, known_roles, parse_roles
from facesearch.auth.throttle import FailureThrottle
from facesearch.errors import (
    AlreadyExists,
    AuthenticationRequired,
    Conflict,
    InvalidInput,
    PermissionDenied,
    TooManyFailures,
)
from facesearch.names import nfc
from facesearch.privacy.identifiers import FieldKind, check_fields
from facesearch.settings import AuthSettings
from facesearch.store import ApiKeyRecord, NewAuditEvent, Store, UserRecord
from facesearch.store.tables import utcnow

logger = logging.getLogger(__name__)

_INVALID_KEY = "invalid, expired or revoked API key"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the user, their roles and the key they used."""

    user_id: int
    name: str
    roles: frozenset[Role]
    key_prefix: str | None

    def can(self, action: Action) -> bool:
        return allowed(self.roles, action)

    def context(self, client_address: str | None = None) -> AuditContext:
        return AuditContext(
            actor=self.name, key_prefix=self.key_prefix, client_address=client_address
        )


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: ``secret`` is the whole key, shown to its holder once and never stored."""

    key: ApiKeyRecord
    secret: str


def _roles(names: Sequence[str]) -> list[str]:
    try:
        return sorted(r.value for r in parse_roles(names))
    except ValueError as err:
        raise InvalidInput(str(err)) from err


class Accounts:
    """Users, keys, authentication and authorization over the store and the audit log."""

    def __init__(self, store: Store, audit: AuditLog, settings: AuthSettings) -> None:
        self._store = store
        self._audit = audit
        self._settings = settings
        self._throttle = FailureThrottle(settings.failed_attempts_per_minute)

    # --- users -------------------------------------------------------------------------
    def list_users(self) -> list[UserRecord]:
        return self._store.accounts.list_users()

    def get_user(self, name: str) -> UserRecord:
        return self._store.accounts.get_user(name)

    def create_user(self, name: str, roles: Sequence[str], *, context: AuditContext) -> UserRecord:
        role_list = _roles(roles)
        _check_name(name)
        user = self._store.accounts.create_user(
            name.strip(),
            role_list,
            audit=lambda u: context.event(
                "user.create", target=f"user:{u.name}", details={"roles": list(u.roles)}
            ),
        )
        self._audit.committed()
        return user

    def create_first_admin(
        self, name: str, *, context: AuditContext, label: str = "first admin key"
    ) -> tuple[UserRecord, IssuedKey]:
        """The first user, with the admin role, and a key; ``Conflict`` if any user exists."""
        _check_name(name)
        user = self._store.accounts.create_user(
            name.strip(),
            [Role.ADMIN.value],
            only_if_no_users=True,
            audit=lambda u: context.event(
                "user.create", target=f"user:{u.name}", details={"roles": list(u.roles)}
            ),
        )
        self._audit.committed()
        return user, self.issue_key(user.name, context=context, label=label)

    def update_user(
        self,
        name: str,
        *,
        roles: Sequence[str] | None = None,
        disabled: bool | None = None,
        context: AuditContext,
    ) -> UserRecord:
        """Change roles and/or disable; the last enabled admin cannot be demoted or disabled.

        No one raises their own account: a change that adds a role to the user acting
        (``context.actor``) is refused with ``PermissionDenied`` and audited (another
        admin must make it; the local operator of the command line acts as ``cli:<os
        user>``, never as an account). Dropping one's own roles is allowed."""
        role_list = None if roles is None else _roles(roles)
        current = self._store.accounts.get_user(name)
        loses_admin = (
            Role.ADMIN.value in current.roles
            and not current.disabled
            and (bool(disabled) or (role_list is not None and Role.ADMIN.value not in role_list))
        )
        if loses_admin:
            admins = [
                u
                for u in self._store.accounts.list_users()
                if Role.ADMIN.value in u.roles and not u.disabled
            ]
            if len(admins) <= 1:
                raise Conflict("this is the last enabled admin; make another admin first")
        added = sorted(set(role_list or ()) - set(current.roles))
        if added and context.actor == current.name:
            refusal = PermissionDenied(
                "no one may add roles to their own account: another admin must make this change"
            )
            self._audit.record(
                context.event(
                    "user.update",
                    outcome=refusal.code,
                    target=f"user:{current.name}",
                    details={"roles_added": added, "error": refusal.message},
                )
            )
            raise refusal
        changes: dict[str, object] = {}
        if role_list is not None:
            changes["roles"] = role_list
        if disabled is not None:
            changes["disabled"] = bool(disabled)
        user = self._store.accounts.update_user(
            name,
            roles=role_list,
            disabled=disabled,
            audit=lambda u: context.event("user.update", target=f"user:{u.name}", details=changes),
        )
        self._audit.committed()
        return user

    # --- keys --------------------------------------------------------------------------
    def list_keys(self, user: str | None = None) -> list[ApiKeyRecord]:
        return self._store.accounts.list_api_keys(user)

    def issue_key(
        self,
        user: str,
        *,
        context: AuditContext,
        label: str = "",
        expires_in_days: int | None = None,
    ) -> IssuedKey:
        """A new key for ``user``, valid ``expires_in_days`` (default: the key TTL setting)."""
        check_fields({"label": (label, FieldKind.NARRATIVE)})
        label = nfc(label) if isinstance(label, str) else label  # as every name: NFC
        days = self._settings.key_ttl_days if expires_in_days is None else expires_in_days
        if not 1 <= days <= 3650:
            raise InvalidInput("a key's lifetime must be between 1 and 3650 days")
        expires_at = utcnow() + timedelta(days=days)
        for _ in range(5):
            new = generate_key()
            try:
                record = self._store.accounts.add_api_key(
                    user,
                    prefix=new.prefix,
                    key_hash=new.key_hash,
                    label=label,
                    expires_at=expires_at,
                    audit=lambda k: context.event(
                        "key.create",
                        target=f"key:{k.prefix}",
                        details={"user": k.user_name, "expires_at": _iso(k.expires_at)},
                    ),
                )
            except AlreadyExists:  # prefix collision: draw another key
                continue
            self._audit.committed()
            return IssuedKey(key=record, secret=new.secret)
        raise Conflict("could not draw an unused key prefix")  # pragma: no cover

    def revoke_key(self, prefix: str, *, context: AuditContext) -> ApiKeyRecord:
        record = self._store.accounts.revoke_api_key(
            prefix,
            at=utcnow(),
            audit=lambda k: context.event(
                "key.revoke", target=f"key:{k.prefix}", details={"user": k.user_name}
            ),
        )
        self._audit.committed()
        return record

    # --- authentication and authorization ---------------------------------------------
    def authenticate(self, key: str | None, *, client_address: str | None = None) -> Principal:
        """The principal of a presented key. ``AuthenticationRequired`` when there is none;
        a presented key that is malformed, unknown, wrong, expired, revoked or of a disabled
        user is refused with one message and audited (``auth.failure``) with the reason.
        An address with too many recent failures is refused (``TooManyFailures``, 429)
        before its key is looked up; see :mod:`facesearch.auth.throttle`."""
        if not key or not key.strip():
            raise AuthenticationRequired("an API key is required")
        address = client_address[:64] if client_address else None
        refusal = self._throttle.check(address)
        if refusal is not None:
            if refusal.first:
                self._audit.record(
                    NewAuditEvent(
                        actor="anonymous",
                        action="auth.throttled",
                        outcome="too_many_requests",
                        details={"retry_after_s": refusal.retry_after_s},
                        client_address=address,
                    )
                )
            raise TooManyFailures(
                "too many failed authentications from this address; "
                f"try again in {refusal.retry_after_s} s"
            )
        prefix = key_prefix(key)
        lookup = None if prefix is None else self._store.accounts.find_api_key(prefix)
        now = utcnow()
        reason = None
        if prefix is None:
            reason = "malformed key"
        elif lookup is None:
            reason = "unknown key"
        elif not key_matches(key, lookup.key_hash):
            reason = "wrong secret"
        elif lookup.key.revoked_at is not None:
            reason = "revoked key"
        elif lookup.key.expires_at is not None and lookup.key.expires_at <= now:
            reason = "expired key"
        elif lookup.user.disabled:
            reason = "disabled user"
        if reason is not None or lookup is None:
            self._throttle.failed(address)
            self._audit.record(
                NewAuditEvent(
                    actor=lookup.user.name if lookup is not None else "anonymous",
                    action="auth.failure",
                    outcome="authentication_required",
                    key_prefix=prefix,
                    details={"reason": reason or "unknown key"},
                    client_address=address,
                )
            )
            raise AuthenticationRequired(_INVALID_KEY)
        try:
            self._store.accounts.touch_api_key(lookup.key.prefix, now)
        except Exception:  # bookkeeping only: never fail a request for it
            logger.warning("could not record the use of key %s", lookup.key.prefix)
        return Principal(
            user_id=lookup.user.id,
            name=lookup.user.name,
            roles=known_roles(lookup.user.roles),
            key_prefix=prefix,
        )

    def authorize(
        self, principal: Principal, action: Action, *, client_address: str | None = None
    ) -> None:
        """``PermissionDenied`` (audited) unless ``principal`` holds a role allowed ``action``."""
        if principal.can(action):
            return
        needed = ", ".join(sorted(r.value for r in PERMISSIONS[action]))
        self._audit.record(
            principal.context(client_address).event(
                action.value, outcome="permission_denied", details={"roles_needed": needed}
            )
        )
        raise PermissionDenied(f"{action.value} needs one of the roles: {needed}")


def _check_name(name: str) -> None:
    """A user name is stored and shown in every audit event of its user: no identifiers."""
    check_fields({"name": (name, FieldKind.IDENTITY)})


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
