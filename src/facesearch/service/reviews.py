"""Two-person review of leads and blind review, a part of the engine
(:class:`~facesearch.service.FaceSearch` builds it).

A search's candidates (the face ids in its audit event) are judged by reviewers as
``possible_lead`` or ``excluded``, with a note. A candidate's state:

* ``unreviewed``: no judgement; ``pending``: one;
* ``confirmed lead``: two different reviewers both judged it a possible lead;
* ``excluded``: two judgements, at least one ``excluded``.

Independence: a reviewer who has not recorded a judgement of a candidate sees only how
many judgements it has, never the others' judgements or notes; once they have recorded
theirs they see all. Blind review: when any candidate of a search comes from a gallery
marked ``mask_source_category``, such a reviewer sees *every* candidate of that search
they have not judged yet without gallery name, source category and subject label, all
alike (``withheld``), so that what is hidden cannot be told from what is not; each is
revealed once they record their judgement of it. Viewers who may not judge (auditors)
see everything. Judgements are audited (``review.judgement``,
and ``review.confirmed`` when the second concordant ``possible_lead`` arrives) in the
transaction that stores them.

Every lead sheet starts with :data:`LEAD_DISCLAIMER`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from facesearch.audit import AuditContext, AuditLog
from facesearch.errors import NotFound
from facesearch.privacy import FieldKind, check_fields
from facesearch.service.accountability import Accountability
from facesearch.store import (
    AuditResult,
    FaceRecord,
    GalleryRecord,
    JudgementAdded,
    JudgementRecord,
    NewAuditEvent,
)
from facesearch.store.audit import AuditRepository
from facesearch.store.catalog import CatalogRepository
from facesearch.store.reviews import ReviewRepository

LEAD_DISCLAIMER = (
    "This is an investigative lead, not an identification. "
    "It is not sufficient on its own to justify an arrest."
)
"""The text every export or print of a lead starts with."""

WITHHELD = "(withheld until you record your judgement)"
"""What a blind reviewer sees for a candidate's gallery, source category and subject label
before judging it."""


class LeadState(StrEnum):
    UNREVIEWED = "unreviewed"
    PENDING = "pending"
    CONFIRMED = "confirmed lead"
    EXCLUDED = "excluded"


def lead_state_of(judgements: tuple[JudgementRecord, ...] | list[JudgementRecord]) -> LeadState:
    """The state of a candidate with ``judgements`` (each by a different reviewer)."""
    if not judgements:
        return LeadState.UNREVIEWED
    if len(judgements) < 2:
        return LeadState.PENDING
    if any(j.judgement == "excluded" for j in judgements):
        return LeadState.EXCLUDED
    return LeadState.CONFIRMED


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who looks at a review: ``blind`` for someone who may judge (a reviewer), who sees
    others' judgements and masked galleries only after recording their own."""

    name: str
    blind: bool


@dataclass(frozen=True, slots=True)
class LeadView:
    """One candidate of a search as ``viewer`` may see it."""

    seq: int
    face_id: int
    rank: int
    similarity: float
    state: LeadState
    n_judgements: int
    judged_by_viewer: bool
    judgements_hidden: bool
    judgements: tuple[JudgementRecord, ...]
    """Empty while ``judgements_hidden``."""
    stored: bool
    """Whether the face is still in the store (it may have been deleted since)."""
    withheld: bool
    """Blind review: gallery, source category and subject label are withheld (``None``)
    until the viewer judges this candidate; the same for every candidate of the search."""
    gallery: str | None
    source_category: str | None
    subject_label: str | None


@dataclass(frozen=True, slots=True)
class ReviewView:
    """A search's candidates with their lead state."""

    seq: int
    occurred_at: datetime
    searched_by: str
    case_reference: str | None
    blind: bool
    """Whether a candidate comes from a blind-review gallery (then a reviewer sees each
    candidate's gallery, source category and subject label only after judging it)."""
    candidates: tuple[LeadView, ...]


class Reviews:
    """Review of a search's candidates: judgements, the blind view, lead sheets; a part of
    the engine over the store's review judgements, audit events (the search's candidates)
    and catalog (the candidates' faces and galleries)."""

    def __init__(
        self,
        *,
        reviews: ReviewRepository,
        audit_events: AuditRepository,
        catalog: CatalogRepository,
        audit: AuditLog,
        accountability: Accountability,
    ) -> None:
        self._reviews = reviews
        self._audit_events = audit_events
        self._catalog = catalog
        self._audit = audit
        self._accountability = accountability

    def judge(
        self,
        seq: int,
        face_id: int,
        judgement: str,
        note: str = "",
        *,
        context: AuditContext,
    ) -> LeadView:
        """Record ``context.actor``'s judgement of candidate ``face_id`` of search ``seq``.

        Audited (``review.judgement``; ``review.confirmed`` when it confirms the lead),
        failures too. Returns the candidate as the reviewer now sees it (everything)."""
        target = f"face:{face_id}"

        def events(added: JudgementAdded) -> list[NewAuditEvent]:
            details = {"search_seq": int(seq), "judgement": added.record.judgement}
            out = [context.event("review.judgement", target=target, details=details)]
            if lead_state_of(added.judgements) is LeadState.CONFIRMED:
                reviewers = [j.reviewer for j in added.judgements]
                out.append(
                    context.event(
                        "review.confirmed",
                        target=target,
                        details={"search_seq": int(seq), "reviewers": reviewers},
                    )
                )
            return out

        try:
            check_fields({"note": (note, FieldKind.NARRATIVE)})
            self._reviews.add_judgement(
                seq,
                face_id,
                reviewer=context.actor,
                judgement=judgement,
                note=note,
                audit=events,
            )
        except Exception as err:
            self._accountability.failed(
                context,
                "review.judgement",
                err,
                target=target,
                details={"search_seq": int(seq)},
            )
            raise
        self._audit.committed()
        return self.lead_state(seq, face_id, Viewer(context.actor, blind=True))

    def review(self, seq: int, viewer: Viewer) -> ReviewView:
        """Search ``seq``'s candidates, in rank order, as ``viewer`` may see them."""
        event = self._audit_events.get_audit(seq)
        self._reviews.search_candidates(seq)  # NotFound unless a completed search
        judgements = self._reviews.list_judgements(seq)
        faces = self._catalog.get_faces([r.face_id for r in event.results])
        galleries = {g.name: g for g in self._catalog.list_galleries()}
        found: list[tuple[AuditResult, FaceRecord | None, GalleryRecord | None]] = []
        for result in event.results:
            face = faces.get(result.face_id)
            gallery = galleries.get(face.gallery_name) if face is not None else None
            found.append((result, face, gallery))
        # one masked gallery among the candidates withholds every candidate's category
        blind = any(g is not None and g.mask_source_category for _, _, g in found)
        candidates = []
        for rank, (result, face, gallery) in enumerate(found, start=1):
            mine = tuple(j for j in judgements if j.face_id == result.face_id)
            candidates.append(
                _view(
                    seq, rank, result.face_id, result.similarity, mine,
                    viewer, face, gallery, blind=blind,
                )
            )  # fmt: skip
        return ReviewView(
            seq=event.seq,
            occurred_at=event.occurred_at,
            searched_by=event.actor,
            case_reference=event.case_reference,
            blind=blind,
            candidates=tuple(candidates),
        )

    def review_thumbnail(self, seq: int, face_id: int) -> bytes:
        """The JPEG thumbnail of candidate ``face_id`` of search ``seq``, for reviewers: it
        shows the face, not its gallery (``NotFound`` when it is no candidate of that
        search or is no longer stored)."""
        if face_id not in self._reviews.search_candidates(seq):
            raise NotFound(f"face {face_id} is not a candidate of search {seq}")
        return self._catalog.get_thumbnail(face_id)

    def lead_state(self, seq: int, face_id: int, viewer: Viewer) -> LeadView:
        """Candidate ``face_id`` of search ``seq`` as ``viewer`` may see it (``NotFound``
        when it is none of that search's candidates)."""
        for candidate in self.review(seq, viewer).candidates:
            if candidate.face_id == int(face_id):
                return candidate
        raise NotFound(f"face {face_id} is not a candidate of search {seq}")

    def lead_sheet(self, seq: int, face_id: int, viewer: Viewer) -> str:
        """The candidate's lead sheet (Markdown), starting with :data:`LEAD_DISCLAIMER`."""
        review = self.review(seq, viewer)
        lead = self.lead_state(seq, face_id, viewer)
        lines = [
            LEAD_DISCLAIMER,
            "",
            f"# Lead sheet: face {lead.face_id} of search {review.seq}",
            "",
            f"- Search: audit seq {review.seq}, {review.occurred_at.isoformat()}, "
            f"by {review.searched_by}",
            f"- Case reference: {review.case_reference or '(none)'}",
            f"- Candidate rank: {lead.rank} of {len(review.candidates)}",
            f"- Similarity: {lead.similarity:.4f}",
            "- Subject label: " + (WITHHELD if lead.withheld else lead.subject_label or "(none)"),
            "- Gallery: " + (WITHHELD if lead.withheld else lead.gallery or "(no longer stored)"),
            "- Source category: "
            + (WITHHELD if lead.withheld else lead.source_category or "(no longer stored)"),
            f"- Review state: {lead.state.value} ({lead.n_judgements} of 2 judgements)",
        ]
        if lead.judgements_hidden:
            lines.append("- Judgements: hidden until you record your own")
        for j in lead.judgements:
            note = f": {j.note}" if j.note else ""
            lines.append(
                f"- Judgement by {j.reviewer} at {j.created_at.isoformat()}: {j.judgement}{note}"
            )
        lines += ["", LEAD_DISCLAIMER, ""]
        return "\n".join(lines)

    def set_blind_review(self, gallery: str, mask: bool, *, context: AuditContext) -> GalleryRecord:
        """Mark (or unmark) ``gallery`` for blind review. Audited (``gallery.blind_review``)."""
        try:
            record = self._reviews.set_mask_source_category(
                gallery,
                mask,
                audit=lambda g: context.event(
                    "gallery.blind_review",
                    target=f"gallery:{g.name}",
                    galleries=(g.name,),
                    details={"mask_source_category": g.mask_source_category},
                ),
            )
        except Exception as err:
            self._accountability.failed(
                context, "gallery.blind_review", err, target=f"gallery:{gallery}"
            )
            raise
        self._audit.committed()
        return record


def _view(
    seq: int,
    rank: int,
    face_id: int,
    similarity: float,
    judgements: tuple[JudgementRecord, ...],
    viewer: Viewer,
    face: FaceRecord | None,
    gallery: GalleryRecord | None,
    *,
    blind: bool,
) -> LeadView:
    judged = any(j.reviewer == viewer.name for j in judgements)
    hidden = viewer.blind and not judged
    withheld = hidden and blind
    return LeadView(
        seq=int(seq),
        face_id=int(face_id),
        rank=rank,
        similarity=float(similarity),
        state=lead_state_of(judgements),
        n_judgements=len(judgements),
        judged_by_viewer=judged,
        judgements_hidden=hidden,
        judgements=() if hidden else judgements,
        stored=face is not None,
        withheld=withheld,
        gallery=None if withheld or gallery is None else gallery.name,
        source_category=None if withheld or gallery is None else gallery.source_category,
        subject_label=None if withheld or face is None else face.subject_label,
    )
