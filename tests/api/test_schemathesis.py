"""Schemathesis against the app's own OpenAPI document, with a key holding every role:
no operation ever answers 5xx, every error has the one shape, and every answer conforms
to the document (its status, content type, headers and body schema are the ones listed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from facesearch.service import FacePipeline
from facesearch.settings import Settings

from .conftest import Api, start

EXAMPLES = 30

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzzed(tmp_path: Path, real_pipeline: FacePipeline) -> Iterator[Api]:
    yield from start(Settings(data_dir=tmp_path / "data", workers=1), real_pipeline)


@pytest.mark.slow
def test_no_operation_answers_5xx(fuzzed: Api) -> None:
    app = fuzzed.client.app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = fuzzed.headers("all")
    fuzzed.client.post(  # a gallery, so that some generated names exist
        "/api/v1/galleries", json={"name": "g", "legal_basis": "t"}, headers=headers
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), data=st.data())
        def check(case: schemathesis.Case, data: st.DataObject) -> None:
            response = case.call(headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            label = f"{case.method} {case.formatted_path}: {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{label} {response.text[:200]}")
            elif response.status_code >= 400:
                body = response.json()
                if set(body) != {"error"} or set(body["error"]) != {"code", "message"}:
                    failures.append(f"{label} has another error shape")
            case.validate_response(response, checks=CHECKS)  # raises what does not conform

        check()
    assert failures == []
    assert sum(n for code, n in statuses.items() if code < 300) > 100  # it got through
    assert fuzzed.engine.audit.verify().ok
