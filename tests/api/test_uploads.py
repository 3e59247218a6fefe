"""Uploads over the size limit are refused before they are read whole."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from facesearch.api.uploads import FORM_OVERHEAD, BodyLimit, body_cap
from facesearch.service import FacePipeline
from facesearch.settings import ImagingSettings, Settings

from .conftest import WHY, Api, start

LIMIT = 200_000


@pytest.fixture
def small(tmp_path: Path, real_pipeline: FacePipeline) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path / "data", workers=1, imaging=ImagingSettings(max_bytes=LIMIT)
    )
    yield from start(settings, real_pipeline)


def _run(app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, int]:
    """Drive ``app`` with a body in ``chunks``; returns (status, chunks the app pulled)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {
                "type": "http.request",
                "body": chunks[pulled - 1],
                "more_body": pulled < len(chunks),
            }
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/search", "headers": headers}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], pulled


async def _reads_everything(scope: Any, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_a_declared_length_over_the_cap_is_refused_without_reading() -> None:
    settings = Settings(imaging=ImagingSettings(max_bytes=LIMIT))
    cap = body_cap("/api/v1/search", settings)
    assert cap == LIMIT + FORM_OVERHEAD
    app = BodyLimit(_reads_everything, settings)
    chunks = [b"x" * 65536] * 100
    status, pulled = _run(app, [(b"content-length", str(cap + 1).encode())], chunks)
    assert (status, pulled) == (413, 0)
    status, pulled = _run(app, [(b"content-length", b"10")], [b"x" * 10])
    assert status == 200


def test_a_streamed_body_is_cut_off_at_the_cap() -> None:
    settings = Settings(imaging=ImagingSettings(max_bytes=LIMIT))
    app = BodyLimit(_reads_everything, settings)
    chunks = [b"x" * 65536] * 100  # 6.5 MB, no content-length
    status, pulled = _run(app, [], chunks)
    cap = body_cap("/api/v1/search", settings)
    assert status == 413 and pulled <= cap // 65536 + 1 < len(chunks)


def test_caps_follow_the_route() -> None:
    settings = Settings(imaging=ImagingSettings(max_bytes=LIMIT))
    assert body_cap("/api/v1/verify", settings) == 2 * LIMIT + FORM_OVERHEAD
    enroll = body_cap("/api/v1/galleries/g/images", settings)
    assert enroll == settings.api.max_files * LIMIT + FORM_OVERHEAD
    assert body_cap("/api/v1/users", settings) == FORM_OVERHEAD
    # an erasure request carries one photo, like a search
    assert body_cap("/api/v1/erasures", settings) == LIMIT + FORM_OVERHEAD
    assert body_cap("/ui/erasures", settings) == LIMIT + FORM_OVERHEAD
    assert body_cap("/api/v1/erasures/3/confirm", settings) == FORM_OVERHEAD


def test_through_the_app(small: Api, test_images: dict[str, list[Path]]) -> None:
    h = small.headers("investigator")
    big = b"\xff\xd8" + b"\x00" * (2 * LIMIT + FORM_OVERHEAD)
    r = small.client.post(
        "/api/v1/search", files={"probe": ("big.jpg", big, "image/jpeg")}, data=WHY, headers=h
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"

    def stream() -> Iterator[bytes]:
        for _ in range(40):
            yield b"\x00" * 65536

    r = small.client.post(
        "/api/v1/search",
        content=stream(),
        headers={**h, "content-type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"
    # within the body cap, but one file over the image limit: refused for that file
    slightly = b"\xff\xd8" + b"\x00" * LIMIT
    r = small.client.post(
        "/api/v1/search", files={"probe": ("s.jpg", slightly, "image/jpeg")}, data=WHY, headers=h
    )
    assert r.status_code == 413 and "larger than" in r.json()["error"]["message"]
    # an enroll with one file over the image limit is refused whole, naming the file
    c = small.headers("curator")
    small.client.post("/api/v1/galleries", json={"name": "g", "legal_basis": "t"}, headers=c)
    ok = test_images["Colin_Powell"][0]
    r = small.client.post(
        "/api/v1/galleries/g/images",
        files=[
            ("files", (ok.name, ok.read_bytes(), "image/jpeg")),
            ("files", ("s.jpg", slightly, "image/jpeg")),
        ],
        headers=c,
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"
    assert "s.jpg" in r.json()["error"]["message"]
    assert small.client.get("/api/v1/galleries/g", headers=c).json()["n_images"] == 0


CHUNK = 65536


def _multipart(parts: list[tuple[str, str, int]], boundary: bytes = b"fsb") -> Iterator[bytes]:
    """A multipart body, streamed: ``(field, filename, size)`` per file part, in CHUNK pieces."""
    for field, filename, size in parts:
        yield (
            b"--" + boundary + b"\r\n"
            b'Content-Disposition: form-data; name="' + field.encode() + b'"; '
            b'filename="' + filename.encode() + b'"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n"
        )
        left = size
        while left > 0:
            yield b"\xff" * min(CHUNK, left)
            left -= CHUNK
        yield b"\r\n"
    yield b"--" + boundary + b"--\r\n"


def _stream_through(
    api: Api, path: str, headers: dict[str, str], body: Iterator[bytes]
) -> tuple[int, dict[str, Any], int]:
    """POST ``body`` chunked (no Content-Length) through the real app.

    Returns (status, JSON answer, bytes the app pulled from the body).
    """
    pulled = 0

    async def chunks() -> Any:
        nonlocal pulled
        for chunk in body:
            pulled += len(chunk)
            yield chunk

    async def post() -> tuple[int, dict[str, Any]]:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            kind = {"content-type": "multipart/form-data; boundary=fsb"}
            r = await c.post(path, content=chunks(), headers={**headers, **kind})
            assert "content-length" not in r.request.headers
            return r.status_code, r.json()

    portal = api.client.portal
    assert portal is not None
    status, answer = portal.call(post)
    return status, answer, pulled


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/api/v1/galleries/g/images", "curator"),
        ("/api/v1/search", "investigator"),
        ("/api/v1/erasures", "curator"),
        ("/ui/galleries/g/upload", "curator"),  # the web UI's forms: the same limits
        ("/ui/erasures", "curator"),
    ],
)
def test_a_streamed_part_over_the_image_limit_is_refused_at_once(
    small: Api, path: str, role: str
) -> None:
    """A file of 10x the image limit, well under an enroll's body cap: 413 once it passes."""
    c = small.headers("curator")
    small.client.post("/api/v1/galleries", json={"name": "g", "legal_basis": "t"}, headers=c)
    last = path.rsplit("/", 1)[1]
    field = {"images": "files", "upload": "files", "search": "probe", "erasures": "photo"}[last]
    size = 10 * LIMIT
    who = {"cookie": f"facesearch_key={small.keys[role]}"} if path.startswith("/ui") else {}
    status, answer, pulled = _stream_through(
        small, path, who or small.headers(role), _multipart([(field, "huge.jpg", size)])
    )
    assert status == 413 and answer["error"]["code"] == "image_too_large"
    assert "huge.jpg" in answer["error"]["message"]
    assert pulled <= LIMIT + 2 * CHUNK < size
    assert small.client.get("/api/v1/galleries/g", headers=c).json()["n_images"] == 0


def test_a_streamed_enroll_is_capped_at_what_the_limits_allow(small: Api) -> None:
    """Many files each within the image limit: cut off at max_files x max_bytes + overhead."""
    c = small.headers("curator")
    small.client.post("/api/v1/galleries", json={"name": "g", "legal_basis": "t"}, headers=c)
    cap = body_cap("/api/v1/galleries/g/images", small.engine.settings)
    count = cap // LIMIT + 5
    parts = [("files", f"f{i}.jpg", LIMIT) for i in range(count)]
    status, answer, pulled = _stream_through(
        small, "/api/v1/galleries/g/images", c, _multipart(parts)
    )
    assert status == 413 and answer["error"]["code"] == "image_too_large"
    assert pulled <= cap + 2 * CHUNK < count * LIMIT


def _big_png(path: Path) -> bytes:
    """A valid PNG of ``path`` upscaled until it is over 1 MiB (the default body cap)."""
    with Image.open(path) as image:
        big = image.convert("RGB").resize((1200, 1200), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    big.save(out, format="PNG", compress_level=0)
    data = out.getvalue()
    assert len(data) > FORM_OVERHEAD
    return data


def test_an_erasure_photo_over_one_mib_is_not_refused_for_size(
    api: Api, test_images: dict[str, list[Path]]
) -> None:
    data = _big_png(test_images["Colin_Powell"][0])
    assert len(data) < api.engine.settings.imaging.max_bytes
    r = api.client.post(
        "/api/v1/erasures",
        files={"photo": ("big.png", data, "image/png")},
        data={"reference": "ER-BIG"},
        headers=api.headers("curator"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["reference"] == "ER-BIG"


def test_a_browser_form_gets_a_page_for_a_413(small: Api) -> None:
    small.client.post("/ui/signin", data={"key": small.keys["curator"]})
    big = b"\xff\xd8" + b"\x00" * (2 * LIMIT + FORM_OVERHEAD)
    photo = {"photo": ("big.jpg", big, "image/jpeg")}
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    r = small.client.post("/ui/erasures", files=photo, data={"reference": "R"}, headers=browser)
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "<h1>Upload too large</h1>" in r.text and 'href="/ui/erasures"' in r.text
    many = b"\x00" * (small.engine.settings.api.max_files * LIMIT + FORM_OVERHEAD)
    r = small.client.post(
        "/ui/galleries/g/upload", files={"files": ("many.jpg", many, "image/jpeg")}, headers=browser
    )
    assert r.status_code == 413 and 'href="/ui/galleries/g"' in r.text
    # the page's script (no text/html) and the API keep the JSON error shape
    r = small.client.post("/ui/detect", files={"probe": ("big.jpg", big, "image/jpeg")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"
    r = small.client.post(
        "/api/v1/erasures",
        files=photo,
        data={"reference": "R"},
        headers={**browser, **small.headers("curator")},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"


def _newest(api: Api) -> tuple[str, str, str]:
    event = api.engine.audit.list(limit=1)[0]
    return event.actor, event.action, event.outcome


JSON = {"content-type": "application/json"}


@pytest.fixture
def gallery(small: Api) -> Api:
    c = small.headers("curator")
    r = small.client.post("/api/v1/galleries", json={"name": "g", "legal_basis": "t"}, headers=c)
    assert r.is_success
    return small


def test_an_image_over_the_limit_is_audited_as_refused(gallery: Api) -> None:
    c, i = gallery.headers("curator"), gallery.headers("investigator")
    over = b"\xff\xd8" + b"\x00" * LIMIT  # one image over the limit, within the body cap
    r = gallery.client.post(
        "/api/v1/galleries/g/images", files={"files": ("o.jpg", over, "image/jpeg")}, headers=c
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"
    assert _newest(gallery) == ("curator", "enroll", "image_too_large")
    r = gallery.client.post(
        "/api/v1/search", files={"probe": ("o.jpg", over, "image/jpeg")}, data=WHY, headers=i
    )
    assert r.status_code == 413
    assert _newest(gallery) == ("investigator", "search", "image_too_large")


def test_a_body_over_the_cap_without_images_is_body_too_large_and_audited(small: Api) -> None:
    huge = json.dumps({"name": "h", "legal_basis": "x" * (3 << 20)}).encode()
    r = small.client.post(
        "/api/v1/galleries", content=huge, headers={**small.headers("curator"), **JSON}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    assert "image" not in r.json()["error"]["message"]
    assert _newest(small) == ("curator", "gallery.create", "body_too_large")


@pytest.mark.parametrize("body", [b'{"name":', b'{"name": "\xff", "legal_basis": "t"}'])
def test_an_unreadable_json_body_is_audited_with_a_readable_message(
    small: Api, body: bytes
) -> None:
    r = small.client.post(
        "/api/v1/galleries", content=body, headers={**small.headers("curator"), **JSON}
    )
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert "JSON decode error" not in message and not message[0].isdigit(), message
    assert _newest(small) == ("curator", "gallery.create", "invalid_input")


def test_the_key_is_checked_before_the_body_size(small: Api) -> None:
    """401/403 come first, whatever the body's size (README: authenticated before its
    body is looked at); only then the 413, audited."""
    big = b"\xff\xd8" + b"\x00" * (3 << 20)
    files = {"probe": ("big.jpg", big, "image/jpeg")}
    before = small.engine.audit.list(limit=1)[0].seq
    r = small.client.post("/api/v1/search", files=files, data=WHY)
    assert r.status_code == 401 and r.json()["error"]["code"] == "authentication_required"
    assert small.engine.audit.list(limit=1)[0].seq == before  # no key: not audited
    r = small.client.post("/api/v1/search", files=files, data=WHY, headers=small.headers("none"))
    assert r.status_code == 403
    r = small.client.post(
        "/api/v1/search", files=files, data=WHY, headers=small.headers("investigator")
    )
    assert r.status_code == 413
    assert _newest(small) == ("investigator", "search", "image_too_large")
