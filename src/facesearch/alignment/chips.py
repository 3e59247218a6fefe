"""Canonical face chips: crop, rotate and scale a face to the template its embedder expects.

dlib's ResNet descriptor was trained on chips made by ``dlib.get_face_chip`` (a similarity
transform fitted from the 5 landmarks to dlib's template, 150x150 pixels, 25% padding);
using anything else costs accuracy, so that is the chip made here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from facesearch.types import BoundingBox, Detection


@dataclass(frozen=True, slots=True)
class ChipSpec:
    """The chip a model expects: ``size`` x ``size`` RGB, ``padding`` around the template."""

    size: int = 150
    padding: float = 0.25


def _full_object_detection(box: BoundingBox, points: tuple[tuple[float, float], ...]) -> object:
    import dlib

    rect = dlib.rectangle(round(box.x1), round(box.y1), round(box.x2) - 1, round(box.y2) - 1)
    return dlib.full_object_detection(rect, [dlib.point(round(x), round(y)) for x, y in points])


def align_faces(
    pixels: NDArray[np.uint8], detections: list[Detection], spec: ChipSpec
) -> NDArray[np.uint8]:
    """Aligned chips for ``detections`` in ``(h, w, 3)`` RGB ``pixels``.

    Returns ``(n, size, size, 3)`` uint8 RGB, one chip per detection, in the same order.
    """
    import dlib

    if not detections:
        return np.zeros((0, spec.size, spec.size, 3), dtype=np.uint8)
    shapes = dlib.full_object_detections()
    for detection in detections:
        shapes.append(_full_object_detection(detection.box, detection.landmarks.points))
    chips = dlib.get_face_chips(pixels, shapes, size=spec.size, padding=spec.padding)
    return np.ascontiguousarray(np.stack([np.asarray(c, dtype=np.uint8) for c in chips]))
