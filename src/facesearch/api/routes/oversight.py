"""Oversight: the usage report over the audit log (same permission as reading the log)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from facesearch.api.deps import AuditReader
from facesearch.oversight import UsageReport, parse_period, usage_report

router = APIRouter(prefix="/api/v1")

WHEN = "YYYY-MM-DD (midnight UTC) or an ISO 8601 time (UTC when it has no offset)"

USAGE_EXAMPLE: dict[str, Any] = {
    "period_from": "2026-01-01T00:00:00+00:00",
    "period_to": "2026-02-01T00:00:00+00:00",
    "events": 412,
    "searches": {
        "completed": 57,
        "refused": 3,
        "failed": 1,
        "by_category": {"robbery": 21, "fraud": 12, "missing person": 9, "other": 15},
        "by_user": {"ivy": 40, "ken": 17},
        "by_gallery": {"booking": 52, "press-archive": 30},
        "by_day": {"2026-01-05": 6, "2026-01-06": 4},
        "refused_by_outcome": {"invalid_input": 2, "permission_denied": 1},
        "refused_by_user": {"ken": 3},
        "failed_by_outcome": {"no_face_found": 1},
    },
    "verifies": {
        "completed": 8,
        "at_or_above_threshold": 3,
        "refused": 0,
        "failed": 0,
        "by_category": {"fraud": 8},
        "by_user": {"ivy": 8},
    },
    "candidates": {
        "returned": 131,
        "searches_with_candidates": 44,
        "searches_without_candidates": 13,
        "similarity_min": 0.941,
        "similarity_mean": 0.952,
        "similarity_median": 0.949,
        "similarity_max": 0.991,
        "histogram": {"0.94-0.95": 70, "0.95-0.96": 40, "0.99-1.00": 21},
    },
    "leads": {"confirmed": 4, "judgements": 19, "review_events": True},
    "erasures": {"requests": 2, "confirmations": 1, "cancellations": 1, "faces_erased": 6},
    "retention": {"purges": 31, "images_purged": 120, "faces_purged": 133},
    "logins": {"failures": 5, "by_reason": {"expired key": 3, "unknown key": 2}},
}
"""An example report, shown in the OpenAPI document (checked against the model in tests);
the real one lists every category, day and similarity bin, zeros included."""


@router.get(
    "/oversight/usage",
    tags=["audit"],
    summary="Usage report of a period, from the audit log",
    responses={200: {"content": {"application/json": {"example": USAGE_EXAMPLE}}}},
)
def usage(
    caller: AuditReader,
    start: Annotated[
        str, Query(alias="from", min_length=1, max_length=40, description=f"Start: {WHEN}.")
    ],
    end: Annotated[
        str, Query(alias="to", min_length=1, max_length=40, description=f"End, excluded: {WHEN}.")
    ],
) -> UsageReport:
    """Counts over the audit events of `[from, to)` (UTC; dates or ISO times, at most about
    ten years): searches by purpose category (a fixed keyword map), user, gallery and day;
    verifies; candidates returned and their similarities; refused and failed searches;
    leads confirmed by two-person review (0, and `review_events` false, when the log has
    no review events); erasures; retention purges; failed sign-ins."""
    period = parse_period(start, end)
    return usage_report(caller.engine.audit, period)
