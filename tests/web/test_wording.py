"""No page of the web UI says "match" or "identified": every page is rendered, after a real
search, review and erasure, for a user who holds every role, and its visible text checked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from facesearch.service import FacePipeline
from facesearch.settings import Settings
from facesearch.web import STATIC

from ..api.conftest import SETUP, WHY, Api, grant_search, start

BANNED = re.compile(r"match|identified", re.IGNORECASE)

VISIBLE_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "label"}
"""Attributes whose values a user sees or a screen reader reads."""


class _VisibleText(HTMLParser):
    """The text a user sees or hears: character data outside ``<script>``/``<style>``,
    the attributes above, and the labels of buttons (``<input value>``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        values = dict(attrs)
        self.parts.extend(v for k, v in attrs if k in VISIBLE_ATTRIBUTES and v)
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(parser.parts)


def test_visible_text_sees_text_and_labels_but_not_markup() -> None:
    html = (
        '<p class="match-row" data-match="1">a <b>Match</b></p><img alt="identified">'
        '<script>const matched = 1;</script><input type="submit" value="Go">'
    )
    text = visible_text(html)
    assert "Match" in text and "identified" in text and "Go" in text
    assert "match-row" not in text and "matched" not in text


@pytest.fixture
def ui(settings: Settings, real_pipeline: FacePipeline) -> Iterator[Api]:
    yield from start(settings, real_pipeline)


def _prepare(ui: Api, test_images: dict[str, list[Path]]) -> tuple[int, int]:
    """Gallery ``g`` with the four test identities; a real search by ``everyone``: its
    audit seq and the top candidate's face id."""
    fs = ui.engine
    fs.create_gallery("g", legal_basis="test", context=SETUP)
    for name, paths in test_images.items():
        fs.enroll(paths[0].read_bytes(), gallery="g", subject=name, context=SETUP)
    grant_search(ui, "g")
    probe = test_images["Colin_Powell"][2]
    r = ui.client.post(
        "/api/v1/search",
        files={"probe": (probe.name, probe.read_bytes(), "image/jpeg")},
        data={**WHY, "threshold": "-1"},
        headers=ui.headers("all"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    return body["audit_seq"], body["faces"][0]["candidates"][0]["face_id"]


def test_no_page_says_match_or_identified(ui: Api, test_images: dict[str, list[Path]]) -> None:
    seq, face = _prepare(ui, test_images)
    colin = test_images["Colin_Powell"]
    pages: dict[str, str] = {}

    def keep(label: str, status: int, html: str) -> None:
        assert "<html" in html, label
        pages[label] = html
        assert status < 500, (label, status)

    r = ui.client.get("/ui/signin")
    keep("signin", r.status_code, r.text)
    r = ui.client.post("/ui/signin", data={"key": "fsk_wrong.key"})
    keep("signin refused", r.status_code, r.text)
    r = ui.client.post("/ui/signin", data={"key": ui.keys["all"]})
    keep("landing", r.status_code, r.text)
    for url in (
        "/ui/home",
        "/ui/search",
        "/ui/galleries",
        "/ui/galleries/g",
        "/ui/audit",
        "/ui/keys",
        "/ui/erasures",
        "/ui/oversight",
        f"/ui/reviews/{seq}",
    ):
        r = ui.client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        keep(url, r.status_code, r.text)
    r = ui.client.post("/ui/audit/verify")
    keep("audit verify", r.status_code, r.text)
    r = ui.client.post(f"/ui/reviews/{seq}/{face}", data={"judgement": "possible_lead"})
    assert r.status_code == 200, r.text
    keep("review judged", r.status_code, r.text)
    r = ui.client.get(f"/api/v1/reviews/{seq}/{face}/sheet", headers=ui.headers("all"))
    assert r.status_code == 200 and r.text.startswith("This is an investigative lead")
    sheet = r.text
    r = ui.client.post(
        "/ui/galleries/g/upload",
        files=[("files", (colin[1].name, colin[1].read_bytes(), "image/jpeg"))],
        data={"subject": "Colin_Powell"},
    )
    keep("upload", r.status_code, r.text)
    r = ui.client.post("/ui/galleries", data={"name": "bad/name", "legal_basis": "t"})
    keep("gallery refused", r.status_code, r.text)
    r = ui.client.get("/ui/galleries/missing", headers={"accept": "text/html"})
    keep("not found", r.status_code, r.text)
    r = ui.client.post(
        "/ui/erasures",
        files={"photo": (colin[1].name, colin[1].read_bytes(), "image/jpeg")},
        data={"reference": "ER-words"},
    )
    assert r.status_code == 200 and "/ui/erasures/" in str(r.url), r.text
    keep("erasure pending", r.status_code, r.text)
    (request,) = ui.engine.list_erasures()
    ids = [str(p.face_id) for p in request.proposed]
    r = ui.client.post(f"/ui/erasures/{request.id}/confirm", data={"face_ids": ids})
    keep("erasure confirmed", r.status_code, r.text)
    r = ui.client.get(f"/ui/erasures/{request.id}")
    keep("erasure done", r.status_code, r.text)
    r = ui.client.get(f"/ui/reviews/{seq}")
    keep("review after erasure", r.status_code, r.text)

    spoken = {label: visible_text(html) for label, html in pages.items()}
    found = {label: BANNED.findall(text) for label, text in spoken.items()}
    assert {label: words for label, words in found.items() if words} == {}
    assert "Erase the ticked faces" in pages["erasure pending"]
    assert "erased" in spoken["erasure done"] and "Colin_Powell" in spoken[f"/ui/reviews/{seq}"]
    # what the pages' scripts write into them, and the lead sheet a page links to
    script = (STATIC / "search.js").read_text(encoding="utf-8")
    literals = re.findall(r"'([^'\n]*)'|\"([^\"\n]*)\"|`([^`]*)`", script)
    shown = [s for group in literals for s in group if s]
    assert [s for s in shown if BANNED.search(s)] == []
    assert not BANNED.search(sheet)
