"""Upload limits: a request body is refused before it is read whole when it is too big.

:class:`BodyLimit` is ASGI middleware: a ``Content-Length`` above the route's cap is
answered ``413`` at once, without reading the body; a body without one (chunked) is
counted as it streams and cut off at the cap. The caps follow the image size limit:
one image for a search or an erasure request, two for a verify, ``api.max_files`` for
an enroll, 1 MiB for any other body. A ``multipart/form-data`` body is also parsed as it
streams (python-multipart's push parser, the one Starlette uses): the moment one part
passes the per-image limit the request is answered ``413``, so a single oversized file
in an enroll is never spooled whole. :func:`read_image` then holds each uploaded file
to the per-image limit once more.

Before any such 413 the caller is authenticated and authorized as the route would
(401/403/429 first), and an authenticated caller's refused write is audited like any
other refusal (the route's audit action, outcome ``image_too_large`` or
``body_too_large``). A body over the cap that holds no images is ``body_too_large``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

from fastapi import Request, UploadFile
from fastapi.routing import APIRoute
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.routing import Match

from facesearch.errors import BodyTooLarge, ImageTooLarge
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


def _takes_images(path: str) -> bool:
    return any(r.search(path) for r in (_ENROLL, _UI_ENROLL, _VERIFY, _SEARCH, _ERASURE))


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


def _too_large_body(
    path: str, cap: int, part: str | None = None, limit: int = 0
) -> tuple[str, str]:
    """``(code, message)`` of a 413: a part over the image limit, an upload's body over
    what its images may add up to (both ``image_too_large``), or another body over the
    cap (``body_too_large``: it holds no image)."""
    if part is not None:
        message = f"{part} is larger than {limit} bytes, the per-image limit; nothing was stored"
        return ImageTooLarge.code, message
    if _takes_images(path):
        message = (
            f"request body larger than {cap} bytes, what this operation's images may add "
            "up to; nothing was stored"
        )
        return ImageTooLarge.code, message
    message = f"request body larger than {cap} bytes, the most this operation takes"
    return BodyTooLarge.code, message


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


class _PartWatch:
    """Feed a streamed ``multipart/form-data`` body; note the first part over ``limit`` bytes.

    Only sizes are tracked: the parts themselves are parsed again by Starlette. A body the
    parser cannot read is left to the route, which answers it (422) as before.
    """

    def __init__(self, boundary: bytes, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.name = "upload"
        self.over: str | None = None
        self._field = b""
        self._value = b""
        self._disposition = b""
        self._broken = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_part_data": self._data,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
            },
        )

    def _begin(self) -> None:
        self.size = 0
        self._disposition = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._field.lower() == b"content-disposition":
            self._disposition = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        raw = options.get(b"filename") or options.get(b"name") or b"upload"
        self.name = raw.decode("utf-8", "replace")

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.size += end - start
        if self.size > self.limit and self.over is None:
            self.over = self.name

    def feed(self, chunk: bytes) -> str | None:
        """Parse ``chunk``; the name of the first part over the limit, else ``None``."""
        if not self._broken and self.over is None and chunk:
            try:
                self._parser.write(chunk)
            except Exception:  # malformed multipart: the route's own parser answers it
                self._broken = True
        return self.over


def _part_watch(scope: Scope, limit: int) -> _PartWatch | None:
    kind = b"".join(v for k, v in scope.get("headers", []) if k == b"content-type")
    media, options = parse_options_header(kind)
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        return None
    return _PartWatch(boundary, limit)


class BodyLimit:
    """Refuse request bodies above :func:`body_cap`, or with a part above the image limit,
    without reading them whole."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        cap = body_cap(path, self.settings)
        limit = self.settings.imaging.max_bytes
        length = _content_length(scope)
        if length is not None and length > cap:
            await _refuse(scope, send, _too_large_body(path, cap), cap)
            return
        watch = _part_watch(scope, limit)
        seen = 0
        refusal: tuple[str, str] | None = None
        page_cap = cap
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, refusal, page_cap
            if refusal is not None:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                seen += len(body)
                if seen > cap:
                    refusal = _too_large_body(path, cap)
                    return {"type": "http.disconnect"}
                part = watch.feed(body) if watch is not None else None
                if part is not None:
                    refusal, page_cap = _too_large_body(path, cap, part, limit), limit
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refusal is not None:  # whatever the app answers, the answer is 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(scope, send, refusal, page_cap)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if refusal is None:
                raise
            if not started:
                started = True
                await _refuse(scope, send, refusal, page_cap)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every API route, also those of included routers (kept apart by newer FastAPI)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)


def _routed(scope: Scope) -> Scope | None:
    """``scope`` as routing would make it (``route``, ``endpoint``, ``path_params``) for
    the API route it names, or ``None`` (no app, or no API route)."""
    router = getattr(scope.get("app"), "router", None)
    if router is None:
        return None
    for route in api_routes(router.routes):
        match, child = route.matches(scope)
        if match == Match.FULL:
            return {**scope, **child, "route": route}
    return None


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


async def _refuse(scope: Scope, send: Send, refusal: tuple[str, str], cap: int) -> None:
    """Answer a body over the limits: the caller is authenticated and authorized first, as
    for any other request (401, 403, 429 come before the 413, and are audited as usual);
    an authenticated caller's refused write is then audited under the one refusal rule
    (:func:`facesearch.api.errors.refused_body`: the route's action, the 413's code), and
    an audit that fails answers 503 instead."""
    from facesearch.api.errors import refused_body  # the error mapping imports the app's parts

    routed = _routed(scope)
    if routed is not None:
        code, message = refusal
        response = await refused_body(Request(routed, _no_body), 413, code, message)
        if response is not None:
            response.headers["connection"] = "close"  # the body is left unread
            await response(routed, _no_body, send)
            return
    await _send_413(send, scope, refusal, cap)


async def _send_413(send: Send, scope: Scope, refusal: tuple[str, str], cap: int) -> None:
    """The 413: the error shape in JSON (``error``), or a short page for a browser on ``/ui``."""
    if _wants_page(scope):
        body, kind = _too_large_page(str(scope.get("path", "")), cap), b"text/html; charset=utf-8"
    else:
        code, message = refusal
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        kind = b"application/json"
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
