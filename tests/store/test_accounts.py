"""Users and API keys in the store (keys by prefix and sha256 only)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from facesearch.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from facesearch.store import NewAuditEvent
from facesearch.store.accounts import AccountRepository
from facesearch.store.database import Database as StoreDatabase


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def test_users_are_created_listed_and_updated(store: Any) -> None:
    alice = store.accounts.create_user("alice", ["investigator", "auditor", "auditor"])
    assert alice.roles == ("auditor", "investigator")
    assert not alice.disabled and alice.created_at.tzinfo is not None
    store.accounts.create_user("bob", ["curator"])
    assert [u.name for u in store.accounts.list_users()] == ["alice", "bob"]
    assert store.accounts.count_users() == 2
    with pytest.raises(AlreadyExists):
        store.accounts.create_user("alice", [])
    updated = store.accounts.update_user("alice", roles=["admin"], disabled=True)
    assert updated.roles == ("admin",) and updated.disabled
    assert store.accounts.get_user("alice") == updated
    with pytest.raises(NotFound):
        store.accounts.get_user("carol")
    with pytest.raises(InvalidInput):
        store.accounts.create_user("dave", "admin")


def test_first_admin_is_made_only_once(store: Any) -> None:
    store.accounts.create_user("root", ["admin"], only_if_no_users=True)
    with pytest.raises(Conflict):
        store.accounts.create_user("second", ["admin"], only_if_no_users=True)
    assert store.accounts.count_users() == 1


def test_keys_store_prefix_and_hash_only(store: Any, database: Any) -> None:
    store.accounts.create_user("alice", ["investigator"])
    expires = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    key = store.accounts.add_api_key(
        "alice", prefix="fsk_abcd1234", key_hash=_hash("secret"), label="laptop", expires_at=expires
    )
    assert key.user_name == "alice" and key.expires_at == expires and key.revoked_at is None
    found = store.accounts.find_api_key("fsk_abcd1234")
    assert found is not None
    assert found.key_hash == _hash("secret") and found.user.name == "alice"
    assert store.accounts.find_api_key("fsk_nope") is None
    with database.engine().connect() as conn:
        row = conn.execute(text("SELECT * FROM api_keys")).mappings().one()
    assert "secret" not in {str(v) for v in row.values()}
    with pytest.raises(AlreadyExists):
        store.accounts.add_api_key("alice", prefix="fsk_abcd1234", key_hash=_hash("other"))
    with pytest.raises(InvalidInput):
        store.accounts.add_api_key("alice", prefix="fsk_x", key_hash="not-a-hash")
    with pytest.raises(NotFound):
        store.accounts.add_api_key("nobody", prefix="fsk_y", key_hash=_hash("y"))


def test_revoke_and_touch(store: Any) -> None:
    store.accounts.create_user("alice", ["investigator"])
    store.accounts.add_api_key("alice", prefix="fsk_1", key_hash=_hash("1"))
    store.accounts.add_api_key("alice", prefix="fsk_2", key_hash=_hash("2"))
    first = datetime(2030, 1, 1, tzinfo=UTC)
    assert store.accounts.revoke_api_key("fsk_1", at=first).revoked_at == first
    again = store.accounts.revoke_api_key("fsk_1", at=first + timedelta(days=1))
    assert again.revoked_at == first  # the first revocation time is kept
    store.accounts.touch_api_key("fsk_2", first)
    store.accounts.touch_api_key("fsk_2", first + timedelta(seconds=5))  # within a minute: skipped
    assert store.accounts.get_api_key("fsk_2").last_used_at == first
    store.accounts.touch_api_key("fsk_2", first + timedelta(minutes=5))
    assert store.accounts.get_api_key("fsk_2").last_used_at == first + timedelta(minutes=5)
    assert [k.prefix for k in store.accounts.list_api_keys("alice")] == ["fsk_1", "fsk_2"]
    with pytest.raises(NotFound):
        store.accounts.revoke_api_key("fsk_9", at=first)


def test_key_change_and_its_audit_event_commit_together(store: Any) -> None:
    store.accounts.create_user("alice", ["investigator"])

    def event(key: Any) -> NewAuditEvent:
        return NewAuditEvent(actor="root", action="key.create", target=f"key:{key.prefix}")

    store.accounts.add_api_key("alice", prefix="fsk_ok", key_hash=_hash("ok"), audit=event)
    assert store.audit.audit_head() is not None
    assert store.audit.list_audit()[0].target == "key:fsk_ok"

    def broken(key: Any) -> NewAuditEvent:
        return NewAuditEvent(actor="", action="key.create")  # invalid: no actor

    with pytest.raises(InvalidInput):
        store.accounts.add_api_key("alice", prefix="fsk_bad", key_hash=_hash("bad"), audit=broken)
    assert [k.prefix for k in store.accounts.list_api_keys()] == ["fsk_ok"]  # rolled back
    assert len(store.audit.list_audit()) == 1


def test_accounts_are_built_from_the_database_alone(sqlite_db: StoreDatabase) -> None:
    accounts = AccountRepository(sqlite_db)
    accounts.create_user("ann", ["admin"])
    assert [u.name for u in accounts.list_users()] == ["ann"]
