"""The per-address limit on failed authentications (unit, with a clock the test controls)."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.audit import AuditContext, AuditLog
from facesearch.auth import Accounts
from facesearch.auth.throttle import FailureThrottle
from facesearch.errors import AuthenticationRequired, TooManyFailures
from facesearch.settings import AuthSettings
from facesearch.store import Store

ROOT = AuditContext(actor="root", client_address="127.0.0.1")
BAD = "fsk_00000000." + "A" * 43


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_after_the_limit_until_its_window_slides() -> None:
    clock = Clock()
    throttle = FailureThrottle(3, window_s=60.0, clock=clock)
    for _ in range(3):
        assert throttle.check("10.0.0.1") is None
        throttle.failed("10.0.0.1")
        clock.now += 10
    refusal = throttle.check("10.0.0.1")
    assert refusal is not None and refusal.first
    assert refusal.retry_after_s == 30  # the first failure (t=1000) leaves at t=1060
    second = throttle.check("10.0.0.1")
    assert second is not None and not second.first
    assert throttle.check("10.0.0.2") is None  # other addresses are not affected
    clock.now = 1060.5  # the first failure has left the window
    assert throttle.check("10.0.0.1") is None


def test_a_zero_limit_never_refuses() -> None:
    throttle = FailureThrottle(0)
    for _ in range(100):
        throttle.failed("10.0.0.1")
    assert throttle.check("10.0.0.1") is None


def test_accounts_refuse_a_flooding_address_and_audit_one_throttle_event(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        log = AuditLog(store, anchor_path=tmp_path / "head.json")
        accounts = Accounts(store, log, AuthSettings(failed_attempts_per_minute=5))
        _, issued = accounts.create_first_admin("root", context=ROOT)
        for _ in range(5):
            with pytest.raises(AuthenticationRequired):
                accounts.authenticate(BAD, client_address="10.0.0.9")
        for _ in range(20):
            with pytest.raises(TooManyFailures, match="try again in"):
                accounts.authenticate(BAD, client_address="10.0.0.9")
        # even the right key waits: the address is refused before any lookup
        with pytest.raises(TooManyFailures):
            accounts.authenticate(issued.secret, client_address="10.0.0.9")
        # another address is unaffected
        assert accounts.authenticate(issued.secret, client_address="10.0.0.8").name == "root"
        actions = [e.action for e in log.list(limit=100) if e.client_address == "10.0.0.9"]
        assert actions.count("auth.failure") == 5
        assert actions.count("auth.throttled") == 1
        assert log.verify().ok
    finally:
        store.close()
