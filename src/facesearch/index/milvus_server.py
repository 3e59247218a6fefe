"""A local Milvus standalone server for tests and benchmarks (PyPI package ``milvus``).

The ``milvus`` package (2.3.5, a test extra: ``.[milvus]``) ships the real Milvus standalone
binary (embedded etcd, local-disk storage, rocksmq). Observed on a 2-core machine (see
``shared/design/milvus-test-server.md``): start-up takes 4 s to a minute and now and then
never becomes healthy, so :func:`start_local_milvus` waits with a timeout and retries; its
client port is whatever was free, so callers connect to :attr:`LocalMilvus.uri`; SIGTERM
sometimes hangs, so :meth:`LocalMilvus.stop` sends SIGTERM, waits, then SIGKILL, by the
process id it started, never by name. The server outlives a runner killed mid-run, so its
pid is written to a file that the next start reads to end a leftover first.

Not for production: every port it opens may listen on all interfaces.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facesearch.errors import IndexUnavailable

logger = logging.getLogger(__name__)

__all__ = ["LocalMilvus", "end_leftover", "start_local_milvus"]

_COMPONENTS = (
    "rootCoord",
    "proxy",
    "queryCoord",
    "queryNode",
    "indexNode",
    "dataCoord",
    "dataNode",
)
_PORT_KEYS = (
    "etcd_port",
    "proxy_port",
    "proxy_internal_port",
    "root_coord_port",
    "query_coord_port",
    "query_node_port",
    "index_coord_port",
    "index_node_port",
    "data_coord_port",
    "data_node_port",
)
STOP_GRACE_S = 20.0
"""Seconds between SIGTERM and SIGKILL (SIGTERM hung in 5 of 8 stops observed)."""


def _free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports free right now (bound to port 0, then released)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_milvus(pid: int) -> bool:
    """Whether process ``pid`` runs a Milvus binary (its pid may have been reused since)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"/milvus") and b"standalone" in cmdline


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_pid(pid: int, *, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM ``pid``, wait up to ``grace_s`` seconds for it to exit, then SIGKILL it."""
    if not _alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not _alive(pid):
            return
        time.sleep(0.2)
    logger.warning("milvus pid %d ignored SIGTERM for %.0f s; killing it", pid, grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        _reap(pid)
        if not _alive(pid):
            return
        time.sleep(0.1)


def end_leftover(pid_file: Path) -> bool:
    """End a server a previous run recorded in ``pid_file`` and left running; True if one
    was ended. Only a live process whose command line is Milvus's is signalled."""
    try:
        record = json.loads(Path(pid_file).read_text("utf-8"))
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    ended = False
    if _alive(pid) and _is_milvus(pid):
        logger.warning("ending leftover milvus server pid %d from %s", pid, pid_file)
        stop_pid(pid)
        ended = True
    with contextlib.suppress(OSError):
        Path(pid_file).unlink()
    return ended


@dataclass
class LocalMilvus:
    """A running local server: connect with ``MilvusClient(uri=server.uri)``."""

    pid: int
    port: int
    base_dir: Path
    pid_file: Path | None
    startup_s: float
    _server: Any = field(repr=False)

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, *, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``grace_s``) and forget its pid file."""
        stop_pid(self.pid, grace_s=grace_s)
        proc = self._server.server_proc
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.wait(timeout=1)
        self._server.server_proc = None  # the package's __del__ would signal it again
        for fd in self._server.proc_fds.values():
            fd.close()
        self._server.proc_fds.clear()
        if self.pid_file is not None:
            with contextlib.suppress(OSError):
                self.pid_file.unlink()


def _start_once(base_dir: Path, timeout_s: float, pid_file: Path | None) -> LocalMilvus:
    from milvus import MilvusServer, MilvusServerConfig

    ports = _free_ports(len(_PORT_KEYS) + 2)
    config = MilvusServerConfig(**dict(zip(_PORT_KEYS, ports, strict=False)))
    server = MilvusServer(config, wait_for_started=False)
    server.webservice_port = ports[-2]
    server.set_base_dir(str(base_dir))
    # the embedded etcd listens on 2379/2380 unless given a config file: give it free
    # loopback ports, so that two servers (two test runs) can run side by side
    etcd_client, etcd_peer = ports[0], ports[-1]
    etcd_yaml = base_dir / "configs" / "embed-etcd.yaml"
    etcd_yaml.parent.mkdir(parents=True, exist_ok=True)
    etcd_yaml.write_text(
        f"listen-client-urls: http://127.0.0.1:{etcd_client}\n"
        f"advertise-client-urls: http://127.0.0.1:{etcd_client}\n"
        f"listen-peer-urls: http://127.0.0.1:{etcd_peer}\n"
        f"initial-advertise-peer-urls: http://127.0.0.1:{etcd_peer}\n"
        f"initial-cluster: default=http://127.0.0.1:{etcd_peer}\n",
        "utf-8",
    )
    config.template_text = config.template_text.replace(
        "\netcd:\n", f"\netcd:\n  config:\n    path: {etcd_yaml}\n", 1
    )
    for component in _COMPONENTS:
        server.config.set(f"{component}.ip", "127.0.0.1")
    began = time.monotonic()
    server.start()
    pid = int(server.server_proc.pid)
    if pid_file is not None:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(json.dumps({"pid": pid, "base_dir": str(base_dir)}), "utf-8")
    try:
        server.wait_started(timeout=int(timeout_s * 1000))
    except BaseException:
        stop_pid(pid, grace_s=2.0)
        server.server_proc = None
        for fd in server.proc_fds.values():
            fd.close()
        server.proc_fds.clear()
        if pid_file is not None:
            with contextlib.suppress(OSError):
                pid_file.unlink()
        raise
    return LocalMilvus(
        pid=pid,
        port=int(server.listen_port),
        base_dir=base_dir,
        pid_file=pid_file,
        startup_s=time.monotonic() - began,
        _server=server,
    )


def start_local_milvus(
    base_dir: Path,
    *,
    attempts: int = 3,
    timeout_s: float = 120.0,
    pid_file: Path | None = None,
) -> LocalMilvus:
    """Start a Milvus standalone server with its data under ``base_dir``, on free ports.

    Ends a leftover recorded in ``pid_file`` first, then tries up to ``attempts`` times,
    each waiting ``timeout_s`` seconds for ``/healthz``. Raises :class:`IndexUnavailable`
    when the ``milvus`` package is not installed or no attempt became healthy.
    """
    try:
        import milvus  # noqa: F401
    except ImportError as err:
        raise IndexUnavailable(
            "the milvus package is not installed (pip install 'facesearch[milvus]')"
        ) from err
    if pid_file is not None:
        end_leftover(pid_file)
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for attempt in range(1, attempts + 1):
        try:
            server = _start_once(base_dir, timeout_s, pid_file)
        except (TimeoutError, RuntimeError, OSError) as err:
            logger.warning("milvus start attempt %d/%d failed: %s", attempt, attempts, err)
            errors.append(f"attempt {attempt}: {err}")
            continue
        logger.info(
            "milvus server pid %d on port %d after %.1f s",
            server.pid,
            server.port,
            server.startup_s,
        )
        return server
    raise IndexUnavailable("milvus server did not start: " + "; ".join(errors))
