"""Two-person review through the API and the web page: judgements, lead state, lead sheets."""

from __future__ import annotations

import re
from pathlib import Path

from facesearch.service.reviews import LEAD_DISCLAIMER

from .conftest import WHY, Api, grant_search

FORBIDDEN = re.compile(r"match|identified", re.IGNORECASE)


def _search(api: Api, probe: Path) -> tuple[int, int]:
    r = api.client.post(
        "/api/v1/search",
        files={"probe": (probe.name, probe.read_bytes(), "image/jpeg")},
        data={**WHY, "threshold": "-1"},
        headers=api.headers("investigator"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["notice"].endswith(LEAD_DISCLAIMER)  # the search's export of its leads
    return body["audit_seq"], body["faces"][0]["candidates"][0]["face_id"]


def test_two_reviewers_confirm_a_lead_through_the_api(
    enrolled_api: Api, test_images: dict[str, list[Path]]
) -> None:
    api = enrolled_api
    r = api.client.put(
        "/api/v1/galleries/g/blind-review",
        json={"mask_source_category": True},
        headers=api.headers("curator"),
    )
    assert r.status_code == 200 and r.json()["mask_source_category"] is True, r.text
    seq, face = _search(api, test_images["Colin_Powell"][2])
    texts = []
    r = api.client.get(f"/api/v1/reviews/{seq}", headers=api.headers("reviewer"))
    assert r.status_code == 200, r.text
    texts.append(r.text)
    lead = next(c for c in r.json()["candidates"] if c["face_id"] == face)
    assert lead["state"] == "unreviewed" and lead["withheld"] and lead["gallery"] is None
    # the reviewer sees the face (not its gallery) before judging
    thumb = api.client.get(lead["thumbnail_url"], headers=api.headers("reviewer"))
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    assert thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["cache-control"] == "no-store"  # an erased face leaves no copy
    other = api.client.get(
        f"/api/v1/reviews/{seq}/999999/thumbnail", headers=api.headers("reviewer")
    )
    assert other.status_code == 404
    url = f"/api/v1/reviews/{seq}/{face}"
    r = api.client.post(
        url, json={"judgement": "possible_lead", "note": "same ears"}, headers=api.headers("all")
    )
    assert r.status_code == 201, r.text
    texts.append(r.text)
    assert r.json()["gallery"] == "g" and r.json()["state"] == "pending"
    assert r.json()["notice"] == LEAD_DISCLAIMER
    r = api.client.post(url, json={"judgement": "excluded"}, headers=api.headers("all"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_exists"
    r = api.client.get(f"{url}/sheet", headers=api.headers("reviewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert r.text.startswith(LEAD_DISCLAIMER) and "same ears" not in r.text
    texts.append(r.text)
    r = api.client.post(
        url, json={"judgement": "possible_lead", "note": "agree"}, headers=api.headers("reviewer")
    )
    assert r.status_code == 201 and r.json()["state"] == "confirmed lead", r.text
    texts.append(r.text)
    for who in ("auditor", "reviewer"):
        r = api.client.get(f"{url}/sheet", headers=api.headers(who))
        assert r.text.startswith(LEAD_DISCLAIMER) and "same ears" in r.text
        texts.append(r.text)
        r = api.client.get(f"/api/v1/reviews/{seq}", headers=api.headers(who))
        assert r.json()["notice"] == LEAD_DISCLAIMER
        texts.append(r.text)
    api.client.cookies.set("facesearch_key", api.keys["auditor"])
    r = api.client.get(f"/ui/reviews/{seq}")
    texts.append(r.text)
    assert "confirmed lead" in r.text and LEAD_DISCLAIMER in r.text
    assert [t for t in texts if FORBIDDEN.search(t)] == []


def test_review_refusals(enrolled_api: Api, test_images: dict[str, list[Path]]) -> None:
    api = enrolled_api
    seq, face = _search(api, test_images["Colin_Powell"][2])
    h = api.headers("reviewer")
    r = api.client.post(
        f"/api/v1/reviews/{seq}/{face}",
        json={"judgement": "possible_lead", "note": "mail jo@example.org"},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "sensitive_identifier"
    r = api.client.post(f"/api/v1/reviews/{seq}/999999", json={"judgement": "excluded"}, headers=h)
    assert r.status_code == 404
    r = api.client.post(f"/api/v1/reviews/{seq}/{face}", json={"judgement": "x"}, headers=h)
    assert r.status_code == 422
    r = api.client.post(
        f"/api/v1/reviews/{seq}/{face}",
        json={"judgement": "excluded"},
        headers=api.headers("auditor"),
    )
    assert r.status_code == 403


WHERE = ("withheld", "gallery", "source_category", "subject_label")


def test_blind_review_makes_candidates_indistinguishable_until_judged(
    enrolled_api: Api, test_images: dict[str, list[Path]]
) -> None:
    api = enrolled_api
    curator = api.headers("curator")
    r = api.client.post(
        "/api/v1/galleries",
        json={"name": "press", "legal_basis": "test", "source_category": "press photos"},
        headers=curator,
    )
    assert r.status_code == 201, r.text
    serena = test_images["Serena_Williams"][1]
    r = api.client.post(
        "/api/v1/galleries/press/images",
        files=[("files", (serena.name, serena.read_bytes(), "image/jpeg"))],
        data={"subject": "Serena press"},
        headers=curator,
    )
    assert r.status_code == 200 and r.json()["enrolled"] == 1, r.text
    grant_search(api, "press")
    r = api.client.put(
        "/api/v1/galleries/g/blind-review", json={"mask_source_category": True}, headers=curator
    )
    assert r.status_code == 200, r.text
    seq, _ = _search(api, test_images["Colin_Powell"][2])

    r = api.client.get(f"/api/v1/reviews/{seq}", headers=api.headers("reviewer"))
    assert r.status_code == 200 and r.json()["blind"] is True, r.text
    candidates = r.json()["candidates"]
    shown = {tuple(c[k] for k in WHERE) for c in candidates}
    assert shown == {(True, None, None, None)}  # masked and open galleries alike
    assert "press" not in r.text and "Serena press" not in r.text
    (press,) = [f.id for f in api.engine.list_faces(gallery="press")]  # an open gallery's
    assert press in {c["face_id"] for c in candidates}
    r = api.client.get(f"/api/v1/reviews/{seq}/{press}/sheet", headers=api.headers("reviewer"))
    assert "press" not in r.text and r.text.startswith(LEAD_DISCLAIMER)

    r = api.client.post(
        f"/api/v1/reviews/{seq}/{press}",
        json={"judgement": "excluded"},
        headers=api.headers("reviewer"),
    )
    assert r.status_code == 201, r.text
    assert tuple(r.json()[k] for k in WHERE) == (False, "press", "press photos", "Serena press")
    assert r.json()["notice"] == LEAD_DISCLAIMER
    r = api.client.get(f"/api/v1/reviews/{seq}", headers=api.headers("auditor"))
    assert {c["withheld"] for c in r.json()["candidates"]} == {False}


def test_an_erased_candidate_cannot_be_judged(
    enrolled_api: Api, test_images: dict[str, list[Path]]
) -> None:
    api, colin = enrolled_api, test_images["Colin_Powell"]
    seq, face = _search(api, colin[2])
    r = api.client.post(
        f"/api/v1/reviews/{seq}/{face}",
        json={"judgement": "possible_lead"},
        headers=api.headers("reviewer"),
    )
    assert r.status_code == 201, r.text
    r = api.client.post(
        "/api/v1/erasures",
        files={"photo": (colin[1].name, colin[1].read_bytes(), "image/jpeg")},
        data={"reference": "ER-R"},
        headers=api.headers("curator"),
    )
    assert [p["face_id"] for p in r.json()["proposed"]] == [face], r.text
    request_id = r.json()["id"]
    r = api.client.post(f"/api/v1/erasures/{request_id}/confirm", headers=api.headers("curator"))
    assert r.status_code == 200, r.text
    r = api.client.post(
        f"/api/v1/reviews/{seq}/{face}",
        json={"judgement": "possible_lead"},
        headers=api.headers("all"),
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    assert "no longer stored" in r.json()["error"]["message"]
    r = api.client.get(f"/api/v1/reviews/{seq}", headers=api.headers("auditor"))
    lead = next(c for c in r.json()["candidates"] if c["face_id"] == face)
    assert lead["n_judgements"] == 0 and lead["stored"] is False
    assert lead["state"] == "unreviewed"
