"""The FastAPI application: ``create_app(settings)`` builds everything; nothing is global.

The engine (store, models, vector index) is built in a thread when the app starts, so that
``/healthz`` answers at once and ``/readyz`` turns ready once the index is reconciled with
the store; until then every other route answers ``503 index_unavailable``. ``/readyz``
also answers 503, with the reason, while the audit log disagrees with its anchor (then
every audited call fails with ``503 audit_log_cut``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from facesearch.api import deps
from facesearch.api.deps import Runtime
from facesearch.api.errors import ERROR_RESPONSE_SCHEMA, error_response, install_error_handlers
from facesearch.api.routes import (
    admin,
    catalog,
    governance,
    oversight,
    privacy,
    reviews,
    search,
)
from facesearch.api.schemas.system import HealthOut, ReadyOut
from facesearch.api.statuses import DESCRIPTIONS, operation_statuses
from facesearch.api.trail import AuditTrail
from facesearch.api.uploads import BodyLimit
from facesearch.errors import FaceSearchError
from facesearch.service import FacePipeline
from facesearch.settings import Settings

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Face search with accountability. Every route needs an API key (`Authorization: Bearer
<key>` or `X-API-Key`) whose user holds a role allowed the route's action (`x-permission`
and `x-roles` on each operation): `admin` (users, keys, settings), `curator` (galleries,
enrollment, deletion), `investigator` (search, verify), `auditor` (audit log),
`reviewer` (two-person review of candidates).

A search or verify must carry a purpose, a case reference and an authorization reference;
it is recorded in a hash-chained audit log before its result is returned. Results are
candidates: leads for a trained reviewer, never a conclusion about who someone is.

Every failure has the body `{"error": {"code": "...", "message": "..."}}`.
"""


def _build(
    state: Runtime, pipeline: FacePipeline | None, clock: Callable[[], datetime] | None
) -> None:
    from facesearch.service import FaceSearch
    from facesearch.service.retention import RetentionTask

    try:
        engine = FaceSearch(state.settings, pipeline=pipeline, clock=clock)
        if pipeline is None:  # the app's own models: verified before it says it is ready
            engine.pipeline.warm_up()
        interval = state.settings.retention.interval_s
        if interval > 0:
            state.retention = RetentionTask(engine.retention, interval)
            state.retention.start()
        state.engine = engine
    except FaceSearchError as err:
        state.failure = err.message
        logger.error("facesearch failed to start: %s", err.message)
    except Exception as err:  # logged in full; the API says only that it failed
        state.failure = type(err).__name__
        logger.exception("facesearch failed to start")
    finally:
        state.ready.set()


def create_app(
    settings: Settings,
    *,
    pipeline: FacePipeline | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The app over ``settings``; ``pipeline`` reuses loaded models (tests, benchmarks);
    ``clock`` (aware UTC now) drives retention (tests).

    While it runs, a :class:`~facesearch.service.retention.RetentionTask` purges expired
    images every ``retention.interval_s`` seconds (0: never); it stops on shutdown."""
    state = Runtime(settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        builder = threading.Thread(
            target=_build, args=(state, pipeline, clock), name="facesearch-start", daemon=True
        )
        builder.start()
        try:
            yield
        finally:
            builder.join()
            if state.retention is not None:
                state.retention.stop()
                state.retention = None
            if state.engine is not None:
                state.engine.close()
                state.engine = None

    app = FastAPI(
        title="facesearch",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's /docs and /redoc load their scripts from a CDN; nothing here is fetched
        # at run time (machines may have no internet), so only /openapi.json is served
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = state
    install_error_handlers(app)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(AuditTrail)
    _system_routes(app)
    for router in (
        catalog.router,
        search.router,
        privacy.router,
        governance.router,
        oversight.router,
        reviews.router,
        admin.router,
    ):
        _document_permissions(router.routes)
        app.include_router(router)
    _web_routes(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _system_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["system"], summary="Liveness: the process answers")
    def healthz() -> HealthOut:
        return HealthOut(status="ok")

    @app.get(
        "/readyz",
        tags=["system"],
        summary="Readiness: the index is reconciled with the store, the audit log appendable",
        response_model=ReadyOut,
        responses={
            503: {
                "model": ReadyOut,
                "description": "Starting, failed to start, or the audit log is cut "
                "(`problem` says why).",
            }
        },
    )
    def readyz(request: Request) -> Any:
        state = deps.runtime(request)
        if state.engine is None:  # starting, or failed to start (the reason, if known)
            body = ReadyOut(ready=False, problem=state.failure)
            return JSONResponse(body.model_dump(), status_code=503)
        index = state.engine.reconcile_report.action
        try:
            problem = state.engine.audit.health()
        except FaceSearchError as err:  # the store cannot even be read
            problem = err.message
        if problem is None:  # a shared index (Milvus) may become unreachable after start
            problem = state.engine.index_health()
        if problem is not None:
            body = ReadyOut(ready=False, index=index, problem=problem)
            return JSONResponse(body.model_dump(), status_code=503)
        return ReadyOut(ready=True, index=index)


def _web_routes(app: FastAPI) -> None:
    try:
        from facesearch.web import install
    except ImportError:  # pragma: no cover - the web UI is part of the package
        return
    install(app)


def _document_permissions(routes: Sequence[BaseRoute]) -> None:
    """Name each route's action and roles in the OpenAPI document (from its dependencies)."""
    for route in routes:
        if isinstance(route, APIRoute):
            action = deps.route_action(route.dependant.dependencies)
            if action is not None:
                route.openapi_extra = {
                    **(route.openapi_extra or {}),
                    **deps.openapi_permission(action),
                }


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every :class:`APIRoute` in ``routes``, including those of included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            yield from api_routes(included.routes)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document: each operation lists the error statuses it can answer
    (:func:`facesearch.api.statuses.operation_statuses`, from the one error mapping),
    each with the error shape, and the search justification's lower bounds."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_RESPONSE_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    paths = schema.get("paths", {})
    for route in api_routes(app.routes):
        item = paths.get(route.path_format)
        if item is None:
            continue
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in sorted(operation_statuses(route, method)):
                responses[str(status)] = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": ref}},
                }
    schema["components"]["schemas"].pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)
    _justification_bounds(schema, app.state.runtime.settings)
    app.openapi_schema = schema
    return schema


def _justification_bounds(schema: dict[str, Any], settings: Settings) -> None:
    """What the service refuses, in the document: a purpose of fewer than
    ``audit.min_purpose_length`` characters, and blank references (each counted without
    surrounding whitespace, as :meth:`AuditContext.justification` counts them)."""
    least = settings.audit.min_purpose_length
    bounds = {
        "purpose": least,
        "case_reference": 1,
        "authorization_reference": 1,
    }
    components = schema["components"]["schemas"]
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                ref = media.get("schema", {}).get("$ref", "")
                properties = components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
                if not set(bounds) <= set(properties):
                    continue
                for name, least_chars in bounds.items():
                    properties[name]["minLength"] = least_chars
                    properties[name]["pattern"] = _at_least_stripped(least_chars)


def _at_least_stripped(n: int) -> str:
    """A pattern of strings with at least ``n`` characters between their first and last
    non-whitespace character (both included), like ``len(value.strip()) >= n``."""
    if n <= 1:
        return r"^\s*\S[\s\S]*$"
    return rf"^\s*\S[\s\S]{{{n - 2},}}\S\s*$"


__all__ = ["create_app", "error_response"]
