"""The OpenAPI document lists every status an operation can answer, and no other.

The statuses follow from the one error mapping (:mod:`facesearch.api.statuses`); these
tests hold the document to those rules and then provoke, on every operation of the
document through the real app, the answers any operation can give: no key (401, also with
a body that cannot be read: authentication comes first), a key without the role (403),
a body that is not UTF-8 JSON or not a form (422, not an undocumented 400), a body over
the cap (413), a method the path does not take (405 with ``Allow``), and duplicates (409).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facesearch import errors
from facesearch.api.app import api_routes
from facesearch.api.statuses import operation_statuses
from facesearch.api.uploads import body_cap
from facesearch.service import FacePipeline
from facesearch.settings import ImagingSettings, Settings

from .conftest import Api, start

LIMIT = 100_000
"""A small per-image limit, so that a body over every route's cap stays small."""


@pytest.fixture
def api(tmp_path: Path, real_pipeline: FacePipeline) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path / "data", workers=1, imaging=ImagingSettings(max_bytes=LIMIT)
    )
    yield from start(settings, real_pipeline)


METHODS = ("get", "post", "put", "patch", "delete")
NOT_UTF8 = b'{"name": "\xff\xfe"}'


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _errors(op: dict[str, Any]) -> set[int]:
    return {int(code) for code in op["responses"] if int(code) >= 400}


def _url(path: str) -> str:
    """``path`` with each parameter filled (``1`` fits both names and ids)."""
    out = path
    while "{" in out:
        start = out.index("{")
        out = out[:start] + "1" + out[out.index("}", start) + 1 :]
    return out


def _body_kind(op: dict[str, Any]) -> str | None:
    content = op.get("requestBody", {}).get("content", {})
    return next(iter(content), None)


def test_each_operation_lists_the_statuses_of_its_errors(api: Api) -> None:
    app: Any = api.client.app
    spec = app.openapi()
    seen = 0
    for route in api_routes(app.routes):
        item = spec["paths"].get(route.path_format)
        if item is None:
            continue
        if route.path_format in ("/healthz", "/readyz"):  # public; /readyz's 503 is its own
            assert operation_statuses(route, "GET") == set()
            seen += 1
            continue
        for method in route.methods:
            op = item[method.lower()]
            assert _errors(op) == operation_statuses(route, method), (method, route.path_format)
            for code in _errors(op):
                schema = op["responses"][str(code)]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}
            seen += 1
    assert seen == len(_operations(spec)) >= 50
    # every status of the mapping (but the 500s, which are failures, not answers) is
    # listed by some operation
    mapped = {
        cls.http_status
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.FaceSearchError) and cls is not errors.FaceSearchError
    }
    listed = set().union(*(_errors(op) for _, _, op in _operations(spec)))
    assert mapped - {500} <= listed
    assert listed <= mapped | {422}


def test_every_operation_answers_only_what_it_lists(api: Api) -> None:
    spec = api.client.app.openapi()  # type: ignore[attr-defined]
    wrong: list[str] = []

    def check(label: str, op: dict[str, Any], status: int, expected: int) -> None:
        if status != expected or status not in _errors(op):
            wrong.append(f"{label}: {status} (listed: {sorted(_errors(op))})")

    for path, method, op in _operations(spec):
        if path in ("/healthz", "/readyz"):
            continue
        url, kind = _url(path), _body_kind(op)
        label = f"{method.upper()} {path}"
        r = api.client.request(method, url)
        check(f"{label} without a key", op, r.status_code, 401)
        r = api.client.request(method, url, headers=api.headers("none"))
        check(f"{label} without the role", op, r.status_code, 403)
        if kind is None:
            continue
        unreadable = {
            "application/json": (NOT_UTF8, "application/json"),
            "multipart/form-data": (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        }[kind]
        body, content_type = unreadable
        headers = {"content-type": content_type}
        r = api.client.request(method, url, content=body, headers=headers)
        check(f"{label} unreadable body, no key", op, r.status_code, 401)
        r = api.client.request(
            method, url, content=body, headers={**headers, **api.headers("none")}
        )
        check(f"{label} unreadable body, no role", op, r.status_code, 403)
        r = api.client.request(method, url, content=body, headers={**headers, **api.headers("all")})
        check(f"{label} unreadable body", op, r.status_code, 422)
        huge = b"x" * (body_cap(url, api.engine.settings) + 1)
        r = api.client.request(method, url, content=huge, headers={**headers, **api.headers("all")})
        check(f"{label} body over the cap", op, r.status_code, 413)
    assert wrong == []


def test_a_method_a_path_does_not_take_is_405_with_allow(api: Api) -> None:
    spec = api.client.app.openapi()  # type: ignore[attr-defined]
    for path, item in spec["paths"].items():
        allowed = sorted(m.upper() for m in item if m in METHODS)
        for method in METHODS:
            if method in item:
                continue
            r = api.client.request(method, _url(path), headers=api.headers("all"))
            assert r.status_code == 405, (method, path)
            assert r.json()["error"]["code"] == "method_not_allowed"
            assert sorted(r.headers["allow"].split(", ")) == allowed, (method, path)


@pytest.mark.parametrize(
    ("path", "body", "role"),
    [
        ("/api/v1/galleries", {"name": "dup", "legal_basis": "t"}, "curator"),
        ("/api/v1/users", {"name": "dup", "roles": []}, "admin"),
        ("/api/v1/groups", {"name": "dup"}, "admin"),
    ],
)
def test_a_duplicate_is_409_and_listed(
    api: Api, path: str, body: dict[str, Any], role: str
) -> None:
    spec = api.client.app.openapi()  # type: ignore[attr-defined]
    first = api.client.post(path, json=body, headers=api.headers(role))
    assert first.status_code == 201, first.text
    again = api.client.post(path, json=body, headers=api.headers(role))
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_exists"
    assert 409 in _errors(spec["paths"][path]["post"])


def test_the_justification_bounds_are_in_the_document(api: Api) -> None:
    spec = api.client.app.openapi()  # type: ignore[attr-defined]
    least = api.engine.settings.audit.min_purpose_length
    for path in ("/api/v1/search", "/api/v1/verify"):
        ref = spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
        name = ref["schema"]["$ref"].rsplit("/", 1)[-1]
        props = spec["components"]["schemas"][name]["properties"]
        assert props["purpose"]["minLength"] == least
        assert props["case_reference"]["minLength"] == 1
        assert props["authorization_reference"]["minLength"] == 1
        r = api.client.post(
            path,
            data={"purpose": " " * least, "case_reference": "C", "authorization_reference": " "},
            files={"probe": ("p.jpg", b"x", "image/jpeg")},
            headers=api.headers("investigator"),
        )
        assert r.status_code == 422  # refused: what the pattern excludes (blank after strip)
