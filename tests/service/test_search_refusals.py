"""A refused search's audit event names only the galleries it actually searched."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.errors import InvalidInput, NotFound, PermissionDenied
from facesearch.service import FaceSearch

from .helpers import CURATOR, INVESTIGATION

pytestmark = pytest.mark.both_databases

Images = dict[str, list[Path]]


@pytest.fixture
def two_galleries(engine: FaceSearch, test_images: Images) -> FaceSearch:
    for name in ("open", "closed"):
        engine.create_gallery(name, legal_basis="t", context=CURATOR)
    engine.enroll(test_images["Colin_Powell"][0].read_bytes(), gallery="open", context=CURATOR)
    return engine


def test_a_search_refused_before_searching_names_no_gallery(
    two_galleries: FaceSearch, test_images: Images
) -> None:
    fs, probe = two_galleries, test_images["Colin_Powell"][1].read_bytes()
    with pytest.raises(PermissionDenied):
        fs.search(probe, galleries=["closed"], allowed_galleries=["open"], context=INVESTIGATION)
    with pytest.raises(InvalidInput):
        fs.search(probe, k=0, galleries=["open"], context=INVESTIGATION)
    with pytest.raises(NotFound):
        fs.search(probe, galleries=["nope"], context=INVESTIGATION)
    with pytest.raises(InvalidInput):
        fs.search(probe, face=7, context=INVESTIGATION)  # every gallery, had it gone on
    refused = fs.audit.list(limit=4)
    assert [e.outcome for e in refused] == [
        "invalid_input",
        "not_found",
        "invalid_input",
        "permission_denied",
    ]
    assert [e.galleries for e in refused] == [(), (), (), ()]
    assert [e.details["requested_galleries"] for e in refused] == [
        [],
        ["nope"],
        ["open"],
        ["closed"],
    ]


def test_a_completed_search_names_the_galleries_searched(
    two_galleries: FaceSearch, test_images: Images
) -> None:
    fs = two_galleries
    fs.search(test_images["Colin_Powell"][1].read_bytes(), context=INVESTIGATION)
    assert fs.audit.list(limit=1)[0].galleries == ("closed", "open")
    fs.search(
        test_images["Colin_Powell"][1].read_bytes(), galleries=["open"], context=INVESTIGATION
    )
    assert fs.audit.list(limit=1)[0].galleries == ("open",)
