"""Any :class:`WindowDetector` run over a detection plan: scales, tiles, merging, landmarks."""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from facesearch.detection.base import Candidate, WindowDetector, gives_keypoints
from facesearch.detection.planning import DetectionPlan, Tile, plan_detection, smallest_face
from facesearch.types import BoundingBox, Detection, Keypoints5, Landmarks5

logger = logging.getLogger(__name__)

#: Two boxes are the same face when their intersection over union exceeds this ...
NMS_IOU = 0.4
#: ... or when their intersection covers this much of the smaller box (a face found whole
#: at one level and again, cut or loosely boxed, at another).
NMS_COVER = 0.6
#: A box within this fraction of its side of a tile's inner edge may be a cut face.
EDGE_MARGIN = 0.05


def _intersection(a: BoundingBox, b: BoundingBox) -> float:
    w = min(a.x2, b.x2) - max(a.x1, b.x1)
    h = min(a.y2, b.y2) - max(a.y1, b.y1)
    return max(0.0, w) * max(0.0, h)


def same_face(a: BoundingBox, b: BoundingBox) -> bool:
    """Whether two boxes are one face (:data:`NMS_IOU`, :data:`NMS_COVER`)."""
    inter = _intersection(a, b)
    if inter <= 0.0:
        return False
    union = a.area + b.area - inter
    smaller = min(a.area, b.area)
    return inter / union > NMS_IOU or (smaller > 0 and inter / smaller > NMS_COVER)


def merge_candidates(found: list[tuple[Candidate, bool]]) -> list[Candidate]:
    """Greedy non-maximum suppression over candidates from all passes, in original pixels.

    ``found`` pairs each candidate with whether it touches an inner tile edge (possibly a
    cut face). Whole candidates are preferred to possibly-cut ones, then higher scores;
    each kept candidate suppresses every later one :func:`same_face` with it. Returns the
    kept candidates, highest score first.
    """
    order = sorted(found, key=lambda item: (item[1], -item[0].score))
    kept: list[Candidate] = []
    for candidate, _ in order:
        if not any(same_face(candidate.box, k.box) for k in kept):
            kept.append(candidate)
    kept.sort(key=lambda c: c.score, reverse=True)
    return kept


def _region(pixels: NDArray[np.uint8], tile: Tile) -> NDArray[np.uint8]:
    """The tile's pixels at detector resolution (only this region is ever resized)."""
    crop = pixels[tile.y0 : tile.y1, tile.x0 : tile.x1]
    size = tile.size
    if size == (crop.shape[1], crop.shape[0]):
        return np.ascontiguousarray(crop)
    image = Image.fromarray(np.ascontiguousarray(crop))
    if tile.scale < 1.0:
        resized = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    else:
        resized = image.resize(size, Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(resized, dtype=np.uint8))


def _touches_inner_edge(box: BoundingBox, tile: Tile, size: tuple[int, int]) -> bool:
    margin = EDGE_MARGIN * max(box.width, box.height)
    width, height = size
    return (
        ("left" in tile.interior_edges and box.x1 <= margin)
        or ("top" in tile.interior_edges and box.y1 <= margin)
        or ("right" in tile.interior_edges and box.x2 >= width - margin)
        or ("bottom" in tile.interior_edges and box.y2 >= height - margin)
    )


class PlannedDetector:
    """A :class:`~facesearch.detection.base.FaceDetector` over any window detector.

    ``detect(pixels)`` plans the passes for ``(h, w, 3)`` uint8 RGB pixels
    (:func:`~facesearch.detection.planning.plan_detection` with ``min_face_px`` and
    ``tile_side``), runs ``core.find`` on each tile at its scale, maps candidates back to
    the original pixels, merges duplicates (:func:`merge_candidates`), adds the core's
    landmarks where it gave none, and returns detections highest score first.
    """

    def __init__(
        self,
        core: WindowDetector,
        *,
        min_face_px: int,
        tile_side: int,
        max_pixels: int | None = None,
    ) -> None:
        self.core = core
        self.name = core.name
        self.gives_keypoints = gives_keypoints(core)
        self.min_face_px = min_face_px
        self.tile_side = tile_side
        self.max_pixels = max_pixels

    def plan(self, height: int, width: int) -> DetectionPlan:
        """The passes this detector makes over an image of ``height`` x ``width`` pixels."""
        return plan_detection(
            height,
            width,
            min_face_px=self.min_face_px,
            window_px=self.core.window_px,
            tile_side=self.tile_side,
            max_pixels=self.max_pixels,
        )

    def detect(self, pixels: NDArray[np.uint8]) -> list[Detection]:
        height, width = pixels.shape[:2]
        plan = self.plan(height, width)
        smallest = smallest_face(plan, self.core.window_px)
        if smallest > self.min_face_px * 1.01:
            logger.info(
                "%s: a %dx%d image exceeds its pixel budget (%s): faces from %.0f px, "
                "not %d px, are looked for",
                self.name,
                width,
                height,
                self.max_pixels,
                smallest,
                self.min_face_px,
            )
        if len(plan.tiles) > 1:
            logger.debug(
                "%s: %d passes at scales %s, %d detector pixels",
                self.name,
                len(plan.tiles),
                plan.scales,
                plan.detector_pixels,
            )
        found: list[tuple[Candidate, bool]] = []
        for tile in plan.tiles:
            region = _region(pixels, tile)
            size = (region.shape[1], region.shape[0])
            fx = size[0] / (tile.x1 - tile.x0)
            fy = size[1] / (tile.y1 - tile.y0)
            for c in self.core.find(region):
                box = BoundingBox(
                    tile.x0 + c.box.x1 / fx,
                    tile.y0 + c.box.y1 / fy,
                    tile.x0 + c.box.x2 / fx,
                    tile.y0 + c.box.y2 / fy,
                )
                marks = None
                if c.landmarks is not None:
                    marks = Landmarks5(
                        tuple((tile.x0 + x / fx, tile.y0 + y / fy) for x, y in c.landmarks.points)
                    )
                keys = None
                if c.keypoints is not None:
                    keys = Keypoints5(
                        tuple((tile.x0 + x / fx, tile.y0 + y / fy) for x, y in c.keypoints.points)
                    )
                cut = _touches_inner_edge(c.box, tile, size)
                found.append((Candidate(box, c.score, marks, keys), cut))
        detections = []
        for c in merge_candidates(found):
            box = c.box.clipped(width, height)
            if box.width < 2 or box.height < 2:
                continue
            marks = c.landmarks if c.landmarks is not None else self.core.landmarks(pixels, c.box)
            detections.append(
                Detection(
                    box=box,
                    score=float(c.score),
                    landmarks=marks,
                    detector=self.name,
                    keypoints=c.keypoints,
                )
            )
        return detections
