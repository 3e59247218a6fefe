"""Every route in the OpenAPI document, with every role and with no key, against one table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from facesearch.settings import Settings

from .conftest import ROLES, Api

A, C, I, U, R = "admin", "curator", "investigator", "auditor", "reviewer"  # noqa: E741
EVERY = frozenset(ROLES)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """No limit on failed authentications: the bad-key walk below fails once per route
    from one address (the limit itself: tests/api/test_throttle_api.py)."""
    return Settings(
        data_dir=tmp_path / "data",
        workers=1,
        database_url=None,
        auth={"failed_attempts_per_minute": 0},
    )


# (method, path) -> roles allowed; None: public (no key needed).
EXPECTED: dict[tuple[str, str], frozenset[str] | None] = {
    ("get", "/healthz"): None,
    ("get", "/readyz"): None,
    ("get", "/api/v1/me"): EVERY,
    ("get", "/api/v1/galleries"): frozenset({C, I, U}),
    ("post", "/api/v1/galleries"): frozenset({C}),
    ("get", "/api/v1/galleries/{name}"): frozenset({C, I, U}),
    ("delete", "/api/v1/galleries/{name}"): frozenset({C}),
    ("get", "/api/v1/galleries/{name}/subjects"): frozenset({C, I, U}),
    ("delete", "/api/v1/galleries/{name}/subjects/{label}"): frozenset({C}),
    ("post", "/api/v1/galleries/{name}/images"): frozenset({C}),
    ("get", "/api/v1/subjects"): frozenset({C, I, U}),
    ("get", "/api/v1/images/{image_id}"): frozenset({C, I, U}),
    ("delete", "/api/v1/images/{image_id}"): frozenset({C}),
    ("get", "/api/v1/faces"): frozenset({C, I, U}),
    ("get", "/api/v1/faces/{face_id}"): frozenset({C, I, U}),
    ("get", "/api/v1/faces/{face_id}/thumbnail"): frozenset({C, I, U}),
    ("delete", "/api/v1/faces/{face_id}"): frozenset({C}),
    ("post", "/api/v1/search"): frozenset({I}),
    ("post", "/api/v1/verify"): frozenset({I}),
    ("get", "/api/v1/audit/events"): frozenset({U}),
    ("get", "/api/v1/audit/events/{seq}"): frozenset({U}),
    ("get", "/api/v1/audit/verify"): frozenset({U, A}),
    ("get", "/api/v1/oversight/usage"): frozenset({U}),
    ("get", "/api/v1/users"): frozenset({A}),
    ("post", "/api/v1/users"): frozenset({A}),
    ("get", "/api/v1/users/{name}"): frozenset({A}),
    ("patch", "/api/v1/users/{name}"): frozenset({A}),
    ("get", "/api/v1/users/{name}/keys"): frozenset({A}),
    ("post", "/api/v1/users/{name}/keys"): frozenset({A}),
    ("get", "/api/v1/keys"): frozenset({A}),
    ("delete", "/api/v1/keys/{prefix}"): frozenset({A}),
    ("get", "/api/v1/system/settings"): frozenset({A}),
    ("get", "/api/v1/system/index"): frozenset({A}),
    ("post", "/api/v1/erasures"): frozenset({C}),
    ("get", "/api/v1/erasures"): frozenset({C, U}),
    ("get", "/api/v1/erasures/{request_id}"): frozenset({C, U}),
    ("post", "/api/v1/erasures/{request_id}/confirm"): frozenset({C}),
    ("post", "/api/v1/erasures/{request_id}/cancel"): frozenset({C}),
    ("get", "/api/v1/suppressions"): frozenset({C, U}),
    ("put", "/api/v1/galleries/{name}/retention"): frozenset({A, C}),
    ("put", "/api/v1/galleries/{name}/blind-review"): frozenset({C}),
    ("get", "/api/v1/retention/expired"): frozenset({A, C}),
    ("post", "/api/v1/retention/apply"): frozenset({A, C}),
    ("get", "/api/v1/grants"): frozenset({A}),
    ("post", "/api/v1/grants"): frozenset({A}),
    ("delete", "/api/v1/grants/{user}/{gallery}"): frozenset({A}),
    ("get", "/api/v1/groups"): frozenset({A}),
    ("post", "/api/v1/groups"): frozenset({A}),
    ("get", "/api/v1/groups/{name}"): frozenset({A}),
    ("delete", "/api/v1/groups/{name}"): frozenset({A}),
    ("post", "/api/v1/groups/{name}/members"): frozenset({A}),
    ("delete", "/api/v1/groups/{name}/members/{user}"): frozenset({A}),
    ("post", "/api/v1/groups/{name}/grants"): frozenset({A}),
    ("delete", "/api/v1/groups/{name}/grants/{gallery}"): frozenset({A}),
    ("get", "/api/v1/reviews/{seq}"): frozenset({R, U}),
    ("post", "/api/v1/reviews/{seq}/{face_id}"): frozenset({R}),
    ("get", "/api/v1/reviews/{seq}/{face_id}/sheet"): frozenset({R, U}),
    ("get", "/api/v1/reviews/{seq}/{face_id}/thumbnail"): frozenset({R, U}),
}

# Path parameters that name nothing that exists, so no allowed call changes anything.
PARAMS = {
    "name": "no-such-thing",
    "label": "nobody",
    "image_id": "999999",
    "face_id": "999999",
    "seq": "999999",
    "prefix": "fsk_00000000",
    "request_id": "999999",
    "user": "no-such-user",
    "gallery": "no-such-gallery",
}


def _operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    spec = api.client.get("/openapi.json").json()
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if not path.startswith("/ui")  # the web UI's pages are tested in tests/web
    ]


def test_the_table_covers_every_route_and_the_document_agrees(api: Api) -> None:
    operations = _operations(api)
    assert {(m, p) for m, p, _ in operations} == set(EXPECTED)
    for method, path, operation in operations:
        expected = EXPECTED[(method, path)]
        if expected is None:
            assert "x-permission" not in operation, path
        else:
            assert set(operation["x-roles"]) == expected, (method, path)


@pytest.mark.parametrize("who", [*ROLES, "all", "none", "no key", "bad key"])
def test_every_route_allows_and_denies_by_the_table(api: Api, who: str) -> None:
    failures = []
    for method, path, _ in _operations(api):
        url = path.format(**PARAMS)
        headers = {}
        if who == "bad key":
            headers = {"Authorization": "Bearer fsk_00000000." + "A" * 43}
        elif who != "no key":
            headers = api.headers(who)
        response = api.client.request(method.upper(), url, headers=headers)
        expected = EXPECTED[(method, path)]
        held = set(ROLES) if who == "all" else {who} & set(ROLES)
        if expected is None:
            ok = response.status_code == 200
        elif who in ("no key", "bad key"):
            ok = response.status_code == 401
        elif held & expected:
            ok = response.status_code not in (401, 403) and response.status_code < 500
        else:
            ok = response.status_code == 403
        if not ok:
            failures.append(f"{method.upper()} {path} as {who}: {response.status_code}")
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}
    assert failures == []


def test_denials_and_bad_keys_are_audited(api: Api) -> None:
    api.client.get("/api/v1/audit/events", headers=api.headers("investigator"))
    api.client.get("/api/v1/me", headers={"X-API-Key": "fsk_00000000." + "B" * 43})
    events = api.engine.audit.list(limit=2)
    assert (events[0].action, events[0].outcome) == ("auth.failure", "authentication_required")
    assert (events[1].actor, events[1].action, events[1].outcome) == (
        "investigator",
        "audit.read",
        "permission_denied",
    )
