"""Untrusted image bytes -> ``(height, width, 3)`` uint8 RGB pixels.

Everything that reads an uploaded file goes through :func:`decode_image`. It refuses
oversized input before Pillow sees it, identifies the format from the content only (never
from a file name), checks the pixel count from the header before decoding, applies the
EXIF orientation, and converts every pixel mode to 8-bit RGB:

* alpha (RGBA, LA, PA, palette or grey/RGB with a ``tRNS`` transparency) is composited
  onto white;
* 16-bit grey (``I;16``, ``I;16B``, ...) keeps its high byte (``value >> 8``), so the
  absolute brightness is preserved (``0x8000`` -> 128);
* 32-bit integer (``I``) and float (``F``) grey have no fixed white point and are
  stretched linearly from the image's own minimum..maximum to 0..255 (a constant image is
  clipped to 0..255 instead);
* 16-bit RGB PNGs are reduced to 8 bits by Pillow when opened (high byte kept);
* everything else (1, L, P, CMYK including Adobe-inverted JPEGs, YCbCr, LAB, HSV, ...)
  goes through Pillow's ``convert("RGB")``.

Multi-frame files (animated GIF or WebP, multi-page TIFF) yield their first frame only.
Embedded ICC profiles are not applied: the pixel values are used as stored.
Pillow's process-wide settings (``Image.MAX_IMAGE_PIXELS``,
``ImageFile.LOAD_TRUNCATED_IMAGES``) are never changed; Pillow's own decompression-bomb
limit still applies as an outer bound on top of ``ImagingSettings.max_pixels``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from facesearch.errors import (
    ImageDecodeError,
    ImageTooLarge,
    ImageTooSmall,
    UnsupportedImageFormat,
)
from facesearch.settings import ImagingSettings

logger = logging.getLogger(__name__)

#: Pillow format names ``Image.open`` may try; nothing else is ever parsed. An MPO (a
#: multi-picture JPEG from some cameras) is opened by the JPEG plugin and reported as JPEG.
ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
_FORMAT_ALIASES = {"MPO": "JPEG"}
_NOT_AN_IMAGE = "not a supported image (JPEG, PNG, WebP, BMP, GIF, TIFF)"

#: What Pillow raises on corrupt, truncated or malicious data (it is not consistent).
_PIL_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    ArithmeticError,
)

_WHITE = (255, 255, 255, 255)
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa"})
_GREY16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


@dataclass(frozen=True, slots=True, eq=False)
class DecodedImage:
    """A decoded image and the identity of the bytes it came from.

    ``pixels``: ``(height, width, 3)`` uint8 RGB, C-contiguous, EXIF orientation applied,
    first frame only. ``format``: Pillow's format name (``"JPEG"``, ``"PNG"``, ``"WEBP"``,
    ``"BMP"``, ``"GIF"``, ``"TIFF"``). ``sha256``: hex digest of the raw input bytes.
    ``n_bytes``: length of the raw input. Compared by identity (``eq=False``): the pixel
    array makes value equality and hashing ill-defined.
    """

    pixels: NDArray[np.uint8]
    format: str
    sha256: str
    n_bytes: int

    @property
    def width(self) -> int:
        """Width in pixels (after EXIF orientation)."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels (after EXIF orientation)."""
        return int(self.pixels.shape[0])


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data`` (64 characters)."""
    return hashlib.sha256(data).hexdigest()


def decode_image(data: bytes, limits: ImagingSettings) -> DecodedImage:
    """Decode untrusted image bytes into RGB pixels, enforcing ``limits``.

    ``data`` may be ``bytes``, ``bytearray`` or ``memoryview``. Checks, in order: type,
    emptiness, ``limits.max_bytes`` (before Pillow reads anything), format by content,
    ``limits.max_pixels`` and ``limits.min_side`` from the header (before decoding), then
    the decode itself.

    Raises:
        ImageDecodeError: not bytes, empty, not a supported format, corrupt or truncated.
        ImageTooLarge: more than ``max_bytes`` bytes or ``max_pixels`` pixels (or over
            Pillow's decompression-bomb limit).
        ImageTooSmall: shorter side below ``min_side`` pixels.
        UnsupportedImageFormat: a supported file in a pixel mode that cannot become RGB.
    """
    raw = _as_bytes(data)
    if not raw:
        raise ImageDecodeError("empty file")
    if len(raw) > limits.max_bytes:
        raise ImageTooLarge(f"file is {len(raw)} bytes, the limit is {limits.max_bytes} bytes")

    with warnings.catch_warnings():
        # Local only: Pillow's "possible decompression bomb" warning becomes an error here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(raw, limits)
        try:
            _check_size(image.size, limits)
            format_name = _FORMAT_ALIASES.get(image.format or "", image.format or "")
            try:
                image.load()  # first frame only: a freshly opened file sits on frame 0
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
                raise _too_large(image.size, _effective_limit(err, limits)) from err
            except _PIL_ERRORS as err:
                raise ImageDecodeError(f"corrupt or truncated image: {_reason(err)}") from err
            oriented = _apply_exif_orientation(image)
            pixels = _to_rgb(oriented)
        finally:
            image.close()

    return DecodedImage(pixels=pixels, format=format_name, sha256=sha256_hex(raw), n_bytes=len(raw))


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise ImageDecodeError(f"expected image bytes, got {type(data).__name__}")


def _open(raw: bytes, limits: ImagingSettings) -> Image.Image:
    """``Image.open`` restricted to the accepted formats: reads the header, no pixels."""
    try:
        return Image.open(io.BytesIO(raw), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError as err:
        other = sniff_format(raw[:SNIFF_BYTES])  # an image of a format not read: name it
        raise ImageDecodeError(_NOT_AN_IMAGE + (f": this is {other}" if other else "")) from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        size = _probe_size(raw)
        if size is None:
            raise ImageTooLarge(f"image too large: {_reason(err)}") from err
        raise _too_large(size, _effective_limit(err, limits)) from err
    except _PIL_ERRORS as err:
        raise ImageDecodeError(f"corrupt or truncated image: {_reason(err)}") from err


#: How many leading bytes :func:`sniff_format` needs.
SNIFF_BYTES = 32

#: Image formats facesearch does not decode, by the brand of an ISO base media file
#: (``....ftyp<brand>``): HEIF/HEIC (Apple's camera default) and AVIF.
_ISOBMFF_BRANDS = {
    b"heic": "HEIC",
    b"heix": "HEIC",
    b"hevc": "HEIC",
    b"hevx": "HEIC",
    b"heim": "HEIC",
    b"heis": "HEIC",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
    b"avif": "AVIF",
    b"avis": "AVIF",
}
#: Other image formats facesearch does not decode, by their signatures (ISO/IEC 15444-1
#: JPEG 2000 box and codestream, ISO/IEC 18181-2 JPEG XL box and codestream, Photoshop).
_OTHER_SIGNATURES = (
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\xff\x0a", "JPEG XL"),
    (b"8BPS", "PSD"),
)


def sniff_format(head: bytes) -> str | None:
    """The image format of a file from its first :data:`SNIFF_BYTES` bytes (content only,
    never a file name).

    Returns a name from :data:`ACCEPTED_FORMATS` when Pillow's own signature check of that
    format accepts ``head`` (whatever the file is called: ``.jfif``, ``.jpe``, no suffix),
    the name of a recognised image format facesearch does not decode (``"HEIC"``,
    ``"HEIF"``, ``"AVIF"``, ``"JPEG 2000"``, ``"JPEG XL"``, ``"PSD"``), or ``None`` when
    ``head`` starts no known image. A recognised file may still fail to decode (truncated,
    corrupt): :func:`decode_image` is the judge of that.
    """
    accepted = _accepted_format(head[:16])
    if accepted is not None:
        return _FORMAT_ALIASES.get(accepted, accepted)
    if head[4:8] == b"ftyp" and head[8:12] in _ISOBMFF_BRANDS:
        return _ISOBMFF_BRANDS[head[8:12]]
    for signature, name in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return name
    return None


def _accepted_format(prefix: bytes) -> str | None:
    """The first of :data:`ACCEPTED_FORMATS` whose Pillow signature check accepts
    ``prefix`` (a file's first 16 bytes, as ``Image.open`` reads them), or None."""
    Image.init()  # registers the plugins; cheap after the first call
    for name in ACCEPTED_FORMATS:
        entry = Image.OPEN.get(name)
        if entry is None:
            continue
        _, accept = entry
        accepted = True if accept is None else accept(prefix)
        if accepted and not isinstance(accepted, str):  # a str is Pillow's "maybe" warning
            return name
    return None


def _probe_size(raw: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the header, bypassing Pillow's bomb check; None if unknown.

    Only used to word the error once Pillow's decompression-bomb check has refused a file
    (its own message gives a pixel count, not the dimensions). Reads headers only.
    """
    prefix = raw[:16]
    for name in ACCEPTED_FORMATS:
        entry = Image.OPEN.get(name)
        if entry is None:
            continue
        factory, accept = entry
        accepted = True if accept is None else accept(prefix)
        if isinstance(accepted, str) or not accepted:  # a str is Pillow's "maybe" warning
            continue
        try:
            with factory(io.BytesIO(raw), "") as probe:
                return probe.size
        except Exception:  # any failure just means "dimensions unknown"
            continue
    return None


def _check_size(size: tuple[int, int], limits: ImagingSettings) -> None:
    width, height = size
    if width * height > limits.max_pixels:
        raise _too_large(size, limits.max_pixels)
    if min(width, height) < limits.min_side:
        raise ImageTooSmall(
            f"image is {width}x{height} pixels, the shorter side must be at least "
            f"{limits.min_side} pixels"
        )


def _too_large(size: tuple[int, int], limit: int) -> ImageTooLarge:
    width, height = size
    return ImageTooLarge(
        f"image is {width}x{height} = {width * height} pixels, the limit is {limit} pixels"
    )


def _effective_limit(err: Exception, limits: ImagingSettings) -> int:
    """The pixel limit that refused an image Pillow's decompression-bomb check stopped."""
    pillow = Image.MAX_IMAGE_PIXELS
    if pillow is None:  # pragma: no cover - the check cannot fire without a limit
        return limits.max_pixels
    if isinstance(err, Image.DecompressionBombError):
        pillow *= 2  # Pillow errors at twice the limit at which it warns
    return min(limits.max_pixels, pillow)


def _reason(err: BaseException) -> str:
    """One printable line (at most 160 characters) describing ``err``."""
    text = re.sub(r"\s+", " ", str(err)).strip()
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    if not text:
        text = type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    """Rotate/flip per the EXIF orientation tag (2..8); unreadable EXIF is ignored."""
    try:
        return ImageOps.exif_transpose(image)
    except _PIL_ERRORS as err:
        logger.warning("ignoring unreadable EXIF orientation: %s", _reason(err))
        return image


def _to_rgb(image: Image.Image) -> NDArray[np.uint8]:
    """Any Pillow mode -> ``(h, w, 3)`` uint8 RGB, C-contiguous and writable."""
    mode = image.mode
    try:
        if mode in _GREY16_MODES:
            grey = (np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8)
            return _grey_to_rgb(grey)
        if mode in ("I", "F"):
            return _grey_to_rgb(_stretch_to_uint8(np.asarray(image)))
        if mode in _ALPHA_MODES or "transparency" in image.info:
            rgba = image.convert("RGBA")
            composited = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba)
            rgb = composited.convert("RGB")
        else:
            rgb = image if mode == "RGB" else image.convert("RGB")
    except ValueError as err:
        raise UnsupportedImageFormat(f"unsupported pixel mode {mode!r}: {_reason(err)}") from err
    pixels = np.array(rgb, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise UnsupportedImageFormat(f"unsupported pixel mode {mode!r}")
    return np.ascontiguousarray(pixels)


def _grey_to_rgb(grey: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """``(h, w)`` uint8 -> ``(h, w, 3)`` uint8, C-contiguous."""
    return np.ascontiguousarray(np.repeat(grey[:, :, np.newaxis], 3, axis=2))


def _stretch_to_uint8(values: NDArray[np.generic]) -> NDArray[np.uint8]:
    """Linear map of the finite range ``min..max`` to ``0..255``; non-finite -> minimum.

    A constant image has no range to stretch and is clipped to ``0..255`` instead.
    """
    data = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        return np.zeros(data.shape, dtype=np.uint8)
    lo = float(data[finite].min())
    hi = float(data[finite].max())
    data = np.where(finite, data, lo)
    scaled = (data - lo) * (255.0 / (hi - lo)) if hi > lo else np.clip(data, 0.0, 255.0)
    return np.rint(scaled).astype(np.uint8)
