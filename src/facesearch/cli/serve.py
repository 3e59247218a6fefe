"""``facesearch serve``: the HTTP API and web UI under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from facesearch.cli import common, output
from facesearch.cli.common import operator
from facesearch.settings import Settings


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


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: FACESEARCH_API__HOST).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port (default: FACESEARCH_API__PORT)."),
    ] = None,
) -> None:
    """Serve the REST API (/api/v1, its OpenAPI document at /openapi.json) and the web UI.

    On the first start of an empty store an admin user is made and its API key printed once.
    """
    import uvicorn

    from facesearch.api import create_app
    from facesearch.audit import AuditLog
    from facesearch.auth import Accounts
    from facesearch.store import Store

    settings = common.settings()
    api = settings.api.model_copy(
        update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    )
    settings = settings.model_copy(update={"api": api})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.resolved_database_url)
    try:
        if store.count_users() == 0:
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
        uvicorn.run(create_app(settings), host=api.host, port=api.port, log_level="info")
    except SystemExit as exit_:  # uvicorn exits 1 when it cannot start (port taken, ...)
        if exit_.code in (0, None):
            raise
        output.error(f"could not serve on {api.host}:{api.port} (the log above says why)")
        raise typer.Exit(code=3) from None
