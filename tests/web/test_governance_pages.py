"""The keys page's gallery-grants section: an administrator grants and withdraws."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from facesearch.service import FacePipeline
from facesearch.settings import Settings

from ..api.conftest import SETUP, Api, start


@pytest.fixture
def ui(settings: Settings, real_pipeline: FacePipeline) -> Iterator[Api]:
    yield from start(settings, real_pipeline)


def test_grants_section(ui: Api) -> None:
    ui.engine.create_gallery("press", legal_basis="test", context=SETUP)
    ui.client.post("/ui/signin", data={"key": ui.keys["curator"]})
    r = ui.client.post("/ui/grants", data={"user": "investigator", "gallery": "press"})
    assert r.status_code == 403

    ui.client.post("/ui/signin", data={"key": ui.keys["admin"]})
    r = ui.client.get("/ui/keys")
    assert (
        r.status_code == 200 and "Gallery grants" in r.text and "<option>press</option>" in r.text
    )
    # the grants section sits once in the page body, not in the <title>
    assert r.text.count('id="grants"') == 1
    assert "<title>Keys · facesearch</title>" in r.text
    r = ui.client.post("/ui/grants", data={"user": "investigator", "gallery": "press"})
    assert r.status_code == 200 and "investigator may search gallery" in r.text
    assert ui.engine.granted_galleries("investigator") == ["press"]
    r = ui.client.post("/ui/grants", data={"user": "investigator", "gallery": "press"})
    assert r.status_code == 409 and "already holds a grant" in r.text
    r = ui.client.post("/ui/grants/remove", data={"user": "investigator", "gallery": "press"})
    assert r.status_code == 200 and "may no longer search" in r.text
    assert ui.engine.granted_galleries("investigator") == []
