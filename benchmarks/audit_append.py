"""Cost of checking each audit append against the anchor (a log that is cut is refused).

Baseline: appends through :class:`facesearch.audit.AuditLog`, which writes the anchor file
after each one, with the check turned off (what an append cost before the check).
Checked: the same with every append reading the anchor and comparing it with the log's end
inside its write transaction. Both run in this invocation on fresh SQLite files; read the
ratio.

    PYTHONPATH=src .venv/bin/python benchmarks/audit_append.py --events 500
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from facesearch.audit import AuditContext, AuditLog
from facesearch.store import Store

CONTEXT = AuditContext(
    actor="bench",
    client_address="127.0.0.1",
    purpose="benchmark of the audit append",
    case_reference="BENCH-1",
    authorization_reference="BENCH-AUTH",
)


def run(folder: Path, n: int, *, checked: bool) -> float:
    """Seconds per append, ``n`` appends in a row."""
    store = Store(f"sqlite:///{folder / 'audit.db'}")
    try:
        log = AuditLog(store, anchor_path=folder / "audit-head.json")
        if not checked:  # the anchor is still written after each append, never read
            store.watch_audit(anchor=None, committed=log._committed)
        append = log.record
        event = CONTEXT.event("search", galleries=("g",), details={"k": 10})
        started = time.perf_counter()
        for _ in range(n):
            append(event)
        return (time.perf_counter() - started) / n
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/audit_append.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        baseline = run(Path(a), args.events, checked=False)
        checked = run(Path(b), args.events, checked=True)
    table = Table(title=f"audit append, {args.events} events, SQLite")
    for column in ("variant", "ms per append", "ratio to baseline"):
        table.add_column(column)
    table.add_row("baseline: anchor written, not checked", f"{baseline * 1e3:.3f}", "1.00")
    table.add_row(
        "checked: anchor read and compared",
        f"{checked * 1e3:.3f}",
        f"{checked / baseline:.2f}",
    )
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "events": args.events,
                "baseline_s_per_append": baseline,
                "checked_s_per_append": checked,
                "ratio": checked / baseline,
                "python": platform.python_version(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
