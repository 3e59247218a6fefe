"""The ArcFace chip: 112x112, five keypoints mapped onto the standard template.

ArcFace-style recognizers (InsightFace's ArcFace, EdgeFace, MobileFace, ...) are trained on
chips made by one similarity transform (rotation, uniform scale, translation) fitted by
least squares from the detector's five keypoints to a fixed template, then warped
bilinearly with black borders. The template and the fit follow InsightFace's
``utils/face_align.py`` (``arcface_dst``, ``estimate_norm`` via scikit-image's
``SimilarityTransform``, which is Umeyama's method); the warp is OpenCV's ``warpAffine``
as there. Pure functions of arrays (testable without a model).

Reference: S. Umeyama, "Least-squares estimation of transformation parameters between two
point patterns", IEEE TPAMI 13(4), 1991.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from facesearch.types import FloatArray

#: Side of the ArcFace chip, in pixels.
ARCFACE_CHIP_SIZE = 112

#: Where the five keypoints land on a 112x112 chip, ``(5, 2)`` float32 ``(x, y)`` pixels,
#: in :class:`~facesearch.types.Keypoints5` order (subject's right eye, left eye, nose tip,
#: right and left mouth corners). InsightFace's ``arcface_dst``.
ARCFACE_TEMPLATE: FloatArray = np.asarray(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def similarity_transform(src: NDArray[np.floating], dst: NDArray[np.floating]) -> FloatArray:
    """Least-squares similarity transform taking points ``src`` onto ``dst`` (Umeyama).

    ``src``, ``dst``: ``(n, 2)`` with ``n >= 2`` points ``(x, y)``. Returns the ``(2, 3)``
    float32 matrix ``M`` with ``dst ≈ M[:, :2] @ src + M[:, 2]`` (no reflection), the form
    ``cv2.warpAffine`` takes. Raises ``ValueError`` for mismatched shapes or points that
    all coincide.
    """
    s = np.asarray(src, dtype=np.float64)
    d = np.asarray(dst, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != 2 or s.shape != d.shape or s.shape[0] < 2:
        raise ValueError(f"need two (n, 2) point sets with n >= 2, got {s.shape} and {d.shape}")
    n = s.shape[0]
    s_mean, d_mean = s.mean(axis=0), d.mean(axis=0)
    s_c, d_c = s - s_mean, d - d_mean
    s_var = float((s_c**2).sum() / n)
    if s_var <= 0.0:
        raise ValueError("source points coincide: no similarity transform")
    cov = d_c.T @ s_c / n
    u, sigma, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(sigma) @ sign)) / s_var
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = d_mean - scale * rotation @ s_mean
    return matrix.astype(np.float32)


def arcface_matrix(points: NDArray[np.floating], size: int = ARCFACE_CHIP_SIZE) -> FloatArray:
    """The ``(2, 3)`` transform from image pixels to a ``size`` chip for ``(5, 2)``
    keypoints in ArcFace order (the template is scaled by ``size / 112``)."""
    template = ARCFACE_TEMPLATE * (size / ARCFACE_CHIP_SIZE)
    return similarity_transform(np.asarray(points, dtype=np.float64).reshape(5, 2), template)


def warp_chip(
    pixels: NDArray[np.uint8], points: NDArray[np.floating], size: int = ARCFACE_CHIP_SIZE
) -> NDArray[np.uint8]:
    """The ArcFace chip of one face: ``(size, size, 3)`` uint8, same channels as
    ``pixels`` ``(h, w, 3)`` uint8, from its ``(5, 2)`` keypoints in image pixels
    (bilinear, black outside the image, as InsightFace's ``norm_crop``)."""
    import cv2

    matrix = arcface_matrix(points, size)
    chip = cv2.warpAffine(
        np.ascontiguousarray(pixels), matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0
    )
    return np.ascontiguousarray(chip, dtype=np.uint8)


def apply_transform(matrix: NDArray[np.floating], points: NDArray[np.floating]) -> FloatArray:
    """``(n, 2)`` points mapped by a ``(2, 3)`` affine ``matrix``, float32."""
    m = np.asarray(matrix, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.asarray(p @ m[:, :2].T + m[:, 2], dtype=np.float32)
