"""Finds sensitive identifiers in free text, so they never enter the store.

Kinds: US social security numbers, phone numbers, e-mail addresses, dates of birth and
payment card numbers (Luhn-checked). The guard errs on the side of refusing, but avoids
the usual near-misses: ISBNs, case numbers that contain a date, long reference numbers
that fail the Luhn check, ordinary dates in narrative text. A hit names the kind and the
character span, never the value, so error messages and logs do not repeat it.

What is read:

* Text is NFKC-normalised first (full-width digits and ``＠`` become ASCII), every Unicode
  dash (non-breaking hyphen U+2011, en and em dash, minus sign) reads as ``-``, every
  Unicode space as a space, and invisible characters (zero-width spaces, soft hyphens) are
  dropped. Hit spans index this normalised text (:func:`normalize_text`).
* :func:`check_fields` also reads the percent-decoded text (``unquote`` and
  ``unquote_plus``, twice), so ``jane.doe%40example.org`` in a URI is found.

Dates of birth. How a date is read depends on the field (:class:`FieldKind`):

* ``IDENTITY`` fields name a person (a subject label): any calendar date in them, 1900 to
  today, is taken as a date of birth, since a date beside a name is how birth dates are
  written down to tell people apart.
* ``REFERENCE`` fields (case, authorization and external references, source URIs) and
  ``NARRATIVE`` fields (purpose, notes) hold dates of events and case numbers that look
  like dates (``case 2024-03-15``, ``CR 15/03/2024``): a date counts only next to a birth
  word (``DOB``, ``d.o.b.``, ``born``, ``birthday``, ``date of birth``, ``geb.``), which then
  also catches two-digit years and compact dates (``DOB 07.03.84``, ``dob_19840307``).
  A birth year alone (``born 1984``) is not a date of birth.

Phone numbers: international (``+``, ``00``), national with a trunk ``0`` and separators,
North American 3-3-4 with separators, and a bare 10-digit North American number whose area
code and exchange start with 2-9 and are not N11 codes. A bare 10-digit run is not taken as
a phone number when it is a valid ISBN-10, when it starts with a valid ``YYYYMMDD`` date (a
timestamp), or when a reference word (``case``, ``ref``, ``order``, ``invoice``, ``ISBN``,
...) stands right before it. Luhn-valid card-length runs are cards, never phones; ISBNs
(valid ISBN-13 / ISBN-10, or 10/13 digits after ``ISBN``) are neither.

SSNs: ``123-45-6789``, ``123 45 6789`` and ``123.45.6789`` (one separator throughout),
never-issued numbers (area 000, 666, 9xx; group 00; serial 0000) excepted; nine bare digits
only right after an SSN keyword.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from urllib.parse import unquote, unquote_plus

from facesearch.errors import SensitiveIdentifierFound


class IdentifierKind(StrEnum):
    SSN = "social security number"
    PHONE = "phone number"
    EMAIL = "e-mail address"
    DATE_OF_BIRTH = "date of birth"
    PAYMENT_CARD = "payment card number"


class FieldKind(StrEnum):
    """How a field is read (see the module docstring). ``IDENTITY`` fields name a person,
    so any calendar date in them is taken as a date of birth; ``REFERENCE`` fields (case
    and authorization references, external references, URIs) and ``NARRATIVE`` fields
    (purpose, notes, descriptions) hold dates of events and case numbers, so only dates
    marked as births count."""

    IDENTITY = "identity"
    REFERENCE = "reference"
    NARRATIVE = "narrative"


@dataclass(frozen=True, slots=True)
class IdentifierHit:
    """One identifier: its kind and its ``[start, end)`` character span in the normalised
    text (:func:`normalize_text`)."""

    kind: IdentifierKind
    start: int
    end: int


_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"
_TRANSLATE: dict[int, str | None] = {
    **{ord(c): "-" for c in _DASHES},
    **{ord(c): None for c in _INVISIBLE},
}

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])"
)
# jane(at)example(dot)org, jane [at] example.org
_EMAIL_SPELLED = re.compile(
    r"(?i)(?<![\w.+-])[a-z0-9][a-z0-9._%+-]*\s*[(\[{]\s*at\s*[)\]}]\s*[a-z0-9-]+"
    r"(?:\s*(?:\.|[(\[{]\s*dot\s*[)\]}])\s*[a-z0-9-]+)*\s*(?:\.|[(\[{]\s*dot\s*[)\]}])\s*"
    r"[a-z]{2,}(?![\w-])"
)
# 123-45-6789, 123 45 6789 or 123.45.6789, excluding numbers never issued (000, 666, 9xx
# areas; 00 group; 0000 serial); bare 9 digits only right after an SSN keyword.
_SSN = re.compile(
    r"(?<![\w-])(?<!\d\.)(?!000|666|9\d\d)\d{3}([- .])(?!00)\d{2}\1(?!0000)\d{4}"
    r"(?![\w-])(?!\.\d)"
    r"|(?i:\b(?:ssn|social\s+security(?:\s+(?:no|number))?)\b[\s:#.]*)"
    r"(?!000|666|9\d\d)\d{3}[-. ]?(?!00)\d{2}[-. ]?(?!0000)\d{4}(?!\d)"
)
# Runs of digits with separators, checked below for phone and card shapes.
_DIGIT_RUN = re.compile(r"(?<![\w-])\+?\(?\d[\d\s().-]{6,}\d(?![\w-])")
_ISBN_PREFIX = re.compile(r"(?i)isbn(?:-?1[03])?[\s:]*$")
_NANP_SEPARATED = re.compile(r"(?:1[\s.-]?)?\(?[2-9]\d{2}\)?[\s.-]?\d{3}[\s.-]\d{4}")
_PHONE_WORDS = re.compile(r"(?i)(?<![a-z])(?:tel|phone|mobile|cell|call|fax|ph)(?![a-z])")
_REFERENCE_BEFORE = re.compile(
    r"(?i)(?<![a-z])(?:case|ref|reference|order|invoice|ticket|file|docket|incident|report|"
    r"account|acct|isbn|id)[\s.:#/-]*(?:no\.?|nr\.?|number)?[\s.:#/-]*$"
)
_BIRTH_WORDS = (
    r"(?<![a-z])(?:d\.?\s?o\.?\s?b|date\s+of\s+birth|born|birth(?:day|date)?|"
    r"geb(?:oren|urtsdatum)?)(?![a-z])\.?"
)
_BIRTH_CONTEXT = re.compile(rf"(?i){_BIRTH_WORDS}")
_BIRTH_RIGHT_AFTER = re.compile(rf"(?i)^\s?[(\[]?\s?{_BIRTH_WORDS}")
# A birth word followed by a numeric date, with a two- or four-digit year or compact.
_BIRTH_DATE = re.compile(
    rf"(?i){_BIRTH_WORDS}[\s:#_=.,()/-]{{0,4}}"
    r"(?:(?P<y>\d{4})[-/._](?P<m>\d{1,2})[-/._](?P<d>\d{1,2})"
    r"|(?P<a>\d{1,2})[-/._](?P<b>\d{1,2})[-/._](?P<yy>\d{4}|\d{2})"
    r"|(?P<cy>\d{4})(?P<cm>\d{2})(?P<cd>\d{2}))(?!\d)"
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
_BIRTH_BEFORE = 32
"""Characters before a date searched for a birth word."""


def normalize_text(text: str) -> str:
    """``text`` as the guard reads it: NFKC, Unicode dashes as ``-``, invisible characters
    dropped (see the module docstring)."""
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE)


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


def _is_isbn(raw: str, digits: str, before: str) -> bool:
    """An ISBN: 10 or 13 digits after ``ISBN``, a valid ISBN-13, or a valid ISBN-10 not
    written in the North American phone shape (3-3-4 with separators)."""
    if len(digits) in (10, 13) and _ISBN_PREFIX.search(before):
        return True
    if _isbn13_valid(digits):
        return True
    return _isbn10_valid(digits) and not _NANP_SEPARATED.fullmatch(raw)


def _nanp_valid(digits: str) -> bool:
    """10 digits that form a North American number: area code and exchange start with
    2-9 and are not N11 service codes."""
    area, exchange = digits[:3], digits[3:6]
    return (
        len(digits) == 10
        and area[0] in "23456789"
        and exchange[0] in "23456789"
        and area[1:] != "11"
        and exchange[1:] != "11"
    )


def _is_bare_nanp(digits: str, before: str) -> bool:
    if not _nanp_valid(digits):
        return False
    if _PHONE_WORDS.search(before[-16:]):
        return True
    if _REFERENCE_BEFORE.search(before):
        return False
    # a timestamp such as 2024031512 (YYYYMMDDHH) is not a phone number
    return not _valid_date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def _is_phone(raw: str, digits: str, before: str) -> bool:
    if raw.startswith("+"):
        return 8 <= len(digits) <= 15
    if _NANP_SEPARATED.fullmatch(raw):
        return True
    if raw.isdigit() and len(raw) == 10 and _is_bare_nanp(digits, before):
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


def _full_year(text: str) -> list[int]:
    """The years a written year may mean (``84`` is 1984; ``07`` is 1907 or 2007)."""
    year = int(text)
    if len(text) == 4:
        return [year]
    return [y for y in (1900 + year, 2000 + year) if y <= date.today().year]


def _any_valid(years: list[int], candidates: list[tuple[int, int]]) -> bool:
    return any(_valid_date(y, m, d) for y in years for m, d in candidates)


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
            if _any_valid([year], candidates):
                spans.append((m.start(), m.end()))
    return spans


def _birth_date_spans(text: str) -> Iterator[tuple[int, int]]:
    """Numeric dates right after a birth word (two-digit years and compact dates too)."""
    for m in _BIRTH_DATE.finditer(text):
        g = m.groupdict()
        if g["y"]:
            ok = _any_valid([int(g["y"])], [(int(g["m"]), int(g["d"]))])
        elif g["a"]:
            a, b = int(g["a"]), int(g["b"])
            ok = _any_valid(_full_year(g["yy"]), [(b, a), (a, b)])
        else:
            ok = _any_valid([int(g["cy"])], [(int(g["cm"]), int(g["cd"]))])
        if ok:
            yield m.start(), m.end()


def find_identifiers(
    text: str, *, field_kind: FieldKind = FieldKind.IDENTITY
) -> list[IdentifierHit]:
    """Every sensitive identifier in ``text``, in order of position; spans index
    ``normalize_text(text)`` (equal to ``text`` for plain ASCII)."""
    text = normalize_text(text)
    hits: list[IdentifierHit] = []
    taken: list[tuple[int, int]] = []

    def add(kind: IdentifierKind, start: int, end: int) -> None:
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        hits.append(IdentifierHit(kind, start, end))

    for pattern in (_EMAIL, _EMAIL_SPELLED):
        for m in pattern.finditer(text):
            add(IdentifierKind.EMAIL, m.start(), m.end())
    for m in _SSN.finditer(text):
        add(IdentifierKind.SSN, m.start(), m.end())
    for start, end in _birth_date_spans(text):
        add(IdentifierKind.DATE_OF_BIRTH, start, end)
    for m in _DIGIT_RUN.finditer(text):
        raw = m.group(0).strip(" .-")
        digits = re.sub(r"\D", "", raw)
        before = text[: m.start()]
        if _is_isbn(raw, digits, before):
            continue
        if 13 <= len(digits) <= 19 and digits[0] in _CARD_PREFIXES and luhn_valid(digits):
            add(IdentifierKind.PAYMENT_CARD, m.start(), m.end())
        elif _is_phone(raw, digits, before):
            add(IdentifierKind.PHONE, m.start(), m.end())
    for start, end in _date_spans(text):
        if (
            field_kind is FieldKind.IDENTITY
            or _BIRTH_CONTEXT.search(text[max(0, start - _BIRTH_BEFORE) : start])
            or _BIRTH_RIGHT_AFTER.search(text[end:])  # 1984-03-07 (DOB)
        ):
            add(IdentifierKind.DATE_OF_BIRTH, start, end)
    hits.sort(key=lambda h: h.start)
    return hits


def readings(value: str) -> list[str]:
    """``value`` and its percent-decoded forms (``unquote``, ``unquote_plus``, applied up
    to twice, for double-encoded text), without repeats, ``value`` first."""
    out = [value]
    frontier = [value]
    for _ in range(2):
        decoded = []
        for text in frontier:
            for form in (unquote(text), unquote_plus(text)):
                if form not in out:
                    out.append(form)
                    decoded.append(form)
        frontier = decoded
    return out


def check_fields(fields: Mapping[str, tuple[str | None, FieldKind]]) -> None:
    """Raise :class:`SensitiveIdentifierFound` for the first field holding an identifier
    (in the text as given or percent-decoded; see :func:`readings`).

    ``fields`` maps a field name to ``(value, kind)``; ``None`` values are skipped. The
    error names the field and the kind, never the value.
    """
    for name, (value, kind) in fields.items():
        if not value:
            continue
        for text in readings(value):
            found = find_identifiers(text, field_kind=kind)
            if found:
                what = found[0].kind
                article = "an" if what.value[0] in "aeiou" else "a"
                raise SensitiveIdentifierFound(
                    f"field {name!r} appears to contain {article} {what.value}; sensitive "
                    "identifiers are never stored with faces",
                    field=name,
                    kind=what.value,
                )
