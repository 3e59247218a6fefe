"""Request and response bodies of the two-person review routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from facesearch.service.reviews import LeadView, ReviewView
from facesearch.store import JudgementRecord


class JudgementIn(BaseModel):
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


class LeadOut(BaseModel):
    """A candidate with its lead state. While `judgements_hidden` (a reviewer who has not
    judged it yet) only `n_judgements` is shown; while `masked` (blind review), gallery and
    source category are null."""

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
    masked: bool
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
            masked=v.masked,
            gallery=v.gallery,
            source_category=v.source_category,
            subject_label=v.subject_label,
            thumbnail_url=(f"/api/v1/reviews/{v.seq}/{v.face_id}/thumbnail" if v.stored else None),
        )


class ReviewOut(BaseModel):
    search_seq: int
    occurred_at: datetime
    searched_by: str
    case_reference: str | None
    notice: str
    candidates: list[LeadOut]

    @classmethod
    def of(cls, r: ReviewView, notice: str) -> ReviewOut:
        return cls(
            search_seq=r.seq,
            occurred_at=r.occurred_at,
            searched_by=r.searched_by,
            case_reference=r.case_reference,
            notice=notice,
            candidates=[LeadOut.of(c) for c in r.candidates],
        )
