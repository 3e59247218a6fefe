"""Purpose categories and report periods: pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from facesearch.errors import InvalidInput
from facesearch.oversight import CATEGORY_NAMES, OTHER, last_days, parse_period, purpose_category


@pytest.mark.parametrize(
    ("purpose", "category"),
    [
        ("armed robbery on 3 May, CCTV still", "robbery"),
        ("Robbery with assault at the station", "robbery"),  # robbery is listed first
        ("identity fraud and theft of a card", "fraud"),  # fraud comes before theft
        ("burglary at 12 Elm Street", "theft"),
        ("missing child since Monday", "missing person"),
        ("suspected MURDER, riverside", "homicide"),
        ("shooting outside the bar", "assault"),
        ("training exercise for new staff", "test"),
        ("tested the lighting", OTHER),  # whole words only
        ("routine check of the camera feed", OTHER),
        ("", OTHER),
        (None, OTHER),
    ],
)
def test_purpose_categories(purpose: str | None, category: str) -> None:
    assert purpose_category(purpose) == category


def test_categories_are_in_report_order_and_end_with_other() -> None:
    assert CATEGORY_NAMES[-1] == OTHER
    assert len(set(CATEGORY_NAMES)) == len(CATEGORY_NAMES)


def test_periods_from_dates_and_times() -> None:
    p = parse_period("2026-05-01", "2026-06-01")
    assert p.start == datetime(2026, 5, 1, tzinfo=UTC)
    assert p.end == datetime(2026, 6, 1, tzinfo=UTC)
    assert len(p.days()) == 31 and p.days()[-1] == date(2026, 5, 31)
    assert datetime(2026, 5, 31, 23, 59, tzinfo=UTC) in p
    assert datetime(2026, 6, 1, tzinfo=UTC) not in p  # the end is excluded
    q = parse_period("2026-05-01T10:00:00+02:00", "2026-05-01T12:00")
    assert q.start == datetime(2026, 5, 1, 8, tzinfo=UTC)
    assert q.end == datetime(2026, 5, 1, 12, tzinfo=UTC)  # no offset: UTC
    assert q.days() == [date(2026, 5, 1)]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "2026-06-01", "--from: '2026-13-01' is not a date (YYYY-MM-DD)"),
        ("2026-05-01", "yesterday", "--to: 'yesterday' is not a date (YYYY-MM-DD)"),
        ("2026-05-01", "2026-05-01", "--to must be after --from"),
        ("2026-06-01", "2026-05-01", "--to must be after --from"),
        ("1990-01-01", "2026-01-01", "a report covers at most 3660 days"),
    ],
)
def test_bad_periods_are_refused_in_one_line(start: str, end: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_period(start, end, names=("--from", "--to"))
    assert message in caught.value.message and "\n" not in caught.value.message


def test_last_days_ends_after_today() -> None:
    p = last_days(30, today=date(2026, 5, 31))
    assert (p.start, p.end) == (
        datetime(2026, 5, 2, tzinfo=UTC),
        datetime(2026, 6, 1, tzinfo=UTC),
    )
