"""Response bodies and the records they show: a body derived from a record
(:func:`facesearch.api.schemas.base.record_schema`) shows exactly the public fields pinned
here, and a body written out shows every field of the record it mirrors, so a field added to
a record is noticed either way (and must be decided: shown, with its example, or omitted)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from facesearch.api import create_app
from facesearch.api.schemas.audit import AuditEventOut, ChainReportOut
from facesearch.api.schemas.base import RecordOut, record_schema
from facesearch.api.schemas.catalog import GalleryOut, ImageOut
from facesearch.api.schemas.faces import FaceOut
from facesearch.api.schemas.privacy import ErasureOut
from facesearch.api.schemas.retention import RetentionOut
from facesearch.api.schemas.reviews import LeadOut, ReviewOut
from facesearch.api.schemas.search import CandidateOut, SearchOut, VerifyOut
from facesearch.audit import ChainReport
from facesearch.service import Candidate, ProbeFace, RejectedFace, SearchResult, VerifyResult
from facesearch.service.retention import RetentionReport
from facesearch.service.reviews import LEAD_DISCLAIMER, LeadState, LeadView, ReviewView
from facesearch.settings import Settings
from facesearch.store import (
    ApiKeyRecord,
    AuditRecord,
    AuditResult,
    ErasureRecord,
    ExpiredImage,
    FaceRecord,
    GalleryRecord,
    GrantRecord,
    GroupGrantRecord,
    GroupRecord,
    ImageRecord,
    JudgementRecord,
    ProposedFace,
    SubjectRecord,
    SuppressionRecord,
    UserRecord,
)
from facesearch.types import BoundingBox, FaceQuality, Landmarks5

from .test_openapi_examples import schema_modules

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

DERIVED: dict[str, tuple[type, tuple[str, ...]]] = {
    "Box": (BoundingBox, ("x1", "y1", "x2", "y2")),
    "Quality": (FaceQuality, ("interocular_px", "sharpness", "frontalness", "score")),
    "GalleryOut": (
        GalleryRecord,
        (
            "id",
            "name",
            "description",
            "legal_basis",
            "source_category",
            "created_at",
            "n_subjects",
            "n_images",
            "n_faces",
            "retention_days",
            "mask_source_category",
        ),
    ),
    "SubjectOut": (
        SubjectRecord,
        ("id", "gallery", "label", "external_reference", "n_faces", "created_at"),
    ),
    "ImageOut": (
        ImageRecord,
        (
            "id",
            "gallery",
            "sha256",
            "source_uri",
            "legal_basis",
            "captured_at",
            "width",
            "height",
            "n_bytes",
            "format",
            "n_faces",
            "created_at",
            "collected_at",
        ),
    ),
    "FaceOut": (
        FaceRecord,
        (
            "id",
            "image_id",
            "gallery",
            "subject",
            "box",
            "detector",
            "detector_score",
            "quality",
            "model_id",
            "source_uri",
            "legal_basis",
            "image_sha256",
            "created_at",
            "thumbnail_url",
        ),
    ),
    "RejectedFaceOut": (RejectedFace, ("box", "quality", "reasons")),
    "ProbeFaceOut": (ProbeFace, ("box", "detector_score", "quality", "candidates")),
    "VerifyFaceOut": (ProbeFace, ("box", "detector_score", "quality")),
    "UserOut": (UserRecord, ("id", "name", "roles", "disabled", "created_at")),
    "KeyOut": (
        ApiKeyRecord,
        ("prefix", "user", "label", "created_at", "expires_at", "revoked_at", "last_used_at"),
    ),
    "AuditResultOut": (AuditResult, ("face_id", "similarity")),
    "AuditEventOut": (
        AuditRecord,
        (
            "seq",
            "occurred_at",
            "actor",
            "key_prefix",
            "action",
            "outcome",
            "purpose",
            "case_reference",
            "authorization_reference",
            "galleries",
            "probe_sha256",
            "results",
            "target",
            "details",
            "client_address",
            "prev_hash",
            "hash",
        ),
    ),
    "ExpiredImageOut": (
        ExpiredImage,
        ("image_id", "gallery", "collected_at", "expires_at", "n_faces"),
    ),
    "GrantOut": (GrantRecord, ("user", "gallery", "granted_by", "created_at")),
    "GroupOut": (GroupRecord, ("name", "members", "galleries", "created_by", "created_at")),
    "GroupGrantOut": (GroupGrantRecord, ("group", "gallery", "granted_by", "created_at")),
    "ProposedFaceOut": (ProposedFace, ("face_id", "similarity", "via_face_id", "face")),
    "ErasureOut": (
        ErasureRecord,
        (
            "id",
            "reference",
            "note",
            "status",
            "model_id",
            "target_fmr",
            "threshold",
            "proposed",
            "erased_face_ids",
            "created_by",
            "created_at",
            "decided_by",
            "decided_at",
        ),
    ),
    "SuppressionOut": (
        SuppressionRecord,
        ("id", "request_id", "reference", "model_id", "created_at"),
    ),
    "JudgementOut": (JudgementRecord, ("reviewer", "judgement", "note", "created_at")),
    "LeadOut": (
        LeadView,
        (
            "notice",
            "search_seq",
            "face_id",
            "rank",
            "similarity",
            "state",
            "n_judgements",
            "judged_by_you",
            "judgements_hidden",
            "judgements",
            "stored",
            "withheld",
            "gallery",
            "source_category",
            "subject_label",
            "thumbnail_url",
        ),
    ),
}
"""Each derived body: the record (or service value) it is derived from and its public
fields, in order."""

WRITTEN_OUT: dict[type[BaseModel], tuple[type, dict[str, str], set[str], set[str]]] = {
    CandidateOut: (Candidate, {}, set(), {"thumbnail_url"}),
    SearchOut: (SearchResult, {}, set(), {"notice"}),
    VerifyOut: (VerifyResult, {}, set(), {"notice"}),
    ReviewOut: (ReviewView, {"seq": "search_seq"}, set(), {"notice"}),
    RetentionOut: (
        RetentionReport,
        {"now": "as_of", "face_ids": "deleted_face_ids"},
        set(),
        {"n_images", "n_faces", "by_gallery"},
    ),
    # The chain report's notes are not shown by the API (as before).
    ChainReportOut: (ChainReport, {}, {"notes"}, set()),
}
"""Bodies written out although they mirror a value: the value, its renamed fields, its
fields the API does not show, and the fields the API adds."""


def _derived() -> dict[str, type[RecordOut[Any]]]:
    found: dict[str, type[RecordOut[Any]]] = {}
    for module in schema_modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, RecordOut)
                and vars(value).get("__derivation__") is not None
                and value.__module__ == module.__name__
            ):
                found[value.__name__] = value
    return found


def test_every_derived_body_shows_the_pinned_fields() -> None:
    derived = _derived()
    assert set(derived) == set(DERIVED)
    for name, model in derived.items():
        record, public = DERIVED[name]
        derivation = model.__derivation__
        assert derivation is not None
        assert derivation.record is record, name
        assert tuple(model.model_fields) == public, (
            f"{name} no longer shows what was pinned: a field of {derivation.record.__name__} "
            "was added or removed; show it (and in the example) or omit it"
        )
        names = {f.name for f in dataclasses.fields(derivation.record)}
        assert set(derivation.shown) | derivation.omitted == names, name
        assert set(derivation.shown.values()) | set(derivation.added) == set(public), name


@pytest.mark.parametrize("model", list(WRITTEN_OUT), ids=lambda m: m.__name__)
def test_a_written_out_body_shows_every_field_of_what_it_mirrors(
    model: type[BaseModel],
) -> None:
    value, rename, hidden, added = WRITTEN_OUT[model]
    fields = {f.name for f in dataclasses.fields(value)}
    assert set(rename) | hidden <= fields
    shown = {rename.get(name, name) for name in fields - hidden}
    assert set(model.model_fields) == shown | added


def test_the_openapi_document_names_each_derived_body_as_its_class(tmp_path: Path) -> None:
    spec = create_app(Settings(data_dir=tmp_path, database_url=None)).openapi()
    components = spec["components"]["schemas"]
    for name in DERIVED:
        assert list(components[name]["properties"]) == list(DERIVED[name][1]), name
    assert components["GalleryOut"]["properties"]["mask_source_category"]["description"]
    assert components["LeadOut"]["description"].startswith("A candidate with its lead state")
    assert "description" not in components["ProbeFaceOut"]


def _face() -> FaceRecord:
    return FaceRecord(
        id=31,
        image_id=17,
        gallery_id=1,
        gallery_name="press-archive",
        subject_id=5,
        subject_label="Alice Example",
        box=BoundingBox(40, 30, 130, 120),
        landmarks=Landmarks5(((60, 50), (80, 50), (110, 50), (90, 50), (85, 80))),
        detector="dlib-hog",
        detector_score=1.1,
        quality=FaceQuality(36.0, 98.0, 0.9, 0.85),
        model_id="dlib-resnet-v1",
        source_uri=None,
        legal_basis="editorial",
        image_sha256="ab" * 32,
        created_at=NOW,
    )


def test_a_face_is_shown_by_name_without_internal_ids_or_landmarks() -> None:
    out = FaceOut.of(_face()).model_dump(mode="json")
    assert out["gallery"] == "press-archive" and out["subject"] == "Alice Example"
    assert out["box"] == {"x1": 40.0, "y1": 30.0, "x2": 130.0, "y2": 120.0}
    assert out["quality"]["score"] == 0.85
    assert out["thumbnail_url"] == "/api/v1/faces/31/thumbnail"
    assert not {"gallery_id", "subject_id", "landmarks", "gallery_name"} & set(out)


def test_a_gallery_body_is_the_record() -> None:
    record = GalleryRecord(1, "g", "", "basis", "press", NOW, 2, 3, 4, 30, True)
    out = GalleryOut.of(record)
    assert out.model_dump() == dataclasses.asdict(record)


def test_renamed_and_nested_fields_are_read_from_the_record() -> None:
    image = ImageRecord(17, 1, "g", "ab" * 32, None, "basis", None, 10, 20, 300, "JPEG", 1, NOW)
    assert ImageOut.of(image).model_dump()["gallery"] == "g"
    event = AuditRecord(
        seq=7,
        occurred_at=NOW,
        actor="ivy",
        action="search",
        outcome="ok",
        key_prefix="fsk_1",
        purpose=None,
        case_reference=None,
        authorization_reference=None,
        galleries=("g",),
        probe_sha256=None,
        results=(AuditResult(31, 0.96),),
        target=None,
        details={"k": 10},
        client_address=None,
        prev_hash="0" * 64,
        hash="1" * 64,
    )
    out = AuditEventOut.of(event).model_dump(mode="json")
    assert list(out)[:5] == ["seq", "occurred_at", "actor", "key_prefix", "action"]
    assert out["results"] == [{"face_id": 31, "similarity": 0.96}]
    assert out["galleries"] == ["g"] and out["details"] == {"k": 10}
    erasure = ErasureRecord(
        id=3,
        reference="ER-1",
        note="",
        status="pending",
        model_id="m",
        target_fmr=0.001,
        threshold=0.9,
        proposed=(ProposedFace(31, 0.95, via=30),),
        erased_face_ids=(),
        created_by="carla",
        created_at=NOW,
        decided_by=None,
        decided_at=None,
    )
    proposed = ErasureOut.of(erasure).model_dump()["proposed"]
    assert proposed == [{"face_id": 31, "similarity": 0.95, "via_face_id": 30, "face": None}]


def test_a_lead_shows_its_state_by_value_and_a_thumbnail_only_while_stored() -> None:
    judgement = JudgementRecord(7, 31, "rita", "possible_lead", "scar", NOW)
    lead = LeadView(
        seq=7,
        face_id=31,
        rank=1,
        similarity=0.96,
        state=LeadState.PENDING,
        n_judgements=1,
        judged_by_viewer=True,
        judgements_hidden=False,
        judgements=(judgement,),
        stored=True,
        withheld=False,
        gallery="g",
        source_category="press",
        subject_label=None,
    )
    out = LeadOut.of(lead).model_dump()
    assert out["notice"] == LEAD_DISCLAIMER and out["state"] == "pending"
    assert out["search_seq"] == 7 and out["judged_by_you"] is True
    assert out["thumbnail_url"] == "/api/v1/reviews/7/31/thumbnail"
    assert out["judgements"] == [
        {"reviewer": "rita", "judgement": "possible_lead", "note": "scar", "created_at": NOW}
    ]
    gone = LeadOut.of(dataclasses.replace(lead, stored=False)).model_dump()
    assert gone["thumbnail_url"] is None


# --- record_schema itself ----------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    id: int
    owner_id: int
    owner_name: str
    tags: tuple[str, ...]
    note: str = ""
    extra: list[int] = field(default_factory=list)


def test_record_schema_keeps_the_record_order_types_and_defaults() -> None:
    @record_schema(
        _Row,
        omit=("owner_id",),
        rename={"owner_name": "owner"},
        fields={"note": (str, Field("", description="A note.")), "url": str},
        first=("owner",),
    )
    class RowOut(RecordOut[_Row]):
        """A row."""

    assert list(RowOut.model_fields) == ["owner", "id", "tags", "note", "extra", "url"]
    assert RowOut.__name__ == "RowOut" and RowOut.__doc__ == "A row."
    schema = RowOut.model_json_schema()
    assert schema["title"] == "RowOut" and schema["description"] == "A row."
    assert schema["required"] == ["owner", "id", "tags", "url"]
    assert schema["properties"]["note"] == {
        "default": "",
        "description": "A note.",
        "title": "Note",
        "type": "string",
    }
    out = RowOut.from_record(_Row(1, 2, "ann", ("a",)), url="/rows/1")
    assert out.model_dump() == {
        "owner": "ann",
        "id": 1,
        "tags": ("a",),
        "note": "",
        "extra": [],
        "url": "/rows/1",
    }


def test_record_schema_refuses_unknown_names_and_declared_fields() -> None:
    with pytest.raises(TypeError, match="no field"):
        record_schema(_Row, omit=("owner",))(type("A", (RecordOut,), {}))
    with pytest.raises(TypeError, match="no field"):
        record_schema(_Row, first=("owner_id",), omit=("owner_id",))(type("B", (RecordOut,), {}))

    class Declared(RecordOut[_Row]):
        id: int

    with pytest.raises(TypeError, match="declares fields"):
        record_schema(_Row)(Declared)
    with pytest.raises(TypeError, match="not derived"):
        Declared.from_record(_Row(1, 2, "ann", ()))
