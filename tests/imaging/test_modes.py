"""decode_image: every pixel mode becomes RGB uint8; first frames; EXIF orientation."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from facesearch.imaging import decode_image

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
ORIENTATION = 0x0112


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def _assert_colour(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int) -> None:
    diff = np.abs(pixels.astype(int) - np.array(colour)).max()
    assert diff <= tolerance, f"max difference {diff} from {colour}"


# --- multi-frame -----------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "tolerance"), [("GIF", 0), ("TIFF", 0), ("WEBP", 10)])
def test_multi_frame_files_yield_the_first_frame(fmt, tolerance, encode, limits) -> None:
    frames = [Image.new("RGB", (64, 48), colour) for colour in (RED, GREEN, BLUE)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    assert getattr(_open(data), "n_frames", 1) == 3  # fixture sanity: really animated

    decoded = decode_image(data, limits)

    assert decoded.pixels.shape == (48, 64, 3)
    _assert_colour(decoded.pixels, RED, tolerance)


# --- colour modes ----------------------------------------------------------------------
def test_cmyk_jpeg_adobe_inverted(encode, limits) -> None:
    cmyk = Image.new("CMYK", (64, 64), (0, 255, 255, 0))  # full magenta + yellow = red
    cmyk.paste((0, 0, 0, 128), (0, 32, 64, 64))  # half black ink = mid grey
    data = encode(cmyk, "JPEG", quality=95)
    opened = _open(data)
    assert opened.mode == "CMYK" and "adobe" in opened.info  # Pillow writes inverted CMYK

    decoded = decode_image(data, limits)

    _assert_colour(decoded.pixels[8:24, 8:56], RED, 12)
    _assert_colour(decoded.pixels[40:56, 8:56], (127, 127, 127), 12)


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("CMYK", (0, 255, 255, 0), RED),
        ("YCbCr", (76, 85, 255), RED),
        ("LAB", (136, 208, 195), RED),  # CIELab of sRGB red, 8-bit encoded
    ],
)
def test_tiff_colour_spaces_convert_to_rgb(mode, value, expected, encode, limits) -> None:
    data = encode(Image.new(mode, (40, 40), value), "TIFF")
    assert _open(data).mode == mode

    decoded = decode_image(data, limits)

    _assert_colour(decoded.pixels, expected, 16)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grey_keeps_the_high_byte(fmt, encode, limits) -> None:
    bands = np.array([0, 0x8000, 0xFFFF, 0x12FF], dtype=np.uint16)
    grey16 = np.repeat(np.repeat(bands, 16)[np.newaxis, :], 40, axis=0)  # (40, 64)
    data = encode(Image.fromarray(grey16), fmt)
    assert _open(data).mode.startswith("I;16")

    decoded = decode_image(data, limits)

    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape == (40, 64, 3)
    expected = np.repeat(np.array([0, 128, 255, 0x12], dtype=np.uint8), 16)
    for channel in range(3):
        np.testing.assert_array_equal(decoded.pixels[0, :, channel], expected)


def test_16_bit_rgb_png_is_reduced_to_8_bits(raw_png, limits) -> None:
    pixel = struct.pack(">HHH", 0xFFFF, 0x8000, 0x00FF)
    row = b"\x00" + pixel * 40
    data = raw_png(40, 40, bit_depth=16, colour_type=2, scanlines=row * 40)
    assert _open(data).mode == "RGB"

    decoded = decode_image(data, limits)

    assert decoded.pixels.shape == (40, 40, 3)
    assert (decoded.pixels == np.array([255, 128, 0], dtype=np.uint8)).all()


def test_32_bit_int_grey_is_stretched_to_its_range(encode, limits) -> None:
    bands = np.array([-1000, 0, 1000, 3000], dtype=np.int32)
    data = encode(Image.fromarray(np.repeat(np.repeat(bands, 16)[None, :], 40, axis=0)), "TIFF")
    assert _open(data).mode == "I"

    decoded = decode_image(data, limits)

    got = decoded.pixels[0, ::16, 0].astype(int)
    np.testing.assert_allclose(got, [0, 64, 128, 255], atol=1)
    assert (decoded.pixels[..., 0] == decoded.pixels[..., 2]).all()


def test_float_grey_is_stretched_and_non_finite_values_become_black(encode, limits) -> None:
    bands = np.array([0.0, 0.25, np.nan, 1.0], dtype=np.float32)
    data = encode(Image.fromarray(np.repeat(np.repeat(bands, 16)[None, :], 40, axis=0)), "TIFF")
    assert _open(data).mode == "F"

    decoded = decode_image(data, limits)

    np.testing.assert_allclose(decoded.pixels[0, ::16, 1].astype(int), [0, 64, 0, 255], atol=1)


def test_constant_float_image_is_clipped_not_stretched(encode, limits) -> None:
    data = encode(Image.new("F", (40, 40), 7.0), "TIFF")
    assert (decode_image(data, limits).pixels == 7).all()


def test_rgba_png_alpha_is_composited_onto_white(encode, limits) -> None:
    rgba = np.zeros((64, 64, 4), dtype=np.uint8)
    rgba[:, :32] = (10, 20, 30, 0)  # fully transparent, with junk colour underneath
    rgba[:32, 32:] = (255, 0, 0, 255)  # opaque red
    rgba[32:, 32:] = (0, 0, 255, 128)  # half-transparent blue
    data = encode(Image.fromarray(rgba), "PNG")
    assert _open(data).mode == "RGBA"

    pixels = decode_image(data, limits).pixels

    _assert_colour(pixels[:, :32], WHITE, 0)
    _assert_colour(pixels[:32, 32:], RED, 0)
    _assert_colour(pixels[32:, 32:], (127, 127, 255), 1)


def test_grey_with_alpha_is_composited_onto_white(encode, limits) -> None:
    la = Image.new("LA", (64, 64), (100, 255))
    la.paste((100, 0), (0, 0, 32, 64))
    data = encode(la, "PNG")
    assert _open(data).mode == "LA"

    pixels = decode_image(data, limits).pixels

    _assert_colour(pixels[:, :32], WHITE, 0)
    _assert_colour(pixels[:, 32:], (100, 100, 100), 0)


def test_palette_png_with_transparency(encode, limits) -> None:
    palette = Image.new("P", (64, 64), 1)
    palette.putpalette([0, 0, 0, *RED, *BLUE] + [0] * (253 * 3))
    palette.paste(0, (0, 0, 32, 64))  # index 0 (black in the palette) is transparent
    palette.paste(2, (32, 32, 64, 64))
    data = encode(palette, "PNG", transparency=0)
    opened = _open(data)
    assert opened.mode == "P" and opened.info.get("transparency") is not None

    pixels = decode_image(data, limits).pixels

    _assert_colour(pixels[:, :32], WHITE, 0)
    _assert_colour(pixels[:32, 32:], RED, 0)
    _assert_colour(pixels[32:, 32:], BLUE, 0)


@pytest.mark.parametrize(("mode", "colour"), [("L", 0), ("RGB", (0, 0, 0))])
def test_single_colour_transparency_trns_becomes_white(mode, colour, encode, limits) -> None:
    image = Image.new(mode, (64, 64), colour)
    image.paste(200 if mode == "L" else (200, 200, 200), (32, 0, 64, 64))
    data = encode(image, "PNG", transparency=colour)
    assert "transparency" in _open(data).info

    pixels = decode_image(data, limits).pixels

    _assert_colour(pixels[:, :32], WHITE, 0)
    _assert_colour(pixels[:, 32:], (200, 200, 200), 0)


def test_palette_gif_without_transparency(encode, limits) -> None:
    palette = Image.new("P", (40, 40), 1)
    palette.putpalette([*BLUE, *GREEN] + [0] * (254 * 3))
    data = encode(palette, "GIF")

    _assert_colour(decode_image(data, limits).pixels, GREEN, 0)


@pytest.mark.parametrize("fmt", ["BMP", "PNG", "TIFF"])
def test_bilevel_images(fmt, encode, limits) -> None:
    board = (np.indices((64, 64)).sum(axis=0) // 8) % 2 == 1  # 8-px checkerboard
    data = encode(Image.fromarray(board), fmt)
    assert _open(data).mode == "1"

    pixels = decode_image(data, limits).pixels

    expected = np.where(board, 255, 0).astype(np.uint8)
    for channel in range(3):
        np.testing.assert_array_equal(pixels[..., channel], expected)


def test_8_bit_grey_jpeg(encode, limits) -> None:
    data = encode(Image.new("L", (48, 48), 90), "JPEG")
    pixels = decode_image(data, limits).pixels
    assert pixels.shape == (48, 48, 3)
    _assert_colour(pixels, (90, 90, 90), 2)


# --- EXIF orientation ------------------------------------------------------------------
def _expected_orientation(stored: np.ndarray, orientation: int) -> np.ndarray:
    """What a viewer shows for ``stored`` pixels with this EXIF orientation (spec order)."""
    transforms = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],  # mirrored left-right
        3: lambda a: a[::-1, ::-1],  # rotated 180
        4: lambda a: a[::-1, :],  # mirrored top-bottom
        5: lambda a: a.transpose(1, 0, 2),  # mirrored along the main diagonal
        6: lambda a: np.rot90(a, k=-1),  # rotated 90 clockwise
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # mirrored along the anti-diagonal
        8: lambda a: np.rot90(a, k=1),  # rotated 90 counter-clockwise
    }
    return np.ascontiguousarray(transforms[orientation](stored))


def _jpeg_with_orientation(encode, pixels: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return encode(Image.fromarray(pixels), "JPEG", quality=95, exif=exif)


def test_orientation_6_rotates_a_40x80_jpeg(encode, limits) -> None:
    stored = np.full((80, 40, 3), 255, dtype=np.uint8)  # 40 wide, 80 high, white
    stored[:10, :10] = RED  # marker in the stored top-left corner
    data = _jpeg_with_orientation(encode, stored, 6)
    assert _open(data).getexif()[ORIENTATION] == 6

    decoded = decode_image(data, limits)

    assert (decoded.width, decoded.height) == (80, 40)
    assert decoded.pixels.shape == (40, 80, 3)
    # Rotated 90 degrees clockwise: the stored top-left lands top-right.
    _assert_colour(decoded.pixels[2:8, 72:78], RED, 16)
    _assert_colour(decoded.pixels[2:8, 2:8], WHITE, 16)
    _assert_colour(decoded.pixels[32:38, 72:78], WHITE, 16)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation(orientation, encode, quadrants, limits) -> None:
    stored = quadrants(40, 80)
    data = _jpeg_with_orientation(encode, stored, orientation)

    decoded = decode_image(data, limits)

    expected = _expected_orientation(stored, orientation)
    assert decoded.pixels.shape == expected.shape
    error = np.abs(decoded.pixels.astype(int) - expected.astype(int)).mean()
    assert error < 6, f"orientation {orientation}: mean abs error {error:.1f}"


def test_exif_orientation_in_a_png(encode, quadrants, limits) -> None:
    stored = quadrants(40, 80)
    exif = Image.Exif()
    exif[ORIENTATION] = 8
    data = encode(Image.fromarray(stored), "PNG", exif=exif)

    decoded = decode_image(data, limits)

    np.testing.assert_array_equal(decoded.pixels, _expected_orientation(stored, 8))
