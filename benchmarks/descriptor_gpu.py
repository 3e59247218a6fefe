"""Descriptor throughput on the GPU against the CPU, in the same run.

dlib's ResNet through the project's converted ONNX file, on ONNX Runtime's CUDA execution
provider and on its CPU provider, at batch 1, 16 and 64; faces/s per row and the GPU/CPU
ratio. Needs an NVIDIA GPU and the ``gpu`` extra (``onnxruntime-gpu``, which replaces the
CPU wheel):

    pip uninstall -y onnxruntime && pip install '.[gpu]'
    .venv/bin/python benchmarks/descriptor_gpu.py            # or --install to do the above

Chips are the dlib chips of the checked-in LFW photos (tests/data/lfw), repeated.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]


def chips(n: int) -> np.ndarray:
    from facesearch.alignment import align_faces
    from facesearch.detection import create_detector
    from facesearch.embedding.dlib_onnx_runtime import DlibResnetOnnxEmbedder
    from facesearch.settings import DetectionSettings

    detector = create_detector(DetectionSettings())
    made = []
    for path in sorted((ROOT / "tests" / "data" / "lfw").glob("*.jpg")):
        pixels = np.asarray(Image.open(path).convert("RGB"))
        face = max(detector.detect(pixels), key=lambda d: d.box.area)
        made.append(align_faces(pixels, [face], DlibResnetOnnxEmbedder.chip)[0])
    return np.stack([made[i % len(made)] for i in range(n)])


def rate(session: object, batch: np.ndarray, seconds: float) -> float:
    run = session.run  # type: ignore[attr-defined]
    run(None, {"chips": batch})  # warm-up (CUDA kernels, allocations)
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        run(None, {"chips": batch})
        done += len(batch)
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="pip install the gpu extra")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--cpu-threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/descriptor_gpu.json"))
    args = parser.parse_args()
    if args.install:
        pip = [sys.executable, "-m", "pip"]
        subprocess.run([*pip, "uninstall", "-y", "onnxruntime"], check=False)
        subprocess.run([*pip, "install", f"{ROOT}[gpu]"], check=True)
    import onnxruntime as ort

    from facesearch.embedding.dlib_onnx.cache import load_or_convert

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        raise SystemExit(
            f"no CUDAExecutionProvider in this onnxruntime ({', '.join(available)}): "
            "install the gpu extra (--install) on a machine with an NVIDIA GPU"
        )
    with tempfile.TemporaryDirectory() as tmp:
        model = load_or_convert(Path(tmp)).data
    sample = chips(64)
    rows: dict[str, float] = {}
    for label, providers in (
        ("cpu", ["CPUExecutionProvider"]),
        ("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"]),
    ):
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.cpu_threads
        session = ort.InferenceSession(model, options, providers=providers)
        for batch in (1, 16, 64):
            rows[f"{label}, batch {batch}"] = rate(session, sample[:batch], args.seconds)
    table = Table(title=f"Descriptor faces/s ({ort.get_device()}, onnxruntime {ort.__version__})")
    for column in ["batch", "CPU faces/s", "GPU faces/s", "GPU / CPU"]:
        table.add_column(column)
    for batch in (1, 16, 64):
        cpu, gpu = rows[f"cpu, batch {batch}"], rows[f"cuda, batch {batch}"]
        table.add_row(str(batch), f"{cpu:.1f}", f"{gpu:.1f}", f"{gpu / cpu:.1f}x")
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "descriptor_gpu",
                "cpu_threads": args.cpu_threads,
                "python": platform.python_version(),
                "faces_per_s": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
