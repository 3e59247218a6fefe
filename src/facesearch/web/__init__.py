"""The server-rendered web UI (Jinja2 templates, plain JavaScript) over the same app.

Pages live under ``/ui`` (not in the OpenAPI document); ``/`` leads to the signed-in
user's landing page (the first page their roles open), or to sign in.
Failures on a page are shown on the page as readable messages.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from facesearch.web.governance_pages import router as governance_router
from facesearch.web.oversight_pages import router as oversight_router
from facesearch.web.pages import TEMPLATES, SignInNeeded, router
from facesearch.web.privacy_pages import router as privacy_router
from facesearch.web.review_pages import router as review_router

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the web UI's pages and static files on ``app``."""
    app.include_router(router)
    app.include_router(privacy_router)
    app.include_router(governance_router)
    app.include_router(oversight_router)
    app.include_router(review_router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="web-static")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/start", status_code=303)

    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/ui/detect"):
            return JSONResponse(
                {"error": {"code": "authentication_required", "message": "sign in again"}},
                status_code=401,
            )
        return RedirectResponse("/ui/signin", status_code=303)

    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.state.html_error_page = _error_page


def _error_page(request: Request, status: int, message: str) -> Response:
    return TEMPLATES.TemplateResponse(
        request, "base.html", {"user": None, "error": message}, status_code=status
    )


__all__ = ["install"]
