"""Canonical face chips: crop, rotate and scale a face to the template its embedder expects.

Two templates (:class:`ChipTemplate`):

* ``dlib``: dlib's ResNet descriptor was trained on chips made by ``dlib.get_face_chip`` (a
  similarity transform fitted from dlib's 5 landmarks to dlib's template, 150x150 pixels,
  25% padding); using anything else costs accuracy, so that is the chip made here.
* ``arcface``: ArcFace-style ONNX recognizers take a 112x112 chip fitted from the five
  ArcFace keypoints (eyes, nose tip, mouth corners; :class:`~facesearch.types.Keypoints5`,
  given by YuNet) to the standard ArcFace template (:mod:`facesearch.alignment.arcface`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from facesearch.errors import ConfigurationError
from facesearch.types import BoundingBox, Detection


class ChipTemplate(StrEnum):
    """Which landmarks and template a chip is aligned with."""

    DLIB = "dlib"
    ARCFACE = "arcface"


@dataclass(frozen=True, slots=True)
class ChipSpec:
    """The chip a model expects: ``size`` x ``size`` RGB aligned to ``template``;
    ``padding`` around dlib's template (unused for ``arcface``, whose template fixes it)."""

    size: int = 150
    padding: float = 0.25
    template: ChipTemplate = ChipTemplate.DLIB


#: The chip dlib's ResNet takes (also the chip quality is measured on, for every model).
DLIB_CHIP = ChipSpec(size=150, padding=0.25)


def _full_object_detection(box: BoundingBox, points: tuple[tuple[float, float], ...]) -> object:
    import dlib

    rect = dlib.rectangle(round(box.x1), round(box.y1), round(box.x2) - 1, round(box.y2) - 1)
    return dlib.full_object_detection(rect, [dlib.point(round(x), round(y)) for x, y in points])


def _arcface_chips(
    pixels: NDArray[np.uint8], detections: list[Detection], spec: ChipSpec
) -> NDArray[np.uint8]:
    from facesearch.alignment.arcface import warp_chip

    chips = []
    for detection in detections:
        if detection.keypoints is None:
            raise ConfigurationError(
                f"the {spec.size}px ArcFace chip needs ArcFace keypoints (eyes, nose tip, mouth "
                f"corners), which detector {detection.detector!r} does not give; use "
                "FACESEARCH_DETECTION__DETECTOR=yunet"
            )
        chips.append(warp_chip(pixels, detection.keypoints.as_array(), spec.size))
    return np.ascontiguousarray(np.stack(chips))


def align_faces(
    pixels: NDArray[np.uint8], detections: list[Detection], spec: ChipSpec
) -> NDArray[np.uint8]:
    """Aligned chips for ``detections`` in ``(h, w, 3)`` RGB ``pixels``.

    Returns ``(n, size, size, 3)`` uint8 RGB, one chip per detection, in the same order.
    An ``arcface`` spec raises :class:`ConfigurationError` for a detection without
    keypoints (a detector that does not give them).
    """
    if not detections:
        return np.zeros((0, spec.size, spec.size, 3), dtype=np.uint8)
    if spec.template == ChipTemplate.ARCFACE:
        return _arcface_chips(pixels, detections, spec)
    import dlib

    shapes = dlib.full_object_detections()
    for detection in detections:
        shapes.append(_full_object_detection(detection.box, detection.landmarks.points))
    chips = dlib.get_face_chips(pixels, shapes, size=spec.size, padding=spec.padding)
    return np.ascontiguousarray(np.stack([np.asarray(c, dtype=np.uint8) for c in chips]))
