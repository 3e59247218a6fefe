"""One error shape for every failure, mapped in one place (facesearch.api.errors)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from facesearch.api import create_app
from facesearch.errors import ALL_ERRORS, FaceSearchError
from facesearch.settings import Settings


def _error(cls: type[FaceSearchError]) -> FaceSearchError:
    return cls(f"a one-line {cls.__name__} message")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An app (no engine needed) with routes that raise each error class."""
    app: FastAPI = create_app(settings)
    by_name = {cls.__name__: cls for cls in ALL_ERRORS}

    @app.get("/_raise/{name}")
    def raise_error(name: str) -> None:
        raise _error(by_name[name])

    @app.get("/_bug")
    def bug() -> None:
        raise RuntimeError("SELECT * FROM secret_table WHERE password = 'x'")

    @app.get("/_typed")
    def typed(n: int) -> int:
        return n

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _shape(body: object) -> tuple[str, str]:
    assert isinstance(body, dict) and set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message"}
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    assert "\n" not in error["message"] and "Traceback" not in error["message"]
    return error["code"], error["message"]


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_class_has_the_one_shape(
    client: TestClient, cls: type[FaceSearchError]
) -> None:
    response = client.get(f"/_raise/{cls.__name__}")
    assert response.status_code == cls.http_status
    assert _shape(response.json()) == (cls.code, f"a one-line {cls.__name__} message")
    assert response.headers["content-type"].startswith("application/json")


def test_every_error_class_is_a_4xx_or_5xx_with_a_code() -> None:
    codes = [cls.code for cls in ALL_ERRORS]
    assert len(set(codes)) == len(codes)
    assert all(400 <= cls.http_status < 600 for cls in ALL_ERRORS)


def test_validation_unknown_route_method_and_bugs_share_the_shape(client: TestClient) -> None:
    r = client.get("/_typed", params={"n": "not a number"})
    assert r.status_code == 422 and _shape(r.json())[0] == "invalid_input"
    assert "not a number" not in r.text  # the input is not echoed
    r = client.get("/no/such/route")
    assert r.status_code == 404 and _shape(r.json())[0] == "not_found"
    r = client.delete("/healthz")
    assert r.status_code == 405 and _shape(r.json())[0] == "method_not_allowed"
    r = client.get("/_bug")
    assert r.status_code == 500 and _shape(r.json()) == (
        "internal_error",
        "internal error; the failure was logged",
    )
    assert "SELECT" not in r.text and "secret" not in r.text


def test_an_unauthenticated_request_says_how_to_authenticate(client: TestClient) -> None:
    r = client.get("/api/v1/galleries")
    # still starting or ready: either way the one shape
    assert r.status_code in (401, 503)
    _shape(r.json())
