"""The usage report over an audit log written by the real service: exact counts, CSV, PNGs."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from facesearch.audit import AuditLog
from facesearch.oversight import (
    CATEGORY_NAMES,
    Period,
    UsageReport,
    parse_period,
    tables,
    to_csv,
    usage_report,
    write_csv,
)
from facesearch.oversight import usage as usage_module
from facesearch.oversight.plots import PLOT_NAMES, write_plots
from facesearch.store import AuditRecord, Store

from .conftest import Built


def around_now() -> Period:
    today = datetime.now(UTC).date()
    return parse_period(
        (today - timedelta(days=1)).isoformat(), (today + timedelta(days=2)).isoformat()
    )


@pytest.fixture(scope="module")
def log(built: Built) -> list[AuditRecord]:
    store = Store(built.settings.resolved_database_url)
    try:
        return list(store.audit.iter_audit())
    finally:
        store.close()


@pytest.fixture(scope="module")
def report(built: Built) -> UsageReport:
    store = Store(built.settings.resolved_database_url)
    try:
        return usage_report(AuditLog(store), around_now())
    finally:
        store.close()


def test_searches_by_category_user_gallery_and_day(
    report: UsageReport, log: list[AuditRecord]
) -> None:
    s = report.searches
    assert report.events == len(log)
    assert s.completed == 4
    assert s.by_category == {
        **dict.fromkeys(CATEGORY_NAMES, 0),
        "robbery": 1,
        "fraud": 1,
        "missing person": 1,
        "other": 1,
    }
    assert list(s.by_category) == list(CATEGORY_NAMES)
    assert s.by_user == {"alice": 2, "bob": 2}
    # two searches of every gallery, one of each gallery alone
    assert s.by_gallery == {"booking": 3, "press": 3}
    days = Counter(
        e.occurred_at.date().isoformat() for e in log if (e.action, e.outcome) == ("search", "ok")
    )
    assert {d: n for d, n in s.by_day.items() if n} == dict(days)
    assert len(s.by_day) == 3  # every day of the period, zeros included


def test_refused_and_failed_searches(report: UsageReport) -> None:
    s = report.searches
    assert (s.refused, s.failed) == (2, 1)
    assert s.refused_by_outcome == {"invalid_input": 1, "permission_denied": 1}
    assert s.refused_by_user == {"carol": 1, "dave": 1}
    assert s.failed_by_outcome == {"no_face_found": 1}


def test_candidates_are_those_the_searches_returned(report: UsageReport, built: Built) -> None:
    c, sims = report.candidates, built.similarities
    assert sims  # the same person's other photo is above the threshold
    assert c.returned == len(sims)
    assert c.searches_with_candidates == built.searches_with_candidates
    assert c.searches_without_candidates == 4 - built.searches_with_candidates
    assert (c.similarity_min, c.similarity_max) == (min(sims), max(sims))
    assert c.similarity_median == round(statistics.median(sims), 6)
    assert c.similarity_mean == pytest.approx(statistics.fmean(sims), abs=1e-6)
    assert sum(c.histogram.values()) == len(sims)
    assert c.histogram["< 0.90"] == 0  # every candidate is at or above the search threshold


def test_verifies_leads_erasures_purges_and_sign_ins(report: UsageReport, built: Built) -> None:
    v = report.verifies
    assert (v.completed, v.refused, v.failed) == (1, 0, 0)
    assert v.at_or_above_threshold == int(built.verify_above)
    assert v.by_user == {"bob": 1} and v.by_category["assault"] == 1
    assert (report.leads.confirmed, report.leads.judgements, report.leads.review_events) == (
        1,
        2,
        True,
    )
    e = report.erasures
    assert (e.requests, e.confirmations, e.cancellations) == (2, 1, 1)
    assert e.faces_erased == built.faces_erased >= 1
    r = report.retention
    assert (r.purges, r.images_purged, r.faces_purged) == (2, 2, 3)
    assert report.logins.failures == 1 and report.logins.by_reason == {"unknown key": 1}


def test_a_period_without_events_counts_nothing(built: Built) -> None:
    store = Store(built.settings.resolved_database_url)
    try:
        empty = usage_report(AuditLog(store), parse_period("2000-01-01", "2000-02-01"))
    finally:
        store.close()
    assert empty.events == 0 and empty.searches.completed == 0
    assert set(empty.searches.by_day.values()) == {0} and len(empty.searches.by_day) == 31
    assert empty.candidates.similarity_min is None and empty.candidates.returned == 0
    assert not empty.leads.review_events and empty.leads.confirmed == 0
    text = "\n".join(" ".join(r) for t in tables(empty) for r in t.rows)
    assert "two-person review may not be in use" in text


def test_reading_in_pages_gives_the_same_report(
    built: Built, report: UsageReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(usage_module, "PAGE", 4)
    store = Store(built.settings.resolved_database_url)
    try:
        assert usage_report(AuditLog(store), around_now()) == report
    finally:
        store.close()


def test_csv_holds_every_number(report: UsageReport, tmp_path: Path) -> None:
    text = to_csv(report)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "value"]
    body = {tuple(r) for r in rows[1:]}
    for row in [
        ("report", "period_from", report.period_from),
        ("report", "events", str(report.events)),
        ("searches", "completed", "4"),
        ("searches", "refused", "2"),
        ("searches.by_category", "robbery", "1"),
        ("searches.by_category", "homicide", "0"),
        ("searches.by_user", "alice", "2"),
        ("searches.by_gallery", "press", "3"),
        ("searches.refused_by_outcome", "permission_denied", "1"),
        ("candidates", "returned", str(report.candidates.returned)),
        ("leads", "confirmed", "1"),
        ("leads", "review_events", "true"),
        ("erasures", "faces_erased", str(report.erasures.faces_erased)),
        ("retention", "faces_purged", "3"),
        ("logins.by_reason", "unknown key", "1"),
    ]:
        assert row in body, row
    assert len(rows) == len(body) + 1  # no duplicate row
    path = write_csv(report, tmp_path / "out" / "usage.csv")
    assert path.read_bytes().decode("utf-8") == text


def test_plots_are_valid_pngs(report: UsageReport, tmp_path: Path) -> None:
    paths = write_plots(report, tmp_path / "plots")
    assert [p.name for p in paths] == list(PLOT_NAMES)
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            assert image.format == "PNG" and image.size[0] >= 300
