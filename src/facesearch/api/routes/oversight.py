"""Oversight: the usage report over the audit log (same permission as reading the log)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from facesearch.api.deps import AuditReader
from facesearch.oversight import UsageReport, parse_period, usage_report

router = APIRouter(prefix="/api/v1")

WHEN = "YYYY-MM-DD (midnight UTC) or an ISO 8601 time (UTC when it has no offset)"


@router.get(
    "/oversight/usage", tags=["audit"], summary="Usage report of a period, from the audit log"
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
