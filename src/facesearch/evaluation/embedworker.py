"""The worker side of dataset embedding: one image in, one kept face's embedding out.

Per image, one face is kept (dataset photos are labelled with one person):

* ``selection="central"`` (default): the detected face whose box centre is nearest the
  image centre, provided it lies within ``CENTRAL_RADIUS * min(h, w)`` of it. LFW photos
  are crops centred on the labelled person (Viola-Jones box enlarged 2.2x), so the central
  face is the labelled one; the largest face can be a bystander. When the first detector
  finds only off-centre faces (a bystander, the labelled person turned away), the
  fallback detector is tried too.
* ``selection="centre"``: nearest the centre at any distance (the first rule used here; it
  embeds a bystander when only a bystander is detected).
* ``selection="largest"``: the largest face, as the service does for a subject photo.

When the pipeline (primary detector, then its fallback detector) finds no usable face, the
row is marked :data:`STATUS_CENTRE_BOX` and embedded from a centred square box of side
``min(h, w) / 2.2`` (LFW's crop geometry), with the 5-point landmark model run inside it,
as dlib's own LFW test does. A :class:`Recipe` with ``padding`` or ``landmarks68`` makes
the chip outside the pipeline (variants for accuracy studies) and keeps the raw
descriptor's norm.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from facesearch.errors import FaceSearchError
from facesearch.settings import Settings
from facesearch.types import BoundingBox, Detection, FloatArray

logger = logging.getLogger(__name__)

#: Bumped when the worker's behaviour changes in a way that changes embeddings.
CACHE_VERSION = 1
#: LFW's crops are the detector box enlarged by this factor (protocol README, section 1).
LFW_CROP_FACTOR = 2.2

STATUS_DETECTED = 0
STATUS_CENTRE_BOX = 1
STATUS_FAILED = 2

Selection = Literal["central", "centre", "largest"]

#: With selection "central" a face counts only if its box centre lies within this share of
#: ``min(h, w)`` of the image centre (LFW: 62 px of 250; labelled faces sit within ~35 px).
CENTRAL_RADIUS = 0.25


@dataclass(frozen=True, slots=True)
class Recipe:
    """How images become embeddings.

    ``settings``: the pipeline's settings (detector, fallback, jitters, ...).
    ``selection``: which face of a multi-face image is kept (see the module docstring).
    ``padding``: ``None`` for the pipeline's own chip; a number re-crops the chip with this
    padding around dlib's template (a variant, not the service's path).
    ``landmarks68``: align with dlib's 68-point model instead of the 5-point one (variant).
    ``flip``: average the raw descriptors of the chip and its mirror image (variant).
    """

    settings: Settings
    selection: Selection = "central"
    padding: float | None = None
    landmarks68: bool = False
    flip: bool = False

    def __post_init__(self) -> None:
        from facesearch.embedding.registry import is_packaged
        from facesearch.errors import InvalidInput

        if not self.uses_pipeline_chip and not is_packaged(self.settings.embedding):
            raise InvalidInput(
                "--padding, --landmarks68 and --flip are variants of dlib's chip and "
                "descriptor: not for a model by file"
            )

    @property
    def uses_pipeline_chip(self) -> bool:
        return self.padding is None and not self.landmarks68 and not self.flip

    @property
    def model_id(self) -> str:
        """The embedding model's id (a model by file: its name and sha256 prefix)."""
        from facesearch.embedding.registry import embedding_model_id

        return embedding_model_id(self.settings.embedding)

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of everything that changes the embeddings."""
        from facesearch.embedding.registry import is_packaged

        s = self.settings
        extra = {"flip": True} if self.flip else {}  # keys of earlier recipes stay the same
        # the packaged model's recipe leaves out the (unused) model-by-file settings, so
        # its cache keys stay what they were before those settings existed
        embedding = s.embedding.model_dump(
            mode="json", exclude={"onnx"} if is_packaged(s.embedding) else None
        )
        return extra | {
            "cache_version": CACHE_VERSION,
            "model_id": self.model_id,
            "imaging": s.imaging.model_dump(mode="json"),
            "detection": s.detection.model_dump(mode="json"),
            "embedding": embedding,
            "selection": self.selection,
            "padding": self.padding,
            "landmarks68": self.landmarks68,
            "no_face": f"centred box of side min(h, w) / {LFW_CROP_FACTOR}",
        }

    def key(self) -> str:
        """Short stable hash of :meth:`describe` (names the cache file)."""
        text = json.dumps(self.describe(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ImageEmbedding:
    """One image's kept face. ``embedding`` is ``(d,)`` float32, unit norm (zeros if failed)."""

    path: str
    embedding: FloatArray
    status: int
    n_faces: int
    box: tuple[float, float, float, float]
    quality: float
    raw_norm: float
    detector: str
    error: str = ""


# --- choosing a face and the no-face fallback (pure geometry) ----------------------------
def centre_box(height: int, width: int, factor: float = LFW_CROP_FACTOR) -> BoundingBox:
    """The centred square of side ``min(h, w) / factor`` pixels (LFW's face region)."""
    side = min(height, width) / factor
    cx, cy = width / 2.0, height / 2.0
    return BoundingBox(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def pick_face(boxes: Sequence[BoundingBox], height: int, width: int, selection: Selection) -> int:
    """Index of the face to keep, ``-1`` if none qualifies.

    ``"centre"``: nearest the image centre; ``"central"``: the same, but only within
    ``CENTRAL_RADIUS * min(h, w)`` of the centre; ``"largest"``: the largest box.
    """
    if not boxes:
        return -1
    if selection == "largest":
        return max(range(len(boxes)), key=lambda i: boxes[i].area)
    cx, cy = width / 2.0, height / 2.0

    def distance(i: int) -> float:
        b = boxes[i]
        return math.hypot((b.x1 + b.x2) / 2 - cx, (b.y1 + b.y2) / 2 - cy)

    nearest = min(range(len(boxes)), key=distance)
    if selection == "central" and distance(nearest) > CENTRAL_RADIUS * min(height, width):
        return -1
    return nearest


# --- worker side ---------------------------------------------------------------------------
class _Worker:
    """Embeds one image at a time following a :class:`Recipe` (lives in a pool process)."""

    def __init__(self, recipe: Recipe) -> None:
        from facesearch.detection.dlib_common import DlibLandmarks5
        from facesearch.service import FacePipeline

        self.recipe = recipe
        self.pipeline = FacePipeline(recipe.settings)
        self.landmarks5 = DlibLandmarks5()
        self._dlib_models: dict[str, Any] = {}

    def _dlib(self, name: str) -> Any:
        import dlib

        from facesearch.modelfiles import DLIB_RESNET_V1, packaged_model

        if name not in self._dlib_models:
            if name == "resnet":
                self._dlib_models[name] = dlib.face_recognition_model_v1(
                    str(packaged_model(DLIB_RESNET_V1))
                )
            else:  # the 68-point model ships in the same package, unverified by sha
                import importlib.util

                spec = importlib.util.find_spec("face_recognition_models")
                if spec is None or not spec.submodule_search_locations:
                    raise FaceSearchError("face_recognition_models is not installed")
                folder = Path(next(iter(spec.submodule_search_locations)))
                model = folder / "models" / "shape_predictor_68_face_landmarks.dat"
                self._dlib_models[name] = dlib.shape_predictor(str(model))
        return self._dlib_models[name]

    def embed_file(self, root: str, rel: str) -> ImageEmbedding:
        from facesearch.imaging import decode_image

        try:
            image = decode_image(Path(root, rel).read_bytes(), self.recipe.settings.imaging)
        except (OSError, FaceSearchError) as err:
            dim = self.pipeline.embedder.dim
            return ImageEmbedding(
                rel,
                np.zeros(dim, np.float32),
                STATUS_FAILED,
                0,
                (0, 0, 0, 0),
                np.nan,
                np.nan,
                "failed",
                str(err),
            )
        if self.recipe.uses_pipeline_chip:
            return self._pipeline_path(rel, image.pixels)
        return self._variant_path(rel, image.pixels)

    def _pipeline_path(self, rel: str, pixels: NDArray[np.uint8]) -> ImageEmbedding:
        h, w = pixels.shape[:2]
        faces = self.pipeline.analyze_pixels(pixels)
        i = pick_face([f.detection.box for f in faces], h, w, self.recipe.selection)
        if i >= 0:
            f = faces[i]
            return ImageEmbedding(
                rel,
                f.embedding,
                STATUS_DETECTED,
                len(faces),
                f.detection.box.as_tuple(),
                f.quality.score,
                np.nan,
                f.detection.detector,
            )
        detection = self._second_chance(pixels, [f.detection for f in faces])
        status = STATUS_CENTRE_BOX if detection is None else STATUS_DETECTED
        chosen = detection or self._centre_detection(pixels)
        from facesearch.alignment import align_faces
        from facesearch.quality import assess

        chips = align_faces(pixels, [chosen], self.pipeline.embedder.chip)
        vector = self.pipeline.embedder.embed(chips)[0]
        quality = assess(chosen.landmarks, chips[0]).score
        return ImageEmbedding(
            rel,
            vector,
            status,
            len(faces),
            chosen.box.as_tuple(),
            quality,
            np.nan,
            chosen.detector,
        )

    def _second_chance(self, pixels: NDArray[np.uint8], found: list[Detection]) -> Detection | None:
        """With selection "central", when the first detector found only off-centre faces
        (bystanders), the fallback detector gets its turn (the pipeline itself only runs it
        when the first finds nothing). ``None``: no central face anywhere."""
        fallback = self.pipeline.fallback_detector
        if self.recipe.selection != "central" or fallback is None or not found:
            return None
        if any(d.detector == fallback.name for d in found):
            return None  # the fallback already ran
        h, w = pixels.shape[:2]
        more = fallback.detect(pixels)
        j = pick_face([d.box for d in more], h, w, self.recipe.selection)
        return more[j] if j >= 0 else None

    def _centre_detection(self, pixels: NDArray[np.uint8]) -> Detection:
        """The centred box, dlib's landmarks inside it, and (for an ArcFace chip) the
        ArcFace template laid over the box as keypoints: the chip is then the box itself,
        the way LFW's crops frame a face."""
        from facesearch.alignment.arcface import ARCFACE_CHIP_SIZE, ARCFACE_TEMPLATE
        from facesearch.types import Keypoints5

        box = centre_box(*pixels.shape[:2])
        scale = box.width / ARCFACE_CHIP_SIZE
        points = tuple(
            (box.x1 + float(x) * scale, box.y1 + float(y) * scale) for x, y in ARCFACE_TEMPLATE
        )
        return Detection(
            box,
            0.0,
            self.landmarks5.landmarks(pixels, box),
            "centre-box",
            keypoints=Keypoints5(points),
        )

    def _variant_path(self, rel: str, pixels: NDArray[np.uint8]) -> ImageEmbedding:
        import dlib

        h, w = pixels.shape[:2]
        detections = self.pipeline.detector.detect(pixels)
        if not detections and self.pipeline.fallback_detector is not None:
            detections = self.pipeline.fallback_detector.detect(pixels)
        i = pick_face([d.box for d in detections], h, w, self.recipe.selection)
        second = None if i >= 0 else self._second_chance(pixels, detections)
        status = STATUS_DETECTED if i >= 0 or second is not None else STATUS_CENTRE_BOX
        chosen = detections[i] if i >= 0 else second or self._centre_detection(pixels)
        b = chosen.box
        rect = dlib.rectangle(round(b.x1), round(b.y1), round(b.x2) - 1, round(b.y2) - 1)
        if self.recipe.landmarks68:
            shape = self._dlib("shape68")(pixels, rect)
        else:
            points = [dlib.point(round(x), round(y)) for x, y in chosen.landmarks.points]
            shape = dlib.full_object_detection(rect, points)
        padding = 0.25 if self.recipe.padding is None else self.recipe.padding
        chip = np.asarray(dlib.get_face_chip(pixels, shape, size=150, padding=padding))
        chips = [chip, chip[:, ::-1]] if self.recipe.flip else [chip]
        jitters = self.recipe.settings.embedding.jitters
        raw = np.mean(
            [
                np.asarray(
                    self._dlib("resnet").compute_face_descriptor(
                        np.ascontiguousarray(c, dtype=np.uint8), jitters
                    ),
                    dtype=np.float32,
                )
                for c in chips
            ],
            axis=0,
        )
        norm = float(np.linalg.norm(raw))
        return ImageEmbedding(
            rel,
            raw / max(norm, 1e-12),
            status,
            len(detections),
            b.as_tuple(),
            np.nan,
            norm,
            chosen.detector,
        )


_worker: _Worker | None = None


def _init_worker(recipe: Recipe) -> None:
    global _worker
    logging.getLogger("facesearch").setLevel(logging.WARNING)
    _worker = _Worker(recipe)


def _embed_chunk(root: str, rels: list[str]) -> list[ImageEmbedding]:
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker not initialised")
    return [_worker.embed_file(root, rel) for rel in rels]
