"""Planned detection: faces of ``min_face_px`` are found once each at every image size.

Issue 9, item 3: a large image used to be downscaled whole to ``max_detect_side`` before
detection, so faces below ``min_face_px * longest / max_detect_side`` were missed (a 130 px
face in a 6000x4000 photo; any face in a 30000x250 strip). The real-detector tests paste
checked-in LFW photos into large canvases, at several sizes and across tile borders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from facesearch.detection import (
    Candidate,
    FaceDetector,
    PlannedDetector,
    create_detector,
    merge_candidates,
)
from facesearch.settings import DetectionSettings, DetectorKind
from facesearch.types import BoundingBox, Detection, Landmarks5


class _SquareFinder:
    """A fake window detector: every bright axis-aligned blob at least ``window_px`` a side
    in the pixels it is given (a blob cut by a tile edge comes back cut, as a real
    detector may return a cut face)."""

    name = "squares"

    def __init__(self, window_px: int) -> None:
        self.window_px = window_px
        self.calls: list[tuple[int, int]] = []

    def find(self, pixels: NDArray[np.uint8]) -> list[Candidate]:
        self.calls.append((pixels.shape[1], pixels.shape[0]))
        found = []
        for x0, y0, x1, y1 in _blobs(pixels[:, :, 0] > 127, 0, 0):
            if min(x1 - x0, y1 - y0) >= self.window_px:
                found.append(Candidate(BoundingBox(x0, y0, x1, y1), float(x1 - x0)))
        return found

    def landmarks(self, pixels: NDArray[np.uint8], box: BoundingBox) -> Landmarks5:
        cx, cy = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
        return Landmarks5(((cx + 2, cy), (cx + 1, cy), (cx - 2, cy), (cx - 1, cy), (cx, cy + 1)))


def _blobs(mask: NDArray[np.bool_], ox: int, oy: int) -> list[tuple[int, int, int, int]]:
    """Boxes of the separate rectangles in ``mask`` (split by empty columns, then rows)."""
    cols = _runs(mask.any(axis=0))
    rows = _runs(mask.any(axis=1))
    if len(cols) == 1 and len(rows) == 1:
        (x0, x1), (y0, y1) = cols[0], rows[0]
        return [(ox + x0, oy + y0, ox + x1, oy + y1)]
    boxes = []
    for x0, x1 in cols:
        for y0, y1 in _runs(mask[:, x0:x1].any(axis=1)):
            boxes += _blobs(mask[y0:y1, x0:x1], ox + x0, oy + y0)
    return boxes


def _runs(flags: NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _iou(a: BoundingBox, b: BoundingBox) -> float:
    w = min(a.x2, b.x2) - max(a.x1, b.x1)
    h = min(a.y2, b.y2) - max(a.y1, b.y1)
    inter = max(0.0, w) * max(0.0, h)
    return inter / (a.area + b.area - inter)


def _found_once(detections: list[Detection], expected: list[BoundingBox], iou: float) -> None:
    for want in expected:
        hits = [d for d in detections if _iou(d.box, want) > iou]
        assert len(hits) == 1, (want, [d.box for d in detections])
        overlapping = [d for d in detections if _iou(d.box, want) > 0.0]
        assert len(overlapping) == 1, f"duplicate or cut detection of {want}: {overlapping}"


def test_squares_across_tile_borders_are_found_once_with_their_whole_box() -> None:
    finder = _SquareFinder(window_px=20)
    detector = PlannedDetector(finder, min_face_px=20, tile_side=200)
    height, width = 700, 1300
    plan = detector.plan(height, width)
    assert len(plan.scales) > 1 and len(plan.tiles) > 10
    finest = [t for t in plan.tiles if t.scale == plan.scales[0]]
    borders_x = sorted({t.x0 for t in finest if t.x0 > 0})
    borders_y = sorted({t.y0 for t in finest if t.y0 > 0})
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    expected = []
    # straddling vertical borders, horizontal borders, and corners where four tiles meet
    spots = [(bx, 60) for bx in borders_x[:4]] + [(60, by) for by in borders_y[:3]]
    spots += [(bx, by) for bx, by in zip(borders_x[4:], borders_y, strict=False)]
    sizes = [20, 33, 47, 90, 160, 300]
    for i, (cx, cy) in enumerate(spots):
        side = sizes[i % len(sizes)]
        x0 = min(max(cx - side // 2, 0), width - side)
        y0 = min(max(cy - side // 2, 0), height - side)
        if any(
            _iou(BoundingBox(x0 - 4, y0 - 4, x0 + side + 4, y0 + side + 4), e) > 0 for e in expected
        ):
            continue
        pixels[y0 : y0 + side, x0 : x0 + side] = 255
        expected.append(BoundingBox(x0, y0, x0 + side, y0 + side))
    assert len(expected) >= 8
    detections = detector.detect(pixels)
    _found_once(detections, expected, iou=0.8)
    assert len(detections) == len(expected)
    for tile_size in finder.calls:
        assert max(tile_size) <= 202  # never the whole upsampled image


def test_merge_prefers_a_whole_face_to_a_cut_one_even_at_a_lower_score() -> None:
    whole = Candidate(BoundingBox(100, 100, 200, 200), 1.0)
    cut = Candidate(BoundingBox(150, 100, 200, 200), 2.0)
    other = Candidate(BoundingBox(400, 100, 480, 180), 0.5)
    kept = merge_candidates([(cut, True), (whole, False), (other, False)])
    assert kept == [whole, other]


@pytest.fixture(scope="module")
def colin(test_images: dict[str, list[Path]]) -> tuple[Image.Image, BoundingBox]:
    """A checked-in LFW photo (250x250) and its face box found by HOG at that size."""
    photo = Image.open(test_images["Colin_Powell"][0]).convert("RGB")
    found = create_detector(DetectionSettings()).detect(np.asarray(photo))
    centre = min(
        found, key=lambda d: abs(d.box.x1 + d.box.x2 - 250) + abs(d.box.y1 + d.box.y2 - 250)
    )
    return photo, centre.box


def _canvas(
    width: int,
    height: int,
    colin: tuple[Image.Image, BoundingBox],
    faces: list[tuple[int, int, int]],
) -> tuple[NDArray[np.uint8], list[BoundingBox]]:
    """Paste the photo so that its face is ``side`` px with its centre at ``(cx, cy)``."""
    photo, box = colin
    canvas = Image.new("RGB", (width, height), (118, 118, 118))
    expected = []
    for side, cx, cy in faces:
        factor = side / box.width
        size = round(250 * factor)
        x0 = round(cx - (box.x1 + box.x2) / 2 * factor)
        y0 = round(cy - (box.y1 + box.y2) / 2 * factor)
        x0, y0 = min(max(x0, 0), width - size), min(max(y0, 0), height - size)
        canvas.paste(photo.resize((size, size), Image.Resampling.BICUBIC), (x0, y0))
        b = box.scaled(factor)
        expected.append(BoundingBox(b.x1 + x0, b.y1 + y0, b.x2 + x0, b.y2 + y0))
    return np.asarray(canvas).copy(), expected


def test_a_panorama_keeps_min_face_px_with_faces_across_tile_borders(
    colin: tuple[Image.Image, BoundingBox],
) -> None:
    # 6000 px wide: the old plan shrank it to 1600 px (and could only upsample once within
    # 4 MP), so faces under about 150 px fell below the 80 px window; min_face_px is 80 here
    detector = create_detector(DetectionSettings(min_face_px=80))
    assert isinstance(detector, PlannedDetector)
    plan = detector.plan(1000, 6000)
    borders = sorted({t.x0 for t in plan.tiles if t.scale == 1.0 and t.x0 > 0})
    faces = [
        (90, 300, 500),
        (110, borders[0], 300),
        (130, borders[1], 700),
        (195, borders[2] + 15, 400),
        (260, borders[3], 620),
        (325, 5500, 450),
    ]
    pixels, expected = _canvas(6000, 1000, colin, faces)
    _found_once(detector.detect(pixels), expected, iou=0.5)


def test_a_30000_by_250_strip_finds_its_face(colin: tuple[Image.Image, BoundingBox]) -> None:
    detector = create_detector(DetectionSettings(min_face_px=80))
    pixels, expected = _canvas(30000, 250, colin, [(110, 17000, 125)])
    _found_once(detector.detect(pixels), expected, iou=0.5)


def test_the_fallback_cnn_is_planned_the_same_way(colin: tuple[Image.Image, BoundingBox]) -> None:
    cnn: FaceDetector = create_detector(
        DetectionSettings(detector=DetectorKind.DLIB_CNN, min_face_px=80, max_detect_side=400)
    )
    assert isinstance(cnn, PlannedDetector) and cnn.name == "dlib-cnn"
    plan = cnn.plan(250, 700)
    borders = sorted({t.x0 for t in plan.tiles if t.scale == 1.0 and t.x0 > 0})
    assert borders, plan
    pixels, expected = _canvas(700, 250, colin, [(100, borders[0], 125), (130, 600, 125)])
    _found_once(cnn.detect(pixels), expected, iou=0.4)
