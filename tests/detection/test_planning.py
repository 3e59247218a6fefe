"""Detection planning: a face of ``min_face_px`` reaches the detector's window at every size.

Issue 9, item 3: large images used to be downscaled whole to ``max_detect_side``, so a
130 px face in a 6000x4000 photo (and any face in a 30000x250 strip) fell under the
detector's 80 px window. These tests check the plan's geometry for those images.
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

from facesearch.detection import DetectionPlan, plan_detection
from facesearch.detection.planning import OVERLAP_WINDOWS, smallest_face

WINDOW = 80


def _covering_tiles(plan: DetectionPlan, x: float, y: float, side: float) -> list[float]:
    """Scales of the tiles that hold the box whole and show it at least a window wide."""
    return [
        t.scale
        for t in plan.tiles
        if t.x0 <= x
        and t.y0 <= y
        and x + side <= t.x1
        and y + side <= t.y1
        and side * t.scale >= WINDOW - 1e-9
    ]


@pytest.mark.parametrize(
    ("height", "width", "min_face"),
    [
        (4000, 6000, 40),
        (250, 30000, 40),
        (250, 250, 40),
        (2000, 3000, 40),
        (1000, 1000, 12),
        (4000, 6000, 100),
    ],
)
def test_every_face_from_min_face_px_up_lies_whole_in_a_tile_that_shows_it_at_window_size(
    height: int, width: int, min_face: int
) -> None:
    plan = plan_detection(height, width, min_face_px=min_face, window_px=WINDOW, tile_side=1600)
    rng = random.Random(9)
    limit = min(height, width)
    sizes = [min_face, 130, 195, 260, 325, limit]
    for side in [s for s in sizes if min_face <= s <= limit]:
        for _ in range(300):
            x = rng.uniform(0, width - side)
            y = rng.uniform(0, height - side)
            assert _covering_tiles(plan, x, y, side), (side, x, y)


def test_passes_stay_bounded_and_the_large_photo_is_tiled_not_upsampled_whole() -> None:
    plan = plan_detection(4000, 6000, min_face_px=40, window_px=WINDOW, tile_side=1600)
    assert plan.scales[0] == 2.0  # a 40 px face becomes the 80 px window
    assert len(plan.tiles) > 1
    for tile in plan.tiles:
        width, height = tile.size
        assert max(width, height) <= 1600 + 2 * math.ceil(tile.scale)
    # levels at 2, 1, 0.5, then 0.25 where the whole image fits one pass; the coarser
    # levels add about 1/3 and the tile overlaps about 1/4 to the finest level's pixels
    assert plan.scales == (2.0, 1.0, 0.5, 0.25)
    assert plan.detector_pixels < 1.75 * 4000 * 6000 * 2.0**2
    strip = plan_detection(250, 30000, min_face_px=40, window_px=WINDOW, tile_side=1600)
    assert strip.largest_pass_pixels <= 1602 * 500


def test_small_images_are_one_pass_at_the_window_scale() -> None:
    plan = plan_detection(250, 250, min_face_px=40, window_px=WINDOW, tile_side=1600)
    assert [(t.x0, t.y0, t.x1, t.y1, t.scale) for t in plan.tiles] == [(0, 0, 250, 250, 2.0)]
    assert plan.tiles[0].size == (500, 500)
    big_faces = plan_detection(600, 800, min_face_px=100, window_px=WINDOW, tile_side=1600)
    assert [(t.scale, t.size) for t in big_faces.tiles] == [(0.8, (640, 480))]


def test_neighbouring_tiles_overlap_by_the_planned_margin() -> None:
    plan = plan_detection(4000, 6000, min_face_px=40, window_px=WINDOW, tile_side=1600)
    finest = [t for t in plan.tiles if t.scale == 2.0]
    xs = sorted({(t.x0, t.x1) for t in finest})
    for (_, a_end), (b_start, _) in itertools.pairwise(xs):
        assert (a_end - b_start) * 2.0 >= OVERLAP_WINDOWS * WINDOW


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        plan_detection(0, 100, min_face_px=40, window_px=WINDOW, tile_side=1600)


def test_a_pixel_budget_bounds_the_fallback_on_large_images_only() -> None:
    # the CNN fallback at 80 px on a 24 MP photo: 24 M detector pixels (3 to 5 minutes of
    # CPU) without a budget; with 2 M it sees the photo at sqrt(2/24) and looks for faces
    # from about 277 px, which costs at most the budget plus the coarser levels
    unbounded = plan_detection(4000, 6000, min_face_px=80, window_px=WINDOW, tile_side=1600)
    budget = 2_000_000
    bounded = plan_detection(
        4000, 6000, min_face_px=80, window_px=WINDOW, tile_side=1600, max_pixels=budget
    )
    assert unbounded.detector_pixels > 24_000_000
    assert bounded.scales[0] == pytest.approx(math.sqrt(budget / 24_000_000))
    assert bounded.detector_pixels <= budget * 2
    assert smallest_face(bounded, WINDOW) == pytest.approx(WINDOW / bounded.scales[0])
    # an image within the budget is planned as without one: min_face_px holds there
    small = plan_detection(250, 250, min_face_px=80, window_px=WINDOW, tile_side=1600)
    assert (
        plan_detection(
            250, 250, min_face_px=80, window_px=WINDOW, tile_side=1600, max_pixels=budget
        )
        == small
    )
    assert smallest_face(small, WINDOW) == 80
