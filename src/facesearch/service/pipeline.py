"""The per-image pipeline: bytes -> decoded RGB -> faces -> chips -> embeddings + quality.

Pure computation, no store and no index: it runs in the service's process and in the
enroll-folder worker processes alike. Its results are picklable and carry no pixels.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from facesearch.alignment import DLIB_CHIP, align_faces
from facesearch.detection import FaceDetector, create_detector
from facesearch.detection.base import require_keypoints
from facesearch.embedding import FaceEmbedder, create_embedder
from facesearch.errors import FaceSearchError
from facesearch.imaging import DecodedImage, crop_with_margin, decode_image, make_thumbnail
from facesearch.imaging.crops import LooseCrop, loose_crop
from facesearch.quality import assess
from facesearch.settings import Settings
from facesearch.types import Detection, FaceQuality, FloatArray

logger = logging.getLogger(__name__)

#: Longest side of the stored per-face thumbnail, in pixels.
THUMBNAIL_SIDE = 160


@dataclass(frozen=True, slots=True)
class AnalyzedFace:
    """One face: where it is, how good it is, its embedding ``(dim,)`` float32, thumbnail,
    and the loose crop kept so that another model can re-embed it."""

    detection: Detection
    quality: FaceQuality
    embedding: FloatArray
    thumbnail: bytes
    crop: LooseCrop | None = None


@dataclass(frozen=True, slots=True)
class AnalyzedImage:
    """What the pipeline found in one image (no pixels: cheap to pickle between processes)."""

    sha256: str
    width: int
    height: int
    n_bytes: int
    format: str
    model_id: str
    faces: tuple[AnalyzedFace, ...]

    def largest_face(self) -> AnalyzedFace | None:
        if not self.faces:
            return None
        return max(self.faces, key=lambda f: f.detection.box.area)


@dataclass(frozen=True, slots=True)
class LocatedFace:
    """One face found for a person to pick: where it is and how good it is (no embedding)."""

    detection: Detection
    quality: FaceQuality


@dataclass(frozen=True, slots=True)
class LocatedImage:
    """The faces of one image, in the order :meth:`FacePipeline.analyze` lists them."""

    sha256: str
    width: int
    height: int
    faces: tuple[LocatedFace, ...]


class FacePipeline:
    """Decode, detect, align, embed and assess; models load lazily on first use.

    At most ``settings.workers`` (default: the number of cores) images are analysed at
    once through one pipeline: callers beyond that wait for a slot in their own thread
    (the API runs these calls in worker threads, never on its event loop), so a burst of
    searches queues instead of oversubscribing the cores that health checks, sign-in and
    catalog reads also need.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        detector: FaceDetector | None = None,
        embedder: FaceEmbedder | None = None,
    ) -> None:
        self._settings = settings
        self._slots = threading.BoundedSemaphore(settings.workers)
        self.detector: FaceDetector = detector or create_detector(settings.detection)
        self.embedder: FaceEmbedder = embedder or create_embedder(
            settings.embedding, cache_dir=settings.models_cache_dir
        )
        fallback = settings.detection.fallback_detector
        self.fallback_detector: FaceDetector | None = None
        if detector is None and fallback is not None and fallback != settings.detection.detector:
            self.fallback_detector = create_detector(
                settings.detection.model_copy(
                    update={
                        "detector": fallback,
                        "min_face_px": settings.detection.fallback_min_face_px,
                    }
                ),
                max_pixels=settings.detection.fallback_max_pixels,
            )
        require_keypoints(
            self.embedder.chip,
            [
                (self.detector, "FACESEARCH_DETECTION__DETECTOR"),
                (self.fallback_detector, "FACESEARCH_DETECTION__FALLBACK_DETECTOR"),
            ],
        )

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def analyze(self, data: bytes) -> AnalyzedImage:
        """Run the whole pipeline on raw image bytes (raises imaging errors on bad input)."""
        image = decode_image(data, self._settings.imaging)
        return self.analyze_decoded(image)

    def warm_up(self) -> None:
        """Load (and so verify) every model this pipeline uses, now rather than at the
        first image: the detector, the fallback detector and the embedder each run once on
        blank input (a 64x64 grey image, one blank chip). A missing or corrupt model file
        raises here (``ModelLoadError``, ``ConfigurationError``, naming the setting), so
        a server is not ready and a folder enrollment stops before its first file."""
        blank = np.full((64, 64, 3), 128, dtype=np.uint8)
        with self._slots:
            self.detector.detect(blank)
            if self.fallback_detector is not None:
                self.fallback_detector.detect(blank)
            size = self.embedder.chip.size
            self.embedder.embed(np.zeros((1, size, size, 3), dtype=np.uint8))

    def locate(self, data: bytes) -> LocatedImage:
        """Detect, align and assess the faces of raw image bytes, without embedding them:
        for showing a probe's faces so that a person picks one before any search. Face
        ``i`` here is face ``i`` of :meth:`analyze` on the same bytes."""
        image = decode_image(data, self._settings.imaging)
        with self._slots:
            detections = self._detect(image.pixels)
            faces: tuple[LocatedFace, ...] = ()
            if detections:
                chips = align_faces(image.pixels, detections, DLIB_CHIP)
                faces = tuple(
                    LocatedFace(detection=d, quality=assess(d.landmarks, chip))
                    for d, chip in zip(detections, chips, strict=True)
                )
        return LocatedImage(image.sha256, image.width, image.height, faces)

    def _detect(self, pixels: NDArray[np.uint8]) -> list[Detection]:
        detections = self.detector.detect(pixels)
        if not detections and self.fallback_detector is not None:
            detections = self.fallback_detector.detect(pixels)
        return list(detections)

    def analyze_decoded(self, image: DecodedImage) -> AnalyzedImage:
        return self._analyzed(image, self.analyze_pixels(image.pixels))

    def analyze_pixels(self, pixels: NDArray[np.uint8]) -> list[AnalyzedFace]:
        """Faces in ``(h, w, 3)`` uint8 RGB pixels, highest detector score first."""
        with self._slots:
            return self._analyze_located([(pixels, self._detect(pixels))])[0]

    def analyze_many(self, items: Sequence[bytes]) -> list[AnalyzedImage | FaceSearchError]:
        """:meth:`analyze` for several images, embedding all their chips in one call to the
        embedder (the enroll-folder workers' batches). Each image's result is in the same
        place as its bytes; an image that fails (undecodable, too large, ...) gets its
        :class:`FaceSearchError` there instead, and the others are unaffected."""
        results: list[AnalyzedImage | FaceSearchError | None] = [None] * len(items)
        decoded: list[tuple[int, DecodedImage, list[Detection]]] = []
        with self._slots:
            for position, data in enumerate(items):
                try:
                    image = decode_image(data, self._settings.imaging)
                    decoded.append((position, image, self._detect(image.pixels)))
                except FaceSearchError as err:
                    results[position] = err
            faces = self._analyze_located([(image.pixels, found) for _, image, found in decoded])
        for (position, image, _), image_faces in zip(decoded, faces, strict=True):
            results[position] = self._analyzed(image, image_faces)
        return [r for r in results if r is not None]

    def _analyzed(self, image: DecodedImage, faces: Sequence[AnalyzedFace]) -> AnalyzedImage:
        return AnalyzedImage(
            sha256=image.sha256,
            width=image.width,
            height=image.height,
            n_bytes=image.n_bytes,
            format=image.format,
            model_id=self.model_id,
            faces=tuple(faces),
        )

    def _analyze_located(
        self, images: list[tuple[NDArray[np.uint8], list[Detection]]]
    ) -> list[list[AnalyzedFace]]:
        """Align every detected face of every image, embed all chips in one call, assess."""
        chip_sets = [
            align_faces(pixels, detections, self.embedder.chip)
            for pixels, detections in images
            if detections
        ]
        if not chip_sets:
            return [[] for _ in images]
        embeddings = iter(self.embedder.embed(np.concatenate(chip_sets)))
        chip_iter = iter(chip_sets)
        out: list[list[AnalyzedFace]] = []
        for pixels, detections in images:
            if not detections:
                out.append([])
                continue
            chips = next(chip_iter)
            if self.embedder.chip != DLIB_CHIP:  # quality is measured on dlib's chip always
                chips = align_faces(pixels, detections, DLIB_CHIP)
            faces = []
            for detection, chip in zip(detections, chips, strict=True):
                faces.append(
                    AnalyzedFace(
                        detection=detection,
                        quality=assess(detection.landmarks, chip),
                        embedding=np.ascontiguousarray(next(embeddings), dtype=np.float32),
                        thumbnail=make_thumbnail(
                            crop_with_margin(pixels, detection.box, margin=0.3),
                            max_side=THUMBNAIL_SIDE,
                        ),
                        crop=loose_crop(pixels, detection.box),
                    )
                )
            out.append(faces)
        return out
