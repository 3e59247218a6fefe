"""An audit log built through the real service (real models, checked-in LFW photos)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from facesearch.audit import AuditContext
from facesearch.auth import Action
from facesearch.errors import AuthenticationRequired, InvalidInput, NoFaceFound, PermissionDenied
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import Settings

SETUP = AuditContext(actor="setup", client_address="127.0.0.1")
SEARCHES = [  # (actor, purpose, galleries, identity, photo)
    ("alice", "armed robbery on 3 May, CCTV still", None, "Colin_Powell", 2),
    ("alice", "credit card fraud at the bank", ["press"], "Gloria_Macapagal_Arroyo", 1),
    ("bob", "missing child since Monday, family photo", ["booking"], "Junichiro_Koizumi", 1),
    ("bob", "routine check of the camera feed", None, "Serena_Williams", 1),
]


def justified(actor: str, purpose: str) -> AuditContext:
    return AuditContext(
        actor=actor,
        client_address="10.0.0.1",
        purpose=purpose,
        case_reference="CASE-1",
        authorization_reference="AUTH-1",
    )


def blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (128, 128, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Built:
    """The data folder and what the service returned while writing its audit log."""

    settings: Settings
    similarities: list[float] = field(default_factory=list)
    searches_with_candidates: int = 0
    verify_above: bool = False
    faces_erased: int = 0


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
    real_pipeline: FacePipeline,
    test_images: dict[str, list[Path]],
) -> Built:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("oversight") / "data", workers=1, database_url=None
    )
    out = Built(settings)
    photo = {name: [p.read_bytes() for p in paths] for name, paths in test_images.items()}
    with FaceSearch(settings, pipeline=real_pipeline) as fs:
        fs.create_gallery("press", legal_basis="test", context=SETUP)
        fs.create_gallery("booking", legal_basis="test", context=SETUP)
        for n, name in enumerate(sorted(photo)):
            gallery = "press" if n < 2 else "booking"
            fs.enroll(photo[name][0], gallery=gallery, subject=name, context=SETUP)
        for actor, purpose, galleries, name, index in SEARCHES:
            result = fs.search(
                photo[name][index], galleries=galleries, context=justified(actor, purpose)
            )
            found = [round(c.similarity, 6) for f in result.faces for c in f.candidates]
            out.similarities += found
            out.searches_with_candidates += bool(found)
        with pytest.raises(InvalidInput):  # refused: no justification
            fs.search(photo["Colin_Powell"][1], context=AuditContext(actor="carol"))
        with pytest.raises(NoFaceFound):  # failed
            fs.search(blank_png(), context=justified("alice", "armed robbery, second still"))
        verified = fs.verify(
            photo["Colin_Powell"][0],
            photo["Colin_Powell"][1],
            context=justified("bob", "assault outside the station"),
        )
        out.verify_above = verified.above_threshold
        # a curator may not search: denied by the permission table, audited as a refusal
        fs.accounts.create_user("dave", ["curator"], context=SETUP)
        key = fs.accounts.issue_key("dave", context=SETUP).secret
        with pytest.raises(PermissionDenied):
            fs.accounts.authorize(fs.accounts.authenticate(key), Action.SEARCH)
        with pytest.raises(AuthenticationRequired):
            fs.accounts.authenticate("fsk_00000000." + "A" * 43, client_address="10.0.0.9")
        erased = fs.request_erasure(photo["Serena_Williams"][2], reference="ER-1", context=SETUP)
        record = fs.confirm_erasure(erased.request.id, context=SETUP).record
        out.faces_erased = len(record.erased_face_ids)
        cancelled = fs.request_erasure(photo["Colin_Powell"][2], reference="ER-2", context=SETUP)
        fs.cancel_erasure(cancelled.request.id, context=SETUP)
        # Two-person review (not built yet) and a purge of expired faces (needs a clock
        # moved on): their events are written through the audit log in their shape.
        for reviewer in ("rev1", "rev2"):
            fs.audit.record(
                AuditContext(actor=reviewer).event("review.judgement", details={"mark": "lead"})
            )
        fs.audit.record(AuditContext(actor="rev2").event("review.confirmed"))
        fs.apply_retention(context=SETUP)  # nothing has expired: a purge of nothing
        fs.audit.record(
            SETUP.event(
                "retention.purge", details={"images": 2, "faces": 3, "face_ids": [101, 102, 103]}
            )
        )
    return out
