"""Request and response bodies of the two-person review routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from facesearch.api.schemas.base import RecordOut, examples, record_schema
from facesearch.service.reviews import LEAD_DISCLAIMER, LeadView, ReviewView
from facesearch.store import JudgementRecord


class JudgementIn(BaseModel):
    model_config = examples(
        {"judgement": "possible_lead", "note": "same scar above the left eyebrow"},
        {"judgement": "excluded", "note": "different ear shape"},
    )
    judgement: Literal["possible_lead", "excluded"]
    note: str = Field(
        "",
        max_length=4000,
        description="Why (no sensitive identifiers: e-mail addresses, phone numbers, ...).",
    )


# The search and the candidate are the review's own (the path names them).
@record_schema(JudgementRecord, omit=("seq", "face_id"))
class JudgementOut(RecordOut[JudgementRecord]):
    pass


LEAD_EXAMPLE: dict[str, Any] = {
    "notice": LEAD_DISCLAIMER,
    "search_seq": 1207,
    "face_id": 31,
    "rank": 1,
    "similarity": 0.962,
    "state": "pending",
    "n_judgements": 1,
    "judged_by_you": True,
    "judgements_hidden": False,
    "judgements": [
        {
            "reviewer": "rita",
            "judgement": "possible_lead",
            "note": "same scar above the left eyebrow",
            "created_at": "2026-01-05T11:00:00Z",
        }
    ],
    "stored": True,
    "withheld": False,
    "gallery": "press-archive",
    "source_category": "press",
    "subject_label": "Alice Example",
    "thumbnail_url": "/api/v1/reviews/1207/31/thumbnail",
}


# The API names the search `search_seq` and the viewer "you", shows the state by its value,
# and adds the notice (first) and the candidate's thumbnail URL.
@record_schema(
    LeadView,
    rename={"seq": "search_seq", "judged_by_viewer": "judged_by_you"},
    fields={
        "notice": (str, Field(LEAD_DISCLAIMER, description="Read before acting on this lead.")),
        "state": Literal["unreviewed", "pending", "confirmed lead", "excluded"],
        "judgements": list[JudgementOut],
        "thumbnail_url": (
            str | None,
            Field(
                None,
                description="The candidate's face (no gallery shown); null when no longer stored.",
            ),
        ),
    },
    first=("notice",),
)
class LeadOut(RecordOut[LeadView]):
    """A candidate with its lead state, and the notice that it is an investigative lead, not
    an identification, and not sufficient on its own for an arrest. While
    `judgements_hidden` (a reviewer who has not judged it yet) only `n_judgements` is
    shown; while `withheld` (blind review: some candidate of the search comes from a
    blind-review gallery, and the reviewer has not judged this one yet), gallery, source
    category and subject label are null, for every such candidate alike."""

    model_config = examples(LEAD_EXAMPLE)

    @classmethod
    def of(cls, record: LeadView) -> Self:
        thumbnail = f"/api/v1/reviews/{record.seq}/{record.face_id}/thumbnail"
        return cls.from_record(
            record, state=record.state.value, thumbnail_url=thumbnail if record.stored else None
        )


# Written out, not derived from ReviewView: the API names the search `search_seq` and puts
# the notice among the fields (tests/api/test_schemas.py checks it shows every field).
class ReviewOut(BaseModel):
    model_config = examples(
        {
            "search_seq": 1207,
            "occurred_at": "2026-01-05T10:02:03Z",
            "searched_by": "ivy",
            "case_reference": "CASE-2026-0113",
            "notice": LEAD_DISCLAIMER,
            "blind": False,
            "candidates": [LEAD_EXAMPLE],
        }
    )
    search_seq: int
    occurred_at: datetime
    searched_by: str
    case_reference: str | None
    notice: str
    blind: bool = Field(
        description="A candidate comes from a blind-review gallery: a reviewer sees each "
        "candidate's gallery, source category and subject label once they have judged it."
    )
    candidates: list[LeadOut]

    @classmethod
    def of(cls, r: ReviewView, notice: str) -> ReviewOut:
        return cls(
            search_seq=r.seq,
            occurred_at=r.occurred_at,
            searched_by=r.searched_by,
            case_reference=r.case_reference,
            notice=notice,
            blind=r.blind,
            candidates=[LeadOut.of(c) for c in r.candidates],
        )
