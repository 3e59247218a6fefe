"""Users and API keys in the store. Keys are kept as their sha256 only, never the secret.

Role names are opaque strings here; :mod:`facesearch.auth` decides which exist. Every
write may carry an audit hook (:data:`~facesearch.store.records.AuditHook`) whose event is
appended in the same transaction, so a key change and its audit event commit together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facesearch.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from facesearch.names import name_key, shown
from facesearch.store import _validate
from facesearch.store.audit import append_event
from facesearch.store.database import Database
from facesearch.store.records import ApiKeyRecord, AuditHook, KeyLookup, UserRecord
from facesearch.store.tables import ApiKey, User

_SHA256 = re.compile(r"[0-9a-f]{64}")
_TOUCH_EVERY = timedelta(seconds=60)
"""``last_used_at`` is written at most this often per key (each write takes the write lock)."""


def _roles(roles: Sequence[str]) -> list[str]:
    if isinstance(roles, str):
        raise InvalidInput("roles must be a list of role names")
    out = sorted({_validate.text("role", r, 32) for r in roles})
    return out


def _user(row: User) -> UserRecord:
    return UserRecord(
        id=row.id,
        name=row.name,
        roles=tuple(sorted(str(r) for r in row.roles)),
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


def _key(row: ApiKey, user_name: str) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        prefix=row.prefix,
        user_id=row.user_id,
        user_name=user_name,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidInput(f"{name} must be a timezone-aware datetime")


class AccountRepository:
    """Users and API keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- users ---------------------------------------------------------------------------
    def create_user(
        self,
        name: str,
        roles: Sequence[str],
        *,
        only_if_no_users: bool = False,
        audit: AuditHook[UserRecord] | None = None,
    ) -> UserRecord:
        """A new, enabled user. ``AlreadyExists`` when the name is taken; with
        ``only_if_no_users``, ``Conflict`` when any user exists (checked under the write lock).
        """
        name = _validate.name("name", name)
        key = name_key(name)
        role_list = _roles(roles)
        exists = f"user {name!r} already exists"
        with self._db.transaction("create_user", write=True, conflict=exists) as s:
            if only_if_no_users and s.scalar(select(func.count()).select_from(User)):
                raise Conflict("users already exist; the first admin is made only once")
            if s.scalar(select(User.id).where(User.name == name)) is not None:
                raise AlreadyExists(exists)
            like = s.scalar(select(User.name).where(User.name_key == key).limit(1))
            if like is not None:
                new, old = shown(name, like)
                raise AlreadyExists(f"user {new} looks like the existing user {old}")
            row = User(name=name, name_key=key, roles=role_list, disabled=False)
            s.add(row)
            s.flush()
            record = _user(row)
            if audit is not None:
                append_event(s, audit(record))
            return record

    def get_user(self, name: str) -> UserRecord:
        with self._db.transaction("get_user") as s:
            return _user(self._user_row(s, name))

    def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        with self._db.transaction("list_users") as s:
            return [_user(row) for row in s.scalars(select(User).order_by(User.name))]

    def count_users(self) -> int:
        with self._db.transaction("count_users") as s:
            return int(s.scalar(select(func.count()).select_from(User)) or 0)

    def update_user(
        self,
        name: str,
        *,
        roles: Sequence[str] | None = None,
        disabled: bool | None = None,
        audit: AuditHook[UserRecord] | None = None,
    ) -> UserRecord:
        """Set the user's roles and/or disabled flag."""
        role_list = None if roles is None else _roles(roles)
        with self._db.transaction("update_user", write=True) as s:
            row = self._user_row(s, name)
            if role_list is not None:
                row.roles = role_list
            if disabled is not None:
                row.disabled = bool(disabled)
            s.flush()
            record = _user(row)
            if audit is not None:
                append_event(s, audit(record))
            return record

    @staticmethod
    def _user_row(session: Session, name: str) -> User:
        row = session.scalars(select(User).where(_validate.named(User.name, name))).first()
        if row is None:
            raise NotFound(f"user {name!r} not found")
        return row

    # --- keys ----------------------------------------------------------------------------
    def add_api_key(
        self,
        user: str,
        *,
        prefix: str,
        key_hash: str,
        label: str = "",
        expires_at: datetime | None = None,
        audit: AuditHook[ApiKeyRecord] | None = None,
    ) -> ApiKeyRecord:
        """Store a new key of ``user`` by prefix and sha256 hex (the secret never comes here)."""
        _validate.text("prefix", prefix, 32)
        if not isinstance(key_hash, str) or not _SHA256.fullmatch(key_hash):
            raise InvalidInput("key_hash must be 64 lowercase hexadecimal digits")
        if not isinstance(label, str) or len(label) > 200:
            raise InvalidInput("label must be a string of at most 200 characters")
        _aware("expires_at", expires_at)
        with self._db.transaction(
            "add_api_key", write=True, conflict="key prefix already exists"
        ) as s:
            owner = self._user_row(s, user)
            row = ApiKey(
                prefix=prefix,
                key_hash=key_hash,
                user_id=owner.id,
                label=label,
                expires_at=expires_at,
            )
            s.add(row)
            s.flush()
            record = _key(row, owner.name)
            if audit is not None:
                append_event(s, audit(record))
            return record

    def list_api_keys(self, user: str | None = None) -> list[ApiKeyRecord]:
        """Keys (without secrets) of one user or of all, oldest first."""
        with self._db.transaction("list_api_keys") as s:
            query = select(ApiKey, User.name).join(User, User.id == ApiKey.user_id)
            if user is not None:
                query = query.where(ApiKey.user_id == self._user_row(s, user).id)
            rows = s.execute(query.order_by(ApiKey.id)).all()
            return [_key(key, name) for key, name in rows]

    def get_api_key(self, prefix: str) -> ApiKeyRecord:
        with self._db.transaction("get_api_key") as s:
            row = s.execute(
                select(ApiKey, User.name)
                .join(User, User.id == ApiKey.user_id)
                .where(ApiKey.prefix == prefix)
            ).first()
            if row is None:
                raise NotFound(f"API key {prefix!r} not found")
            return _key(row[0], row[1])

    def find_api_key(self, prefix: str) -> KeyLookup | None:
        """The key of ``prefix`` with its hash and user, or None."""
        with self._db.transaction("find_api_key") as s:
            row = s.execute(
                select(ApiKey, User)
                .join(User, User.id == ApiKey.user_id)
                .where(ApiKey.prefix == prefix)
            ).first()
            if row is None:
                return None
            key, user = row
            return KeyLookup(key=_key(key, user.name), key_hash=key.key_hash, user=_user(user))

    def revoke_api_key(
        self, prefix: str, *, at: datetime, audit: AuditHook[ApiKeyRecord] | None = None
    ) -> ApiKeyRecord:
        """Mark the key revoked at ``at`` (a key already revoked keeps its first time)."""
        _aware("at", at)
        with self._db.transaction("revoke_api_key", write=True) as s:
            row = s.execute(
                select(ApiKey, User.name)
                .join(User, User.id == ApiKey.user_id)
                .where(ApiKey.prefix == prefix)
            ).first()
            if row is None:
                raise NotFound(f"API key {prefix!r} not found")
            key, user_name = row
            if key.revoked_at is None:
                key.revoked_at = at
            s.flush()
            record = _key(key, user_name)
            if audit is not None:
                append_event(s, audit(record))
            return record

    def touch_api_key(self, prefix: str, at: datetime) -> None:
        """Record that the key was used at ``at`` (skipped within a minute of the last use)."""
        _aware("at", at)
        with self._db.transaction("touch_api_key") as s:
            last = s.scalar(select(ApiKey.last_used_at).where(ApiKey.prefix == prefix))
        if last is not None and at - last < _TOUCH_EVERY:
            return
        with self._db.transaction("touch_api_key", write=True) as s:
            key = s.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
            if key is not None:
                key.last_used_at = at
