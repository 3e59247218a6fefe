"""RGB pixels -> JPEG bytes, thumbnails and margin crops.

All functions take ``(height, width, 3)`` uint8 RGB arrays as produced by
:func:`facesearch.imaging.decode_image`; coordinates are pixels, origin top-left.
Invalid arguments (wrong shape or dtype, out-of-range quality) are programming errors
and raise ``ValueError``.
"""

from __future__ import annotations

import io
import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from facesearch.types import BoundingBox


def encode_jpeg(pixels: NDArray[np.uint8], *, quality: int = 85) -> bytes:
    """Encode ``(h, w, 3)`` uint8 RGB pixels as baseline JPEG bytes.

    ``quality`` is Pillow's JPEG quality, 1 (smallest) to 100 (best); chroma is
    subsampled 4:2:0. No EXIF or ICC data is written.
    """
    _check_rgb(pixels)
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def make_thumbnail(pixels: NDArray[np.uint8], *, max_side: int = 160, quality: int = 85) -> bytes:
    """A JPEG thumbnail of ``(h, w, 3)`` uint8 RGB pixels whose longer side is ``max_side``.

    The aspect ratio is kept (each side rounded to the nearest pixel, at least 1). Images
    already within ``max_side`` are not enlarged, only re-encoded. Downscaling is Lanczos.
    """
    _check_rgb(pixels)
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    size = thumbnail_size(width, height, max_side)
    if size == (width, height):
        return encode_jpeg(pixels, quality=quality)
    image = Image.fromarray(np.ascontiguousarray(pixels))
    small = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return encode_jpeg(np.asarray(small, dtype=np.uint8), quality=quality)


def thumbnail_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(width, height)`` of the thumbnail of a ``width x height`` image; never enlarges."""
    longer = max(width, height)
    if longer <= max_side:
        return (width, height)
    scale = max_side / longer
    return (max(1, round(width * scale)), max(1, round(height * scale)))


def crop_with_margin(
    pixels: NDArray[np.uint8], box: BoundingBox, *, margin: float = 0.4
) -> NDArray[np.uint8]:
    """Crop ``box`` grown by ``margin`` on every side, clipped to the image.

    ``pixels``: ``(h, w, 3)`` (or ``(h, w)``) array. ``box``: pixel box in the same image.
    ``margin``: fraction of the box's width added left and right, and of its height added
    above and below (0.4 on a 100 px wide box adds 40 px each side). The grown box is
    rounded outwards to whole pixels, then clipped to the image. Returns a C-contiguous
    copy of shape ``(crop_h, crop_w, 3)``.

    Raises ``ValueError`` for a negative margin, an empty box, or a box that does not
    overlap the image.
    """
    if pixels.ndim not in (2, 3):
        raise ValueError(f"expected an (h, w, 3) or (h, w) array, got shape {pixels.shape}")
    if not margin >= 0.0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if not (box.width > 0 and box.height > 0):
        raise ValueError(f"empty box {box.as_tuple()}")
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    dx, dy = box.width * margin, box.height * margin
    x1 = max(0, math.floor(box.x1 - dx))
    y1 = max(0, math.floor(box.y1 - dy))
    x2 = min(width, math.ceil(box.x2 + dx))
    y2 = min(height, math.ceil(box.y2 + dy))
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box {box.as_tuple()} does not overlap the {width}x{height} image")
    return np.ascontiguousarray(pixels[y1:y2, x1:x2].copy())


def _check_rgb(pixels: NDArray[np.uint8]) -> None:
    if not isinstance(pixels, np.ndarray):
        raise ValueError(f"expected a numpy array, got {type(pixels).__name__}")
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ValueError(f"expected (h, w, 3) RGB pixels, got shape {pixels.shape}")
    if pixels.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {pixels.dtype}")
