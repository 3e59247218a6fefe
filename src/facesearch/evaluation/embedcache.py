"""Embedding many dataset images with the service's pipeline, in a process pool, cached on disk.

One cache file per *recipe* (pipeline settings + evaluation choices, see
:mod:`facesearch.evaluation.embedworker`), named by a hash of the recipe:
``<cache_dir>/embeddings-<key>.npz``, holding one row per image path (paths relative to
the dataset's image folder). A later run with the same recipe only embeds the images not
yet in the file; a run with other parameters gets its own file.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from facesearch.evaluation.embedworker import (
    CACHE_VERSION,
    LFW_CROP_FACTOR,
    STATUS_CENTRE_BOX,
    STATUS_DETECTED,
    STATUS_FAILED,
    ImageEmbedding,
    Recipe,
    Selection,
    _embed_chunk,
    _init_worker,
    _Worker,
    centre_box,
    pick_face,
)
from facesearch.types import FloatArray

logger = logging.getLogger(__name__)


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
                batch = next(queue, None)
                if batch is None:
                    exhausted = True
                    break
                pending.add(pool.submit(_embed_chunk, root, batch))
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                on_batch(future.result())


def recipe_summary(recipe: Recipe) -> dict[str, Any]:
    """The recipe with its cache key, for reports."""
    return {"key": recipe.key(), **recipe.describe()}


__all__ = [
    "CACHE_VERSION",
    "LFW_CROP_FACTOR",
    "STATUS_CENTRE_BOX",
    "STATUS_DETECTED",
    "STATUS_FAILED",
    "EmbeddingSet",
    "ImageEmbedding",
    "Recipe",
    "Selection",
    "cache_path",
    "centre_box",
    "embed_images",
    "pick_face",
    "recipe_summary",
]
