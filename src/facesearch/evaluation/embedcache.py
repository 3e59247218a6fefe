"""Embedding many dataset images with the service's pipeline, in a process pool, cached on disk.

One cache file per *recipe* (pipeline settings + evaluation choices), named by a hash of
the recipe: ``<cache_dir>/embeddings-<key>.npz``, holding one row per image path (paths
relative to the dataset's image folder). A later run with the same recipe only embeds the
images not yet in the file; a run with other parameters gets its own file.

Per image, one face is kept (dataset photos are labelled with one person):

* ``selection="centre"`` (default): the detected face whose box centre is nearest the image
  centre. LFW photos are crops centred on the labelled person (Viola-Jones box enlarged
  2.2x), so the centred face is the labelled one; the largest face can be a bystander.
* ``selection="largest"``: the largest face, as the service does for a subject photo.

When the pipeline (primary detector, then its fallback detector) finds no face, the row is
marked :data:`STATUS_CENTRE_BOX` and embedded from a centred square box of side
``min(h, w) / 2.2`` (LFW's crop geometry), with the 5-point landmark model run inside it.
Reports count those images and also give accuracy with such pairs counted as errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

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

Selection = Literal["centre", "largest"]


@dataclass(frozen=True, slots=True)
class Recipe:
    """How images become embeddings.

    ``settings``: the pipeline's settings (detector, fallback, jitters, ...).
    ``selection``: which face of a multi-face image is kept (see the module docstring).
    ``padding``: ``None`` for the pipeline's own chip; a number re-crops the chip with this
    padding around dlib's template (a variant, not the service's path).
    ``landmarks68``: align with dlib's 68-point model instead of the 5-point one (variant).
    """

    settings: Settings
    selection: Selection = "centre"
    padding: float | None = None
    landmarks68: bool = False

    @property
    def uses_pipeline_chip(self) -> bool:
        return self.padding is None and not self.landmarks68

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of everything that changes the embeddings."""
        s = self.settings
        return {
            "cache_version": CACHE_VERSION,
            "model_id": s.embedding.model.value,
            "imaging": s.imaging.model_dump(mode="json"),
            "detection": s.detection.model_dump(mode="json"),
            "embedding": s.embedding.model_dump(mode="json"),
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


@dataclass(slots=True)
class EmbeddingSet:
    """Embeddings of many images, row ``i`` for ``paths[i]``.

    ``embeddings`` ``(n, d)`` float32 unit rows; ``status`` ``(n,)`` int8 (``STATUS_*``);
    ``n_faces`` ``(n,)`` faces detected; ``boxes`` ``(n, 4)`` x1, y1, x2, y2 pixels;
    ``quality`` ``(n,)`` overall quality in [0, 1] (NaN if unknown); ``raw_norms`` ``(n,)``
    descriptor norm before normalisation (NaN on the pipeline path, which normalises);
    ``detectors`` ``(n,)`` which detector found the face (``centre-box`` / ``failed``).
    """

    paths: list[str]
    embeddings: FloatArray
    status: NDArray[np.int8]
    n_faces: NDArray[np.int16]
    boxes: FloatArray
    quality: FloatArray
    raw_norms: FloatArray
    detectors: list[str]
    recipe: dict[str, Any] = field(default_factory=dict)
    _rows: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._rows = {p: i for i, p in enumerate(self.paths)}

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, path: object) -> bool:
        return path in self._rows

    def rows(self, paths: Sequence[str]) -> NDArray[np.int64]:
        """Row indices of ``paths`` (raises ``KeyError`` for an unknown path)."""
        return np.fromiter((self._rows[p] for p in paths), dtype=np.int64, count=len(paths))

    def subset(self, paths: Sequence[str]) -> EmbeddingSet:
        r = self.rows(paths)
        return EmbeddingSet(
            paths=list(paths),
            embeddings=self.embeddings[r],
            status=self.status[r],
            n_faces=self.n_faces[r],
            boxes=self.boxes[r],
            quality=self.quality[r],
            raw_norms=self.raw_norms[r],
            detectors=[self.detectors[i] for i in r],
            recipe=self.recipe,
        )

    @classmethod
    def from_records(
        cls, records: Sequence[ImageEmbedding], dim: int, recipe: dict[str, Any]
    ) -> EmbeddingSet:
        n = len(records)
        return cls(
            paths=[r.path for r in records],
            embeddings=np.ascontiguousarray(
                np.stack([r.embedding for r in records]) if n else np.zeros((0, dim)),
                dtype=np.float32,
            ),
            status=np.asarray([r.status for r in records], dtype=np.int8),
            n_faces=np.asarray([r.n_faces for r in records], dtype=np.int16),
            boxes=np.asarray([r.box for r in records], dtype=np.float32).reshape(n, 4),
            quality=np.asarray([r.quality for r in records], dtype=np.float32),
            raw_norms=np.asarray([r.raw_norm for r in records], dtype=np.float32),
            detectors=[r.detector for r in records],
            recipe=recipe,
        )

    def records(self) -> list[ImageEmbedding]:
        return [
            ImageEmbedding(
                path=p,
                embedding=self.embeddings[i],
                status=int(self.status[i]),
                n_faces=int(self.n_faces[i]),
                box=(
                    float(self.boxes[i, 0]),
                    float(self.boxes[i, 1]),
                    float(self.boxes[i, 2]),
                    float(self.boxes[i, 3]),
                ),
                quality=float(self.quality[i]),
                raw_norm=float(self.raw_norms[i]),
                detector=self.detectors[i],
            )
            for i, p in enumerate(self.paths)
        ]

    def save(self, path: Path) -> None:
        """Write atomically (temp file, then rename) as ``.npz``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            paths=np.asarray(self.paths, dtype=str),
            embeddings=self.embeddings,
            status=self.status,
            n_faces=self.n_faces,
            boxes=self.boxes,
            quality=self.quality,
            raw_norms=self.raw_norms,
            detectors=np.asarray(self.detectors, dtype=str),
            recipe=np.asarray(json.dumps(self.recipe, sort_keys=True)),
        )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> EmbeddingSet:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                paths=[str(p) for p in data["paths"]],
                embeddings=np.ascontiguousarray(data["embeddings"], dtype=np.float32),
                status=data["status"].astype(np.int8),
                n_faces=data["n_faces"].astype(np.int16),
                boxes=data["boxes"].astype(np.float32),
                quality=data["quality"].astype(np.float32),
                raw_norms=data["raw_norms"].astype(np.float32),
                detectors=[str(d) for d in data["detectors"]],
                recipe=json.loads(str(data["recipe"])),
            )


# --- choosing a face and the no-face fallback (pure geometry) ----------------------------
def centre_box(height: int, width: int, factor: float = LFW_CROP_FACTOR) -> BoundingBox:
    """The centred square of side ``min(h, w) / factor`` pixels (LFW's face region)."""
    side = min(height, width) / factor
    cx, cy = width / 2.0, height / 2.0
    return BoundingBox(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def pick_face(boxes: Sequence[BoundingBox], height: int, width: int, selection: Selection) -> int:
    """Index of the face to keep: nearest the image centre, or the largest. ``-1`` if none."""
    if not boxes:
        return -1
    if selection == "largest":
        return max(range(len(boxes)), key=lambda i: boxes[i].area)
    cx, cy = width / 2.0, height / 2.0

    def distance(i: int) -> float:
        b = boxes[i]
        return float(((b.x1 + b.x2) / 2 - cx) ** 2 + ((b.y1 + b.y2) / 2 - cy) ** 2)

    return min(range(len(boxes)), key=distance)


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
                rel, np.zeros(dim, np.float32), STATUS_FAILED, 0, (0, 0, 0, 0), np.nan,
                np.nan, "failed", str(err),
            )  # fmt: skip
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
                rel, f.embedding, STATUS_DETECTED, len(faces), f.detection.box.as_tuple(),
                f.quality.score, np.nan, f.detection.detector,
            )  # fmt: skip
        from facesearch.alignment import align_faces
        from facesearch.quality import assess

        detection = self._centre_detection(pixels)
        chips = align_faces(pixels, [detection], self.pipeline.embedder.chip)
        vector = self.pipeline.embedder.embed(chips)[0]
        quality = assess(detection.landmarks, chips[0]).score
        return ImageEmbedding(
            rel, vector, STATUS_CENTRE_BOX, 0, detection.box.as_tuple(), quality, np.nan,
            "centre-box",
        )  # fmt: skip

    def _centre_detection(self, pixels: NDArray[np.uint8]) -> Detection:
        box = centre_box(*pixels.shape[:2])
        return Detection(box, 0.0, self.landmarks5.landmarks(pixels, box), "centre-box")

    def _variant_path(self, rel: str, pixels: NDArray[np.uint8]) -> ImageEmbedding:
        import dlib

        h, w = pixels.shape[:2]
        detections = self.pipeline.detector.detect(pixels)
        if not detections and self.pipeline.fallback_detector is not None:
            detections = self.pipeline.fallback_detector.detect(pixels)
        i = pick_face([d.box for d in detections], h, w, self.recipe.selection)
        status = STATUS_DETECTED if i >= 0 else STATUS_CENTRE_BOX
        chosen = detections[i] if i >= 0 else self._centre_detection(pixels)
        b = chosen.box
        rect = dlib.rectangle(round(b.x1), round(b.y1), round(b.x2) - 1, round(b.y2) - 1)
        if self.recipe.landmarks68:
            shape = self._dlib("shape68")(pixels, rect)
        else:
            points = [dlib.point(round(x), round(y)) for x, y in chosen.landmarks.points]
            shape = dlib.full_object_detection(rect, points)
        padding = 0.25 if self.recipe.padding is None else self.recipe.padding
        chip = np.asarray(dlib.get_face_chip(pixels, shape, size=150, padding=padding))
        raw = np.asarray(
            self._dlib("resnet").compute_face_descriptor(
                np.ascontiguousarray(chip, dtype=np.uint8), self.recipe.settings.embedding.jitters
            ),
            dtype=np.float32,
        )
        norm = float(np.linalg.norm(raw))
        return ImageEmbedding(
            rel, raw / max(norm, 1e-12), status, len(detections), b.as_tuple(), np.nan, norm,
            chosen.detector,
        )  # fmt: skip


_worker: _Worker | None = None


def _init_worker(recipe: Recipe) -> None:
    global _worker
    logging.getLogger("facesearch").setLevel(logging.WARNING)
    _worker = _Worker(recipe)


def _embed_chunk(root: str, rels: list[str]) -> list[ImageEmbedding]:
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker not initialised")
    return [_worker.embed_file(root, rel) for rel in rels]


# --- parent side ---------------------------------------------------------------------------
def cache_path(cache_dir: Path, recipe: Recipe) -> Path:
    return cache_dir / f"embeddings-{recipe.key()}.npz"


def embed_images(
    image_root: Path,
    rel_paths: Sequence[str],
    recipe: Recipe,
    *,
    cache_dir: Path,
    workers: int = 2,
    progress: bool = False,
    save_every: int = 400,
    chunk: int = 8,
    description: str = "embedding",
) -> EmbeddingSet:
    """Embeddings of ``rel_paths`` (relative to ``image_root``), from the cache where present.

    Missing images are embedded by ``workers`` spawn-started processes (1: in this process)
    and the cache file is rewritten every ``save_every`` new images, so an interrupted run
    resumes. Returns the rows of ``rel_paths`` in that order.
    """
    path = cache_path(cache_dir, recipe)
    description_json = recipe.describe()
    cached: list[ImageEmbedding] = []
    if path.exists():
        cached = EmbeddingSet.load(path).records()
    have = {r.path for r in cached}
    todo = [p for p in dict.fromkeys(rel_paths) if p not in have]
    logger.info("cache %s: %d cached, %d to embed", path.name, len(have), len(todo))
    if todo:
        (cache_dir / f"embeddings-{recipe.key()}.json").parent.mkdir(parents=True, exist_ok=True)
        (cache_dir / f"embeddings-{recipe.key()}.json").write_text(
            json.dumps(description_json, indent=2, sort_keys=True)
        )
        records = list(cached)
        dim = 128
        since_save = 0

        def add(batch: list[ImageEmbedding]) -> None:
            nonlocal since_save
            records.extend(batch)
            since_save += len(batch)
            if since_save >= save_every:
                EmbeddingSet.from_records(records, dim, description_json).save(path)
                since_save = 0

        bar = Progress(
            f"[progress.description]{description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            disable=not progress,
        )
        with bar:
            task = bar.add_task(description, total=len(todo))
            chunks = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]

            def advance(batch: list[ImageEmbedding]) -> None:
                add(batch)
                bar.advance(task, len(batch))

            _run(str(image_root), chunks, recipe, workers, advance)
        EmbeddingSet.from_records(records, dim, description_json).save(path)
    full = EmbeddingSet.load(path)
    return full.subset(list(dict.fromkeys(rel_paths)))


def _run(
    root: str,
    chunks: list[list[str]],
    recipe: Recipe,
    workers: int,
    on_batch: Callable[[list[ImageEmbedding]], None],
) -> None:
    if workers <= 1:
        worker = _Worker(recipe)
        for rels in chunks:
            on_batch([worker.embed_file(root, rel) for rel in rels])
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(recipe,)
    ) as pool:
        pending: set[Future[list[ImageEmbedding]]] = set()
        queue = iter(chunks)
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < workers * 3:
                rels = next(queue, None)
                if rels is None:
                    exhausted = True
                    break
                pending.add(pool.submit(_embed_chunk, root, rels))
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                on_batch(future.result())


def recipe_summary(recipe: Recipe) -> dict[str, Any]:
    """The recipe with its cache key, for reports."""
    return {"key": recipe.key(), **recipe.describe()}


__all__ = [
    "STATUS_CENTRE_BOX",
    "STATUS_DETECTED",
    "STATUS_FAILED",
    "EmbeddingSet",
    "ImageEmbedding",
    "Recipe",
    "cache_path",
    "centre_box",
    "embed_images",
    "pick_face",
    "recipe_summary",
]
