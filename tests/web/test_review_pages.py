"""The review page for a reviewer (who may judge, so reviews blind): before judging, a
candidate of a blind-review gallery and one of an open gallery read the same."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from facesearch.audit import AuditContext
from facesearch.service import FacePipeline
from facesearch.service.reviews import LEAD_DISCLAIMER, WITHHELD
from facesearch.settings import Settings

from ..api.conftest import SETUP, Api, start

FORBIDDEN = re.compile(r"match|identified", re.IGNORECASE)
WHY = AuditContext(
    actor="test-investigator",
    client_address="127.0.0.1",
    purpose="web test of the blind review page",
    case_reference="WEB-1",
    authorization_reference="WEB-AUTH-1",
)
REVEALING = ("custody-2019", "custody photo", "Subject-A", "newsdesk", "newswire", "Subject-B")


@pytest.fixture
def ui(settings: Settings, real_pipeline: FacePipeline) -> Iterator[Api]:
    yield from start(settings, real_pipeline)


def _rows(html: str) -> dict[int, list[str]]:
    """Candidate rows of the review table by face id: the text of each cell."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows: dict[int, list[str]] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        rows[int(cells[1].split()[-1])] = cells
    return rows


def test_a_reviewer_cannot_tell_a_blind_review_candidate_before_judging(
    ui: Api, test_images: dict[str, list[Path]]
) -> None:
    fs = ui.engine
    fs.create_gallery(
        "custody-2019", legal_basis="t", source_category="custody photo", context=SETUP
    )
    fs.create_gallery("newsdesk", legal_basis="t", source_category="newswire", context=SETUP)
    fs.set_blind_review("custody-2019", True, context=SETUP)
    colin, serena = test_images["Colin_Powell"], test_images["Serena_Williams"]
    booked = fs.enroll(
        colin[0].read_bytes(), gallery="custody-2019", subject="Subject-A", context=SETUP
    ).face_ids[0]
    press = fs.enroll(
        serena[0].read_bytes(), gallery="newsdesk", subject="Subject-B", context=SETUP
    ).face_ids[0]
    seq = fs.search(colin[1].read_bytes(), context=WHY, threshold=-1.0).audit_seq
    assert seq is not None

    ui.client.post("/ui/signin", data={"key": ui.keys["reviewer"]})  # a reviewer only
    r = ui.client.get(f"/ui/reviews/{seq}")
    assert r.status_code == 200 and LEAD_DISCLAIMER in r.text
    assert not [word for word in REVEALING if word in r.text]
    rows = _rows(r.text)
    # subject, gallery and source category cells: the same words for both candidates
    assert rows[booked][3:6] == rows[press][3:6] == [WITHHELD] * 3
    assert not FORBIDDEN.search(r.text)

    r = ui.client.post(f"/ui/reviews/{seq}/{press}", data={"judgement": "excluded"})
    assert r.status_code == 200 and "is recorded" in r.text
    rows = _rows(r.text)
    assert rows[press][3:6] == ["Subject-B", "newsdesk", "newswire"]
    assert rows[booked][3:6] == [WITHHELD] * 3
    r = ui.client.post(f"/ui/reviews/{seq}/{booked}", data={"judgement": "possible_lead"})
    assert _rows(r.text)[booked][3:6] == ["Subject-A", "custody-2019", "custody photo"]
    assert not FORBIDDEN.search(r.text)
