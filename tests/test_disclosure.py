"""The disclosure check of the privacy tests: whole values in text fields, never a short
run of digits in a dump that holds hashes (issue 9, item 5: a flaky test)."""

from __future__ import annotations

import hashlib

from facesearch.audit import AuditContext
from facesearch.service import FaceSearch

from .disclosure import audit_texts, disclosed, forms

CARD = "4111 1111 1111 1111"


def _sha256_holding(run: str) -> str:
    """A real sha256 hex digest that holds ``run`` (what made the old check flaky)."""
    n = 0
    while run not in (digest := hashlib.sha256(str(n).encode()).hexdigest()):
        n += 1
    return digest


def test_forms_are_the_whole_value_and_its_digits() -> None:
    assert forms(CARD) == [CARD, "4111111111111111"]
    assert forms("jane.roe@example.org") == ["jane.roe@example.org"]
    assert forms("call 867") == ["call 867"]  # too few digits to be looked for alone


def test_a_hash_holding_the_digits_is_not_a_disclosure_but_the_value_is() -> None:
    digest = _sha256_holding("4111")
    assert "4111" in digest  # the old check, `"4111" not in dump`, failed on this
    assert disclosed(CARD, [digest, "source_uri"]) == []
    assert disclosed(CARD, ["paid with 4111-1111-1111-1111"]) != []  # another spelling
    assert disclosed(CARD, ["c=4111111111111111"]) != []
    assert disclosed(f"archive://x?c={CARD}", [f"archive://x?c={CARD}"]) != []


def test_audit_texts_are_the_text_fields_without_the_digests(engine: FaceSearch) -> None:
    context = AuditContext(actor="tester", client_address="127.0.0.1")
    digest = _sha256_holding("4111")
    engine.audit.record(
        context.event(
            "test.note",
            probe_sha256=digest,
            details={"image_sha256": digest, "note": "paid with 4111-1111-1111-1111"},
        )
    )
    texts = audit_texts(engine.store)
    assert "tester" in texts and "test.note" in texts and "image_sha256" in texts
    assert digest not in texts  # neither the probe's column nor the digest in the details
    assert disclosed(CARD, texts) == ["paid with 4111-1111-1111-1111"]
