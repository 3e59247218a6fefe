"""The accountability context: justification rules and the events it builds."""

from __future__ import annotations

import pytest

from facesearch.audit import AuditContext
from facesearch.errors import InvalidInput


def test_justification_needs_purpose_case_and_authorization() -> None:
    with pytest.raises(InvalidInput) as info:
        AuditContext(actor="a").justification(10)
    message = str(info.value)
    assert "purpose of at least 10" in message and "case" in message and "authorization" in message
    with pytest.raises(InvalidInput, match="purpose"):
        AuditContext(
            actor="a", purpose="  short  ", case_reference="C", authorization_reference="W"
        ).justification(10)
    ok = AuditContext(
        actor="a",
        purpose=" a long enough purpose ",
        case_reference=" C-1 ",
        authorization_reference="W-9",
    ).justification(10)
    assert (ok.purpose, ok.case_reference, ok.authorization_reference) == (
        "a long enough purpose",
        "C-1",
        "W-9",
    )


def test_local_operator_is_the_os_user() -> None:
    context = AuditContext.local_operator(purpose="p")
    assert context.actor.startswith("cli:") and len(context.actor) > 4
    assert context.client_address == "local"


def test_event_carries_the_context() -> None:
    context = AuditContext(
        actor="alice",
        key_prefix="fsk_1",
        client_address="10.0.0.1",
        purpose="  p  ",
        case_reference="",
        details={"via": "api"},
    )
    event = context.event("enroll", target="image:3", details={"faces": 2})
    assert event.actor == "alice" and event.key_prefix == "fsk_1"
    assert event.purpose == "p" and event.case_reference is None
    assert event.details == {"via": "api", "faces": 2} and event.outcome == "ok"
