"""Finds sensitive identifiers in free text, so they never enter the store.

Kinds: US social security numbers, phone numbers, e-mail addresses, dates of birth and
payment card numbers (Luhn-checked). The guard errs on the side of refusing, but avoids
the usual near-misses: ISBNs, case numbers that contain a date, long reference numbers
that fail the Luhn check, ordinary dates in narrative text. A hit names the kind and the
character span, never the value, so error messages and logs do not repeat it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from facesearch.errors import SensitiveIdentifierFound


class IdentifierKind(StrEnum):
    SSN = "social security number"
    PHONE = "phone number"
    EMAIL = "e-mail address"
    DATE_OF_BIRTH = "date of birth"
    PAYMENT_CARD = "payment card number"


class FieldKind(StrEnum):
    """How a field is read. ``IDENTITY`` fields (labels, references) describe a person, so
    any calendar date in them is taken as a date of birth; ``NARRATIVE`` fields (purpose,
    notes, descriptions) mention dates of events, so only dates marked as births count."""

    IDENTITY = "identity"
    NARRATIVE = "narrative"


@dataclass(frozen=True, slots=True)
class IdentifierHit:
    kind: IdentifierKind
    start: int
    end: int


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])"
)
# 123-45-6789 or 123 45 6789, excluding numbers never issued (000, 666, 9xx areas; 00 group;
# 0000 serial); bare 9 digits only right after an SSN keyword.
_SSN = re.compile(
    r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])"
    r"|(?i:\b(?:ssn|social\s+security(?:\s+(?:no|number))?)\b[\s:#.]*)"
    r"(?!000|666|9\d\d)\d{3}-?(?!00)\d{2}-?(?!0000)\d{4}(?!\d)"
)
# Runs of digits with separators, checked below for phone and card shapes.
_DIGIT_RUN = re.compile(r"(?<![\w-])\+?\(?\d[\d\s().-]{6,}\d(?![\w-])")
_ISBN_PREFIX = re.compile(r"(?i)isbn(?:-1[03])?[\s:]*$")
_BIRTH_WORDS = re.compile(
    r"(?i)\b(?:d\.?o\.?b|born|birth(?:day|date)?|date\s+of\s+birth|geb(?:oren|\.)?|née?)\b"
)
_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|"
    "july|august|september|october|november|december"
)
_DATES = (
    re.compile(r"(?<![\w/.-])(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\w/.-])"),
    re.compile(r"(?<![\w/.-])(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4})(?![\w/.-])"),
    re.compile(
        rf"(?i)(?<![\w-])(?P<d>\d{{1,2}})\s+(?P<mon>{_MONTHS})\.?,?\s+(?P<y>\d{{4}})(?![\w-])"
    ),
    re.compile(
        rf"(?i)(?<![\w-])(?P<mon>{_MONTHS})\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})(?![\w-])"
    ),
)
_MONTH_NUMBER = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_CARD_PREFIXES = ("2", "3", "4", "5", "6")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment card numbers."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _isbn13_valid(digits: str) -> bool:
    if len(digits) != 13 or digits[:3] not in ("978", "979"):
        return False
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(digits))
    return total % 10 == 0


def _isbn10_valid(chars: str) -> bool:
    if len(chars) != 10 or not chars[:9].isdigit():
        return False
    last = 10 if chars[9] in "xX" else int(chars[9]) if chars[9].isdigit() else -1
    if last < 0:
        return False
    total = sum(int(c) * (10 - i) for i, c in enumerate(chars[:9])) + last
    return total % 11 == 0


def _is_phone(raw: str, digits: str) -> bool:
    if raw.startswith("+"):
        return 8 <= len(digits) <= 15
    # North American 3-3-4 with separators, optionally with a leading 1
    nanp = re.fullmatch(r"(?:1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}", raw)
    if nanp:
        return True
    if raw.startswith("00"):  # international dialling prefix: 0044 20 7946 0958
        return 11 <= len(digits) <= 17 and digits[2] != "0"
    # national formats with a trunk 0: 020 7946 0958, 030-1234567, 06 12 34 56 78
    trunk = re.match(r"\(?0[1-9]", raw) is not None
    return trunk and 9 <= len(digits) <= 12 and bool(re.search(r"\D", raw))


def _valid_date(year: int, month: int, day: int) -> bool:
    if not 1900 <= year <= date.today().year:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _date_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for pattern in _DATES:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            year = int(groups["y"])
            if "mon" in groups and groups.get("mon"):
                candidates = [(_MONTH_NUMBER[groups["mon"].lower().rstrip(".")], int(groups["d"]))]
            elif "a" in groups and groups.get("a"):
                a, b = int(groups["a"]), int(groups["b"])
                candidates = [(b, a), (a, b)]  # day/month or month/day
            else:
                candidates = [(int(groups["m"]), int(groups["d"]))]
            if any(_valid_date(year, month, day) for month, day in candidates):
                spans.append((m.start(), m.end()))
    return spans


def find_identifiers(
    text: str, *, field_kind: FieldKind = FieldKind.IDENTITY
) -> list[IdentifierHit]:
    """Every sensitive identifier in ``text``, in order of position."""
    hits: list[IdentifierHit] = []
    taken: list[tuple[int, int]] = []

    def add(kind: IdentifierKind, start: int, end: int) -> None:
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        hits.append(IdentifierHit(kind, start, end))

    for m in _EMAIL.finditer(text):
        add(IdentifierKind.EMAIL, m.start(), m.end())
    for m in _SSN.finditer(text):
        add(IdentifierKind.SSN, m.start(), m.end())
    for m in _DIGIT_RUN.finditer(text):
        raw = m.group(0).strip(" .-")
        digits = re.sub(r"\D", "", raw)
        before = text[: m.start()]
        if _ISBN_PREFIX.search(before) or _isbn13_valid(digits) or _isbn10_valid(digits):
            continue
        if 13 <= len(digits) <= 19 and digits[0] in _CARD_PREFIXES and luhn_valid(digits):
            add(IdentifierKind.PAYMENT_CARD, m.start(), m.end())
        elif _is_phone(raw, digits):
            add(IdentifierKind.PHONE, m.start(), m.end())
    for start, end in _date_spans(text):
        context = text[max(0, start - 24) : start]
        if field_kind is FieldKind.IDENTITY or _BIRTH_WORDS.search(context):
            add(IdentifierKind.DATE_OF_BIRTH, start, end)
    hits.sort(key=lambda h: h.start)
    return hits


def check_fields(fields: Mapping[str, tuple[str | None, FieldKind]]) -> None:
    """Raise :class:`SensitiveIdentifierFound` for the first field holding an identifier.

    ``fields`` maps a field name to ``(value, kind)``; ``None`` values are skipped.
    """
    for name, (value, kind) in fields.items():
        if not value:
            continue
        found = find_identifiers(value, field_kind=kind)
        if found:
            what = found[0].kind
            raise SensitiveIdentifierFound(
                f"field {name!r} appears to contain a {what.value}; sensitive identifiers "
                "are never stored with faces",
                field=name,
                kind=what.value,
            )
