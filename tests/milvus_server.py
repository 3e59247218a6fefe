"""The session's real Milvus server (PyPI package ``milvus``, extra ``.[milvus]``).

One server for the whole test run (it locks its folder, and starting takes 4 s to a
minute on a small machine), on free loopback ports in a temporary folder; stopped at the
end by its pid (SIGTERM, SIGKILL after 20 s). Its pid and the test runner's are written to
a file in the system's temp folder, so that a later run ends a server whose runner died
(a runner killed mid-run leaves its server running), but never one a live run is using.
Outside CI a missing package or a server that would not start skips the Milvus tests with
the reason; in CI (``CI=true``) it fails them.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import skip_or_fail

PID_FILE = Path(tempfile.gettempdir()) / f"facesearch-test-milvus-{os.getuid()}.json"
START_ATTEMPTS = 3
START_TIMEOUT_S = 120.0


def _runner_alive(record_path: Path) -> bool:
    try:
        runner = int(json.loads(record_path.read_text("utf-8"))["runner"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if runner == os.getpid():
        return False
    try:
        os.kill(runner, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def milvus_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    try:
        import milvus  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        skip_or_fail("the Milvus tests need the milvus extra (pip install -e '.[milvus]')")
    from facesearch.errors import IndexUnavailable
    from facesearch.index.milvus_server import end_leftover, start_local_milvus

    # a leftover of a run whose runner died is ended; a live run's server is left alone
    # (each run has its own pid file then, by runner pid)
    pid_file = PID_FILE
    if pid_file.exists():
        if _runner_alive(pid_file):
            pid_file = PID_FILE.with_name(f"{PID_FILE.stem}-{os.getpid()}.json")
        else:
            end_leftover(pid_file)
    base = tmp_path_factory.mktemp("milvus")
    try:
        server = start_local_milvus(
            base, attempts=START_ATTEMPTS, timeout_s=START_TIMEOUT_S, pid_file=pid_file
        )
    except IndexUnavailable as err:
        skip_or_fail(f"the Milvus test server did not start: {err.message}")
        raise  # pragma: no cover - skip_or_fail raises
    record = json.loads(pid_file.read_text("utf-8"))
    record["runner"] = os.getpid()
    pid_file.write_text(json.dumps(record), "utf-8")
    try:
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            pid_file.unlink()


def unique_prefix() -> str:
    """A collection-name prefix no other test (or run) uses."""
    return f"t{uuid.uuid4().hex[:12]}_"
