"""The usage report: pure aggregation over the audit events of a period (no table of its own).

What is counted, event by event (``action`` and ``outcome`` of each audit event):

* **searches** (``search``): completed (outcome ``ok``) by purpose category
  (:func:`~facesearch.oversight.purpose.purpose_category`), by user (the actor), by gallery
  searched (a search of several galleries counts once for each) and by UTC day.
  *Refused*: denied by the permission table (``permission_denied``) or refused before
  running for a missing or unacceptable justification (events with a ``refused`` detail:
  ``invalid_input``, ``sensitive_identifier``), by outcome and by user. *Failed*: every
  other outcome (no face in the probe, a bad image, ...), by outcome.
* **verifies** (``verify``): completed by user and purpose category, how many were at or
  above the verify threshold, refused and failed as for searches.
* **candidates**: the face ids and similarities each completed search returned: their
  number, how many searches returned any, and the similarities' min, mean, median, max
  and histogram (:data:`SIMILARITY_BINS`).
* **leads**: ``review.judgement`` and ``review.confirmed`` events (two-person review), when
  the log has any; without that feature both are 0 and ``review_events`` is false.
* **erasures**: ``erasure.request``, ``erasure.confirm`` (faces erased: its ``face_ids``)
  and ``erasure.cancel`` events that succeeded.
* **retention**: ``retention.purge`` events that succeeded (also those that found nothing
  expired), the images they purged (their ``images`` count) and the faces (their
  ``face_ids`` detail, else a ``faces`` count).
* **logins**: failed sign-ins (``auth.failure``) by reason.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from facesearch.oversight.period import Period
from facesearch.oversight.purpose import CATEGORY_NAMES, purpose_category
from facesearch.store import AuditFilter, AuditRecord

PAGE = 1000
"""Events read per query."""

SIMILARITY_BINS: tuple[tuple[str, float, float], ...] = (
    ("< 0.90", float("-inf"), 0.90),
    *((f"{lo / 100:.2f}-{(lo + 1) / 100:.2f}", lo / 100, (lo + 1) / 100) for lo in range(90, 100)),
)
"""Histogram bins ``(label, low, high)``: ``low <= s < high``; the last bin also holds 1.0."""

REFUSED = "permission_denied"


class AuditSource(Protocol):
    """What the report reads: :class:`facesearch.audit.AuditLog` (newest first, filtered)."""

    def list(self, where: AuditFilter | None = None, *, limit: int = 100) -> list[AuditRecord]: ...


@dataclass(frozen=True, slots=True)
class SearchStats:
    completed: int
    refused: int
    failed: int
    by_category: dict[str, int]
    by_user: dict[str, int]
    by_gallery: dict[str, int]
    by_day: dict[str, int]
    refused_by_outcome: dict[str, int]
    refused_by_user: dict[str, int]
    failed_by_outcome: dict[str, int]


@dataclass(frozen=True, slots=True)
class VerifyStats:
    completed: int
    at_or_above_threshold: int
    refused: int
    failed: int
    by_category: dict[str, int]
    by_user: dict[str, int]


@dataclass(frozen=True, slots=True)
class CandidateStats:
    """Candidates returned by completed searches; similarities are cosines (None: none)."""

    returned: int
    searches_with_candidates: int
    searches_without_candidates: int
    similarity_min: float | None
    similarity_mean: float | None
    similarity_median: float | None
    similarity_max: float | None
    histogram: dict[str, int]


@dataclass(frozen=True, slots=True)
class LeadStats:
    """Two-person review: ``review_events`` is false when the log holds none in the period
    (the feature may not be installed); then both counts are 0."""

    confirmed: int
    judgements: int
    review_events: bool


@dataclass(frozen=True, slots=True)
class ErasureStats:
    requests: int
    confirmations: int
    cancellations: int
    faces_erased: int


@dataclass(frozen=True, slots=True)
class RetentionStats:
    purges: int
    images_purged: int
    faces_purged: int


@dataclass(frozen=True, slots=True)
class LoginStats:
    failures: int
    by_reason: dict[str, int]


@dataclass(frozen=True, slots=True)
class UsageReport:
    """What the audit log says happened in ``[period_from, period_to)`` (UTC)."""

    period_from: str
    period_to: str
    events: int
    searches: SearchStats
    verifies: VerifyStats
    candidates: CandidateStats
    leads: LeadStats
    erasures: ErasureStats
    retention: RetentionStats
    logins: LoginStats


def read_events(source: AuditSource, period: Period) -> Iterator[AuditRecord]:
    """The events of ``period``, oldest first (read newest first in pages of :data:`PAGE`)."""
    pages: list[list[AuditRecord]] = []
    before: int | None = None
    while True:
        where = AuditFilter(since=period.start, until=period.end, before_seq=before)
        page = source.list(where, limit=PAGE)
        if page:
            pages.append(page)
        if len(page) < PAGE:
            break
        before = page[-1].seq
    for page in reversed(pages):
        yield from reversed(page)


def usage_report(source: AuditSource, period: Period) -> UsageReport:
    """The report of ``period`` over the events ``source`` holds."""
    return aggregate(read_events(source, period), period)


def _count(counter: Counter[str], order: Iterable[str] = ()) -> dict[str, int]:
    """``counter`` as a dict: the keys of ``order`` first (zeros kept), then by count, name."""
    fixed = list(order)
    rest = sorted((k for k in counter if k not in fixed), key=lambda k: (-counter[k], k))
    return {k: counter[k] for k in [*fixed, *rest]}


def _refused(event: AuditRecord) -> bool:
    return event.outcome == REFUSED or "refused" in event.details


def _faces(details: Mapping[str, Any], *, count_key: str | None = None) -> int:
    ids = details.get("face_ids")
    if isinstance(ids, list):
        return len(ids)
    if count_key is not None:
        value = details.get(count_key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def _histogram(values: list[float]) -> dict[str, int]:
    counts = dict.fromkeys((label for label, _, _ in SIMILARITY_BINS), 0)
    last = SIMILARITY_BINS[-1][0]
    for value in values:
        for label, low, high in SIMILARITY_BINS:
            if low <= value < high:
                counts[label] += 1
                break
        else:
            counts[last] += 1  # 1.0 and above
    return counts


def aggregate(events: Iterable[AuditRecord], period: Period) -> UsageReport:
    """Aggregate ``events`` (those outside ``period`` are ignored) into a report."""
    c: dict[str, Counter[str]] = {
        name: Counter()
        for name in (
            "s_category", "s_user", "s_gallery", "s_day", "s_refused", "s_refused_user",
            "s_failed", "v_category", "v_user", "v_refused", "v_failed", "logins",
        )
    }  # fmt: skip
    n = Counter[str]()
    similarities: list[float] = []
    for event in events:
        if event.occurred_at not in period:
            continue
        n["events"] += 1
        ok = event.outcome == "ok"
        action = event.action
        if action in ("search", "verify"):
            p = action[0]
            if ok:
                n[action] += 1
                c[f"{p}_category"][purpose_category(event.purpose)] += 1
                c[f"{p}_user"][event.actor] += 1
            elif _refused(event):
                c[f"{p}_refused"][event.outcome] += 1
                if p == "s":
                    c["s_refused_user"][event.actor] += 1
            else:
                c[f"{p}_failed"][event.outcome] += 1
            if ok and action == "search":
                c["s_day"][event.occurred_at.date().isoformat()] += 1
                c["s_gallery"].update(set(event.galleries))
                similarities.extend(r.similarity for r in event.results)
                n["with" if event.results else "without"] += 1
            if ok and action == "verify" and event.details.get("above_threshold") is True:
                n["verify_above"] += 1
        elif not ok:
            if action == "auth.failure":
                c["logins"][str(event.details.get("reason") or "unknown")] += 1
        elif action == "review.confirmed":
            n["confirmed"] += 1
        elif action == "review.judgement":
            n["judgements"] += 1
        elif action == "erasure.request":
            n["erasure_requests"] += 1
        elif action == "erasure.confirm":
            n["erasure_confirmations"] += 1
            n["faces_erased"] += _faces(event.details)
        elif action == "erasure.cancel":
            n["erasure_cancellations"] += 1
        elif action == "retention.purge":
            n["purges"] += 1
            n["faces_purged"] += _faces(event.details, count_key="faces")
            images = event.details.get("images")
            n["images_purged"] += images if type(images) is int else 0
        if action.startswith("review."):
            n["review_events"] += 1
    days = [d.isoformat() for d in period.days()]
    return UsageReport(
        period_from=period.start.isoformat(),
        period_to=period.end.isoformat(),
        events=n["events"],
        searches=SearchStats(
            completed=n["search"],
            refused=c["s_refused"].total(),
            failed=c["s_failed"].total(),
            by_category=_count(c["s_category"], CATEGORY_NAMES),
            by_user=_count(c["s_user"]),
            by_gallery=_count(c["s_gallery"]),
            by_day=_count(c["s_day"], days),
            refused_by_outcome=_count(c["s_refused"]),
            refused_by_user=_count(c["s_refused_user"]),
            failed_by_outcome=_count(c["s_failed"]),
        ),
        verifies=VerifyStats(
            completed=n["verify"],
            at_or_above_threshold=n["verify_above"],
            refused=c["v_refused"].total(),
            failed=c["v_failed"].total(),
            by_category=_count(c["v_category"], CATEGORY_NAMES),
            by_user=_count(c["v_user"]),
        ),
        candidates=CandidateStats(
            returned=len(similarities),
            searches_with_candidates=n["with"],
            searches_without_candidates=n["without"],
            similarity_min=min(similarities) if similarities else None,
            similarity_mean=round(statistics.fmean(similarities), 6) if similarities else None,
            similarity_median=round(statistics.median(similarities), 6) if similarities else None,
            similarity_max=max(similarities) if similarities else None,
            histogram=_histogram(similarities),
        ),
        leads=LeadStats(
            confirmed=n["confirmed"],
            judgements=n["judgements"],
            review_events=n["review_events"] > 0,
        ),
        erasures=ErasureStats(
            requests=n["erasure_requests"],
            confirmations=n["erasure_confirmations"],
            cancellations=n["erasure_cancellations"],
            faces_erased=n["faces_erased"],
        ),
        retention=RetentionStats(
            purges=n["purges"], images_purged=n["images_purged"], faces_purged=n["faces_purged"]
        ),
        logins=LoginStats(failures=c["logins"].total(), by_reason=_count(c["logins"])),
    )
