"""Hostile and unusual images through the whole service: each gives its documented result,
and every failure leaves the store and the index exactly as they were."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.errors import (
    FaceSearchError,
    ImageDecodeError,
    ImageTooLarge,
    NoFaceFound,
)
from facesearch.service import FaceSearch

from .helpers import CURATOR, INVESTIGATION, row_counts

pytestmark = pytest.mark.both_databases


def _face(test_images: dict[str, list[Path]]) -> Image.Image:
    return Image.open(test_images["Colin_Powell"][0]).convert("RGB")


def _save(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _huge_png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


FAILURES: dict[str, tuple[Callable[[Image.Image], bytes], type[FaceSearchError], str]] = {
    "empty file": (lambda im: b"", ImageDecodeError, "empty"),
    "truncated JPEG": (
        lambda im: _save(im, "JPEG")[: len(_save(im, "JPEG")) // 2],
        ImageDecodeError,
        "truncated",
    ),
    "text renamed .jpg": (
        lambda im: b"this is a text file, not a photo\n" * 20,
        ImageDecodeError,
        "not a supported image",
    ),
    "PNG claiming 50,000 x 50,000": (
        lambda im: _huge_png_header(50_000, 50_000),
        ImageTooLarge,
        "50000x50000",
    ),
    "image with no face": (
        lambda im: _save(
            Image.fromarray(np.tile(np.linspace(0, 255, 300, dtype=np.uint8), (200, 1))), "PNG"
        ),
        NoFaceFound,
        "no face",
    ),
}


@pytest.fixture
def gallery(engine: FaceSearch) -> FaceSearch:
    engine.create_gallery("g", legal_basis="test", context=CURATOR)
    return engine


@pytest.mark.parametrize("case", list(FAILURES))
def test_bad_input_is_refused_and_changes_nothing(
    case: str, gallery: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    make, error, fragment = FAILURES[case]
    data = make(_face(test_images))
    before = row_counts(gallery.store)
    with pytest.raises(error) as info:
        gallery.enroll(data, gallery="g", subject="someone", context=CURATOR)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert row_counts(gallery.store) == before
    assert gallery.index_status().n_index == 0
    with pytest.raises(error):
        gallery.search(data, context=INVESTIGATION)


def _animated_gif(im: Image.Image) -> bytes:
    frames = [im, Image.new("RGB", im.size, (255, 0, 0)), Image.new("RGB", im.size, (0, 0, 255))]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _cmyk_jpeg(im: Image.Image) -> bytes:
    return _save(im.convert("CMYK"), "JPEG", quality=95)


def _png16(im: Image.Image) -> bytes:
    grey = (np.asarray(im.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    image = Image.fromarray(grey)
    assert image.mode.startswith("I;16")
    return _save(image, "PNG")


def _png_alpha(im: Image.Image) -> bytes:
    rgba = im.convert("RGBA")
    alpha = np.full(rgba.size[::-1], 255, dtype=np.uint8)
    alpha[:20, :] = 0  # a transparent band at the top
    rgba.putalpha(Image.fromarray(alpha))
    return _save(rgba, "PNG")


def _exif_rotated(im: Image.Image) -> bytes:
    # Stored turned on its side; EXIF orientation 6 says "rotate 90° clockwise to view".
    stored = im.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(stored, "JPEG", quality=95, exif=exif.tobytes())


ACCEPTED: dict[str, Callable[[Image.Image], bytes]] = {
    "animated GIF (first frame)": _animated_gif,
    "CMYK JPEG": _cmyk_jpeg,
    "16-bit PNG": _png16,
    "PNG with alpha": _png_alpha,
    "EXIF-rotated JPEG": _exif_rotated,
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_unusual_but_valid_images_are_enrolled_and_found(
    case: str, gallery: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    data = ACCEPTED[case](_face(test_images))
    result = gallery.enroll(data, gallery="g", subject="Colin_Powell", context=CURATOR)
    assert len(result.face_ids) == 1, case
    probe = test_images["Colin_Powell"][1].read_bytes()
    found = gallery.search(probe, k=1, threshold=-1, context=INVESTIGATION).faces[0].candidates[0]
    assert found.face_id == result.face_ids[0]
    assert found.similarity > gallery.leads.verify_threshold - 0.03


def test_exif_rotation_is_applied_before_detection(
    gallery: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    stored = _face(test_images).transpose(Image.Transpose.ROTATE_90)
    plain = _save(stored, "JPEG", quality=95)  # same pixels without the orientation tag
    with pytest.raises(NoFaceFound):
        gallery.enroll(plain, gallery="g", context=CURATOR)
    assert gallery.enroll(_exif_rotated(_face(test_images)), gallery="g", context=CURATOR).face_ids


def test_oversized_upload_is_refused(gallery: FaceSearch) -> None:
    limit = gallery.settings.imaging.max_bytes
    with pytest.raises(ImageTooLarge):
        gallery.enroll(b"\xff\xd8" + b"\x00" * limit, gallery="g", context=CURATOR)
    assert row_counts(gallery.store)["images"] == 0


def test_sensitive_identifiers_are_refused_before_anything_is_stored(
    gallery: FaceSearch, test_images: dict[str, list[Path]], tmp_path: Path
) -> None:
    from facesearch.errors import SensitiveIdentifierFound

    photo = test_images["Colin_Powell"][0].read_bytes()
    before = row_counts(gallery.store)
    cases = [
        {"subject": "Colin, born 5 April 1937"},
        {"subject": "Colin", "subject_reference": "colin@example.org"},
        {"subject": "Colin", "source_uri": "tel:+1-202-555-0143"},
    ]
    for kwargs in cases:
        with pytest.raises(SensitiveIdentifierFound) as info:
            gallery.enroll(photo, gallery="g", **kwargs, context=CURATOR)  # type: ignore[arg-type]
        assert "example.org" not in info.value.message
    with pytest.raises(SensitiveIdentifierFound, match=r"'description'.*e-mail"):
        gallery.create_gallery(
            "x", legal_basis="test", description="ask bob@example.org", context=CURATOR
        )
    assert row_counts(gallery.store) == before

    folder = tmp_path / "photos" / "555-867-5309"
    folder.mkdir(parents=True)
    (folder / "a.jpg").write_bytes(photo)
    summary = gallery.enroll_paths(
        [folder.parent], gallery="g", subject_from_folder=True, context=CURATOR
    )
    assert summary.images == 0 and len(summary.errors) == 1
    assert "phone number" in summary.errors[0][1]
    assert row_counts(gallery.store) == before
