"""Fixtures for the imaging tests: every image is made here with Pillow or by hand."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from facesearch.settings import ImagingSettings

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)

Encoder = Callable[..., bytes]
PngBuilder = Callable[..., bytes]


def _encode(image: Image.Image, fmt: str, **save_kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_kwargs)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _raw_png(
    width: int,
    height: int,
    *,
    bit_depth: int = 8,
    colour_type: int = 2,
    scanlines: bytes = b"\x00",
) -> bytes:
    """A PNG built byte by byte: signature, IHDR (any claimed size), one IDAT, IEND.

    ``scanlines`` is the uncompressed image data (filter byte + samples per row); it is
    not checked against the claimed size, so the header can lie.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(scanlines))
        + _png_chunk(b"IEND", b"")
    )


def _quadrants(width: int, height: int) -> NDArray[np.uint8]:
    """``(height, width, 3)``: red top-left, green top-right, blue bottom-left, yellow."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    hw, hh = width // 2, height // 2
    pixels[:hh, :hw] = RED
    pixels[:hh, hw:] = GREEN
    pixels[hh:, :hw] = BLUE
    pixels[hh:, hw:] = YELLOW
    return pixels


@pytest.fixture
def limits() -> ImagingSettings:
    """The default limits (20 MB, 40 Mpx, shorter side >= 32 px)."""
    return ImagingSettings()


@pytest.fixture
def encode() -> Encoder:
    """``encode(pil_image, "PNG", **save_kwargs) -> bytes``."""
    return _encode


@pytest.fixture
def raw_png() -> PngBuilder:
    """``raw_png(width, height, bit_depth=8, colour_type=2, scanlines=b"...") -> bytes``."""
    return _raw_png


@pytest.fixture
def quadrants() -> Callable[[int, int], NDArray[np.uint8]]:
    """``quadrants(width, height)`` -> four-colour ``(h, w, 3)`` uint8 test pattern."""
    return _quadrants
