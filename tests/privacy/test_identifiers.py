"""The sensitive-identifier guard: positives, negatives and near-misses of every kind."""

from __future__ import annotations

import pytest

from facesearch.errors import SensitiveIdentifierFound
from facesearch.privacy import (
    FieldKind,
    IdentifierKind,
    check_fields,
    find_identifiers,
    luhn_valid,
    normalize_text,
)

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
    # bare 10-digit North American numbers; other SSN separators; spelled-out e-mail
    ("Alice 4155550142", K.PHONE),
    ("phone no 2025550143", K.PHONE),
    ("123.45.6789", K.SSN),
    ("jane(at)example(dot)org", K.EMAIL),
    ("jane [at] example.org", K.EMAIL),
    # a card number after "ISBN" is still a card (ISBNs have 10 or 13 digits)
    ("ISBN 4111 1111 1111 1111", K.PAYMENT_CARD),
    # dates marked as births, two-digit years and compact dates too
    ("DOB 07.03.84", K.DATE_OF_BIRTH),
    ("d.o.b. 3/7/84", K.DATE_OF_BIRTH),
    ("geb. 07.03.1984", K.DATE_OF_BIRTH),
    ("dob_19840307", K.DATE_OF_BIRTH),
    ("Jane 1984-03-07 (DOB)", K.DATE_OF_BIRTH),
]

UNICODE_POSITIVES = [
    (
        "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 "
        "\uff11\uff11\uff11\uff11",
        K.PAYMENT_CARD,
    ),  # full-width digits
    ("123\u201145\u20116789", K.SSN),  # non-breaking hyphens
    ("123\u201345\u20136789", K.SSN),  # en dashes
    ("123\u00a045\u00a06789", K.SSN),  # no-break spaces
    ("123-\u200b45-6789", K.SSN),  # a zero-width space inside
    ("415\u2013555\u20130142", K.PHONE),
    ("jane\uff20example.org", K.EMAIL),  # full-width @
]


@pytest.mark.parametrize(("text", "kind"), POSITIVES)
def test_each_kind_is_found(text: str, kind: IdentifierKind) -> None:
    hits = find_identifiers(text)
    assert [h.kind for h in hits] == [kind], (text, hits)
    hit = hits[0]
    assert text[hit.start : hit.end].strip()


@pytest.mark.parametrize(("text", "kind"), UNICODE_POSITIVES)
def test_unicode_digits_dashes_and_spaces_are_read_as_ascii(
    text: str, kind: IdentifierKind
) -> None:
    hits = find_identifiers(text)
    assert [h.kind for h in hits] == [kind], (text, hits)
    assert normalize_text(text)[hits[0].start : hits[0].end].strip()


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
    "case 2024-000123",  # a case number, not a phone number
    "order 4155550142",  # 10 digits after a reference word
    "photo 2024031512",  # a YYYYMMDDHH timestamp, not a phone number
    "2115550142",  # N11 area code
    "1234567890",  # area code starting with 1
    "2125550148",  # a valid ISBN-10 (also phone-shaped when bare)
    "ISBN 2125550142",  # 10 digits after ISBN
    "born 1984",  # a birth year alone is not a date of birth
    "123.45.6789.1",  # a version string
    "IP 10.123.45.6789",
    "555-0142",  # a 7-digit local number is too short to identify anyone
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


REFERENCE_NEAR_MISSES = [
    "case 2024-03-15",  # case numbers that look like dates
    "CR 15/03/2024",
    "ref 2023/11/04",
    "2024-03-15",
    "Incident 2023-11-04 at station",
    "file:///photos/2024/03/15/img_0042.jpg",
    "upload:IMG_2024-03-15.jpg",
]


@pytest.mark.parametrize("text", REFERENCE_NEAR_MISSES)
def test_reference_fields_take_dates_as_events_not_births(text: str) -> None:
    assert find_identifiers(text, field_kind=FieldKind.REFERENCE) == [], text
    assert find_identifiers(text, field_kind=FieldKind.NARRATIVE) == [], text
    check_fields({"case_reference": (text, FieldKind.REFERENCE)})


@pytest.mark.parametrize(
    "text",
    ["case 2024-03-15, DOB 1984-03-07", "born 07/03/1984", "file:///photos/dob_1984-03-07.jpg"],
)
def test_reference_fields_refuse_dates_marked_as_births(text: str) -> None:
    kinds = [h.kind for h in find_identifiers(text, field_kind=FieldKind.REFERENCE)]
    assert kinds == [K.DATE_OF_BIRTH], text


def test_a_luhn_valid_card_is_a_card_never_a_phone() -> None:
    for text in ("4111111111111111", "+4111 1111 1111 1111", "tel 5500 0000 0000 0004"):
        assert [h.kind for h in find_identifiers(text)] == [K.PAYMENT_CARD], text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("file:///photos/jane.doe%40example.org/a.jpg", "e-mail address"),
        ("upload:123%2D45%2D6789.jpg", "social security number"),
        ("https://x.example/u?tel=%2B44%2020%207946%200958", "phone number"),
        ("a+b:jane.doe%2540example.org", "e-mail address"),  # encoded twice
        ("card+4111+1111+1111+1111", "payment card number"),  # unquote_plus
    ],
)
def test_check_fields_reads_percent_decoded_text(text: str, kind: str) -> None:
    with pytest.raises(SensitiveIdentifierFound) as info:
        check_fields({"source_uri": (text, FieldKind.REFERENCE)})
    assert (info.value.field, info.value.kind) == ("source_uri", kind)
    assert "example.org" not in info.value.message and "6789" not in info.value.message


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
