"""Privacy safeguards: the sensitive-identifier guard on every stored free-text field."""

from facesearch.privacy.identifiers import (
    FieldKind,
    IdentifierHit,
    IdentifierKind,
    check_fields,
    find_identifiers,
    luhn_valid,
    normalize_text,
)

__all__ = [
    "FieldKind",
    "IdentifierHit",
    "IdentifierKind",
    "check_fields",
    "find_identifiers",
    "luhn_valid",
    "normalize_text",
]
