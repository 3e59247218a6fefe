"""LFW View 2 accuracy of pipeline variants: where does accuracy go, and what does it cost?

Each variant is an embedding recipe (detector, fallback, jitter, face choice, chip crop,
landmark model); each runs ``facesearch eval lfw`` logic on all 6,000 pairs or, for the
expensive ones, on the first ``--subset`` pairs of every fold, beside the default
pipeline on the same subset (a paired comparison). Embeddings are cached per recipe
(``--cache-dir``), so a rerun only reports. Recipes that keep raw dlib descriptors (the
``--padding`` / ``--landmarks68`` variant path) are also scored the way dlib's own LFW
test does: Euclidean distance between unnormalised descriptors. Pairs of recipes in
``FUSIONS`` that have both run on all pairs are also reported fused: the mean of their
unit embeddings, re-normalised (test-time augmentation across crops), from the cache.
All of this selects on View 2 itself, so the best row is an optimistic estimate.

    .venv/bin/python benchmarks/lfw_variants.py --lfw-dir "$FACESEARCH_LFW_DIR" \\
        --only no-fallback,largest-face --out out/eval/lfw-variants

Not a test: prints a table and writes ``variants.json`` and ``variants.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.evaluation.embedcache import EmbeddingSet, Recipe, Selection, embed_images
from facesearch.evaluation.lfw import Lfw, Pair, slice_pairs
from facesearch.evaluation.lfw_run import run_lfw
from facesearch.evaluation.metrics import (
    FoldAccuracy,
    equal_error_rate,
    kfold_accuracy,
    tar_at_far,
)
from facesearch.evaluation.reports import md_table, write_json
from facesearch.settings import DetectorKind, Settings


def _settings(*, detection: dict[str, Any] | None = None, jitters: int = 0) -> Settings:
    base = Settings()
    return base.model_copy(
        update={
            "detection": base.detection.model_copy(update=detection or {}),
            "embedding": base.embedding.model_copy(update={"jitters": jitters}),
        }
    )


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    recipe: Callable[[], Recipe]
    subset: bool = False


OLD: Selection = "centre"  # the first face rule: nearest the centre at any distance

VARIANTS = [
    Variant(
        "default",
        "service pipeline: HOG (upsampled so 40 px faces are found), CNN fallback, 5-point "
        "landmarks, 150 px chip with 0.25 padding, no jitter; central face (within a "
        "quarter of the image of its centre, else the CNN is tried, else the centred box)",
        lambda: Recipe(_settings()),
    ),
    Variant(
        "nearest-centre",
        "as default, but the face nearest the centre at any distance (the first rule; "
        "baseline of the rows up to landmarks68)",
        lambda: Recipe(_settings(), selection=OLD),
    ),
    Variant(
        "no-fallback",
        "HOG only; images without a face use the centred LFW box (nearest-centre rule)",
        lambda: Recipe(_settings(detection={"fallback_detector": None}), selection=OLD),
    ),
    Variant(
        "largest-face",
        "keep the largest face instead of the one nearest the centre",
        lambda: Recipe(_settings(), selection="largest"),
    ),
    Variant(
        "no-upsample",
        "min_face_px 80: HOG without upsampling, faster (nearest-centre rule)",
        lambda: Recipe(_settings(detection={"min_face_px": 80}), selection=OLD),
    ),
    Variant(
        "raw-descriptor",
        "same chip made outside the pipeline, raw dlib descriptor kept; the Euclidean "
        "column is dlib's own scoring (nearest-centre rule)",
        lambda: Recipe(_settings(), selection=OLD, padding=0.25),
    ),
    Variant(
        "landmarks68",
        "align with dlib's 68-point landmark model (nearest-centre rule)",
        lambda: Recipe(_settings(), selection=OLD, landmarks68=True),
    ),
    Variant(
        "flip",
        "average the descriptors of the chip and its mirror image (2 network passes)",
        lambda: Recipe(_settings(), flip=True),
    ),
    Variant(
        "landmarks68-flip",
        "68-point alignment and mirror averaging together (central rule)",
        lambda: Recipe(_settings(), landmarks68=True, flip=True),
    ),
    Variant(
        "padding-0.3", "chip padding 0.3 instead of 0.25", lambda: Recipe(_settings(), padding=0.3)
    ),
    Variant(
        "padding-0.3-flip",
        "chip padding 0.3, averaged with its mirror image (for fusion with flip)",
        lambda: Recipe(_settings(), padding=0.3, flip=True),
    ),
    Variant(
        "default-subset",
        "default pipeline on the subset (baseline for the rows below)",
        lambda: Recipe(_settings()),
        subset=True,
    ),
    Variant(
        "cnn-detector",
        "dlib's MMOD CNN as the primary detector, HOG as its fallback",
        lambda: Recipe(
            _settings(
                detection={
                    "detector": DetectorKind.DLIB_CNN,
                    "fallback_detector": DetectorKind.DLIB_HOG,
                }
            )
        ),
        subset=True,
    ),
    Variant(
        "flip-subset",
        "mirror averaging on the subset (the best full-run variant, paired with the rows here)",
        lambda: Recipe(_settings(), flip=True),
        subset=True,
    ),
    Variant(
        "jitter-10",
        "10 randomly jittered copies of each chip averaged (dlib's num_jitters; 10x the "
        "network passes, so on the subset only: all 7,701 images would take ~80 min here)",
        lambda: Recipe(_settings(jitters=10)),
        subset=True,
    ),
    Variant(
        "jitter-100",
        "100 random jitters averaged per face (dlib's setting for its 99.38%)",
        lambda: Recipe(_settings(jitters=100)),
        subset=True,
    ),
]


FUSIONS = [("flip", "padding-0.3"), ("flip", "padding-0.3-flip")]
"""Recipes whose embeddings are averaged (test-time augmentation across crops), reported
when each has run on all pairs: fusing cached embeddings costs no new network pass."""


def _pairs(lfw: Lfw, per_fold: int | None) -> list[Pair]:
    pairs = lfw.view2_pairs()
    return slice_pairs(pairs, per_fold) if per_fold is not None else list(pairs)


def _pair_rows(
    lfw: Lfw, pairs: list[Pair], recipe: Recipe, cache_dir: Path
) -> tuple[EmbeddingSet, NDArray[np.int64], NDArray[np.int64]]:
    """The recipe's cached embeddings of the pairs' images, and each pair's two rows."""
    paths = list(dict.fromkeys(p for pair in pairs for p in (pair.a, pair.b)))
    emb = embed_images(lfw.images, paths, recipe, cache_dir=cache_dir, workers=1)
    return emb, emb.rows([p.a for p in pairs]), emb.rows([p.b for p in pairs])


def _verification(score: NDArray[np.float64], pairs: list[Pair]) -> tuple[FoldAccuracy, float]:
    """10-fold accuracy and EER of pair scores (higher = more alike)."""
    same = np.asarray([p.same for p in pairs])
    acc = kfold_accuracy(score, same, np.asarray([p.fold for p in pairs]))
    eer, _ = equal_error_rate(score[same], score[~same])
    return acc, eer


def _fused(lfw: Lfw, recipes: list[Recipe], cache_dir: Path) -> dict[str, float]:
    """View 2 accuracy of the re-normalised mean of several recipes' unit embeddings."""
    pairs = _pairs(lfw, None)
    parts = [_pair_rows(lfw, pairs, recipe, cache_dir) for recipe in recipes]
    a = np.sum([emb.embeddings[rows_a] for emb, rows_a, _ in parts], axis=0, dtype=np.float64)
    b = np.sum([emb.embeddings[rows_b] for emb, _, rows_b in parts], axis=0, dtype=np.float64)
    score = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    acc, eer = _verification(score, pairs)
    same = np.asarray([p.same for p in pairs])
    tar, _ = tar_at_far(score[same], score[~same], 1e-3)
    return {"accuracy": acc.mean, "std": acc.std, "eer": eer, "tar_at_far_1e-3": tar}


def _euclidean_accuracy(
    lfw: Lfw, recipe: Recipe, cache_dir: Path, per_fold: int | None
) -> dict[str, float] | None:
    """Accuracy and EER from raw descriptors compared by Euclidean distance (dlib's way)."""
    pairs = _pairs(lfw, per_fold)
    emb, a, b = _pair_rows(lfw, pairs, recipe, cache_dir)
    if not np.all(np.isfinite(emb.raw_norms)):
        return None
    raw = emb.embeddings.astype(np.float64) * emb.raw_norms[:, None]
    score = -np.linalg.norm(raw[a] - raw[b], axis=1)  # higher = more alike
    acc, eer = _verification(score, pairs)
    return {
        "accuracy": acc.mean,
        "std": acc.std,
        "eer": eer,
        "mean_distance_threshold": float(-np.mean(acc.thresholds)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lfw-dir", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=Path("out/cache"))
    parser.add_argument("--out", type=Path, default=Path("out/eval/lfw-variants"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--subset", type=int, default=60, help="pairs per fold for subset rows")
    parser.add_argument("--only", default="", help="comma-separated variant names")
    args = parser.parse_args()
    lfw = Lfw.locate(args.lfw_dir)
    wanted = {n for n in args.only.split(",") if n}
    results_path = args.out / "variants.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    for v in VARIANTS:
        if wanted and v.name not in wanted:
            continue
        started = time.perf_counter()
        recipe = v.recipe()
        per_fold = args.subset if v.subset else None
        summary = run_lfw(
            lfw,
            recipe,
            out_dir=args.out / v.name,
            cache_dir=args.cache_dir,
            workers=args.workers,
            progress=True,
            pairs_per_fold=per_fold,
            command=f"benchmarks/lfw_variants.py --only {v.name}",
        )
        results[v.name] = {
            "what": v.what,
            "pairs": summary["pairs"]["total"],
            "images": summary["images"]["images"],
            "accuracy": summary["accuracy"]["mean"],
            "std": summary["accuracy"]["std"],
            "eer": summary["roc"]["eer"],
            "tar_at_far_1e-3": summary["roc"]["tar_at_far"][1]["tar"],
            "no_face_centre_box": summary["images"]["no_face_centre_box"],
            "by_detector": summary["images"]["by_detector"],
            "embedding_seconds_this_run": summary["embedding_seconds_this_run"],
            "seconds": round(time.perf_counter() - started, 1),
            "euclidean_raw": _euclidean_accuracy(lfw, recipe, args.cache_dir, per_fold),
            "cache_key": recipe.key(),
            "selection": recipe.selection,
        }
        write_json(results_path, results)
        print(f"{v.name}: {results[v.name]['accuracy']:.4%}", flush=True)
    by_name = {v.name: v for v in VARIANTS}
    n_pairs = len(lfw.view2_pairs())
    for names in FUSIONS:
        if all(results.get(n, {}).get("pairs") == n_pairs for n in names):
            fused = _fused(lfw, [by_name[n].recipe() for n in names], args.cache_dir)
            results[" + ".join(names)] = {
                "what": "mean of the unit embeddings of " + " and ".join(names),
                "pairs": n_pairs,
                "accuracy": fused["accuracy"],
                "std": fused["std"],
                "eer": fused["eer"],
                "tar_at_far_1e-3": fused["tar_at_far_1e-3"],
                "no_face_centre_box": 0,
            }
    write_json(results_path, results)
    rows = [
        [
            name,
            r["pairs"],
            f"{r['accuracy']:.2%} ± {r['std']:.2%}",
            f"{r['eer']:.2%}",
            f"{r['tar_at_far_1e-3']:.2%}",
            r["no_face_centre_box"],
            f"{r['euclidean_raw']['accuracy']:.2%}" if r.get("euclidean_raw") else "",
            r["what"],
        ]
        for name, r in results.items()
    ]
    columns = [
        "variant",
        "pairs",
        "accuracy ± std",
        "EER",
        "TAR@FAR 1e-3",
        "no face",
        "Euclidean (raw)",
        "what",
    ]
    (args.out / "variants.md").write_text(md_table(columns, rows) + "\n")
    print(md_table(columns, rows))


if __name__ == "__main__":
    main()
