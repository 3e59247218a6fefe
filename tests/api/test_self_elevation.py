"""No one raises their own rights: an admin cannot give itself a role, a gallery grant, a
group membership or a grant to its own group (each refusal audited); another admin can."""

from __future__ import annotations

from facesearch.auth import Role

from .conftest import SETUP, Api


def _newest(api: Api) -> tuple[str, str, str]:
    event = api.engine.audit.list(limit=1)[0]
    return event.actor, event.action, event.outcome


def test_an_admin_cannot_raise_its_own_search_rights(api: Api) -> None:
    h = api.headers("admin")  # user "root"
    api.engine.create_gallery("g", legal_basis="test", context=SETUP)

    r = api.client.patch("/api/v1/users/root", json={"roles": ["admin", "investigator"]}, headers=h)
    assert r.status_code == 403, r.text
    assert "another admin" in r.json()["error"]["message"]
    assert _newest(api) == ("root", "user.update", "permission_denied")
    assert api.engine.accounts.get_user("root").roles == ("admin",)

    r = api.client.post("/api/v1/grants", json={"user": "root", "gallery": "g"}, headers=h)
    assert r.status_code == 403, r.text
    assert _newest(api) == ("root", "grant.add", "permission_denied")
    assert api.engine.granted_galleries("root") == []

    assert api.client.post("/api/v1/groups", json={"name": "team"}, headers=h).status_code == 201
    r = api.client.post("/api/v1/groups/team/members", json={"user": "root"}, headers=h)
    assert r.status_code == 403, r.text
    assert "no one may add themselves to a group" in r.json()["error"]["message"]
    assert _newest(api) == ("root", "group.member.add", "permission_denied")

    api.engine.add_group_member("team", "root", context=SETUP)  # another admin's act
    r = api.client.post("/api/v1/groups/team/grants", json={"gallery": "g"}, headers=h)
    assert r.status_code == 403, r.text
    assert _newest(api) == ("root", "grant.add", "permission_denied")
    assert api.engine.granted_galleries("root") == []


def test_another_admin_may_change_roles_and_every_role_can_be_given(api: Api) -> None:
    api.engine.accounts.create_user("second", ["admin"], context=SETUP)
    key = api.engine.accounts.issue_key("second", context=SETUP).secret
    second = {"Authorization": f"Bearer {key}"}
    every = [role.value for role in Role]
    r = api.client.patch("/api/v1/users/root", json={"roles": every}, headers=second)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["roles"]) == sorted(every)
    r = api.client.post("/api/v1/users", json={"name": "all5", "roles": every}, headers=second)
    assert r.status_code == 201, r.text
