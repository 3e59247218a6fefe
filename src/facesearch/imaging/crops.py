"""The loose face crop kept with every enrolled face, so that any model can re-embed it.

The store keeps no source image; a 160 px thumbnail is too small and too tight for a new
model's chip. What is kept instead is a square of :data:`LOOSE_CROP_FACTOR` box sides
around the face (clipped to the image), at most :data:`LOOSE_CROP_MAX_SIDE` pixels a
side, JPEG quality :data:`LOOSE_CROP_QUALITY`, with the face's box in the crop's pixels.

Why these numbers: dlib's 150 px chip spans about 1.5 face-box widths (its template plus
25% padding) and the ArcFace 112 px chip about 1.2; a crop of 2 box sides holds either
chip with room for a head tilted by up to about 20 degrees. Capped at 256 px the face box
is at most 128 px there, above what either chip samples (about 100 px of box for dlib's
150 px chip, about 90 for ArcFace's 112), so nothing a chip needs is lost; smaller faces
are kept at their own resolution, never enlarged. About 10 to 25 KB a face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from facesearch.imaging.thumbnails import encode_jpeg
from facesearch.types import BoundingBox

#: The crop is a square of this many face-box sides, centred on the box.
LOOSE_CROP_FACTOR = 2.0
#: Longest side of the kept crop, in pixels (larger crops are scaled down).
LOOSE_CROP_MAX_SIDE = 256
#: JPEG quality of the kept crop (Pillow's 1 to 100).
LOOSE_CROP_QUALITY = 95


@dataclass(frozen=True, slots=True)
class LooseCrop:
    """A kept face crop: ``jpeg`` bytes and the face's ``box`` in the crop's pixels."""

    jpeg: bytes
    box: BoundingBox


def loose_crop(
    pixels: NDArray[np.uint8],
    box: BoundingBox,
    *,
    factor: float = LOOSE_CROP_FACTOR,
    max_side: int = LOOSE_CROP_MAX_SIDE,
    quality: int = LOOSE_CROP_QUALITY,
) -> LooseCrop:
    """The loose crop of the face at ``box`` in ``(h, w, 3)`` uint8 RGB ``pixels``.

    Raises ``ValueError`` for an empty box or one that does not overlap the image.
    """
    height, width = pixels.shape[:2]
    if not (box.width > 0 and box.height > 0):
        raise ValueError(f"empty box {box}")
    side = factor * max(box.width, box.height)
    cx, cy = (box.x1 + box.x2) / 2.0, (box.y1 + box.y2) / 2.0
    x0 = max(0, math.floor(cx - side / 2.0))
    y0 = max(0, math.floor(cy - side / 2.0))
    x1 = min(width, math.ceil(cx + side / 2.0))
    y1 = min(height, math.ceil(cy + side / 2.0))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {box} does not overlap a {width}x{height} image")
    region = np.ascontiguousarray(pixels[y0:y1, x0:x1])
    scale = min(1.0, max_side / max(region.shape[0], region.shape[1]))
    if scale < 1.0:
        size = (max(1, round(region.shape[1] * scale)), max(1, round(region.shape[0] * scale)))
        resized = Image.fromarray(region).resize(size, Image.Resampling.LANCZOS)
        region = np.ascontiguousarray(np.asarray(resized, dtype=np.uint8))
        sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    else:
        sx = sy = 1.0
    inside = BoundingBox(
        (box.x1 - x0) * sx, (box.y1 - y0) * sy, (box.x2 - x0) * sx, (box.y2 - y0) * sy
    )
    return LooseCrop(encode_jpeg(region, quality=quality), inside)
