"""Building a calibration table from LFW View 1 and checking it on held-out identities.

Development split: the identities of ``peopleDevTrain.txt`` (4,038 people, 9,525 images);
every pair of images of two different people is an impostor comparison (about 45 million).
Held-out split: ``peopleDevTest.txt`` (1,711 other people, 3,708 images, about 6.9 million
impostor pairs). Images where the pipeline finds no face are left out of both: the service
never enrolls or searches such an image.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.calibration import Calibration, HeldOutCheck, held_out_check
from facesearch.calibration.table import table_from_impostor_scores
from facesearch.evaluation.embedcache import STATUS_DETECTED, EmbeddingSet, Recipe, embed_images
from facesearch.evaluation.embedcache import recipe_summary as _recipe_summary
from facesearch.evaluation.lfw import Lfw, identity_of

logger = logging.getLogger(__name__)


def impostor_scores(
    embeddings: NDArray[np.float32], labels: Sequence[str], *, block: int = 1024
) -> NDArray[np.float32]:
    """Similarities of every pair ``i < j`` of rows whose labels differ, float32 ``(m,)``.

    ``embeddings`` ``(n, d)`` unit rows; ``labels`` ``(n,)`` identity of each row. Computed
    in row blocks of ``block`` so memory stays at ``block * n`` scores plus the output.
    """
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    e = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = e.shape[0]
    parts = []
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        sims = e[r0:r1] @ e[r0:].T  # (r1 - r0, n - r0)
        upper = np.arange(r0, r1)[:, None] < np.arange(r0, n)[None, :]
        different = codes[r0:r1, None] != codes[None, r0:]
        parts.append(sims[upper & different])
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _sample_people(people: dict[str, int], max_identities: int | None, seed: int) -> dict[str, int]:
    if max_identities is None or max_identities >= len(people):
        return people
    names = sorted(random.Random(seed).sample(sorted(people), max_identities))
    return {n: people[n] for n in names}


def _detected(emb: EmbeddingSet) -> tuple[NDArray[np.float32], list[str], int]:
    keep = emb.status == STATUS_DETECTED
    labels = [identity_of(p) for p, k in zip(emb.paths, keep, strict=True) if k]
    return emb.embeddings[keep], labels, int(np.count_nonzero(~keep))


@dataclass(frozen=True, slots=True)
class CalibrationBuild:
    """A built table, its held-out check, and the held-out scores (for plots)."""

    table: Calibration
    checks: list[HeldOutCheck]
    held_out_scores: NDArray[np.float32]


def build_calibration(
    lfw: Lfw,
    recipe: Recipe,
    *,
    cache_dir: Path,
    workers: int = 2,
    progress: bool = False,
    max_identities: int | None = None,
    seed: int = 20260101,
    levels_per_decade: int = 10,
    min_pairs: int = 10,
    command: str = "facesearch calibrate",
) -> CalibrationBuild:
    """Embed View 1's people, build the table from DevTrain, check it on DevTest.

    ``max_identities`` takes a seeded sample of each split's identities (small runs and
    tests); the shipped table uses all of them.
    """
    started = time.perf_counter()
    train_people = _sample_people(lfw.view1_people("train"), max_identities, seed)
    test_people = _sample_people(lfw.view1_people("test"), max_identities, seed + 1)
    train = embed_images(
        lfw.images,
        lfw.images_of(train_people),
        recipe,
        cache_dir=cache_dir,
        workers=workers,
        progress=progress,
        description="embedding View 1 DevTrain",
    )
    test = embed_images(
        lfw.images,
        lfw.images_of(test_people),
        recipe,
        cache_dir=cache_dir,
        workers=workers,
        progress=progress,
        description="embedding View 1 DevTest",
    )
    e_train, l_train, skipped_train = _detected(train)
    e_test, l_test, skipped_test = _detected(test)
    scores = impostor_scores(e_train, l_train)
    held = impostor_scores(e_test, l_test)
    model_id = recipe.model_id
    provenance: dict[str, Any] = {
        "dataset": "LFW deep-funneled (FACESEARCH_LFW_DIR)",
        "split": "View 1 peopleDevTrain.txt"
        + (f", seeded sample of {len(train_people)} identities" if max_identities else ""),
        "identities": len(train_people),
        "images": len(train),
        "images_without_face_left_out": skipped_train,
        "impostor_pairs": "every pair of images of two different identities",
        "knots": f"{levels_per_decade} per decade of FMR, down to {min_pairs} impostor pairs",
        "interpolation": "log10(FMR) linear in similarity between knots",
        "pipeline": _recipe_summary(recipe),
        "command": command,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    table = table_from_impostor_scores(
        scores,
        model_id=model_id,
        levels_per_decade=levels_per_decade,
        min_pairs=min_pairs,
        provenance=provenance,
    )
    targets = [t for t in (1e-3, 1e-4) if t >= table.min_fmr]
    checks = held_out_check(table, held, targets) if held.size else []
    table.provenance["held_out_check"] = {
        "split": "View 1 peopleDevTest.txt (identities disjoint from the table's)"
        + (f", seeded sample of {len(test_people)} identities" if max_identities else ""),
        "identities": len(test_people),
        "images": len(test),
        "images_without_face_left_out": skipped_test,
        "impostor_pairs": int(held.size),
        "tolerance": "empirical FMR within a factor 2 of the target",
        "results": [
            {
                "target_fmr": c.target_fmr,
                "threshold": round(c.threshold, 6),
                "empirical_fmr": c.empirical_fmr,
                "false_matches": c.false_matches,
                "ratio": round(c.ratio, 4),
                "ok": c.ok,
            }
            for c in checks
        ],
    }
    table.provenance["seconds"] = round(time.perf_counter() - started, 1)
    logger.info("calibration: %d impostor pairs, floor FMR %.2g", scores.size, table.min_fmr)
    return CalibrationBuild(table=table, checks=checks, held_out_scores=held)
