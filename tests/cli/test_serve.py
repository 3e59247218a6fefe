"""`facesearch serve` in a real process: the first start makes an admin and prints its key."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "FACESEARCH_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "facesearch.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("facesearch serve did not become ready")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return out


@pytest.mark.slow
def test_first_start_prints_an_admin_key_once(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path / "data", port)
    try:
        _wait_ready(url)
    finally:
        out = _stop(proc)
    keys = re.findall(r"fsk_[0-9a-f]{8}\.[A-Za-z0-9_-]{43}", out)
    assert len(keys) == 1, out
    # the start-up says what runs the descriptor (CUDA when present, CPU otherwise)
    assert "descriptor: onnxruntime, providers" in out and "CPUExecutionProvider" in out

    proc = _serve(tmp_path / "data", port)
    try:
        _wait_ready(url)
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {keys[0]}"})
        assert me.status_code == 200 and me.json()["roles"] == ["admin"]
        assert httpx.get(f"{url}/api/v1/me").status_code == 401
    finally:
        out = _stop(proc)
    assert "fsk_" not in out  # not printed again
