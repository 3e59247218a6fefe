"""Face detectors over all of LFW: images without a face, faces per image, CPU per image.

Every LFW image (13,233) is decoded as the service decodes uploads and given to each
detector configuration as the service builds it (:func:`facesearch.detection.create_detector`,
planned for the default ``min_face_px`` of 40 px, 5-point landmarks included):

* ``dlib-hog``: dlib's HOG detector alone;
* ``dlib-hog + cnn``: the default pipeline, HOG then dlib's CNN (MMOD) detector on the
  images where HOG finds nothing (``detection.fallback_detector``, planned for
  ``fallback_min_face_px``);
* ``yunet``: YuNet-s by file (``--yunet``, sha256 checked), dlib's 5-point landmarks in its box.

Every LFW image holds at least one face by construction of the dataset (Huang et al.,
2007: the images are the Viola-Jones detections of a news-photo collection, re-centred),
so "images without a face" are misses. Time is the process's CPU time per image
(``time.process_time``), steadier than wall time on a shared machine; the HOG + CNN row's
time includes HOG's pass on every image.

    FACESEARCH_MODELS_DIR=../shared/models .venv/bin/python benchmarks/lfw_detectors.py \\
        --lfw-dir ../shared/datasets/lfw [--limit 500]

Prints a table and writes ``benchmarks/results/lfw_detectors.json``. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from facesearch.detection import create_detector
from facesearch.detection.base import FaceDetector
from facesearch.evaluation.lfw import Lfw
from facesearch.imaging import decode_image
from facesearch.modelfiles import sha256_file
from facesearch.settings import DetectionSettings, DetectorKind, ImagingSettings

YUNET_FILE = "yunet_s_dynamic.onnx"
Build = Callable[[], tuple[FaceDetector, FaceDetector | None]]


def _configs(
    yunet: Path | None,
) -> dict[str, Callable[[], tuple[FaceDetector, FaceDetector | None]]]:
    base = DetectionSettings()

    def hog() -> tuple[FaceDetector, FaceDetector | None]:
        return create_detector(base.model_copy(update={"fallback_detector": None})), None

    def hog_cnn() -> tuple[FaceDetector, FaceDetector | None]:
        assert base.fallback_detector is not None
        fallback = base.model_copy(
            update={"detector": base.fallback_detector, "min_face_px": base.fallback_min_face_px}
        )
        return create_detector(base), create_detector(fallback, max_pixels=base.fallback_max_pixels)

    configs = {"dlib-hog": hog, "dlib-hog + cnn": hog_cnn}
    if yunet is not None:

        def yunet_only() -> tuple[FaceDetector, FaceDetector | None]:
            settings = base.model_copy(
                update={
                    "detector": DetectorKind.YUNET,
                    "fallback_detector": None,
                    "yunet_model_path": yunet,
                    "yunet_model_sha256": sha256_file(yunet),
                }
            )
            return create_detector(settings), None

        configs["yunet"] = yunet_only
    return configs


def _run(
    name: str,
    build: Build,
    paths: list[Path],
    progress: Progress,
) -> dict[str, Any]:
    detector, fallback = build()
    limits = ImagingSettings()
    detector.detect(np.full((64, 64, 3), 128, dtype=np.uint8))  # load the models first
    if fallback is not None:
        fallback.detect(np.full((64, 64, 3), 128, dtype=np.uint8))
    no_face: list[str] = []
    faces = 0
    rescued = 0
    cpu = 0.0
    task = progress.add_task(name, total=len(paths))
    for path in paths:
        image = decode_image(path.read_bytes(), limits)
        start = time.process_time()
        found = detector.detect(image.pixels)
        if not found and fallback is not None:
            found = fallback.detect(image.pixels)
            rescued += bool(found)
        cpu += time.process_time() - start
        faces += len(found)
        if not found:
            no_face.append(path.name)
        progress.advance(task)
    return {
        "detector": name,
        "images": len(paths),
        "no_face": len(no_face),
        "no_face_share": len(no_face) / len(paths),
        "faces": faces,
        "faces_per_image": faces / len(paths),
        "rescued_by_fallback": rescued,
        "cpu_ms_per_image": 1000 * cpu / len(paths),
        "no_face_images": sorted(no_face),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw-dir", type=Path, default=None)
    parser.add_argument("--models-dir", type=Path, default=os.environ.get("FACESEARCH_MODELS_DIR"))
    parser.add_argument("--limit", type=int, default=None, help="first N images (sorted)")
    parser.add_argument("--only", default=None, help="comma-separated detector rows to run")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/lfw_detectors.json"))
    args = parser.parse_args()
    paths = sorted(Lfw.locate(args.lfw_dir).images.rglob("*.jpg"))[: args.limit]
    yunet = Path(args.models_dir) / YUNET_FILE if args.models_dir else None
    configs = _configs(yunet if yunet is not None and yunet.is_file() else None)
    if args.only:
        configs = {k: v for k, v in configs.items() if k in set(args.only.split(","))}

    console = Console(highlight=False)
    rows: list[dict[str, Any]] = []
    with Progress(console=console, transient=True) as progress:
        for name, build in configs.items():
            rows.append(_run(name, build, paths, progress))

    table = Table(title=f"Detectors over {len(paths):,} LFW images (min_face_px 40)")
    for column in ("detector", "no face", "share", "faces/image", "rescued by CNN", "CPU ms/image"):
        table.add_column(column, justify="left" if column == "detector" else "right")
    for row in rows:
        table.add_row(
            row["detector"],
            f"{row['no_face']:,}",
            f"{100 * row['no_face_share']:.2f}%",
            f"{row['faces_per_image']:.3f}",
            f"{row['rescued_by_fallback']:,}",
            f"{row['cpu_ms_per_image']:.1f}",
        )
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "lfw_detectors",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average": os.getloadavg(),
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
