"""Re-embedding a stored face from its kept loose crop with any model's pipeline.

The crop (:mod:`facesearch.imaging.crops`) is decoded, the pipeline's detector runs on it
(its fallback too when the first finds nothing), the detection whose box overlaps the
stored face box best is taken (at least :data:`MIN_IOU`; the crop is two box sides wide,
so it may hold a neighbour's face too), aligned to the pipeline's chip and embedded. The
detector runs again because a new model may need landmarks the old detector did not give
(an ArcFace chip needs YuNet's keypoints). A face that is not found again is reported
(``None``), never embedded from a guess.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image

from facesearch.alignment import align_faces
from facesearch.service.pipeline import FacePipeline
from facesearch.types import BoundingBox, FloatArray

logger = logging.getLogger(__name__)

#: Smallest intersection over union between a detection in the crop and the stored box.
MIN_IOU = 0.3


def _iou(a: BoundingBox, b: BoundingBox) -> float:
    w = min(a.x2, b.x2) - max(a.x1, b.x1)
    h = min(a.y2, b.y2) - max(a.y1, b.y1)
    inter = max(0.0, w) * max(0.0, h)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def reembed_crop(pipeline: FacePipeline, jpeg: bytes, box: BoundingBox) -> FloatArray | None:
    """The ``(dim,)`` float32 unit embedding of the face at ``box`` of the crop ``jpeg`` by
    ``pipeline``'s model; ``None`` when its detector finds no face there (IoU below
    :data:`MIN_IOU`). Raises ``OSError``/``ValueError`` for bytes that are not an image."""
    with Image.open(io.BytesIO(jpeg)) as image:
        pixels = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    detections = pipeline.detector.detect(pixels)
    best = max(detections, key=lambda d: _iou(d.box, box), default=None)
    if (best is None or _iou(best.box, box) < MIN_IOU) and pipeline.fallback_detector:
        found = pipeline.fallback_detector.detect(pixels)
        best = max(found, key=lambda d: _iou(d.box, box), default=None)
    if best is None or _iou(best.box, box) < MIN_IOU:
        return None
    chip = align_faces(pixels, [best], pipeline.embedder.chip)
    return np.ascontiguousarray(pipeline.embedder.embed(chip)[0], dtype=np.float32)
