"""The web UI's pages without a browser: sign-in, permissions and readable errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from facesearch.service import FacePipeline
from facesearch.settings import Settings
from facesearch.web.pages import router

from ..api.conftest import SETUP, Api, start


@pytest.fixture
def ui(settings: Settings, real_pipeline: FacePipeline) -> Iterator[Api]:
    yield from start(settings, real_pipeline)


def _ui_routes() -> list[tuple[str, str]]:
    return [
        (method, route.path)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    ]


def test_every_page_needs_a_signed_in_user(ui: Api) -> None:
    routes = _ui_routes()
    assert len(routes) >= 15
    for method, path in routes:
        if path in ("/ui/signin", "/ui/signout"):
            continue
        url = path.replace("{name}", "g").replace("{face_id}", "1").replace("{prefix}", "fsk_1")
        r = ui.client.request(method, url, follow_redirects=False)
        if path == "/ui/detect":
            assert r.status_code in (401, 422), (method, path)
        else:
            assert r.status_code in (303, 422), (method, path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"] == "/ui/signin"


def test_pages_follow_the_permission_table(ui: Api) -> None:
    html = {"accept": "text/html"}
    ui.client.post("/ui/signin", data={"key": ui.keys["investigator"]})
    assert ui.client.get("/ui/search").status_code == 200
    r = ui.client.get("/ui/audit", headers=html)
    assert r.status_code == 403 and "auditor" in r.text and "<html" in r.text
    assert ui.client.get("/ui/keys", headers=html).status_code == 403
    ui.client.post("/ui/signin", data={"key": ui.keys["admin"]})
    assert ui.client.get("/ui/keys").status_code == 200
    assert ui.client.get("/ui/search", headers=html).status_code == 403
    r = ui.client.post("/ui/keys", data={"user": "auditor", "label": "web"})
    assert r.status_code == 200 and "shown once" in r.text
    assert ui.client.post("/ui/signout", follow_redirects=False).status_code == 303


def test_forms_from_another_site_are_refused(ui: Api) -> None:
    ui.client.post("/ui/signin", data={"key": ui.keys["curator"]})
    r = ui.client.post(
        "/ui/galleries",
        data={"name": "x", "legal_basis": "t"},
        headers={"origin": "http://evil.example", "accept": "text/html"},
    )
    assert r.status_code == 403
    r = ui.client.post(
        "/ui/galleries", data={"name": "x", "legal_basis": "t"}, follow_redirects=False
    )
    assert r.status_code == 303


def test_signing_in_from_another_site_is_refused(ui: Api) -> None:
    r = ui.client.post(
        "/ui/signin",
        data={"key": ui.keys["admin"]},
        headers={"origin": "http://evil.example", "accept": "text/html"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "another site" in r.text
    assert "facesearch_key" not in r.headers.get("set-cookie", "")
    assert ui.client.get("/ui/keys", follow_redirects=False).status_code == 303  # not signed in


def test_a_flood_of_bad_keys_at_sign_in_reads_as_a_message(ui: Api) -> None:
    limit = ui.engine.settings.auth.failed_attempts_per_minute
    bad = "fsk_00000000." + "x" * 43
    for _ in range(limit):
        assert ui.client.post("/ui/signin", data={"key": bad}).status_code == 401
    r = ui.client.post("/ui/signin", data={"key": bad})
    assert r.status_code == 429 and "try again in" in r.text and "<form" in r.text


def test_errors_on_pages_are_readable(ui: Api) -> None:
    ui.client.post("/ui/signin", data={"key": ui.keys["curator"]})
    r = ui.client.get("/ui/galleries/missing", headers={"accept": "text/html"})
    assert r.status_code == 404 and "gallery &#39;missing&#39; not found" in r.text
    r = ui.client.post("/ui/galleries", data={"name": "bad", "legal_basis": "call 555-867-5309"})
    assert r.status_code == 422 and "phone" in r.text


def test_signing_in_leads_to_a_page_the_roles_allow(ui: Api) -> None:
    landings = {
        "investigator": "/ui/search",
        "curator": "/ui/galleries",
        "auditor": "/ui/audit",
        "admin": "/ui/keys",
        "reviewer": "/ui/home",
        "none": "/ui/home",
        "all": "/ui/search",
    }
    for who, page in landings.items():
        r = ui.client.post("/ui/signin", data={"key": ui.keys[who]}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == page, who
        r = ui.client.get(page, headers={"accept": "text/html"})
        assert r.status_code == 200, (who, r.status_code)
    ui.client.post("/ui/signin", data={"key": ui.keys["reviewer"]})
    r = ui.client.get("/ui/home")
    assert "reviewer" in r.text and "/ui/reviews/" in r.text
    ui.client.post("/ui/signin", data={"key": ui.keys["none"]})
    assert "open no page" in ui.client.get("/ui/home").text
    for who in ("curator", "auditor", "investigator"):  # "/" leads there too
        ui.client.post("/ui/signin", data={"key": ui.keys[who]})
        r = ui.client.get("/", follow_redirects=True, headers={"accept": "text/html"})
        assert r.status_code == 200 and r.url.path == landings[who], who
    ui.client.post("/ui/signout")
    r = ui.client.get("/", follow_redirects=True)
    assert r.url.path == "/ui/signin"


def test_an_upload_with_a_sensitive_shared_field_stores_nothing(
    ui: Api, test_images: dict[str, list[Path]]
) -> None:
    ui.client.post("/ui/signin", data={"key": ui.keys["curator"]})
    ui.client.post("/ui/galleries", data={"name": "g", "legal_basis": "test"})
    photo = test_images["Colin_Powell"][0]
    files = [("files", (photo.name, photo.read_bytes(), "image/jpeg"))] * 2
    for field, value, kind in [
        ("subject", "Colin 123-45-6789", "social security number"),
        ("source_uri", "mailto:colin@example.org", "e-mail address"),
        ("subject", "Colin/Powell", "subject"),
    ]:
        r = ui.client.post("/ui/galleries/g/upload", data={field: value}, files=files)
        assert r.status_code == 422 and kind in r.text, (field, value)
        assert value not in r.text
    assert ui.engine.store.catalog.list_galleries()[0].n_images == 0


def test_picking_a_probe_face_embeds_nothing(
    ui: Api, test_images: dict[str, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ui.client.post("/ui/signin", data={"key": ui.keys["investigator"]})

    def no_embedding(*_: object) -> None:
        raise AssertionError("/ui/detect must not embed the probe")

    monkeypatch.setattr(ui.engine.pipeline.embedder, "embed", no_embedding)
    photo = test_images["Serena_Williams"][2]
    r = ui.client.post("/ui/detect", files={"probe": (photo.name, photo.read_bytes())})
    assert r.status_code == 200
    body = r.json()
    assert len(body["faces"]) == 1 and body["faces"][0]["quality"]["score"] > 0
    assert (body["width"], body["height"]) == (250, 250)


def test_the_results_summary_can_take_focus(ui: Api) -> None:
    """search.js moves focus to the summary after a search: a <p> needs tabindex="-1"."""
    ui.client.post("/ui/signin", data={"key": ui.keys["investigator"]})
    html = ui.client.get("/ui/search").text
    assert re.search(r'<p id="results-summary"[^>]*\btabindex="-1"', html)
    script = ui.client.get("/ui/static/search.js").text
    assert "summary.focus()" in script


def test_refused_forms_are_audited(settings: Settings, real_pipeline: FacePipeline) -> None:
    """The web UI follows the API's rule: a refused write past the permission check is
    audited with its outcome, also when the page renders the error itself."""
    for ui in start(settings, real_pipeline):
        ui.engine.create_gallery("g", legal_basis="test", context=SETUP)
        ui.client.post("/ui/signin", data={"key": ui.keys["curator"]})
        for path, data, action, outcome in [
            (
                "/ui/galleries",
                {"name": "g", "legal_basis": "t"},
                "gallery.create",
                "already_exists",
            ),
            ("/ui/galleries/nosuch/delete", {"confirm": "nosuch"}, "gallery.delete", "not_found"),
        ]:
            r = ui.client.post(path, data=data)
            assert r.status_code >= 400, r.text
            newest = ui.engine.audit.list(limit=1)[0]
            assert (newest.actor, newest.action, newest.outcome) == ("curator", action, outcome)
