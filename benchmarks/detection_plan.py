"""Detection plan cost: faces found and seconds per image size, planned passes vs one pass.

Synthetic photos: a grey canvas of each size with an LFW photo pasted so that its face is
about 130, 195, 260 and 325 px (where it fits). Each image is detected twice with dlib's
HOG detector at the default settings (``min_face_px`` 40, passes of at most 1600 px):

* ``one pass`` (the baseline, the plan before issue 9): the whole image resized once to
  ``min(window / min_face_px, max_detect_side / longest side)`` (large images downscaled,
  small ones upsampled), one detector pass;
* ``planned``: :class:`facesearch.detection.PlannedDetector`, tiles and levels so that a
  face of ``min_face_px`` reaches the detector's window at every size.

    .venv/bin/python benchmarks/detection_plan.py [--photo tests/data/lfw/Colin_Powell_0001.jpg]

Prints a table and writes ``benchmarks/results/detection_plan.json``. Not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from rich.console import Console
from rich.table import Table

from facesearch.detection import PlannedDetector, create_detector
from facesearch.detection.planned import same_face
from facesearch.settings import DetectionSettings
from facesearch.types import BoundingBox

SIZES = [(250, 250), (1600, 1200), (3000, 2000), (6000, 4000), (30000, 250)]
FACES = [130, 195, 260, 325]


def _canvas(
    width: int, height: int, photo: Image.Image, box: BoundingBox
) -> tuple[NDArray[np.uint8], list[BoundingBox]]:
    """The canvas with the photo pasted at each face size of ``FACES`` that fits (else once,
    as tall as the canvas), spread along it; the expected face boxes."""
    canvas = Image.new("RGB", (width, height), (118, 118, 118))
    sides = [s for s in FACES if round(photo.width * s / box.width) <= min(width, height)]
    sides = sides or [box.width * min(width, height) / photo.width]
    expected: list[BoundingBox] = []
    gap = (width - sum(round(photo.width * s / box.width) for s in sides)) // len(sides)
    x = gap // 2
    for side in sides:
        factor = side / box.width
        size = round(photo.width * factor)
        y = (height - size) // 2
        canvas.paste(photo.resize((size, size), Image.Resampling.BICUBIC), (x, y))
        b = box.scaled(factor)
        expected.append(BoundingBox(b.x1 + x, b.y1 + y, b.x2 + x, b.y2 + y))
        x += size + gap
    return np.asarray(canvas).copy(), expected


def _one_pass(
    detector: PlannedDetector, pixels: NDArray[np.uint8], tile_side: int
) -> list[BoundingBox]:
    height, width = pixels.shape[:2]
    scale = min(detector.core.window_px / detector.min_face_px, tile_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    small = np.asarray(image).copy()
    return [c.box.scaled(1 / scale) for c in detector.core.find(small)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=Path("tests/data/lfw/Colin_Powell_0001.jpg"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/detection_plan.json"))
    args = parser.parse_args()
    settings = DetectionSettings()
    detector = create_detector(settings)
    assert isinstance(detector, PlannedDetector)
    photo = Image.open(args.photo).convert("RGB")
    found = detector.detect(np.asarray(photo))
    box = min(
        found, key=lambda d: abs(d.box.x1 + d.box.x2 - 250) + abs(d.box.y1 + d.box.y2 - 250)
    ).box
    rows = []
    for width, height in SIZES:
        pixels, expected = _canvas(width, height, photo, box)
        plan = detector.plan(height, width)
        started = time.process_time()
        base = _one_pass(detector, pixels, settings.max_detect_side)
        base_s = time.process_time() - started
        started = time.process_time()
        planned = [d.box for d in detector.detect(pixels)]
        planned_s = time.process_time() - started

        def hits(boxes: list[BoundingBox], expected: list[BoundingBox] = expected) -> int:
            return sum(any(same_face(e, b) for b in boxes) for e in expected)

        rows.append(
            {
                "image": f"{width}x{height}",
                "faces": len(expected),
                "face_px": [round(e.width) for e in expected],
                "one_pass_found": hits(base),
                "planned_found": hits(planned),
                "planned_detections": len(planned),
                "one_pass_cpu_s": base_s,
                "planned_cpu_s": planned_s,
                "ratio": planned_s / base_s if base_s > 0 else None,
                "passes": len(plan.tiles),
                "levels": list(plan.scales),
                "detector_mpixels": plan.detector_pixels / 1e6,
                "largest_pass_mpixels": plan.largest_pass_pixels / 1e6,
            }
        )
    table = Table(title="HOG detection, min_face_px 40: one pass vs planned passes (CPU s)")
    for col in [
        "image",
        "faces",
        "found 1 pass",
        "found planned",
        "CPU s 1 pass",
        "CPU s planned",
        "planned/1 pass",
        "passes",
        "levels",
        "det. MP",
        "max pass MP",
    ]:
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["image"],
            str(r["faces"]),
            str(r["one_pass_found"]),
            str(r["planned_found"]),
            f"{r['one_pass_cpu_s']:.2f}",
            f"{r['planned_cpu_s']:.2f}",
            f"{r['ratio']:.1f}x" if r["ratio"] else "-",
            str(r["passes"]),
            ", ".join(f"{s:g}" for s in r["levels"]),
            f"{r['detector_mpixels']:.1f}",
            f"{r['largest_pass_mpixels']:.2f}",
        )
    Console(width=160).print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": platform.processor() or platform.machine(),
                "settings": settings.model_dump(mode="json"),
                "rows": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
