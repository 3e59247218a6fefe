"""The erasure pages: a curator files, reviews and confirms; an auditor only reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facesearch.service import FacePipeline
from facesearch.settings import Settings

from ..api.conftest import SETUP, Api, start
from ..disclosure import disclosed


@pytest.fixture
def ui(settings: Settings, real_pipeline: FacePipeline) -> Iterator[Api]:
    yield from start(settings, real_pipeline)


def test_erasure_pages(ui: Api, test_images: dict[str, list[Path]]) -> None:
    colin, serena = test_images["Colin_Powell"], test_images["Serena_Williams"]
    fs = ui.engine
    fs.create_gallery("g", legal_basis="test", context=SETUP)
    for path in (colin[0], serena[0]):
        fs.enroll(path.read_bytes(), gallery="g", context=SETUP)

    assert ui.client.get("/ui/erasures", follow_redirects=False).status_code == 303
    ui.client.post("/ui/signin", data={"key": ui.keys["investigator"]})
    assert ui.client.get("/ui/erasures").status_code == 403

    ui.client.post("/ui/signin", data={"key": ui.keys["curator"]})
    r = ui.client.get("/ui/erasures")
    assert r.status_code == 200 and "File a request" in r.text
    r = ui.client.post(
        "/ui/erasures",
        files={"photo": (colin[1].name, colin[1].read_bytes(), "image/jpeg")},
        data={"reference": "ER-web", "note": "call +1 415 555 0100"},
    )
    assert r.status_code == 422 and "phone number" in r.text
    assert not disclosed("call +1 415 555 0100", [r.text])
    assert not disclosed("+1 415 555 0100", [r.text])
    r = ui.client.post(
        "/ui/erasures",
        files={"photo": (colin[1].name, colin[1].read_bytes(), "image/jpeg")},
        data={"reference": "ER-web"},
    )
    assert r.status_code == 200 and "Erase the ticked faces" in r.text
    (request,) = fs.list_erasures()
    (face_id,) = [p.face_id for p in request.proposed]
    r = ui.client.post(f"/ui/erasures/{request.id}/confirm", data={})
    assert r.status_code == 422 and "tick at least one face" in r.text
    r = ui.client.post(f"/ui/erasures/{request.id}/confirm", data={"face_ids": str(face_id)})
    assert r.status_code == 200 and "erased 1 face(s)" in r.text
    assert fs.list_erasures()[0].status == "completed"

    ui.client.post("/ui/signin", data={"key": ui.keys["auditor"]})
    r = ui.client.get(f"/ui/erasures/{request.id}")
    assert r.status_code == 200 and "erased" in r.text and "File a request" not in r.text
    r = ui.client.post(f"/ui/erasures/{request.id}/cancel", headers={"accept": "text/html"})
    assert r.status_code == 403


def test_the_erasure_page_shows_late_faces_and_what_the_suppression_hides(
    ui: Api, test_images: dict[str, list[Path]]
) -> None:
    colin = test_images["Colin_Powell"]
    fs = ui.engine
    fs.create_gallery("g", legal_basis="test", context=SETUP)
    first = fs.enroll(colin[0].read_bytes(), gallery="g", context=SETUP).face_ids[0]
    ui.client.post("/ui/signin", data={"key": ui.keys["curator"]})
    r = ui.client.post(
        "/ui/erasures",
        files={"photo": (colin[1].name, colin[1].read_bytes(), "image/jpeg")},
        data={"reference": "ER-late"},
    )
    assert r.status_code == 200 and 'id="suppression-warning"' in r.text
    assert "hidden from every search" in r.text
    (request,) = fs.list_erasures()
    late = fs.enroll(colin[2].read_bytes(), gallery="g", context=SETUP).face_ids[0]

    r = ui.client.post(f"/ui/erasures/{request.id}/confirm", data={"face_ids": str(first)})
    assert r.status_code == 409
    assert "1 new face(s) since the request was filed; review and confirm again" in r.text
    assert f'name="face_ids" value="{late}"' in r.text  # now on the form, to review
    # the curator keeps the late face
    r = ui.client.post(f"/ui/erasures/{request.id}/confirm", data={"face_ids": str(first)})
    assert r.status_code == 200, r.text
    assert "erased 1 face(s)" in r.text
    assert "1 kept face(s) stay stored but are hidden from every search" in r.text
    assert f"face {late}, similarity" in r.text and "kept, hidden from search" in r.text
    assert late in {f.id for f in fs.list_faces()}
