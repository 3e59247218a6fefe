"""Upload limits: a request body is refused before it is read whole when it is too big.

:class:`BodyLimit` is ASGI middleware: a ``Content-Length`` above the route's cap is
answered ``413`` at once, without reading the body; a body without one (chunked) is
counted as it streams and cut off at the cap. The caps follow the image size limit:
one image for a search or an erasure request, two for a verify, ``api.max_files`` for
an enroll, 1 MiB for any other body. :func:`read_image` then holds each uploaded file
to the per-image limit.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import UploadFile

from facesearch.errors import ImageTooLarge
from facesearch.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FORM_OVERHEAD = 1 << 20
"""Room for the multipart boundaries and text fields around the files, in bytes."""

_ENROLL = re.compile(r"/api/v1/galleries/[^/]+/images/?$")
_SEARCH = re.compile(r"/(api/v1/search|ui/detect)/?$")
_ERASURE = re.compile(r"/(api/v1|ui)/erasures/?$")
_VERIFY = re.compile(r"/api/v1/verify/?$")
_UI_ENROLL = re.compile(r"/ui/galleries/[^/]+/upload/?$")


def body_cap(path: str, settings: Settings) -> int:
    """The most bytes a request body to ``path`` may have."""
    image = settings.imaging.max_bytes
    if _ENROLL.search(path) or _UI_ENROLL.search(path):
        return image * settings.api.max_files + FORM_OVERHEAD
    if _VERIFY.search(path):
        return 2 * image + FORM_OVERHEAD
    if _SEARCH.search(path) or _ERASURE.search(path):
        return image + FORM_OVERHEAD
    return FORM_OVERHEAD


def _too_large_body(cap: int) -> bytes:
    message = f"request body larger than {cap} bytes; one image may have at most the image limit"
    return json.dumps({"error": {"code": "image_too_large", "message": message}}).encode()


def _too_large_page(path: str, cap: int) -> bytes:
    """A short page for a browser's form post to ``/ui``: what happened and a way back."""
    back = html.escape(path.removesuffix("/").removesuffix("/upload") or "/ui", quote=True)
    mib = cap / (1 << 20)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Upload too large · facesearch</title>"
        '<link rel="stylesheet" href="/ui/static/style.css"></head><body><main id="main">'
        "<h1>Upload too large</h1>"
        f'<p class="error" role="alert">The upload is larger than {mib:.1f} MiB, the most '
        "this form takes; nothing was read or stored. Choose a smaller image.</p>"
        f'<p><a href="{back}">Back</a></p></main></body></html>\n'
    ).encode()


def _wants_page(scope: Scope) -> bool:
    """A web UI form post from a browser, which shows the answer as a page."""
    if not str(scope.get("path", "")).startswith("/ui"):
        return False
    accept = b"".join(v for k, v in scope.get("headers", []) if k == b"accept")
    return b"text/html" in accept


class BodyLimit:
    """Refuse request bodies above :func:`body_cap` without reading them whole."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = body_cap(str(scope.get("path", "")), self.settings)
        length = _content_length(scope)
        if length is not None and length > cap:
            await _send_413(send, scope, cap)
            return
        seen = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # whatever the app answers, the answer is 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _send_413(send, scope, cap)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
            if not started:
                await _send_413(send, scope, cap)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, scope: Scope, cap: int) -> None:
    """The 413: the error shape in JSON, or a short page for a browser on ``/ui``."""
    if _wants_page(scope):
        body, kind = _too_large_page(str(scope.get("path", "")), cap), b"text/html; charset=utf-8"
    else:
        body, kind = _too_large_body(cap), b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def read_image(upload: UploadFile, settings: Settings) -> bytes:
    """The bytes of one uploaded image, refused (``ImageTooLarge``) above the image limit.

    Reads the spooled file synchronously: call it from a sync route (run in a thread).
    """
    limit = settings.imaging.max_bytes
    if upload.size is not None and upload.size > limit:
        raise ImageTooLarge(f"{upload.filename or 'upload'} is larger than {limit} bytes")
    upload.file.seek(0)
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(f"{upload.filename or 'upload'} is larger than {limit} bytes")
    return data
