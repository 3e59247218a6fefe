"""The period a report covers: ``[start, end)`` in UTC, parsed from dates or ISO times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from facesearch.errors import InvalidInput

MAX_DAYS = 3660
"""The longest period a report may cover (about ten years)."""


@dataclass(frozen=True, slots=True)
class Period:
    """``start`` inclusive, ``end`` exclusive; both aware UTC datetimes."""

    start: datetime
    end: datetime

    def days(self) -> list[date]:
        """Every UTC day the period touches, in order."""
        first = self.start.date()
        last = (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


def parse_moment(text: str, name: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 time (UTC when it has no offset).

    ``InvalidInput`` naming ``name`` (the option or parameter) when it is neither.
    """
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidInput(
            f"{name}: {shown!r} is not a date (YYYY-MM-DD) or an ISO 8601 time"
        ) from err
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as err:
        raise InvalidInput(f"{name}: {value!r} is out of range") from err


def parse_period(start: str, end: str, *, names: tuple[str, str] = ("from", "to")) -> Period:
    """The period ``[start, end)``; ``InvalidInput`` for a bad value, an empty period or
    one longer than :data:`MAX_DAYS` days."""
    begin = parse_moment(start, names[0])
    finish = parse_moment(end, names[1])
    if finish <= begin:
        raise InvalidInput(f"{names[1]} must be after {names[0]} (the period is [from, to))")
    if finish - begin > timedelta(days=MAX_DAYS):
        raise InvalidInput(f"a report covers at most {MAX_DAYS} days")
    return Period(begin, finish)


def last_days(days: int, *, today: date | None = None) -> Period:
    """The ``days`` UTC days up to and including ``today`` (default: today in UTC)."""
    day = today or datetime.now(UTC).date()
    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return Period(end - timedelta(days=days), end)
