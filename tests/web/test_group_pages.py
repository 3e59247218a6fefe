"""The keys page's groups section: an administrator creates a group, adds members, grants
it a gallery, and the members' search page lists only their granted galleries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from facesearch.service import FacePipeline
from facesearch.settings import Settings

from ..api.conftest import SETUP, Api, start


@pytest.fixture
def ui(settings: Settings, real_pipeline: FacePipeline) -> Iterator[Api]:
    yield from start(settings, real_pipeline)


def test_groups_section_and_the_search_page(ui: Api) -> None:
    for name in ("press", "mugshots"):
        ui.engine.create_gallery(name, legal_basis="test", context=SETUP)
    ui.client.post("/ui/signin", data={"key": ui.keys["curator"]})
    assert ui.client.post("/ui/groups", data={"name": "team"}).status_code == 403

    ui.client.post("/ui/signin", data={"key": ui.keys["admin"]})
    r = ui.client.post("/ui/groups", data={"name": "team"})
    assert r.status_code == 200 and "created group &#39;team&#39;" in r.text
    assert '<label for="member-group">Group</label>' in r.text
    r = ui.client.post("/ui/groups", data={"name": "team"})
    assert r.status_code == 409
    r = ui.client.post("/ui/groups/members", data={"group": "team", "user": "investigator"})
    assert r.status_code == 200 and ui.engine.get_group("team").members == ("investigator",)
    r = ui.client.post("/ui/groups/grants", data={"group": "team", "gallery": "press"})
    assert r.status_code == 200 and "may search gallery &#39;press&#39;" in r.text
    assert "Withdraw group team's grant on press" in r.text

    # the member's search page lists the group's gallery, not the ungranted one
    ui.client.post("/ui/signin", data={"key": ui.keys["investigator"]})
    r = ui.client.get("/ui/search")
    assert r.status_code == 200 and '<option value="press">' in r.text
    assert "mugshots" not in r.text
    r = ui.client.get("/ui/galleries")
    assert r.status_code == 200 and "press" in r.text and "mugshots" not in r.text
    r = ui.client.get("/ui/galleries/mugshots", headers={"accept": "text/html"})
    assert r.status_code == 404
    assert ui.client.get("/ui/galleries/press").status_code == 200

    ui.client.post("/ui/signin", data={"key": ui.keys["admin"]})
    r = ui.client.post("/ui/groups/members/remove", data={"group": "team", "user": "investigator"})
    assert r.status_code == 200 and ui.engine.granted_galleries("investigator") == []
    r = ui.client.post("/ui/groups/grants/remove", data={"group": "team", "gallery": "press"})
    assert r.status_code == 200 and ui.engine.get_group("team").galleries == ()
    r = ui.client.post("/ui/groups/delete", data={"name": "team"})
    assert r.status_code == 200 and ui.engine.list_groups() == []
    actions = [e.action for e in ui.engine.audit.list(limit=5)][::-1]
    assert actions == [
        "group.member.add",
        "grant.add",
        "group.member.remove",
        "grant.remove",
        "group.delete",
    ]

    # a curator still sees every gallery
    ui.client.post("/ui/signin", data={"key": ui.keys["curator"]})
    r = ui.client.get("/ui/galleries")
    assert "press" in r.text and "mugshots" in r.text
