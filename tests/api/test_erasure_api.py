"""The erasure routes: file, review, confirm; the person is gone and stays gone."""

from __future__ import annotations

from pathlib import Path

from .conftest import WHY, Api


def _file(path: Path) -> dict[str, tuple[str, bytes, str]]:
    return {"photo": (path.name, path.read_bytes(), "image/jpeg")}


def test_erasure_flow_over_http(enrolled_api: Api, test_images: dict[str, list[Path]]) -> None:
    api, colin = enrolled_api, test_images["Colin_Powell"]
    curator = api.headers("curator")
    r = api.client.post(
        "/api/v1/erasures", files=_file(colin[1]), data={"reference": "ER-9"}, headers=curator
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "pending" and body["target_fmr"] > 0
    assert [p["face"]["subject"] for p in body["proposed"]] == ["Colin_Powell"]
    request_id = body["id"]

    r = api.client.get(f"/api/v1/erasures/{request_id}", headers=api.headers("auditor"))
    assert r.status_code == 200 and r.json()["proposed"][0]["face"]["gallery"] == "g"

    r = api.client.post(f"/api/v1/erasures/{request_id}/confirm", headers=curator)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and len(r.json()["erased_face_ids"]) == 1
    assert r.json()["kept_faces_hidden_by_suppression"] == 0
    r = api.client.post(f"/api/v1/erasures/{request_id}/confirm", headers=curator)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"

    r = api.client.get("/api/v1/suppressions", headers=api.headers("auditor"))
    assert [s["reference"] for s in r.json()] == ["ER-9", "ER-9"]
    assert "embedding" not in r.json()[0]

    r = api.client.post(
        "/api/v1/galleries/g/images",
        files=[("files", (colin[2].name, colin[2].read_bytes(), "image/jpeg"))],
        headers=curator,
    )
    assert r.json()["files"][0]["error"]["code"] == "suppressed"

    r = api.client.post(
        "/api/v1/search",
        files={"probe": (colin[2].name, colin[2].read_bytes(), "image/jpeg")},
        data={**WHY, "threshold": "0"},
        headers=api.headers("investigator"),
    )
    subjects = {c["subject"] for f in r.json()["faces"] for c in f["candidates"]}
    assert r.status_code == 200 and "Colin_Powell" not in subjects and subjects

    r = api.client.get("/api/v1/erasures?status=completed", headers=curator)
    assert [e["id"] for e in r.json()] == [request_id]


def test_erasure_request_refuses_identifiers_and_photos_without_a_face(
    enrolled_api: Api, test_images: dict[str, list[Path]], tmp_path: Path
) -> None:
    api, colin = enrolled_api, test_images["Colin_Powell"]
    r = api.client.post(
        "/api/v1/erasures",
        files=_file(colin[1]),
        data={"reference": "ER-1", "note": "reach them at someone@example.org"},
        headers=api.headers("curator"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "sensitive_identifier"
    assert "example.org" not in r.text
    r = api.client.post(
        "/api/v1/erasures/1/cancel", headers=api.headers("curator")
    )  # nothing was filed
    assert r.status_code == 404
    r = api.client.get("/api/v1/erasures", headers=api.headers("curator"))
    assert r.json() == []


def test_confirming_shows_faces_enrolled_since_and_what_the_suppression_hides(
    enrolled_api: Api, test_images: dict[str, list[Path]]
) -> None:
    api, colin = enrolled_api, test_images["Colin_Powell"]
    curator = api.headers("curator")
    r = api.client.post(
        "/api/v1/erasures", files=_file(colin[1]), data={"reference": "ER-10"}, headers=curator
    )
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    (first,) = [p["face_id"] for p in r.json()["proposed"]]
    r = api.client.post(
        "/api/v1/galleries/g/images",
        files=[("files", (colin[2].name, colin[2].read_bytes(), "image/jpeg"))],
        data={"subject": "Colin later"},
        headers=curator,
    )
    assert r.status_code == 200 and r.json()["enrolled"] == 1, r.text
    (late,) = r.json()["files"][0]["face_ids"]

    r = api.client.post(f"/api/v1/erasures/{request_id}/confirm", headers=curator)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == {
        "code": "conflict",
        "message": "1 new face(s) since the request was filed; review and confirm again",
    }
    r = api.client.get(f"/api/v1/erasures/{request_id}", headers=curator)
    assert r.json()["status"] == "pending"
    assert {p["face_id"] for p in r.json()["proposed"]} == {first, late}

    # the curator keeps the late face: it stays stored, but the suppression hides it
    r = api.client.post(
        f"/api/v1/erasures/{request_id}/confirm", json={"face_ids": [first]}, headers=curator
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["erased_face_ids"] == [first]
    assert body["kept_faces_hidden_by_suppression"] == 1 and body["hidden_face_ids"] == [late]
    r = api.client.get(f"/api/v1/faces/{late}", headers=curator)
    assert r.status_code == 200
    r = api.client.post(
        "/api/v1/search",
        files={"probe": (colin[2].name, colin[2].read_bytes(), "image/jpeg")},
        data={**WHY, "threshold": "-1"},
        headers=api.headers("investigator"),
    )
    assert late not in {c["face_id"] for f in r.json()["faces"] for c in f["candidates"]}
