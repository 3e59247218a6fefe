"""The usage report as tables for people (CLI, web page), as CSV rows and as JSON values."""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facesearch.oversight.usage import UsageReport

CSV_COLUMNS = ("section", "key", "value")

NO_REVIEW = "no review events in this period: two-person review may not be in use"


@dataclass(frozen=True, slots=True)
class ReportTable:
    """One titled table: ``columns`` names, ``rows`` of printable values."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value == value else "nan"
    return str(value)


def to_dict(report: UsageReport) -> dict[str, Any]:
    """The report as plain JSON values (nested dicts, in field order)."""
    return dataclasses.asdict(report)


def csv_rows(report: UsageReport) -> list[tuple[str, str, str]]:
    """``(section, key, value)`` rows: one per number in the report, in its field order.

    Top-level numbers are in section ``report``; a group's numbers in the group's name
    (``searches``, ``candidates``, ...); a breakdown in ``<group>.<field>`` with one row per
    key (for example ``searches.by_category,robbery,3``).
    """
    rows: list[tuple[str, str, str]] = []
    for field in dataclasses.fields(report):
        value = getattr(report, field.name)
        if not dataclasses.is_dataclass(value):
            rows.append(("report", field.name, _value(value)))
            continue
        for inner in dataclasses.fields(value):
            item = getattr(value, inner.name)
            if isinstance(item, dict):
                section = f"{field.name}.{inner.name}"
                rows.extend((section, str(k), _value(v)) for k, v in item.items())
            else:
                rows.append((field.name, inner.name, _value(item)))
    return rows


def to_csv(report: UsageReport) -> str:
    """The CSV text (header ``section,key,value``; RFC 4180 quoting, ``\\r\\n`` lines)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(report))
    return buffer.getvalue()


def write_csv(report: UsageReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_csv(report), encoding="utf-8", newline="")
    return path


def _breakdown(
    title: str, column: str, counts: dict[str, int], *, nonzero: bool = False
) -> ReportTable:
    rows = tuple((k, str(v)) for k, v in counts.items() if v or not nonzero)
    return ReportTable(title, (column, "count"), rows)


def tables(report: UsageReport) -> list[ReportTable]:
    """The tables a person reads: a summary, then the breakdowns that have rows."""
    s, v, c = report.searches, report.verifies, report.candidates
    leads = report.leads
    confirmed = "leads confirmed (two-person review)"
    summary: list[tuple[str, object]] = [
        ("audit events in the period", report.events),
        ("searches completed", s.completed),
        ("searches refused", s.refused),
        ("searches failed", s.failed),
        ("candidates returned", c.returned),
        ("searches with candidates", c.searches_with_candidates),
        ("searches without candidates", c.searches_without_candidates),
        ("similarity of candidates: min", c.similarity_min),
        ("similarity of candidates: median", c.similarity_median),
        ("similarity of candidates: mean", c.similarity_mean),
        ("similarity of candidates: max", c.similarity_max),
        ("verifies completed", v.completed),
        ("verifies at or above the threshold", v.at_or_above_threshold),
        ("verifies refused", v.refused),
        ("verifies failed", v.failed),
        (confirmed, leads.confirmed),
        ("lead judgements recorded", leads.judgements),
        ("erasure requests filed", report.erasures.requests),
        ("erasures confirmed", report.erasures.confirmations),
        ("erasure requests cancelled", report.erasures.cancellations),
        ("faces erased", report.erasures.faces_erased),
        ("retention purges", report.retention.purges),
        ("images purged by retention", report.retention.images_purged),
        ("faces purged by retention", report.retention.faces_purged),
        ("failed sign-ins", report.logins.failures),
    ]
    rows = [
        (name, f"0 ({NO_REVIEW})" if name == confirmed and not leads.review_events else _value(v))
        for name, v in summary
    ]
    out = [
        ReportTable(
            f"Usage from {report.period_from} to {report.period_to} (UTC, end excluded)",
            ("measure", "value"),
            tuple(rows),
        ),
        _breakdown("Searches by purpose category", "category", s.by_category),
        _breakdown("Searches by user", "user", s.by_user),
        _breakdown("Searches by gallery", "gallery", s.by_gallery),
        _breakdown("Searches per day (days with searches)", "day", s.by_day, nonzero=True),
        _breakdown("Verifies by purpose category", "category", v.by_category, nonzero=True),
        _breakdown("Verifies by user", "user", v.by_user),
        _breakdown("Refused searches by outcome", "outcome", s.refused_by_outcome),
        _breakdown("Refused searches by user", "user", s.refused_by_user),
        _breakdown("Failed searches by outcome", "outcome", s.failed_by_outcome),
        _breakdown("Similarities of candidates returned", "similarity", c.histogram)
        if c.returned
        else ReportTable("", (), ()),
        _breakdown("Failed sign-ins by reason", "reason", report.logins.by_reason),
    ]
    return [out[0], *(t for t in out[1:] if t.rows)]
