"""The audit log: append, read, verify; and the chain head kept outside the database.

Appends go through the store, which computes each event's hash in the appending
transaction. After each append the log writes the newest ``(seq, hash)`` it knows to an
*anchor* file (``data_dir/audit-head.json``): a database edited to drop or rewrite the
newest events no longer holds the anchored event, which :meth:`AuditLog.verify` reports.
Several processes may append to one data folder (the server and the command line): the
anchor only ever moves forward, under an exclusive lock on ``audit-head.json.lock``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from pathlib import Path

from facesearch.audit.chain import Anchor, ChainReport, verify_chain
from facesearch.errors import StoreError
from facesearch.store import AuditFilter, AuditRecord, NewAuditEvent, Store

logger = logging.getLogger(__name__)


class AuditLog:
    """Hash-chained, append-only audit log over the store (no update or delete path)."""

    def __init__(self, store: Store, *, anchor_path: Path | None = None) -> None:
        self._store = store
        self._anchor_path = anchor_path
        self._lock = threading.Lock()
        self._anchored_seq = 0
        anchor = self.anchor()
        if anchor is not None:
            self._anchored_seq = anchor.seq

    def record(self, event: NewAuditEvent) -> AuditRecord:
        """Append ``event``; committed when this returns. ``StoreError`` if it cannot be."""
        appended = self._store.append_audit(event)
        self._advance(appended.seq, appended.hash)
        return appended

    def record_quietly(self, event: NewAuditEvent) -> AuditRecord | None:
        """Append ``event`` for a call that already failed: a failure to audit is logged, not
        raised, so that the caller reports the original error."""
        try:
            return self.record(event)
        except Exception:
            logger.error("could not write the audit event of a failed %s", event.action)
            logger.debug("audit append failed", exc_info=True)
            return None

    def committed(self) -> None:
        """Move the anchor to the newest event after a write that appended its event itself."""
        head = self._store.audit_head()
        if head is not None:
            self._advance(*head)

    def list(self, where: AuditFilter | None = None, *, limit: int = 100) -> list[AuditRecord]:
        return self._store.list_audit(where, limit=limit)

    def get(self, seq: int) -> AuditRecord:
        return self._store.get_audit(seq)

    def verify(self) -> ChainReport:
        """Verify the whole chain, and that it still holds the anchored head."""
        return verify_chain(self._store.iter_audit(), self.anchor())

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

    def _advance(self, seq: int, digest: str) -> None:
        if self._anchor_path is None:
            return
        with self._lock:
            if seq <= self._anchored_seq:
                return
            try:
                self._anchor_path.parent.mkdir(parents=True, exist_ok=True)
                lock_path = self._anchor_path.with_name(self._anchor_path.name + ".lock")
                with open(lock_path, "a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                    on_disk = self._read_seq()
                    if on_disk is not None and on_disk >= seq:
                        # another process anchored a newer event: never move back
                        self._anchored_seq = on_disk
                        return
                    tmp = self._anchor_path.with_suffix(
                        f".{os.getpid()}.{threading.get_ident()}.tmp"
                    )
                    tmp.write_text(json.dumps({"seq": seq, "hash": digest}))
                    os.replace(tmp, self._anchor_path)
            except OSError:
                logger.warning("could not write the audit anchor %s", self._anchor_path)
                return
            self._anchored_seq = seq

    def _read_seq(self) -> int | None:
        """The anchored seq on disk; ``None`` if there is none or it is unreadable (then
        it is overwritten, and :meth:`verify` judges the chain against the new one)."""
        try:
            anchor = self.anchor()
        except StoreError:
            return None
        return None if anchor is None else anchor.seq
