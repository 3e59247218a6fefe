"""The service under load: `facesearch serve` driven by concurrent clients for a bounded time.

Starts `facesearch serve` on a free loopback port over a temporary data folder (once per
descriptor runtime: ``dlib`` as it was, then ``onnxruntime``, so before and after come from
the same run), enrolls the checked-in LFW photos, then runs ``--searchers`` clients
searching, ``--enrollers`` clients enrolling (each upload re-encoded, so never a duplicate)
and one client reading cheap endpoints (``/healthz``, the gallery list) for ``--seconds``;
reports requests/s and p50/p99 latency per operation, and stops the server.

    .venv/bin/python benchmarks/service_load.py --seconds 60
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = sorted((ROOT / "tests" / "data" / "lfw").glob("*.jpg"))
WHY = {
    "purpose": "load benchmark of the search service on LFW photos",
    "case_reference": "BENCH-1",
    "authorization_reference": "BENCH-AUTH",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(data_dir: Path, *argv: str) -> str:
    command = [sys.executable, "-m", "facesearch.cli", "--data-dir", str(data_dir), *argv]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def prepare(data_dir: Path) -> dict[str, str]:
    """A gallery, a curator (enrolls) and an investigator granted it (searches): their keys."""
    cli(data_dir, "gallery", "create", "load", "--legal-basis", "load benchmark")
    keys = {}
    for user, role in (("curator", "curator"), ("investigator", "investigator")):
        cli(data_dir, "users", "create", user, "--role", role)
        keys[role] = json.loads(cli(data_dir, "users", "new-key", user, "--json"))["key"]
    cli(data_dir, "grants", "add", "investigator", "load")
    return keys


def start(data_dir: Path, port: int, runtime: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "FACESEARCH_DATA_DIR": str(data_dir),
        "FACESEARCH_EMBEDDING__RUNTIME": runtime,
    }
    command = [sys.executable, "-m", "facesearch.cli", "serve", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("facesearch serve did not become ready")


def unique_jpeg(path: Path, n: int) -> bytes:
    pixels = np.asarray(Image.open(path).convert("RGB")).copy()
    pixels[0, : min(8, pixels.shape[1])] = [(n >> (8 * (i % 3))) & 0xFF for i in range(3)]
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=92)
    return out.getvalue()


def run_load(
    url: str, keys: dict[str, str], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    searching = {"Authorization": f"Bearer {keys['investigator']}"}
    enrolling = {"Authorization": f"Bearer {keys['curator']}"}
    latencies: dict[str, list[float]] = {"search": [], "enroll": [], "healthz": [], "galleries": []}
    errors: dict[str, int] = dict.fromkeys(latencies, 0)
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds
    counter = iter(range(1, 10**9))

    def record(op: str, started: float, ok: bool) -> None:
        with lock:
            latencies[op].append(time.perf_counter() - started)
            if not ok:
                errors[op] += 1

    def searcher(i: int) -> None:
        with httpx.Client(base_url=url, headers=searching, timeout=120) as client:
            while time.monotonic() < stop_at:
                probe = PHOTOS[(i + len(latencies["search"])) % len(PHOTOS)]
                started = time.perf_counter()
                r = client.post("/api/v1/search", files={"probe": probe.read_bytes()}, data=WHY)
                record("search", started, r.status_code == 200)

    def enroller(i: int) -> None:
        with httpx.Client(base_url=url, headers=enrolling, timeout=120) as client:
            while time.monotonic() < stop_at:
                with lock:
                    n = next(counter)
                photo = PHOTOS[n % len(PHOTOS)]
                body = unique_jpeg(photo, n)
                started = time.perf_counter()
                r = client.post(
                    "/api/v1/galleries/load/images",
                    files={"files": (f"{n}.jpg", body, "image/jpeg")},
                    data={"subject": photo.stem.rsplit("_", 1)[0].replace("_", " ")},
                )
                record("enroll", started, r.status_code in (200, 201))

    def reader() -> None:
        with httpx.Client(base_url=url, headers=enrolling, timeout=120) as client:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                record("healthz", started, client.get("/healthz").status_code == 200)
                started = time.perf_counter()
                ok = client.get("/api/v1/galleries").status_code == 200
                record("galleries", started, ok)
                time.sleep(0.05)

    threads = [threading.Thread(target=searcher, args=(i,)) for i in range(args.searchers)]
    threads += [threading.Thread(target=enroller, args=(i,)) for i in range(args.enrollers)]
    threads.append(threading.Thread(target=reader))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    out: dict[str, dict[str, float]] = {}
    for op, values in latencies.items():
        ms = np.asarray(values) * 1000 if values else np.zeros(1)
        out[op] = {
            "requests": len(values),
            "errors": errors[op],
            "per_s": len(values) / elapsed,
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
        }
    return out


def one_runtime(runtime: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        keys = prepare(data_dir)
        port = free_port()
        proc = start(data_dir, port, runtime)
        url = f"http://127.0.0.1:{port}"
        try:
            headers = {"Authorization": f"Bearer {keys['curator']}"}
            with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
                for photo in PHOTOS:  # the small gallery searched (and the models warmed)
                    r = client.post(
                        "/api/v1/galleries/load/images",
                        files={"files": (photo.name, photo.read_bytes(), "image/jpeg")},
                        data={"subject": photo.stem.rsplit("_", 1)[0].replace("_", " ")},
                    )
                    r.raise_for_status()
            return run_load(url, keys, args)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--searchers", type=int, default=6)
    parser.add_argument("--enrollers", type=int, default=2)
    parser.add_argument("--runtimes", default="dlib,onnxruntime")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/service_load.json"))
    args = parser.parse_args()
    results = {runtime: one_runtime(runtime, args) for runtime in args.runtimes.split(",")}
    table = Table(
        title=f"facesearch serve, {args.searchers} searching + {args.enrollers} enrolling "
        f"+ 1 reading client(s), {args.seconds:.0f} s each, {os.cpu_count()} cores"
    )
    for column in ["runtime", "operation", "requests", "errors", "req/s", "p50 ms", "p99 ms"]:
        table.add_column(column)
    for runtime, ops in results.items():
        for op, row in ops.items():
            table.add_row(
                runtime,
                op,
                str(int(row["requests"])),
                str(int(row["errors"])),
                f"{row['per_s']:.2f}",
                f"{row['p50_ms']:.0f}",
                f"{row['p99_ms']:.0f}",
            )
    Console(width=140).print(table)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "service_load",
                "args": vars(args) | {"out": str(args.out)},
                "cpu_count": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
