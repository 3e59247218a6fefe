"""The audit log: append, read, verify; and the chain head kept outside the database.

Appends go through the store, which computes each event's hash in the appending
transaction. After each append the log writes the newest ``(seq, hash)`` it knows to an
*anchor* file (``data_dir/audit-head.json``): a database edited to drop or rewrite the
newest events no longer holds the anchored event, which :meth:`AuditLog.verify` reports.
Several processes may append to one data folder (the server and the command line): the
anchor only ever moves forward, under an exclusive lock on ``audit-head.json.lock``.

Every append is checked against the anchor inside its write transaction (the store calls
back, :meth:`Store.watch_audit`): a log that ends before the anchored event, holds another
event at its seq, or has events but no (readable) anchor is never extended
(:class:`~facesearch.errors.AuditLogCut`, 503), so a deleted event's seq is never given
again and a cut log does not heal. :meth:`AuditLog.health` says why for ``/readyz``; the
operator's :meth:`AuditLog.acknowledge_cut` appends the event that records the cut (and
the seqs lost) and moves the anchor to it, after which appends resume.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from facesearch.audit import trail
from facesearch.audit.chain import Anchor, ChainReport, verify_chain
from facesearch.audit.context import AuditContext
from facesearch.errors import AuditUnavailable, FaceSearchError, InvalidInput, StoreError
from facesearch.privacy import FieldKind, check_fields
from facesearch.store import CUT_ACKNOWLEDGED, AuditFilter, AuditRecord, NewAuditEvent, Store
from facesearch.store.tables import utcnow

logger = logging.getLogger(__name__)

MIN_REASON = 10
"""Fewest characters of the reason an operator gives when acknowledging a cut log."""


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The log's newest event as exported by ``facesearch audit head`` (times ISO 8601,
    UTC): keep it elsewhere (signed) to check the log against later."""

    seq: int | None
    hash: str | None
    occurred_at: str | None
    exported_at: str
    anchor_agrees: bool
    problem: str | None


class AuditLog:
    """Hash-chained, append-only audit log over the store (no update or delete path)."""

    def __init__(self, store: Store, *, anchor_path: Path | None = None) -> None:
        self._store = store
        self._anchor_path = anchor_path
        self._lock = threading.Lock()
        self._anchored_seq = 0
        try:
            anchor = self.anchor()
        except StoreError:
            anchor = None  # reported by health() and verify(); appends are refused
        if anchor is not None:
            self._anchored_seq = anchor.seq
        store.watch_audit(
            anchor=None if anchor_path is None else self._anchor_pair,
            committed=self._committed,
        )

    def record(self, event: NewAuditEvent) -> AuditRecord:
        """Append ``event``; committed when this returns. If it cannot be, the call it
        belongs to must fail: ``AuditLogCut`` when the log disagrees with its anchor,
        ``StoreError`` when the database fails, else ``AuditUnavailable`` (503) saying why
        (never a silent loss)."""
        try:
            appended = self._store.audit.append_audit(event)
        except (AuditUnavailable, StoreError):
            raise  # already a 503 that says what failed
        except FaceSearchError as err:
            logger.error("could not write the audit event of %s: %s", event.action, err.code)
            raise AuditUnavailable(
                f"the audit log could not record this {event.action}: {err.message}"
            ) from err
        self._advance(appended.seq, appended.hash)
        return appended

    def committed(self) -> None:
        """Move the anchor to the newest event after a write that appended its event itself."""
        head = self._store.audit.audit_head()
        if head is not None:
            self._advance(*head)

    def list(self, where: AuditFilter | None = None, *, limit: int = 100) -> list[AuditRecord]:
        return self._store.audit.list_audit(where, limit=limit)

    def get(self, seq: int) -> AuditRecord:
        return self._store.audit.get_audit(seq)

    def verify(self, exported: Anchor | None = None) -> ChainReport:
        """Verify the whole chain, that it still holds the anchored head, and (when an
        anchor file is configured) that a non-empty log has one. With ``exported`` (a head
        exported by :meth:`head` and kept elsewhere) the log must hold that event too; a
        cut it proves is reported even when the anchor is missing or unreadable."""
        try:
            anchor = self.anchor()
        except StoreError as err:
            head = self._store.audit.audit_head()
            problem = f"{err.message}, so the log's end cannot be checked"
            if exported is not None:
                against = verify_chain(self._store.audit.iter_audit(), exported=exported)
                if not against.ok:
                    return dataclasses.replace(against, problem=f"{problem}; {against.problem}")
            return ChainReport(
                ok=False,
                events_checked=0,
                head_seq=None if head is None else head[0],
                head_hash=None if head is None else head[1],
                first_broken_seq=None if head is None else head[0],
                problem=problem,
            )
        return verify_chain(
            self._store.audit.iter_audit(),
            anchor,
            require_anchor=self._anchor_path is not None,
            exported=exported,
        )

    def health(self) -> str | None:
        """Why appends are refused (the log disagrees with its anchor), or ``None``: two
        indexed reads and the anchor file, cheap enough for every ``/readyz``."""
        if self._anchor_path is None:
            return None
        try:
            anchor = self._anchor_pair()
        except StoreError as err:
            return err.message
        return self._store.audit.audit_head_problem(anchor)

    def acknowledge_cut(
        self, reason: str, *, context: AuditContext, exported: Anchor | None = None
    ) -> AuditRecord:
        """Record that the log disagrees with its anchor, and resume appending.

        The operator's act is an event (action ``audit.cut_acknowledged``) whose details
        hold ``reason``, the problem found, the log's end and the anchor as they were, and
        the seqs lost (``missing_from``..``missing_to`` when the anchor was ahead: the
        event takes the seq after the anchored one, so no seq the anchor saw is given
        again). ``exported``, the operator's last exported head (:meth:`head`), counts like
        the anchor: with the anchor missing, it is what tells that events at the log's end
        are gone (the acknowledgement takes the seq after it and records the range lost);
        without anchor or export a cut at the end cannot be known. The anchor then names
        the acknowledgement. ``InvalidInput`` for a blank reason or one the
        sensitive-identifier guard refuses; ``Conflict`` when there is nothing to
        acknowledge; ``StoreError`` when the anchor cannot be written."""
        reason = (reason or "").strip()
        if len(reason) < MIN_REASON:
            raise InvalidInput(f"a reason of at least {MIN_REASON} characters is required")
        check_fields({"reason": (reason, FieldKind.NARRATIVE)})
        appended = self._store.audit.acknowledge_audit_cut(
            context.event(CUT_ACKNOWLEDGED, target="audit-log", details={"reason": reason}),
            known_seq=self._anchored_seq,
            exported=None if exported is None else (exported.seq, exported.hash),
        )
        if not self._advance(appended.seq, appended.hash) and self._anchor_path is not None:
            raise StoreError(
                f"the acknowledgement is event {appended.seq} but the anchor "
                f"{self._anchor_path.name} could not be written"
            )
        return appended

    def head(self) -> AuditHead:
        """The newest event's ``(seq, hash, time)`` and whether the log's end agrees with
        the anchor: what an operator exports and keeps elsewhere (``facesearch audit
        head``); :meth:`verify` with that export as ``anchor`` checks the log later."""
        newest = self._store.audit.list_audit(limit=1)
        problem = self.health()
        return AuditHead(
            seq=newest[0].seq if newest else None,
            hash=newest[0].hash if newest else None,
            occurred_at=newest[0].occurred_at.isoformat() if newest else None,
            exported_at=utcnow().isoformat(),
            anchor_agrees=problem is None,
            problem=problem,
        )

    def verify_against(self, exported: Anchor) -> ChainReport:
        """Verify the chain against an exported head (say, one kept off this machine)."""
        return verify_chain(self._store.audit.iter_audit(), exported=exported)

    def _committed(self, seq: int, digest: str, outcomes: tuple[str, ...]) -> None:
        """Called by the store after each transaction that appended events commits."""
        self._advance(seq, digest)
        request = trail.current()
        if request is not None:
            request.outcomes.extend(outcomes)

    def _anchor_pair(self) -> tuple[int, str] | None:
        anchor = self.anchor()
        return None if anchor is None else (anchor.seq, anchor.hash)

    # --- anchor ----------------------------------------------------------------------
    def anchor(self) -> Anchor | None:
        if self._anchor_path is None:
            return None
        try:
            data = json.loads(self._anchor_path.read_text())
            return Anchor(seq=int(data["seq"]), hash=str(data["hash"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise StoreError(f"the audit anchor {self._anchor_path.name} is unreadable") from err

    def _advance(self, seq: int, digest: str) -> bool:
        """Move the anchor to ``(seq, digest)`` unless it already names a later event;
        ``False`` when the file could not be written."""
        if self._anchor_path is None:
            return False
        with self._lock:
            if seq <= self._anchored_seq:
                return True
            try:
                self._anchor_path.parent.mkdir(parents=True, exist_ok=True)
                lock_path = self._anchor_path.with_name(self._anchor_path.name + ".lock")
                with open(lock_path, "a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                    on_disk = self._read_seq()
                    if on_disk is not None and on_disk >= seq:
                        # another process anchored a newer event: never move back
                        self._anchored_seq = on_disk
                        return True
                    tmp = self._anchor_path.with_suffix(
                        f".{os.getpid()}.{threading.get_ident()}.tmp"
                    )
                    tmp.write_text(json.dumps({"seq": seq, "hash": digest}))
                    os.replace(tmp, self._anchor_path)
            except OSError:
                logger.warning("could not write the audit anchor %s", self._anchor_path)
                return False
            self._anchored_seq = seq
            return True

    def _read_seq(self) -> int | None:
        """The anchored seq on disk; ``None`` if there is none or it is unreadable (then
        it is overwritten, and :meth:`verify` judges the chain against the new one)."""
        try:
            anchor = self.anchor()
        except StoreError:
            return None
        return None if anchor is None else anchor.seq
