"""User groups through the engine: audited changes, the identifier guard on names, and
searches bounded by a member's effective grants (own and groups'), with real models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facesearch.errors import AlreadyExists, NotFound, PermissionDenied, SensitiveIdentifierFound
from facesearch.service import FacePipeline, FaceSearch
from facesearch.service.grants import Grants
from facesearch.settings import Settings

from ..disclosure import audit_texts, disclosed
from .helpers import CURATOR, INVESTIGATION
from .parts import collaborators

pytestmark = pytest.mark.both_databases

Images = dict[str, list[Path]]


@pytest.fixture
def fs(settings: Settings, real_pipeline: FacePipeline) -> Iterator[FaceSearch]:
    with FaceSearch(settings, pipeline=real_pipeline) as engine:
        for user in ("ivy", "joe"):
            engine.accounts.create_user(user, ["investigator"], context=CURATOR)
        yield engine


def _search_galleries(fs: FaceSearch, path: Path, user: str) -> set[str]:
    """Search as the API does for ``user`` (their granted galleries); the galleries of the
    candidates found."""
    result = fs.search(
        path.read_bytes(),
        context=INVESTIGATION,
        threshold=-1.0,
        allowed_galleries=fs.granted_galleries(user),
    )
    return {fs.get_face(c.face_id).gallery_name for face in result.faces for c in face.candidates}


def test_every_group_change_is_audited(fs: FaceSearch) -> None:
    fs.create_gallery("press", legal_basis="t", context=CURATOR)
    group = fs.create_group(" team ", context=CURATOR)
    assert group.name == "team" and group.created_by == CURATOR.actor
    fs.add_group_member("team", "ivy", context=CURATOR)
    fs.grant_group("team", "press", context=CURATOR)
    assert fs.get_group("team").galleries == ("press",)
    assert [g.group_name for g in fs.list_group_grants(gallery="press")] == ["team"]
    fs.revoke_group_grant("team", "press", context=CURATOR)
    fs.remove_group_member("team", "ivy", context=CURATOR)
    fs.grant_group("team", "press", context=CURATOR)
    fs.delete_group("team", context=CURATOR)
    events = fs.audit.list(limit=7)[::-1]
    assert [(e.action, e.target, e.outcome) for e in events] == [
        ("group.create", "group:team", "ok"),
        ("group.member.add", "group:team", "ok"),
        ("grant.add", "group:team", "ok"),
        ("grant.remove", "group:team", "ok"),
        ("group.member.remove", "group:team", "ok"),
        ("grant.add", "group:team", "ok"),
        ("group.delete", "group:team", "ok"),
    ]
    assert events[1].details["user"] == "ivy" and events[4].details["user"] == "ivy"
    assert events[2].galleries == ("press",) and events[6].galleries == ("press",)
    assert events[6].details["members"] == []

    with pytest.raises(NotFound):
        fs.add_group_member("team", "ivy", context=CURATOR)
    failed = fs.audit.list(limit=1)[0]
    assert (failed.action, failed.target, failed.outcome) == (
        "group.member.add",
        "group:team",
        "not_found",
    )
    fs.create_group("team", context=CURATOR)
    with pytest.raises(AlreadyExists):
        fs.create_group("team", context=CURATOR)
    assert fs.audit.list(limit=1)[0].outcome == "already_exists"


def test_group_names_pass_the_identifier_guard(fs: FaceSearch) -> None:
    with pytest.raises(SensitiveIdentifierFound):
        fs.create_group("call 555-867-5309", context=CURATOR)
    refused = fs.audit.list(limit=1)[0]
    assert (refused.action, refused.outcome) == ("group.create", "sensitive_identifier")
    assert refused.target is None
    texts = audit_texts(fs.store)
    assert texts and not disclosed("call 555-867-5309", texts)
    assert not disclosed("555-867-5309", texts)
    assert fs.list_groups() == []


def test_a_group_grant_bounds_members_searches(fs: FaceSearch, test_images: Images) -> None:
    for name in ("a", "b", "c"):
        fs.create_gallery(name, legal_basis="t", context=CURATOR)
        fs.enroll(test_images["Colin_Powell"][0].read_bytes(), gallery=name, context=CURATOR)
    probe = test_images["Colin_Powell"][2]
    fs.grant("ivy", "a", context=CURATOR)
    fs.create_group("team", context=CURATOR)
    fs.grant_group("team", "b", context=CURATOR)
    fs.add_group_member("team", "ivy", context=CURATOR)

    # a member searches their own grant and the group's, never "c"
    assert _search_galleries(fs, probe, "ivy") == {"a", "b"}
    event = fs.audit.list(limit=1)[0]
    assert (event.action, event.galleries) == ("search", ("a", "b"))

    # a non-member holds no grant at all
    with pytest.raises(PermissionDenied, match="no gallery"):
        _search_galleries(fs, probe, "joe")
    fs.add_group_member("team", "joe", context=CURATOR)
    assert _search_galleries(fs, probe, "joe") == {"b"}
    assert fs.audit.list(limit=1)[0].galleries == ("b",)

    # removing the member removes the right
    fs.remove_group_member("team", "joe", context=CURATOR)
    with pytest.raises(PermissionDenied):
        _search_galleries(fs, probe, "joe")
    with pytest.raises(PermissionDenied, match="'b'"):
        fs.search(
            probe.read_bytes(),
            context=INVESTIGATION,
            galleries=["b"],
            allowed_galleries=fs.granted_galleries("joe"),
        )
    # withdrawing the group's grant leaves ivy her own
    fs.revoke_group_grant("team", "b", context=CURATOR)
    assert _search_galleries(fs, probe, "ivy") == {"a"}


def test_grants_are_built_from_their_dependencies_alone(settings: Settings) -> None:
    deps = collaborators(settings)
    try:
        grants = Grants(
            groups=deps.store.groups, audit=deps.audit, accountability=deps.accountability
        )
        deps.store.accounts.create_user("ann", roles=["investigator"])
        deps.store.catalog.create_gallery("g", legal_basis="test")
        grants.create_group("night shift", context=CURATOR)
        grants.add_group_member("night shift", "ann", context=CURATOR)
        grants.grant_group("night shift", "g", context=CURATOR)
        assert grants.granted_galleries("ann") == ["g"]
        assert deps.audit.list(limit=1)[0].action == "grant.add"
    finally:
        deps.close()
