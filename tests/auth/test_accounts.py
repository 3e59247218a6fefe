"""Keys, authentication, authorization and their audit events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from facesearch.audit import AuditContext, AuditLog
from facesearch.auth import PERMISSIONS, Accounts, Action, Role, allowed, generate_key, key_prefix
from facesearch.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidInput,
    PermissionDenied,
    SensitiveIdentifierFound,
)
from facesearch.settings import AuthSettings
from facesearch.store import Store
from facesearch.store.tables import utcnow

ROOT = AuditContext(actor="root", client_address="127.0.0.1")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield store
    store.close()


@pytest.fixture
def log(store: Store, tmp_path: Path) -> AuditLog:
    return AuditLog(store, anchor_path=tmp_path / "head.json")


@pytest.fixture
def accounts(store: Store, log: AuditLog) -> Accounts:
    return Accounts(store, log, AuthSettings())


def test_keys_are_32_random_bytes_with_a_visible_prefix() -> None:
    keys = [generate_key() for _ in range(50)]
    assert len({k.secret for k in keys}) == 50
    for key in keys:
        assert key.secret.startswith(key.prefix + ".")
        assert len(key.secret.split(".")[1]) == 43  # base64url of 32 bytes, no padding
        assert key_prefix(key.secret) == key.prefix
        assert len(key.key_hash) == 64 and key.secret not in key.key_hash
    assert key_prefix("fsk_12345678.short") is None


def test_the_secret_is_stored_nowhere(accounts: Accounts, store: Store) -> None:
    _, issued = accounts.create_first_admin("root", context=ROOT)
    with store.engine.connect() as conn:
        for table in ("users", "api_keys", "audit_events"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                assert not any(issued.secret in str(v) for v in row)
                assert not any(issued.secret.split(".")[1] in str(v) for v in row)


def test_authenticate_accepts_a_valid_key(accounts: Accounts, store: Store) -> None:
    _, issued = accounts.create_first_admin("root", context=ROOT)
    principal = accounts.authenticate(issued.secret, client_address="1.2.3.4")
    assert principal.name == "root" and principal.roles == {Role.ADMIN}
    assert principal.key_prefix == issued.key.prefix
    assert store.accounts.get_api_key(issued.key.prefix).last_used_at is not None


def test_every_kind_of_bad_key_is_refused_alike_and_audited(
    accounts: Accounts, store: Store, log: AuditLog
) -> None:
    _, issued = accounts.create_first_admin("root", context=ROOT)
    other = accounts.issue_key("root", context=ROOT)
    revoked = accounts.issue_key("root", context=ROOT)
    accounts.revoke_key(revoked.key.prefix, context=ROOT)
    accounts.create_user("eve", ["investigator"], context=ROOT)
    disabled = accounts.issue_key("eve", context=ROOT)
    accounts.update_user("eve", disabled=True, context=ROOT)
    bad = {
        "malformed key": "hello",
        "unknown key": generate_key().secret,
        "wrong secret": issued.key.prefix + "." + other.secret.split(".")[1],
        "revoked key": revoked.secret,
        "disabled user": disabled.secret,
    }
    for reason, key in bad.items():
        with pytest.raises(AuthenticationRequired) as info:
            accounts.authenticate(key, client_address="6.6.6.6")
        assert str(info.value) == "invalid, expired or revoked API key"
        event = log.list(limit=1)[0]
        assert (event.action, event.outcome) == ("auth.failure", "authentication_required")
        assert event.details == {"reason": reason} and event.client_address == "6.6.6.6"
    with pytest.raises(AuthenticationRequired, match="required"):
        accounts.authenticate(None)
    assert log.verify().ok


def test_expired_keys_are_refused(accounts: Accounts, store: Store) -> None:
    accounts.create_user("old", ["auditor"], context=ROOT)
    issued = accounts.issue_key("old", context=ROOT, expires_in_days=1)
    accounts.authenticate(issued.secret)
    with store.database.transaction("age", write=True) as s:
        s.execute(text("UPDATE api_keys SET expires_at = :t"), {"t": utcnow() - timedelta(days=1)})
    with pytest.raises(AuthenticationRequired):
        accounts.authenticate(issued.secret)
    with pytest.raises(InvalidInput):
        accounts.issue_key("old", context=ROOT, expires_in_days=0)


def test_key_and_user_changes_are_audited(accounts: Accounts, log: AuditLog) -> None:
    _, issued = accounts.create_first_admin("root", context=ROOT)
    accounts.create_user("ann", ["investigator", "auditor"], context=ROOT)
    accounts.update_user("ann", roles=["auditor"], context=ROOT)
    accounts.revoke_key(issued.key.prefix, context=ROOT)
    actions = [(e.action, e.target) for e in reversed(log.list())]
    assert actions == [
        ("user.create", "user:root"),
        ("key.create", f"key:{issued.key.prefix}"),
        ("user.create", "user:ann"),
        ("user.update", "user:ann"),
        ("key.revoke", f"key:{issued.key.prefix}"),
    ]
    assert all(e.actor == "root" for e in log.list())


def test_roles_are_checked(accounts: Accounts) -> None:
    with pytest.raises(InvalidInput, match="unknown role"):
        accounts.create_user("x", ["superuser"], context=ROOT)


def test_first_admin_only_once_and_last_admin_kept(accounts: Accounts) -> None:
    accounts.create_first_admin("root", context=ROOT)
    with pytest.raises(Conflict):
        accounts.create_first_admin("again", context=ROOT)
    with pytest.raises(Conflict, match="last enabled admin"):
        accounts.update_user("root", roles=["auditor"], context=ROOT)
    with pytest.raises(Conflict, match="last enabled admin"):
        accounts.update_user("root", disabled=True, context=ROOT)
    accounts.create_user("second", ["admin"], context=ROOT)
    second = AuditContext(actor="second", client_address="127.0.0.1")
    assert accounts.update_user("root", roles=["auditor"], context=second).roles == ("auditor",)


def test_no_one_adds_roles_to_their_own_account(accounts: Accounts, log: AuditLog) -> None:
    accounts.create_first_admin("root", context=ROOT)
    with pytest.raises(PermissionDenied, match="another admin"):
        accounts.update_user("root", roles=["admin", "investigator"], context=ROOT)
    assert accounts.get_user("root").roles == ("admin",)
    event = log.list(limit=1)[0]
    assert (event.actor, event.action, event.target, event.outcome) == (
        "root",
        "user.update",
        "user:root",
        "permission_denied",
    )
    assert event.details["roles_added"] == ["investigator"]
    # another admin may make the change, and one may drop one's own roles
    accounts.create_user("second", ["admin"], context=ROOT)
    second = AuditContext(actor="second", client_address="127.0.0.1")
    roles = ["admin", "investigator"]
    assert accounts.update_user("root", roles=roles, context=second).roles == tuple(roles)
    assert accounts.update_user("root", roles=["admin"], context=ROOT).roles == ("admin",)


def test_authorize_follows_the_permission_table_and_audits_denials(
    accounts: Accounts, log: AuditLog
) -> None:
    accounts.create_first_admin("root", context=ROOT)
    accounts.create_user("ivy", ["investigator"], context=ROOT)
    ivy = accounts.authenticate(accounts.issue_key("ivy", context=ROOT).secret)
    accounts.authorize(ivy, Action.SEARCH)
    with pytest.raises(PermissionDenied, match="auditor"):
        accounts.authorize(ivy, Action.AUDIT_READ, client_address="10.1.1.1")
    event = log.list(limit=1)[0]
    assert (event.actor, event.action, event.outcome) == ("ivy", "audit.read", "permission_denied")


def test_permission_table_covers_every_action_and_separates_duties() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert not allowed([Role.ADMIN], Action.SEARCH)
    assert not allowed([Role.INVESTIGATOR], Action.AUDIT_READ)
    assert not allowed([Role.AUDITOR], Action.SEARCH)
    assert not allowed([Role.CURATOR], Action.KEYS_MANAGE)
    assert allowed([Role.CURATOR, Role.INVESTIGATOR], Action.SEARCH)
    assert not allowed(["nonsense"], Action.SELF_READ)


def test_user_names_and_key_labels_are_checked_for_sensitive_identifiers(
    accounts: Accounts, store: Store
) -> None:
    accounts.create_first_admin("root", context=ROOT)
    with pytest.raises(SensitiveIdentifierFound, match=r"'name'.*e-mail address") as err:
        accounts.create_user("jane.doe@example.org", ["auditor"], context=ROOT)
    assert "jane.doe@example.org" not in str(err.value)
    with pytest.raises(SensitiveIdentifierFound, match=r"'label'.*phone number"):
        accounts.issue_key("root", label="call (415) 555-0142", context=ROOT)
    assert [u.name for u in accounts.list_users()] == ["root"]
    assert len(accounts.list_keys("root")) == 1  # the first admin key only
    with store.engine.connect() as conn:
        dumped = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_events")))
    assert "jane.doe" not in dumped and "555-0142" not in dumped
    # ordinary names and labels pass
    accounts.create_user("j.doe", ["auditor"], context=ROOT)
    accounts.issue_key("j.doe", label="laptop key, case 2024-017", context=ROOT)
