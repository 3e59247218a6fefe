"""An address presenting bad keys in a loop is refused with 429 and floods no audit log."""

from __future__ import annotations

from .conftest import Api

BAD = {"Authorization": "Bearer fsk_00000000." + "A" * 43}


def test_bad_keys_in_a_loop_get_429_in_the_one_error_shape(api: Api) -> None:
    limit = api.engine.settings.auth.failed_attempts_per_minute
    assert limit > 0  # the default limits
    statuses = [api.client.get("/api/v1/me", headers=BAD).status_code for _ in range(limit + 10)]
    assert statuses[:limit] == [401] * limit
    assert statuses[limit:] == [429] * 10
    refused = api.client.get("/api/v1/me", headers=api.headers("admin"))
    assert refused.status_code == 429  # the address waits, whatever key it presents
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert "try again in" in refused.json()["error"]["message"]
    events = api.engine.audit.list(limit=1000)
    assert sum(e.action == "auth.failure" for e in events) == limit
    assert sum(e.action == "auth.throttled" for e in events) == 1
