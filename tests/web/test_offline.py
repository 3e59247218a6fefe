"""Nothing is fetched from elsewhere at run time: no page loads a script, style or image
from another host (FastAPI's /docs and /redoc would load theirs from a CDN), while the
OpenAPI document itself is served."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute

from facesearch.service import FacePipeline
from facesearch.settings import Settings
from facesearch.web import STATIC, governance_pages, oversight_pages, privacy_pages
from facesearch.web import pages as pages_module

from ..api.conftest import Api, start

URL_ATTRIBUTE = re.compile(r"""\b(?:src|href|action)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
CSS_URL = re.compile(r"""(?:url\(|@import\s+)["']?([^"')\s;]+)""", re.IGNORECASE)


@pytest.fixture
def ui(settings: Settings, real_pipeline: FacePipeline) -> Iterator[Api]:
    yield from start(settings, real_pipeline)


def _foreign(text: str, own_host: str) -> list[str]:
    urls = URL_ATTRIBUTE.findall(text) + CSS_URL.findall(text)
    return [
        u for u in urls if urlsplit(u).netloc not in ("", own_host) and not u.startswith("data:")
    ]


def test_the_openapi_document_is_served_and_no_cdn_backed_page(ui: Api) -> None:
    spec = ui.client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.")
    for url in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert ui.client.get(url).status_code == 404, url


def test_no_page_loads_anything_from_another_host(ui: Api) -> None:
    assert _foreign('<script src="https://cdn.jsdelivr.net/x.js"></script>', "testserver")
    assert not _foreign('<link href="http://testserver/ui/static/style.css">', "testserver")
    ui.client.post("/ui/signin", data={"key": ui.keys["all"]})
    pages = [
        route.path
        for module in (pages_module, governance_pages, oversight_pages, privacy_pages)
        for route in module.router.routes
        if isinstance(route, APIRoute) and "GET" in route.methods and "{" not in route.path
    ]
    assert {"/ui/search", "/ui/keys", "/ui/oversight", "/ui/erasures"} <= set(pages)
    texts = {path: ui.client.get(path).text for path in [*pages, "/openapi.json", "/", "/docs"]}
    for path in STATIC.iterdir():
        texts[path.name] = path.read_text(encoding="utf-8")
    foreign = {where: _foreign(text, "testserver") for where, text in texts.items()}
    assert {where: urls for where, urls in foreign.items() if urls} == {}
    assert [where for where, text in texts.items() if re.search(r"\bcdn\b|jsdelivr", text)] == []
