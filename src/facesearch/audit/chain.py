"""Verifying the audit log's hash chain (its definition is in :mod:`facesearch.store.audit`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from facesearch.store import CUT_ACKNOWLEDGED, GENESIS_HASH, AuditRecord, event_hash


@dataclass(frozen=True, slots=True)
class Anchor:
    """A chain head recorded outside the database: ``seq`` and ``hash`` of an event."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of :func:`verify_chain`. ``first_broken_seq`` is the seq of the first event
    that is altered, missing, out of place or unreadable; ``problem`` says which, in one line.
    """

    ok: bool
    events_checked: int
    head_seq: int | None
    head_hash: str | None
    first_broken_seq: int | None = None
    problem: str | None = None
    acknowledged_cuts: tuple[int, ...] = ()
    """Seqs of the events by which an operator acknowledged a cut log
    (``audit.cut_acknowledged``): what was lost is in their details."""
    notes: tuple[str, ...] = ()
    """What an intact log's reader should know, one line each: an exported head whose
    event was lost in an acknowledged cut (``event 46 was lost; acknowledged in event
    47``)."""


def _declares_gap(record: AuditRecord, first: int, last: int) -> bool:
    """Whether ``record`` is an operator's acknowledgement of exactly the gap ``first`` to
    ``last`` (a cut log, see :meth:`facesearch.audit.AuditLog.acknowledge_cut`)."""
    return (
        record.action == CUT_ACKNOWLEDGED
        and record.details.get("missing_from") == first
        and record.details.get("missing_to") == last
    )


def verify_chain(
    records: Iterable[AuditRecord],
    anchor: Anchor | None = None,
    *,
    require_anchor: bool = False,
    exported: Anchor | None = None,
) -> ChainReport:
    """Walk ``records`` (ascending seq) and report the first broken link.

    Checks, event by event: seq is the previous seq + 1 (starting at 1: a gap is a deleted
    event, unless the event after it is an operator's acknowledgement declaring exactly
    that gap), the stored hash is the hash of the event's content (else it was edited, or
    moved: seq is hashed), and ``prev_hash`` is the previous event's hash. With ``anchor``
    (the head recorded when it was written) the chain must still hold that event: a log
    cut short, or rewritten from some event on, is caught too. With ``require_anchor``, a
    non-empty log without an anchor is reported (its end cannot be checked). ``exported``
    (a head exported by ``audit head`` and kept elsewhere) is checked like ``anchor``, and
    reported even when the anchor is missing. A head whose event was lost in a gap an
    operator acknowledged is no fault for ``exported`` (it may predate the cut; the anchor
    never does): the report is intact and says so in ``notes``
    (unless the acknowledgement recorded another hash for that event). Without an anchor
    or an export, events removed from the log's end cannot be known.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    acknowledged: list[int] = []
    head: AuditRecord | None = None
    anchored: AuditRecord | None = None
    exported_at: AuditRecord | None = None
    gaps: list[AuditRecord] = []
    iterator = iter(records)

    def broken(seq: int, problem: str) -> ChainReport:
        return ChainReport(
            ok=False,
            events_checked=checked,
            head_seq=head.seq if head else None,
            head_hash=head.hash if head else None,
            first_broken_seq=seq,
            problem=problem,
            acknowledged_cuts=tuple(acknowledged),
        )

    while True:
        try:
            record = next(iterator, None)
        except Exception as err:  # a row the database cannot even give back
            return broken(
                expected_seq, f"event {expected_seq} or later cannot be read: {type(err).__name__}"
            )
        if record is None:
            break
        if record.seq > expected_seq and _declares_gap(record, expected_seq, record.seq - 1):
            expected_seq = record.seq  # a cut on record; hash and link are checked below
            gaps.append(record)
        if record.seq != expected_seq:
            if record.seq > expected_seq:
                gap = (
                    f"event {expected_seq} is missing"
                    if record.seq == expected_seq + 1
                    else f"events {expected_seq} to {record.seq - 1} are missing"
                )
                return broken(expected_seq, f"{gap} (deleted from the log)")
            return broken(record.seq, f"event {record.seq} is out of order")
        if record.hash != event_hash(record):
            return broken(
                record.seq, f"event {record.seq} was altered: its hash differs from its content"
            )
        if record.prev_hash != prev_hash:
            return broken(
                record.seq,
                f"event {record.seq} does not follow event {record.seq - 1}: the link is broken",
            )
        if anchor is not None and record.seq == anchor.seq:
            anchored = record
        if exported is not None and record.seq == exported.seq:
            exported_at = record
        if record.action == CUT_ACKNOWLEDGED:
            acknowledged.append(record.seq)
        checked += 1
        head = record
        prev_hash = record.hash
        expected_seq += 1
    findings: list[tuple[int, str]] = []
    notes: list[str] = []
    if anchor is None and require_anchor and head is not None:
        findings.append(
            (
                head.seq,
                f"the log holds events up to {head.seq} but its anchor (audit-head.json) is "
                "missing, so events removed from its end would go unnoticed",
            )
        )
    # The anchor moves to an acknowledgement when it is appended, so it never names an
    # event in an acknowledged gap (one that does was "acknowledged" behind its back);
    # an export taken before the cut may.
    for kept, found, covered in ((anchor, anchored, []), (exported, exported_at, gaps)):
        if kept is None:
            continue
        finding, note = _check_head(kept, found, expected_seq - 1, covered)
        if finding is not None and finding not in findings:
            findings.append(finding)
        if note is not None and note not in notes:
            notes.append(note)
    if findings:
        report = broken(min(seq for seq, _ in findings), "; ".join(p for _, p in findings))
        return dataclasses.replace(report, notes=tuple(notes))
    return ChainReport(
        ok=True,
        events_checked=checked,
        head_seq=head.seq if head else None,
        head_hash=head.hash if head else None,
        acknowledged_cuts=tuple(acknowledged),
        notes=tuple(notes),
    )


def _check_head(
    kept: Anchor, found: AuditRecord | None, end: int, gaps: list[AuditRecord]
) -> tuple[tuple[int, str] | None, str | None]:
    """``(finding, note)`` of a head kept outside the log (the anchor or an export)
    against the event ``found`` at its seq (``None``: not in the log, which ends at
    ``end``) and the acknowledgements of the gaps accepted (``gaps``)."""
    if found is None:
        for ack in gaps:
            first, last = ack.details.get("missing_from"), ack.details.get("missing_to")
            if not (isinstance(first, int) and isinstance(last, int) and first <= kept.seq):
                continue
            if kept.seq > last:
                continue
            recorded = {
                (h.get("seq"), h.get("hash"))
                for h in (ack.details.get("anchor"), ack.details.get("exported"))
                if isinstance(h, dict)
            }
            if any(seq == kept.seq and digest != kept.hash for seq, digest in recorded):
                return (
                    kept.seq,
                    f"event {kept.seq} was lost; acknowledged in event {ack.seq}, which "
                    "recorded another hash for it (the log was rewritten)",
                ), None
            return None, f"event {kept.seq} was lost; acknowledged in event {ack.seq}"
        return (
            kept.seq,
            f"the log ends at event {end} but event {kept.seq} was recorded "
            "(events were removed from its end)",
        ), None
    if found.hash != kept.hash:
        return (
            kept.seq,
            f"event {kept.seq} differs from the head recorded when it was written "
            "(the log was rewritten)",
        ), None
    return None, None
