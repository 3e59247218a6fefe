"""Two-person review of leads in the store: judgements of a search's candidates.

A search is named by the ``seq`` of its audit event (action ``search``, outcome ``ok``);
its candidates are the face ids in that event's ``results``. A reviewer records one
judgement (``possible_lead`` or ``excluded``) per candidate (a second one is refused with
:class:`~facesearch.errors.AlreadyExists`), and a candidate takes at most two judgements
(a third is refused with :class:`~facesearch.errors.Conflict`); a face no longer stored
(erased, purged, deleted) takes none (:class:`~facesearch.errors.NotFound`). The judgement
and its audit events commit in one transaction under the write lock, so two reviewers
judging at once are ordered and the second sees the first.

:func:`drop_judgements` deletes the judgements of faces being removed (erasure, retention
purge) inside the transaction that removes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facesearch.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from facesearch.store import _rows, _validate
from facesearch.store.audit import append_event
from facesearch.store.database import Database
from facesearch.store.records import (
    AuditHook,
    GalleryRecord,
    JudgementAdded,
    JudgementRecord,
    NewAuditEvent,
)
from facesearch.store.tables import AuditEvent, Face, Gallery, ReviewJudgement

JUDGEMENTS = ("possible_lead", "excluded")
"""The judgements a reviewer may record."""

MAX_JUDGEMENTS = 2
"""Judgements a candidate takes: two reviewers, then the review is closed."""

NOTE_LIMIT = 4000


def _record(row: ReviewJudgement) -> JudgementRecord:
    return JudgementRecord(
        seq=int(row.seq),
        face_id=int(row.face_id),
        reviewer=row.reviewer,
        judgement=row.judgement,
        note=row.note,
        created_at=row.created_at,
    )


def _judgements(session: Session, seq: int, face_id: int | None = None) -> list[JudgementRecord]:
    query = select(ReviewJudgement).where(ReviewJudgement.seq == int(seq))
    if face_id is not None:
        query = query.where(ReviewJudgement.face_id == int(face_id))
    query = query.order_by(ReviewJudgement.face_id, ReviewJudgement.id)
    return [_record(r) for r in session.scalars(query)]


def _search_candidates(session: Session, seq: int) -> list[int]:
    """The face ids the search with audit event ``seq`` returned; ``NotFound`` when that
    event is not a completed search."""
    row = session.get(AuditEvent, int(seq))
    if row is None or row.action != "search" or row.outcome != "ok":
        raise NotFound(f"no completed search with audit seq {seq}")
    if not isinstance(row.results, list):  # pragma: no cover - shape checked on append
        raise NotFound(f"no completed search with audit seq {seq}")
    return [int(r["face_id"]) for r in row.results]


def drop_judgements(session: Session, face_ids: Collection[int]) -> int:
    """Delete every judgement of the faces of ``face_ids`` (of any search) in ``session``'s
    transaction; returns how many were deleted."""
    n = 0
    for chunk in _rows.chunks(sorted({int(i) for i in face_ids})):
        where = ReviewJudgement.face_id.in_(chunk)
        count = select(func.count()).select_from(ReviewJudgement).where(where)
        n += int(session.scalar(count) or 0)
        session.execute(delete(ReviewJudgement).where(where), execution_options=_rows.NO_SYNC)
    return n


def with_details(event: NewAuditEvent, **extra: Any) -> NewAuditEvent:
    """``event`` with ``extra`` added to its details (JSON-native values)."""
    return dataclasses.replace(event, details={**event.details, **extra})


class ReviewRepository:
    """Review judgements of search candidates and the blind-review mask of galleries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_judgement(
        self,
        seq: int,
        face_id: int,
        *,
        reviewer: str,
        judgement: str,
        note: str = "",
        audit: Callable[[JudgementAdded], Sequence[NewAuditEvent]] | None = None,
    ) -> JudgementAdded:
        """Record ``reviewer``'s ``judgement`` of candidate ``face_id`` of search ``seq``.

        ``NotFound`` when ``seq`` is no completed search, ``face_id`` none of its
        candidates or no longer stored; ``AlreadyExists`` when ``reviewer`` judged it
        already; ``Conflict`` when it has its two judgements. ``audit`` returns the events
        to append with it."""
        if judgement not in JUDGEMENTS:
            raise InvalidInput(f"judgement must be one of {', '.join(JUDGEMENTS)}")
        _validate.text("reviewer", reviewer, 200)
        if not isinstance(note, str) or len(note) > NOTE_LIMIT or "\x00" in note:
            raise InvalidInput(f"note must be text of at most {NOTE_LIMIT} characters")
        taken = f"{reviewer!r} has already judged face {face_id} of search {seq}"
        with self._db.transaction("add_judgement", write=True, conflict=taken) as s:
            if int(face_id) not in _search_candidates(s, seq):
                raise NotFound(f"face {face_id} is not a candidate of search {seq}")
            if s.scalar(select(Face.id).where(Face.id == int(face_id))) is None:
                raise NotFound(f"face {face_id} is no longer stored: it cannot be judged")
            before = _judgements(s, seq, face_id)
            if any(j.reviewer == reviewer for j in before):
                raise AlreadyExists(taken)
            if len(before) >= MAX_JUDGEMENTS:
                raise Conflict(f"face {face_id} of search {seq} has its two judgements already")
            row = ReviewJudgement(
                seq=int(seq),
                face_id=int(face_id),
                reviewer=reviewer,
                judgement=judgement,
                note=note.strip(),
            )
            s.add(row)
            s.flush()
            added = JudgementAdded(_record(row), (*before, _record(row)))
            if audit is not None:
                for event in audit(added):
                    append_event(s, event)
            return added

    def list_judgements(self, seq: int, face_id: int | None = None) -> list[JudgementRecord]:
        """Judgements of search ``seq`` (of one candidate), by face id then oldest first."""
        with self._db.transaction("list_judgements") as s:
            return _judgements(s, seq, face_id)

    def search_candidates(self, seq: int) -> list[int]:
        """Face ids returned by the search of audit event ``seq`` (``NotFound`` if none)."""
        with self._db.transaction("search_candidates") as s:
            return _search_candidates(s, seq)

    def set_mask_source_category(
        self, gallery: str, mask: bool, *, audit: AuditHook[GalleryRecord] | None = None
    ) -> GalleryRecord:
        """Mark ``gallery`` for blind review (``mask``) or unmark it."""
        with self._db.transaction("set_mask_source_category", write=True) as s:
            row = s.get(Gallery, _rows.gallery_id(s, gallery))
            if row is None:  # pragma: no cover - _gallery_id raised already
                raise NotFound(f"gallery {gallery!r} not found")
            row.mask_source_category = bool(mask)
            s.flush()
            record = _rows.gallery_record(
                s.execute(_rows.gallery_select().where(Gallery.id == row.id)).one()
            )
            if audit is not None:
                append_event(s, audit(record))
            return record
