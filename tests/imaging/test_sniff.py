"""sniff_format: an image's format from its first bytes, whatever the file is called."""

from __future__ import annotations

import pytest
from PIL import Image

from facesearch.errors import ImageDecodeError
from facesearch.imaging import ACCEPTED_FORMATS, SNIFF_BYTES, decode_image, sniff_format
from facesearch.settings import ImagingSettings

#: The start of an iPhone photo (ISO base media file, brand heic) and of an AVIF file.
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x00\x00"
AVIF_HEAD = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"


@pytest.mark.parametrize("fmt", ACCEPTED_FORMATS)
def test_every_accepted_format_is_recognised_from_its_first_bytes(
    fmt: str, encode, quadrants
) -> None:
    data = encode(Image.fromarray(quadrants(32, 24)), fmt)
    assert sniff_format(data[:SNIFF_BYTES]) == fmt


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (HEIC_HEAD, "HEIC"),
        (AVIF_HEAD, "AVIF"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 ", "JPEG 2000"),
        (b"\xff\x0a\xfa\x7f", "JPEG XL"),
        (b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00", "PSD"),
    ],
)
def test_images_facesearch_does_not_read_are_named(head: bytes, name: str) -> None:
    assert sniff_format(head) == name
    assert name not in ACCEPTED_FORMATS
    # decoding refuses them as before, naming the format (API, web and CLI alike)
    with pytest.raises(
        ImageDecodeError, match=rf"^not a supported image \(JPEG, .*\): this is {name}$"
    ):
        decode_image(head + b"\x00" * 64, ImagingSettings())


@pytest.mark.parametrize(
    "head", [b"", b"hello, a text file\n", b'{"json": true}', b"%PDF-1.7\n", b"\x00" * 32]
)
def test_anything_else_is_no_image(head: bytes) -> None:
    assert sniff_format(head) is None
