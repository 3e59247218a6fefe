"""Request and response bodies of the two-person review routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from facesearch.api.schemas import examples
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


class JudgementOut(BaseModel):
    reviewer: str
    judgement: str
    note: str
    created_at: datetime

    @classmethod
    def of(cls, j: JudgementRecord) -> JudgementOut:
        return cls(reviewer=j.reviewer, judgement=j.judgement, note=j.note, created_at=j.created_at)


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


class LeadOut(BaseModel):
    """A candidate with its lead state, and the notice that it is an investigative lead, not
    an identification, and not sufficient on its own for an arrest. While
    `judgements_hidden` (a reviewer who has not judged it yet) only `n_judgements` is
    shown; while `withheld` (blind review: some candidate of the search comes from a
    blind-review gallery, and the reviewer has not judged this one yet), gallery, source
    category and subject label are null, for every such candidate alike."""

    model_config = examples(LEAD_EXAMPLE)

    notice: str = Field(LEAD_DISCLAIMER, description="Read before acting on this lead.")

    search_seq: int
    face_id: int
    rank: int
    similarity: float
    state: Literal["unreviewed", "pending", "confirmed lead", "excluded"]
    n_judgements: int
    judged_by_you: bool
    judgements_hidden: bool
    judgements: list[JudgementOut]
    stored: bool
    withheld: bool
    gallery: str | None
    source_category: str | None
    subject_label: str | None
    thumbnail_url: str | None = Field(
        None, description="The candidate's face (no gallery shown); null when no longer stored."
    )

    @classmethod
    def of(cls, v: LeadView) -> LeadOut:
        return cls(
            search_seq=v.seq,
            face_id=v.face_id,
            rank=v.rank,
            similarity=v.similarity,
            state=v.state.value,
            n_judgements=v.n_judgements,
            judged_by_you=v.judged_by_viewer,
            judgements_hidden=v.judgements_hidden,
            judgements=[JudgementOut.of(j) for j in v.judgements],
            stored=v.stored,
            withheld=v.withheld,
            gallery=v.gallery,
            source_category=v.source_category,
            subject_label=v.subject_label,
            thumbnail_url=(f"/api/v1/reviews/{v.seq}/{v.face_id}/thumbnail" if v.stored else None),
        )


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
