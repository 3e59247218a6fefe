"""``facesearch serve``: the HTTP API and web UI under uvicorn."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from facesearch.cli import common, output
from facesearch.cli.common import operator
from facesearch.errors import InvalidInput
from facesearch.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def describe_descriptor_runtime(settings: Settings) -> str:
    """One line for start-up: what runs the descriptor, on which execution providers."""
    embedding = settings.embedding
    from facesearch.embedding.dlib_onnx_runtime import choose_providers
    from facesearch.embedding.registry import embedding_model_id, is_packaged

    if not is_packaged(embedding):
        providers = choose_providers(embedding.execution_providers)
        return (
            f"descriptor: {embedding_model_id(embedding)} (ONNX file "
            f"{embedding.onnx.path}), onnxruntime, providers {', '.join(providers)}"
        )
    if embedding.runtime.value == "dlib" or embedding.jitters > 0:
        return "descriptor: dlib (CPU)"
    providers = choose_providers(embedding.execution_providers)
    return (
        f"descriptor: onnxruntime, providers {', '.join(providers)}; converted model in "
        f"{settings.models_cache_dir}"
    )


def app_from_environment() -> FastAPI:
    """The app of one ``serve --workers`` process, its settings read from the environment."""
    from facesearch.api import create_app

    return create_app(Settings())


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: FACESEARCH_API__HOST).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port (default: FACESEARCH_API__PORT)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            help="API processes (uvicorn workers). More than 1 needs a shared vector index "
            "(FACESEARCH_INDEX__BACKEND=milvus).",
        ),
    ] = 1,
) -> None:
    """Serve the REST API (/api/v1, its OpenAPI document at /openapi.json) and the web UI.

    On the first start of an empty store an admin user is made and its API key printed once.
    """
    import uvicorn

    from facesearch.api import create_app
    from facesearch.audit import AuditLog
    from facesearch.auth import Accounts
    from facesearch.index.registry import is_shared
    from facesearch.store import Store

    settings = common.settings()
    if workers > 1 and not is_shared(settings.index.backend):
        raise InvalidInput(
            f"--workers {workers} needs a shared vector index (FACESEARCH_INDEX__BACKEND=milvus): "
            f"with {settings.index.backend.value} each worker would hold its own copy of the "
            "index and miss the others' writes"
        )
    api = settings.api.model_copy(
        update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    )
    settings = settings.model_copy(update={"api": api})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.resolved_database_url)
    try:
        if store.accounts.count_users() == 0:
            accounts = Accounts(
                store, AuditLog(store, anchor_path=settings.audit_anchor_path), settings.auth
            )
            user, issued = accounts.create_first_admin("admin", context=operator())
            output.info(f"First start: made user {user.name!r} (role admin). Its API key,")
            output.info("shown once and stored only as a hash:")
            output.info(issued.secret)
    finally:
        store.close()
    output.info(f"facesearch on http://{api.host}:{api.port}/ (OpenAPI at /openapi.json)")
    output.info(describe_descriptor_runtime(settings))
    try:
        if workers > 1:
            # each worker process builds its own app from the environment; --data-dir
            # reaches it the same way
            os.environ["FACESEARCH_DATA_DIR"] = str(settings.data_dir)
            output.info(f"{workers} worker processes sharing {settings.index.backend.value}")
            uvicorn.run(
                "facesearch.cli.serve:app_from_environment",
                factory=True,
                host=api.host,
                port=api.port,
                workers=workers,
                log_level="info",
            )
        else:
            uvicorn.run(create_app(settings), host=api.host, port=api.port, log_level="info")
    except SystemExit as exit_:  # uvicorn exits 1 when it cannot start (port taken, ...)
        if exit_.code in (0, None):
            raise
        output.error(f"could not serve on {api.host}:{api.port} (the log above says why)")
        raise typer.Exit(code=3) from None
