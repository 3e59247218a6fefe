"""Detection planning: which scales and tiles a detector runs on, so ``min_face_px`` holds.

A detector finds faces from its window (``window_px``, 80 px for dlib's HOG and MMOD)
upwards in the pixels it is given. To find faces of ``min_face_px`` in the original image,
the image must be presented at ``scale = window_px / min_face_px`` (2.0 for 40 px faces).
A small image is simply resized by that factor and run once. A large one would become
huge at that scale (a 6000x4000 photo: 12000x8000), so it is cut into tiles of at most
``tile_side`` pixels a side at detector resolution, overlapping so that any face this
level is responsible for lies whole inside at least one tile.

Levels. The detector's own pyramid also finds faces larger than its window, but a face
larger than the tile overlap can be cut by every tile. So the plan is a ladder of levels,
``scale_k = scale_0 / 2**k``: level ``k`` is responsible for faces of ``window_px`` to
``2 * window_px`` at its own resolution (``window_px / scale_k`` to ``2 * window_px /
scale_k`` original pixels), and its tiles overlap by :data:`OVERLAP_WINDOWS` windows
(twice the largest face it is responsible for, plus a quarter for context). The ladder
ends at the first level whose whole image fits in one tile (it finds every larger face),
or once a face that level is responsible for could no longer fit in the image's shorter
side. The levels cost about 4/3 of the finest level; memory is bounded by one tile
(``tile_side`` squared pixels) plus the source region it is cut from. Duplicates across
tiles and levels are merged by non-maximum suppression
(:func:`facesearch.detection.planned.merge_candidates`).

The method is the usual sliding-window tiling of large images (as in SAHI, "Slicing Aided
Hyper Inference", Akyon et al., 2022) combined with the classic factor-2 image pyramid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Overlap of neighbouring tiles, in detector windows: a level finds faces up to twice
#: its window, plus a quarter of that for the context around a face.
OVERLAP_WINDOWS = 2.5


@dataclass(frozen=True, slots=True)
class Tile:
    """One detector pass: the region ``[x0, x1) x [y0, y1)`` of the original image (whole
    pixels) resized by ``scale`` before the detector sees it. ``interior_edges`` says which
    sides (``"left"``, ``"top"``, ``"right"``, ``"bottom"``) cut through the image rather
    than lie on its border: a face touching one of them may be cut."""

    x0: int
    y0: int
    x1: int
    y1: int
    scale: float
    interior_edges: frozenset[str] = frozenset()

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels at detector resolution."""
        return (
            max(1, round((self.x1 - self.x0) * self.scale)),
            max(1, round((self.y1 - self.y0) * self.scale)),
        )

    @property
    def pixels(self) -> int:
        width, height = self.size
        return width * height


@dataclass(frozen=True, slots=True)
class DetectionPlan:
    """The passes of one image, finest level first."""

    tiles: tuple[Tile, ...]

    @property
    def scales(self) -> tuple[float, ...]:
        """The levels' scales, finest (largest) first."""
        return tuple(sorted({t.scale for t in self.tiles}, reverse=True))

    @property
    def detector_pixels(self) -> int:
        """Pixels the detector processes in all passes together (its CPU cost)."""
        return sum(t.pixels for t in self.tiles)

    @property
    def largest_pass_pixels(self) -> int:
        """Pixels of the largest single pass (bounds the detector's memory)."""
        return max(t.pixels for t in self.tiles)


def _spans(length: int, scale: float, tile_side: int, overlap: float) -> list[tuple[int, int]]:
    """Evenly spaced ``[start, end)`` spans covering ``length`` original pixels; each is at
    most ``tile_side`` pixels once scaled, neighbours overlap by ``overlap`` scaled pixels."""
    scaled = length * scale
    if scaled <= tile_side:
        return [(0, length)]
    count = math.ceil((scaled - overlap) / (tile_side - overlap))
    span = (scaled + (count - 1) * overlap) / count / scale  # original pixels
    step = (length - span) / (count - 1)
    spans = []
    for i in range(count):
        start = math.floor(i * step)
        end = length if i == count - 1 else min(length, math.ceil(i * step + span))
        spans.append((start, end))
    return spans


def plan_detection(
    height: int,
    width: int,
    *,
    min_face_px: int,
    window_px: int,
    tile_side: int,
    max_pixels: int | None = None,
) -> DetectionPlan:
    """Plan the passes that find every face of ``min_face_px`` and up in an image.

    ``height``, ``width``: the image, pixels. ``min_face_px``: smallest face side to find,
    original pixels. ``window_px``: the detector's smallest face at scale 1.
    ``tile_side``: longest side of one pass at detector resolution (raised to at least
    ``2 * OVERLAP_WINDOWS * window_px`` so tiles advance). ``max_pixels``: a CPU budget
    (``None``: none) for detectors too slow to honour ``min_face_px`` on large images (the
    CNN fallback, about 7 us a pixel): the finest level is scaled so the whole image holds
    at most this many pixels there, so faces smaller than ``window_px / scale`` are not
    looked for in such an image (:func:`smallest_face`). Raises ``ValueError`` for
    non-positive arguments. See the module docstring for the method.
    """
    if min(height, width, min_face_px, window_px, tile_side) <= 0:
        raise ValueError("image sides, min_face_px, window_px and tile_side must be positive")
    if max_pixels is not None and max_pixels <= 0:
        raise ValueError("max_pixels must be positive")
    overlap = OVERLAP_WINDOWS * window_px
    tile_side = max(tile_side, math.ceil(2 * overlap))
    scale = window_px / min_face_px
    if max_pixels is not None:
        scale = min(scale, math.sqrt(max_pixels / (height * width)))
    tiles: list[Tile] = []
    while True:
        rows = _spans(height, scale, tile_side, overlap)
        cols = _spans(width, scale, tile_side, overlap)
        for y0, y1 in rows:
            for x0, x1 in cols:
                edges = {
                    name
                    for name, inner in (
                        ("left", x0 > 0),
                        ("top", y0 > 0),
                        ("right", x1 < width),
                        ("bottom", y1 < height),
                    )
                    if inner
                }
                tiles.append(Tile(x0, y0, x1, y1, scale, frozenset(edges)))
        if len(rows) == 1 and len(cols) == 1:
            break  # the whole image in one pass: the detector's pyramid finds all larger faces
        scale /= 2
        if window_px / scale > min(height, width):
            break  # the next level's faces would not fit in the image
    return DetectionPlan(tuple(tiles))


def smallest_face(plan: DetectionPlan, window_px: int) -> float:
    """The smallest face side (original pixels) ``plan`` finds with a ``window_px`` detector:
    ``min_face_px`` unless a pixel budget lowered the finest scale."""
    return window_px / plan.scales[0]
