"""Enrollment throughput: the facesearch engine against the plain dlib recipe, same images.

The plain recipe is what most projects do: one process, one image at a time, HOG with one
upsample, 5-point landmarks, the ResNet descriptor on the full image. facesearch runs its
whole enrollment (decode, detect, align, embed, quality, thumbnails, store transaction,
index) with a process pool. Both run in this one invocation on the same LFW images, so the
ratio is what to read (absolute numbers move with the machine's load).

    FACESEARCH_LFW_DIR=../shared/datasets/lfw .venv/bin/python benchmarks/enroll_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table


def lfw_sample(root: Path, n: int, seed: int) -> list[Path]:
    photos = sorted((root / "lfw-deepfunneled").glob("*/*.jpg"))
    return sorted(random.Random(seed).sample(photos, n))


def plain_recipe(paths: list[Path]) -> dict[str, float]:
    """The face_recognition-style loop: HOG upsample 1, 5 landmarks, descriptor per face."""
    import dlib

    from facesearch.modelfiles import DLIB_RESNET_V1, DLIB_SHAPE_5, packaged_model

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(packaged_model(DLIB_SHAPE_5)))
    encoder = dlib.face_recognition_model_v1(str(packaged_model(DLIB_RESNET_V1)))
    faces = 0
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    for path in paths:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        for rect in detector(pixels, 1):
            shape = predictor(pixels, rect)
            np.asarray(encoder.compute_face_descriptor(pixels, shape))
            faces += 1
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_started
    return {"images": len(paths), "faces": faces, "seconds": seconds, "cpu_seconds": cpu}


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def engine(paths: list[Path], workers: int) -> dict[str, float]:
    from facesearch.audit import AuditContext
    from facesearch.service import FaceSearch
    from facesearch.settings import Settings

    operator = AuditContext.local_operator()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", workers=workers)
        with FaceSearch(settings) as fs:
            fs.create_gallery("bench", legal_basis="benchmark", context=operator)
            cpu_started = _cpu_seconds()
            started = time.perf_counter()
            summary = fs.enroll_paths(paths, gallery="bench", progress=True, context=operator)
            seconds = time.perf_counter() - started
            cpu = _cpu_seconds() - cpu_started  # the pool has shut down: workers counted
    return {
        "images": len(paths),
        "faces": summary.faces + summary.faces_rejected,
        "faces_indexed": summary.faces,
        "images_without_faces": summary.images_without_faces,
        "seconds": seconds,
        "cpu_seconds": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/enroll_throughput.json")
    )
    args = parser.parse_args()
    root = os.environ.get("FACESEARCH_LFW_DIR")
    if not root:
        raise SystemExit("set FACESEARCH_LFW_DIR to the LFW dataset")
    paths = lfw_sample(Path(root), args.images, args.seed)

    results = {
        "plain dlib recipe (1 process)": plain_recipe(paths),
        f"facesearch enroll ({args.workers} workers)": engine(paths, args.workers),
    }
    base = next(iter(results.values()))
    table = Table(title=f"Enrollment throughput, {len(paths)} LFW images, {os.cpu_count()} cores")
    columns = ["pipeline", "images/s", "faces/s", "faces", "seconds", "vs plain (images/s)"]
    for column in [*columns, "CPU s/image", "images/s per free core"]:
        table.add_column(column)
    base_rate = base["images"] / base["seconds"]
    for name, r in results.items():
        rate = r["images"] / r["seconds"]
        r["images_per_s"] = rate
        r["faces_per_s"] = r["faces"] / r["seconds"]
        r["ratio_vs_plain"] = rate / base_rate
        r["cpu_seconds_per_image"] = r["cpu_seconds"] / r["images"]
        table.add_row(
            name,
            f"{rate:.2f}",
            f"{r['faces_per_s']:.2f}",
            str(int(r["faces"])),
            f"{r['seconds']:.1f}",
            f"{r['ratio_vs_plain']:.2f}x",
            f"{r['cpu_seconds_per_image']:.3f}",
            f"{1 / r['cpu_seconds_per_image']:.2f}",
        )
    Console(width=150).print(table)
    print(
        "CPU s/image counts every process (the pool's workers included): on a machine whose "
        "cores are free, throughput is about cores / (CPU s/image) for the engine and "
        "1 / (CPU s/image) for the one-process recipe; load average at the end: "
        f"{os.getloadavg()[0]:.2f}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "enroll_throughput",
                "images": len(paths),
                "seed": args.seed,
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_at_end": os.getloadavg(),
                "results": results,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
