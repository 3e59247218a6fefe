"""``facesearch review``: two-person review of a search's candidates, for a local operator.

The command line acts as the local operator (``cli:<os user>``), a reviewer under the same
rules as the API's: one judgement per reviewer and candidate, two per candidate (two
``possible_lead`` judgements by different reviewers make a confirmed lead), others'
judgements hidden until the operator has recorded theirs, and blind review (gallery,
source category and subject label withheld until judged). Every listing of leads starts
and ends with :data:`~facesearch.service.reviews.LEAD_DISCLAIMER`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import typer

from facesearch.cli import common, output
from facesearch.cli.common import Json, operator
from facesearch.service.reviews import (
    LEAD_DISCLAIMER,
    WITHHELD,
    LeadState,
    LeadView,
    ReviewView,
    Viewer,
)
from facesearch.store import AuditFilter

review_app = typer.Typer(
    help="Two-person review of a search's candidates: list searches, show candidates, "
    "record your judgement.",
    no_args_is_help=True,
)

Seq = Annotated[int, typer.Argument(help="The search's audit event seq.", min=1)]
FaceId = Annotated[int, typer.Argument(help="A candidate face id.", min=1)]


def _me() -> Viewer:
    return Viewer(operator().actor, blind=True)


def _withheld(lead: LeadView, value: str | None, absent: str) -> str:
    return "(withheld)" if lead.withheld else value or absent


def _judgements(lead: LeadView) -> str:
    if lead.judgements_hidden:
        return f"{lead.n_judgements} of 2 (hidden until you judge)"
    parts = [f"{j.reviewer}: {j.judgement.replace('_', ' ')}" for j in lead.judgements]
    return f"{lead.n_judgements} of 2" + (f" ({'; '.join(parts)})" if parts else "")


def _lead_json(lead: LeadView) -> dict[str, Any]:
    return {"notice": LEAD_DISCLAIMER, **output.to_jsonable(lead)}


def _show(review: ReviewView) -> None:
    output.info(LEAD_DISCLAIMER)
    output.info(
        f"search {review.seq} by {review.searched_by} on "
        f"{review.occurred_at.strftime('%Y-%m-%d %H:%M')} UTC, case "
        f"{review.case_reference or '(none)'}"
    )
    if review.blind:
        output.info(
            "blind review: every candidate's subject, gallery and source category are "
            f"{WITHHELD.strip('()')} of it"
        )
    for c in review.candidates:
        output.info(
            f"{c.rank}. face {c.face_id}{'' if c.stored else ' (no longer stored)'}, "
            f"similarity {c.similarity:.4f}; subject {_withheld(c, c.subject_label, '-')}, "
            f"gallery {_withheld(c, c.gallery, '-')}, "
            f"source {_withheld(c, c.source_category, '-')}; "
            f"{c.state.value}, judgements {_judgements(c)}"
        )
    if not review.candidates:
        output.info("this search returned no candidates")
    output.info(LEAD_DISCLAIMER)


@dataclass(frozen=True, slots=True)
class SearchProgress:
    """One completed search and how far the review of its candidates has come."""

    search_seq: int
    occurred_at: datetime
    searched_by: str
    case_reference: str | None
    candidates: int
    unreviewed: int
    pending: int
    confirmed: int
    excluded: int


@review_app.command("list")
def review_list(
    limit: Annotated[int, typer.Option(help="Most searches to list.", min=1, max=1000)] = 20,
    json_out: Json = False,
) -> None:
    """List the latest completed searches with their candidates' review progress."""
    rows: list[SearchProgress] = []
    with common.engine() as engine:
        events = engine.audit.list(AuditFilter(action="search", outcome="ok"), limit=limit)
        for event in events:
            states = [c.state for c in engine.review(event.seq, _me()).candidates]
            rows.append(
                SearchProgress(
                    search_seq=event.seq,
                    occurred_at=event.occurred_at,
                    searched_by=event.actor,
                    case_reference=event.case_reference,
                    candidates=len(states),
                    unreviewed=states.count(LeadState.UNREVIEWED),
                    pending=states.count(LeadState.PENDING),
                    confirmed=states.count(LeadState.CONFIRMED),
                    excluded=states.count(LeadState.EXCLUDED),
                )
            )
    if json_out:
        output.print_json({"notice": LEAD_DISCLAIMER, "searches": rows})
        return
    output.print_table(
        "Searches to review",
        ["search", "when", "by", "case", "candidates", "unreviewed", "pending", "confirmed"],
        [
            [
                r.search_seq,
                r.occurred_at.strftime("%Y-%m-%d %H:%M"),
                r.searched_by,
                r.case_reference or "",
                r.candidates,
                r.unreviewed,
                r.pending,
                r.confirmed,
            ]
            for r in rows
        ],
    )
    output.info(LEAD_DISCLAIMER)


@review_app.command("show")
def review_show(
    seq: Seq,
    face: Annotated[
        int | None, typer.Option("--face", help="Print this candidate's lead sheet.", min=1)
    ] = None,
    json_out: Json = False,
) -> None:
    """Show a search's candidates as you may see them (or one candidate's lead sheet)."""
    with common.engine() as engine:
        if face is not None:
            if json_out:
                output.print_json(_lead_json(engine.lead_state(seq, face, _me())))
            else:
                output.info(engine.lead_sheet(seq, face, _me()))
            return
        review = engine.review(seq, _me())
    if json_out:
        output.print_json({"notice": LEAD_DISCLAIMER, **output.to_jsonable(review)})
        return
    _show(review)


@review_app.command("judge")
def review_judge(
    seq: Seq,
    face: FaceId,
    judgement: Annotated[
        Literal["possible_lead", "excluded"],
        typer.Option(help="Your judgement of the candidate."),
    ],
    note: Annotated[str, typer.Option(help="Why (no sensitive identifiers).")] = "",
    json_out: Json = False,
) -> None:
    """Record your judgement of a candidate (once; two reviewers per candidate)."""
    with common.engine() as engine:
        lead = engine.judge(seq, face, judgement, note, context=operator())
    if json_out:
        output.print_json(_lead_json(lead))
        return
    output.info(LEAD_DISCLAIMER)
    output.info(
        f"your judgement of face {lead.face_id} of search {lead.seq} is recorded; "
        f"state: {lead.state.value}, judgements {_judgements(lead)}; subject "
        f"{lead.subject_label or '-'}, gallery {lead.gallery or '(no longer stored)'}, "
        f"source {lead.source_category or '-'}"
    )
