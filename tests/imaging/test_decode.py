"""decode_image: formats, identity of the bytes, and every way it refuses input."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from facesearch.errors import ImageDecodeError, ImageTooLarge, ImageTooSmall
from facesearch.imaging import DecodedImage, decode_image, sha256_hex
from facesearch.settings import ImagingSettings

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)


def _noise_image(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


# --- formats ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "save_kwargs", "tolerance"),
    [
        ("JPEG", {"quality": 95}, 12),
        ("PNG", {}, 0),
        ("WEBP", {"quality": 90}, 12),
        ("BMP", {}, 0),
        ("GIF", {}, 0),
        ("TIFF", {}, 0),
    ],
)
def test_every_format_round_trips_to_rgb(
    fmt, save_kwargs, tolerance, encode, quadrants, limits
) -> None:
    data = encode(Image.fromarray(quadrants(64, 48)), fmt, **save_kwargs)

    decoded = decode_image(data, limits)

    assert decoded.format == fmt
    assert decoded.pixels.shape == (48, 64, 3)
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.flags.c_contiguous
    assert (decoded.width, decoded.height) == (64, 48)
    # Centre of each quadrant, away from the colour edges JPEG blurs.
    for (y, x), colour in {
        (12, 16): RED,
        (12, 48): GREEN,
        (36, 16): BLUE,
        (36, 48): YELLOW,
    }.items():
        got = decoded.pixels[y, x].astype(int)
        assert np.abs(got - np.array(colour)).max() <= tolerance, (fmt, (y, x), got)


def test_mpo_is_reported_as_jpeg(encode, quadrants, limits) -> None:
    first = Image.fromarray(quadrants(64, 48))
    second = Image.new("RGB", (64, 48), BLUE)
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"  # fixture sanity

    decoded = decode_image(data, limits)

    assert decoded.format == "JPEG"
    assert np.abs(decoded.pixels[12, 16].astype(int) - RED).max() <= 12


def test_format_is_identified_by_content_not_by_name(encode, quadrants, limits) -> None:
    # A PNG arrives as plain bytes: whatever it was called, it decodes as PNG.
    data = encode(Image.fromarray(quadrants(40, 40)), "PNG")
    assert decode_image(data, limits).format == "PNG"


@pytest.mark.lfw
def test_decodes_real_photo_from_lfw(limits) -> None:
    lfw_dir = os.environ.get("FACESEARCH_LFW_DIR")
    if not lfw_dir:
        pytest.skip("FACESEARCH_LFW_DIR is not set: the LFW dataset is not available")
    path = Path(lfw_dir) / "lfw-deepfunneled" / "Aaron_Eckhart" / "Aaron_Eckhart_0001.jpg"
    if not path.is_file():
        pytest.skip(f"LFW photo not found under FACESEARCH_LFW_DIR: {path}")
    data = path.read_bytes()

    decoded = decode_image(data, limits)

    assert decoded.format == "JPEG"
    assert decoded.pixels.shape == (250, 250, 3)
    assert decoded.sha256 == hashlib.sha256(data).hexdigest()
    assert decoded.pixels.std() > 10  # a photo, not a flat fill


# --- identity of the input -------------------------------------------------------------
def test_sha256_hex_matches_hashlib() -> None:
    assert sha256_hex(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_sha256_and_n_bytes_describe_the_raw_input(encode, quadrants, limits) -> None:
    data = encode(Image.fromarray(quadrants(64, 48)), "PNG")

    decoded = decode_image(data, limits)

    assert isinstance(decoded, DecodedImage)
    assert decoded.sha256 == hashlib.sha256(data).hexdigest()
    assert decoded.n_bytes == len(data)


@pytest.mark.parametrize("wrap", [bytearray, memoryview], ids=["bytearray", "memoryview"])
def test_bytearray_and_memoryview_are_accepted(wrap, encode, quadrants, limits) -> None:
    data = encode(Image.fromarray(quadrants(64, 48)), "PNG")

    decoded = decode_image(wrap(data), limits)

    assert decoded.sha256 == sha256_hex(data)
    assert decoded.n_bytes == len(data)
    assert decoded.pixels.shape == (48, 64, 3)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [("a string", "str"), (None, "NoneType"), (123, "int"), ([1, 2, 3], "list")],
)
def test_non_bytes_input_raises_decode_error(value, type_name, limits) -> None:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(value, limits)
    assert str(info.value) == f"expected image bytes, got {type_name}"


# --- refused input ---------------------------------------------------------------------
@pytest.mark.parametrize("empty", [b"", bytearray(), memoryview(b"")], ids=["bytes", "ba", "mv"])
def test_empty_input(empty, limits) -> None:
    with pytest.raises(ImageDecodeError, match=r"^empty file$"):
        decode_image(empty, limits)


def test_truncated_jpeg(encode, limits) -> None:
    whole = encode(_noise_image(128, 128), "JPEG", quality=90)
    assert decode_image(whole, limits).pixels.shape == (128, 128, 3)  # the intact file is fine

    with pytest.raises(ImageDecodeError, match=r"^corrupt or truncated image: "):
        decode_image(whole[: len(whole) // 2], limits)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_png_with_too_little_pixel_data_is_corrupt(raw_png, limits) -> None:
    data = raw_png(100, 100, scanlines=b"\x00" + b"\x00" * 30)

    with pytest.raises(ImageDecodeError, match=r"^corrupt or truncated image: "):
        decode_image(data, limits)


def test_text_is_not_an_image(limits) -> None:
    text = b"Hello, this is a plain text file.\nIt has two lines.\n"

    with pytest.raises(ImageDecodeError, match=r"^not a supported image \(JPEG, PNG"):
        decode_image(text, limits)


def test_image_of_a_format_we_do_not_accept_is_refused(encode, quadrants, limits) -> None:
    ppm = encode(Image.fromarray(quadrants(64, 48)), "PPM")
    assert Image.open(io.BytesIO(ppm)).format == "PPM"  # Pillow reads it

    with pytest.raises(ImageDecodeError, match=r"^not a supported image"):
        decode_image(ppm, limits)


def test_png_claiming_50000_squared_pixels_is_refused_before_decoding(raw_png, limits) -> None:
    bomb = raw_png(50_000, 50_000, scanlines=b"\x00" * 16)
    assert len(bomb) < 200  # the header lies: there are almost no pixels in the file
    pillow_limit_before = Image.MAX_IMAGE_PIXELS

    with pytest.raises(ImageTooLarge) as info:
        decode_image(bomb, limits)

    assert "50000x50000" in str(info.value)
    assert pillow_limit_before == Image.MAX_IMAGE_PIXELS  # Pillow's global left alone


def test_pillow_bomb_warning_becomes_image_too_large_locally(raw_png) -> None:
    # 120 Mpx: above Pillow's warning threshold (~89 Mpx), below its hard error (~179 Mpx)
    # and below our own limit, so it is Pillow's warning that refuses it.
    data = raw_png(12_000, 10_000, scanlines=b"\x00" * 16)
    generous = ImagingSettings(max_pixels=500_000_000)

    with pytest.raises(ImageTooLarge) as info:
        decode_image(data, generous)
    assert "12000x10000" in str(info.value)
    assert f"the limit is {Image.MAX_IMAGE_PIXELS} pixels" in str(info.value)

    # The "error" filter was local: outside decode_image it is a warning again.
    with pytest.warns(Image.DecompressionBombWarning):
        Image.open(io.BytesIO(data)).close()


def test_configured_pixel_limit(encode, quadrants) -> None:
    data = encode(Image.fromarray(quadrants(64, 48)), "PNG")

    with pytest.raises(ImageTooLarge) as info:
        decode_image(data, ImagingSettings(max_pixels=64 * 48 - 1))
    assert "64x48" in str(info.value)
    assert decode_image(data, ImagingSettings(max_pixels=64 * 48)).width == 64


def test_over_max_bytes_is_refused_before_pillow_looks(encode) -> None:
    data = encode(_noise_image(64, 64), "PNG")

    with pytest.raises(ImageTooLarge, match=f"file is {len(data)} bytes"):
        decode_image(data, ImagingSettings(max_bytes=len(data) - 1))
    # Not even read: text over the limit is "too large", not "not an image".
    with pytest.raises(ImageTooLarge):
        decode_image(b"x" * 101, ImagingSettings(max_bytes=100))
    assert decode_image(data, ImagingSettings(max_bytes=len(data))).n_bytes == len(data)


def test_too_small(encode) -> None:
    narrow = encode(Image.new("RGB", (20, 100), RED), "PNG")
    square = encode(Image.new("RGB", (32, 32), RED), "PNG")
    limits = ImagingSettings(min_side=32)

    with pytest.raises(ImageTooSmall) as info:
        decode_image(narrow, limits)
    assert "20x100" in str(info.value)
    assert decode_image(square, limits).pixels.shape == (32, 32, 3)


def _bad_inputs() -> dict[str, tuple[bytes, ImagingSettings]]:
    import io

    def png(width: int, height: int) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), RED).save(buffer, format="PNG")
        return buffer.getvalue()

    jpeg_buffer = io.BytesIO()
    _noise_image(128, 128).save(jpeg_buffer, format="JPEG")
    jpeg = jpeg_buffer.getvalue()
    text = b"SECRET-CONTENT line one\nline two\r\n\x00\x01binary"
    return {
        "empty": (b"", ImagingSettings()),
        "text": (text, ImagingSettings()),
        "truncated": (jpeg[: len(jpeg) // 2], ImagingSettings()),
        "bytes": (text, ImagingSettings(max_bytes=10)),
        "pixels": (png(64, 64), ImagingSettings(max_pixels=100)),
        "small": (png(10, 64), ImagingSettings()),
    }


@pytest.mark.parametrize("case", sorted(_bad_inputs()))
def test_error_messages_are_one_safe_line(case) -> None:
    data, limits = _bad_inputs()[case]

    with pytest.raises((ImageDecodeError, ImageTooLarge, ImageTooSmall)) as info:
        decode_image(data, limits)

    message = str(info.value)
    assert message
    assert "\n" not in message and "\r" not in message
    assert len(message) < 300
    assert "SECRET-CONTENT" not in message
    assert message == info.value.message


def test_decoding_does_not_leave_warning_filters_behind(encode, quadrants, limits) -> None:
    before = list(warnings.filters)
    decode_image(encode(Image.fromarray(quadrants(64, 48)), "PNG"), limits)
    assert list(warnings.filters) == before
