"""encode_jpeg, make_thumbnail, thumbnail_size and crop_with_margin."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facesearch.imaging import crop_with_margin, encode_jpeg, make_thumbnail, thumbnail_size
from facesearch.types import BoundingBox

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _coordinate_image(height: int, width: int) -> np.ndarray:
    """``(h, w, 3)`` uint8 whose pixel (y, x) is (y % 256, x % 256, 7): content = position."""
    ys, xs = np.indices((height, width))
    return np.stack([ys % 256, xs % 256, np.full_like(ys, 7)], axis=2).astype(np.uint8)


# --- encode_jpeg -----------------------------------------------------------------------
def test_encode_jpeg_decodes_back(quadrants) -> None:
    pixels = quadrants(64, 48)

    data = encode_jpeg(pixels, quality=95)

    assert data[:3] == b"\xff\xd8\xff"
    image = _open(data)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (64, 48))
    back = np.asarray(image).astype(int)
    for (y, x), colour in {
        (12, 16): RED,
        (12, 48): GREEN,
        (36, 16): BLUE,
        (36, 48): YELLOW,
    }.items():
        assert np.abs(back[y, x] - np.array(colour)).max() <= 12


def test_encode_jpeg_quality_changes_size() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert len(encode_jpeg(pixels, quality=30)) < len(encode_jpeg(pixels, quality=95))


def test_encode_jpeg_accepts_non_contiguous_views(quadrants) -> None:
    view = quadrants(64, 48)[:, ::2]  # (48, 32, 3), not C-contiguous
    assert not view.flags.c_contiguous
    assert _open(encode_jpeg(view)).size == (32, 48)


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((10, 10), dtype=np.uint8),
        np.zeros((10, 10, 4), dtype=np.uint8),
        np.zeros((10, 10, 3), dtype=np.float32),
        np.zeros((0, 10, 3), dtype=np.uint8),
    ],
    ids=["grey", "rgba", "float", "empty"],
)
def test_encode_jpeg_rejects_non_rgb_uint8(pixels) -> None:
    with pytest.raises(ValueError, match="expected"):
        encode_jpeg(pixels)


@pytest.mark.parametrize("quality", [0, 101])
def test_encode_jpeg_rejects_bad_quality(quality) -> None:
    with pytest.raises(ValueError, match="quality"):
        encode_jpeg(np.zeros((8, 8, 3), dtype=np.uint8), quality=quality)


# --- make_thumbnail --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("width", "height", "max_side", "expected"),
    [
        (400, 200, 160, (160, 80)),
        (90, 300, 160, (48, 160)),
        (1000, 3, 100, (100, 1)),  # never below one pixel
        (333, 250, 100, (100, 75)),
        (50, 30, 160, (50, 30)),  # smaller than max_side: not enlarged
    ],
)
def test_thumbnail_keeps_aspect_and_max_side(width, height, max_side, expected) -> None:
    pixels = np.full((height, width, 3), 128, dtype=np.uint8)

    image = _open(make_thumbnail(pixels, max_side=max_side))

    assert image.format == "JPEG"
    assert image.size == expected
    assert thumbnail_size(width, height, max_side) == expected


def test_thumbnail_keeps_the_picture(quadrants) -> None:
    pixels = quadrants(400, 200)

    small = np.asarray(_open(make_thumbnail(pixels, max_side=100, quality=95))).astype(int)

    assert small.shape == (50, 100, 3)
    for (y, x), colour in {
        (12, 25): RED,
        (12, 75): GREEN,
        (37, 25): BLUE,
        (37, 75): YELLOW,
    }.items():
        assert np.abs(small[y, x] - np.array(colour)).max() <= 12


def test_thumbnail_rejects_bad_max_side() -> None:
    with pytest.raises(ValueError, match="max_side"):
        make_thumbnail(np.zeros((8, 8, 3), dtype=np.uint8), max_side=0)


# --- crop_with_margin ------------------------------------------------------------------
def test_crop_in_the_middle_adds_the_margin_each_side() -> None:
    pixels = _coordinate_image(100, 120)

    crop = crop_with_margin(pixels, BoundingBox(40, 30, 60, 50), margin=0.4)

    # 20 x 20 box, 8 px added each side: x 32..68, y 22..58.
    assert crop.shape == (36, 36, 3)
    np.testing.assert_array_equal(crop, pixels[22:58, 32:68])
    assert crop.flags.c_contiguous


def test_crop_margin_is_relative_to_width_and_height_separately() -> None:
    pixels = _coordinate_image(100, 120)

    crop = crop_with_margin(pixels, BoundingBox(40, 20, 80, 40), margin=0.25)

    # 40 wide -> 10 px left and right; 20 high -> 5 px above and below.
    np.testing.assert_array_equal(crop, pixels[15:45, 30:90])


def test_crop_is_clipped_at_the_borders() -> None:
    pixels = _coordinate_image(100, 120)

    top_left = crop_with_margin(pixels, BoundingBox(5, 5, 25, 25), margin=0.5)
    bottom_right = crop_with_margin(pixels, BoundingBox(100, 80, 130, 110), margin=0.5)

    np.testing.assert_array_equal(top_left, pixels[0:35, 0:35])
    np.testing.assert_array_equal(bottom_right, pixels[65:100, 85:120])


def test_crop_with_zero_margin_rounds_fractional_boxes_outwards() -> None:
    pixels = _coordinate_image(50, 50)

    crop = crop_with_margin(pixels, BoundingBox(10.5, 12.2, 20.5, 30.9), margin=0.0)

    np.testing.assert_array_equal(crop, pixels[12:31, 10:21])


def test_crop_is_a_copy() -> None:
    pixels = _coordinate_image(50, 50)

    crop = crop_with_margin(pixels, BoundingBox(0, 0, 50, 50), margin=0.0)
    crop[:] = 0

    assert pixels.max() > 0


@pytest.mark.parametrize(
    ("box", "margin", "match"),
    [
        (BoundingBox(200, 200, 220, 220), 0.4, "does not overlap"),
        (BoundingBox(-50, -50, -30, -30), 0.1, "does not overlap"),
        (BoundingBox(10, 10, 10, 20), 0.4, "empty box"),
        (BoundingBox(10, 10, 20, 20), -0.1, "margin"),
    ],
)
def test_crop_rejects_impossible_boxes(box, margin, match) -> None:
    with pytest.raises(ValueError, match=match):
        crop_with_margin(_coordinate_image(100, 120), box, margin=margin)


def test_thumbnail_of_a_crop(quadrants) -> None:
    # The pipeline's use: crop a face box with a margin, then thumbnail it.
    pixels = quadrants(640, 480)
    crop = crop_with_margin(pixels, BoundingBox(100, 100, 300, 400), margin=0.3)

    image = _open(make_thumbnail(crop, max_side=160))

    # 200 x 300 box grows 60 px left/right and 90 px up/down: x 40..360, y 10..490 -> 480.
    np.testing.assert_array_equal(crop, pixels[10:480, 40:360])
    assert image.size == (109, 160)
