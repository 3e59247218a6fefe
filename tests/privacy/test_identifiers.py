"""The sensitive-identifier guard: positives, negatives and near-misses of every kind."""

from __future__ import annotations

import pytest

from facesearch.errors import SensitiveIdentifierFound
from facesearch.privacy import FieldKind, IdentifierKind, check_fields, find_identifiers, luhn_valid

K = IdentifierKind

POSITIVES = [
    ("contact jane.doe@example.org for details", K.EMAIL),
    ("J.Smith+tag@mail.example.co.uk", K.EMAIL),
    ("SSN 123-45-6789", K.SSN),
    ("subject 078 05 1120 on file", K.SSN),
    ("social security number: 123456789", K.SSN),
    ("call +1 415 555 0142", K.PHONE),
    ("(415) 555-0142", K.PHONE),
    ("415-555-0142", K.PHONE),
    ("+44 20 7946 0958", K.PHONE),
    ("+49 30 1234567", K.PHONE),
    ("tel 020 7946 0958", K.PHONE),
    ("0044 20 7946 0958", K.PHONE),
    ("card 4111 1111 1111 1111", K.PAYMENT_CARD),
    ("5500-0000-0000-0004", K.PAYMENT_CARD),
    ("378282246310005", K.PAYMENT_CARD),
    ("Alice Example 1984-03-07", K.DATE_OF_BIRTH),
    ("Alice 07/03/1984", K.DATE_OF_BIRTH),
    ("born 7 March 1984", K.DATE_OF_BIRTH),
    ("Bob, March 7, 1984", K.DATE_OF_BIRTH),
]


@pytest.mark.parametrize(("text", "kind"), POSITIVES)
def test_each_kind_is_found(text: str, kind: IdentifierKind) -> None:
    hits = find_identifiers(text)
    assert [h.kind for h in hits] == [kind], (text, hits)
    hit = hits[0]
    assert text[hit.start : hit.end].strip()


NEGATIVES = [
    "Alice Example",
    "case 2024-CR-00117",
    "CR-2023-11-04-17",  # a case number that contains a date
    "ref 20231104-0042",
    "ISBN 978-3-16-148410-0",  # an ISBN-13 with hyphens
    "9783161484100",  # a bare valid ISBN-13
    "ISBN 0-306-40615-2",  # ISBN-10
    "4111 1111 1111 1112",  # card-shaped but fails Luhn
    "invoice 1234567890123456",  # 16 digits failing Luhn
    "000-12-3456",  # never-issued SSN area
    "666-12-3456",
    "987-65-4321",  # 9xx areas are not SSNs
    "12-345-6789",  # wrong SSN shape, not a phone either
    "version 1.2.3",
    "user@localhost",  # no domain suffix
    "booking photo 2024/17",
    "2024-13-45",  # not a calendar date
    "1850-01-01",  # before any living person
    "room 101, building 7",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_near_misses_are_not_flagged(text: str) -> None:
    assert find_identifiers(text) == [], text


def test_narrative_fields_only_flag_dates_marked_as_births() -> None:
    purpose = "robbery at the station on 2024-03-15, CCTV still"
    assert find_identifiers(purpose, field_kind=FieldKind.NARRATIVE) == []
    assert [h.kind for h in find_identifiers(purpose, field_kind=FieldKind.IDENTITY)] == [
        K.DATE_OF_BIRTH
    ]
    marked = "suspect, DOB 1990-02-01, seen at the station"
    assert [h.kind for h in find_identifiers(marked, field_kind=FieldKind.NARRATIVE)] == [
        K.DATE_OF_BIRTH
    ]


def test_several_identifiers_in_one_text_are_found_in_order() -> None:
    text = "a@b.example and 415-555-0142 and 4111-1111-1111-1111"
    assert [h.kind for h in find_identifiers(text)] == [K.EMAIL, K.PHONE, K.PAYMENT_CARD]


def test_check_fields_names_field_and_kind_but_not_the_value() -> None:
    with pytest.raises(SensitiveIdentifierFound) as info:
        check_fields(
            {
                "label": ("Alice Example", FieldKind.IDENTITY),
                "external_reference": ("reach me at alice@example.org", FieldKind.IDENTITY),
            }
        )
    err = info.value
    assert err.field == "external_reference" and err.kind == "e-mail address"
    assert "alice@example.org" not in err.message
    assert "external_reference" in err.message and "e-mail address" in err.message
    assert err.http_status == 422
    check_fields({"label": (None, FieldKind.IDENTITY), "purpose": ("", FieldKind.NARRATIVE)})


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
