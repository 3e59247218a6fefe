"""The OpenAPI document shows an example of every request body and of every JSON answer."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from facesearch.api import create_app, schemas
from facesearch.api.routes.oversight import USAGE_EXAMPLE
from facesearch.oversight import UsageReport
from facesearch.oversight.purpose import CATEGORY_NAMES
from facesearch.oversight.usage import SIMILARITY_BINS
from facesearch.settings import Settings

NO_EXAMPLE_YET: set[tuple[str, str]] = set()
"""Operations allowed to lack an example (none)."""


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("data"), database_url=None))
    return app.openapi()


def _missing(spec: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """What in ``schema`` has no example: [] when the schema (after ``$ref``) has
    ``examples``/``example``, or is an array of such items, a union of such members, or an
    object each of whose properties has one. A file's bytes (``contentMediaType``) need
    none: there is nothing to show."""
    components = spec["components"]["schemas"]
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if "examples" in schema or "example" in schema:
        return []
    if "contentMediaType" in schema or schema.get("format") == "binary":
        return []
    if schema.get("type") == "array" and "items" in schema:
        return _missing(spec, schema["items"])
    members = [m for m in schema.get("anyOf", []) if m.get("type") != "null"]
    if members:
        return [gap for m in members for gap in _missing(spec, m)]
    properties = schema.get("properties")
    if properties:
        return [
            f"{schema.get('title', '?')}.{name}"
            for name, prop in properties.items()
            if _missing(spec, prop)
        ]
    return [schema.get("title", repr(schema))]


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if (method, path) not in NO_EXAMPLE_YET
    ]


def test_every_request_body_has_an_example(spec: dict[str, Any]) -> None:
    gaps = {}
    bodies = 0
    for method, path, op in _operations(spec):
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            bodies += 1
            missing = [] if "example" in content else _missing(spec, content["schema"])
            if missing:
                gaps[f"{method} {path} ({media})"] = missing
    assert bodies >= 15 and gaps == {}


def test_every_json_answer_has_an_example(spec: dict[str, Any]) -> None:
    gaps = {}
    answers = 0
    for method, path, op in _operations(spec):
        for status, response in op.get("responses", {}).items():
            content = response.get("content", {}).get("application/json")
            if not status.startswith("2") or content is None:
                continue
            answers += 1
            missing = [] if "example" in content else _missing(spec, content["schema"])
            if missing:
                gaps[f"{method} {path} {status}"] = missing
    assert answers >= 40 and gaps == {}


def test_the_check_sees_a_missing_example(spec: dict[str, Any]) -> None:
    bare = {"title": "T", "type": "object", "properties": {"a": {"type": "string"}}}
    assert _missing(spec, bare) == ["T.a"]
    assert _missing(spec, {"type": "array", "items": bare}) == ["T.a"]
    assert _missing(spec, {"$ref": "#/components/schemas/FaceOut"}) == []
    examples = spec["components"]["schemas"]["FaceOut"]["examples"]
    assert set(examples[0]) == set(spec["components"]["schemas"]["FaceOut"]["properties"])


def schema_modules() -> list[ModuleType]:
    """Every module of :mod:`facesearch.api.schemas`."""
    return [
        importlib.import_module(f"{schemas.__name__}.{info.name}")
        for info in pkgutil.iter_modules(schemas.__path__)
    ]


def _models_with_examples() -> list[type[BaseModel]]:
    models = []
    for module in schema_modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
                and isinstance(value.model_config.get("json_schema_extra"), dict)
            ):
                models.append(value)
    return models


@pytest.mark.parametrize("model", _models_with_examples(), ids=lambda m: m.__name__)
def test_each_example_is_a_valid_instance_with_every_field(model: type[BaseModel]) -> None:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    examples = extra["examples"]
    assert isinstance(examples, list) and examples
    for example in examples:
        assert isinstance(example, dict)
        model.model_validate(example)
        if not model.__name__.endswith(("In", "Patch")):  # a request may leave out defaults
            assert set(example) == set(model.model_fields), model.__name__


def test_the_usage_report_example_is_a_whole_report() -> None:
    """The usage report is a dataclass of facesearch.oversight; its example lives with the
    route and must still describe it, field for field."""
    report = TypeAdapter(UsageReport).validate_python(USAGE_EXAMPLE)
    assert dataclasses.asdict(report) == USAGE_EXAMPLE
    assert set(report.searches.by_category) <= set(CATEGORY_NAMES)
    assert set(report.candidates.histogram) <= {label for label, _, _ in SIMILARITY_BINS}
    assert sum(report.searches.by_category.values()) == report.searches.completed
