"""Image decoding and encoding: untrusted bytes in, ``(h, w, 3)`` uint8 RGB out.

Pillow and numpy only. See :mod:`facesearch.imaging.decode` for the decoding rules and
:mod:`facesearch.imaging.thumbnails` for JPEG encoding, thumbnails and crops.
"""

from facesearch.imaging.decode import (
    ACCEPTED_FORMATS,
    SNIFF_BYTES,
    DecodedImage,
    decode_image,
    sha256_hex,
    sniff_format,
)
from facesearch.imaging.thumbnails import (
    crop_with_margin,
    encode_jpeg,
    make_thumbnail,
    thumbnail_size,
)

__all__ = [
    "ACCEPTED_FORMATS",
    "SNIFF_BYTES",
    "DecodedImage",
    "crop_with_margin",
    "decode_image",
    "encode_jpeg",
    "make_thumbnail",
    "sha256_hex",
    "sniff_format",
    "thumbnail_size",
]
