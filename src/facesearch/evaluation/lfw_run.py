"""``facesearch eval lfw``: LFW View 2 with the service's pipeline -> JSON, PNG, Markdown."""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from facesearch.evaluation import plots
from facesearch.evaluation.embedcache import (
    STATUS_CENTRE_BOX,
    STATUS_FAILED,
    EmbeddingSet,
    Recipe,
    embed_images,
    recipe_summary,
)
from facesearch.evaluation.lfw import Lfw, Pair, slice_pairs
from facesearch.evaluation.reports import md_table, pct, run_metadata, sci, write_json
from facesearch.evaluation.verification import (
    VerificationResult,
    evaluate_verification,
    hardest_errors,
    pair_scores,
)

logger = logging.getLogger(__name__)


def image_counts(emb: EmbeddingSet) -> dict[str, Any]:
    """How faces were found: by detector, centred-box fallbacks, failures, multi-face."""
    by_detector = Counter(emb.detectors)
    return {
        "images": len(emb),
        "by_detector": dict(sorted(by_detector.items())),
        "no_face_centre_box": int(np.count_nonzero(emb.status == STATUS_CENTRE_BOX)),
        "failed_to_decode": int(np.count_nonzero(emb.status == STATUS_FAILED)),
        "multi_face_images": int(np.count_nonzero(emb.n_faces > 1)),
        "no_face_images": [p for p, s in zip(emb.paths, emb.status, strict=True) if s != 0],
    }


def run_lfw(
    lfw: Lfw,
    recipe: Recipe,
    *,
    out_dir: Path,
    cache_dir: Path,
    workers: int = 2,
    progress: bool = False,
    pairs_per_fold: int | None = None,
    command: str = "facesearch eval lfw",
) -> dict[str, Any]:
    """Embed View 2's images, score its pairs, write ``verification.json``, ``report.md``
    and plots into ``out_dir``; returns the JSON summary."""
    started = time.perf_counter()
    pairs = lfw.view2_pairs()
    if pairs_per_fold is not None:
        pairs = slice_pairs(pairs, pairs_per_fold)
    paths = list(dict.fromkeys(p for pair in pairs for p in (pair.a, pair.b)))
    embed_started = time.perf_counter()
    emb = embed_images(
        lfw.images,
        paths,
        recipe,
        cache_dir=cache_dir,
        workers=workers,
        progress=progress,
        description="embedding LFW View 2",
    )
    embed_seconds = time.perf_counter() - embed_started
    result = evaluate_verification(pair_scores(pairs, emb))
    summary = _summary(result, image_counts(emb), recipe, pairs_per_fold)
    summary["embedding_seconds_this_run"] = round(embed_seconds, 1)
    summary["run"] = run_metadata(command, started)
    out_dir.mkdir(parents=True, exist_ok=True)
    _plots(result, out_dir)
    write_json(out_dir / "verification.json", summary)
    (out_dir / "report.md").write_text(_markdown(summary, result, pairs))
    return summary


def _summary(
    result: VerificationResult,
    counts: dict[str, Any],
    recipe: Recipe,
    pairs_per_fold: int | None,
) -> dict[str, Any]:
    return {
        "protocol": "LFW View 2 (pairs.txt), 10-fold, threshold fit on the other 9 folds",
        "subset_pairs_per_fold": pairs_per_fold,
        "pipeline": recipe_summary(recipe),
        "pairs": {
            "total": result.n_pairs,
            "genuine": result.n_genuine,
            "impostor": result.n_impostor,
            "with_a_no_face_image": result.pairs_with_fallback,
        },
        "images": counts,
        "accuracy": {
            "mean": result.folds.mean,
            "std": result.folds.std,
            "sem": result.folds.sem,
            "per_fold": result.folds.accuracies,
            "fold_thresholds": result.folds.thresholds,
            "mean_no_face_pairs_as_errors": result.accuracy_no_face_as_error,
        },
        "roc": {
            "auc": result.auc,
            "eer": result.eer,
            "eer_threshold": result.eer_threshold,
            "tar_at_far": [
                {
                    "far": t.far,
                    "tar": t.tar,
                    "threshold": t.threshold,
                    "impostors_at_or_above": t.impostors_above,
                }
                for t in result.tar_at_far
            ],
        },
    }


def _plots(result: VerificationResult, out_dir: Path) -> None:
    s = result.scores
    plots.roc_plot(
        result.roc.far,
        result.roc.tar,
        out_dir / "roc.png",
        title="LFW View 2 ROC (all 10 folds pooled)",
        eer=result.eer,
    )
    plots.score_histogram(
        {"genuine pairs": s.scores[s.same], "impostor pairs": s.scores[~s.same]},
        out_dir / "scores.png",
        title="LFW View 2 similarity distributions",
        thresholds={"mean fold threshold": float(np.mean(result.folds.thresholds))},
    )
    plots.fold_accuracy_plot(
        result.folds.accuracies, out_dir / "folds.png", title="LFW View 2 accuracy per fold"
    )


_SELECTION = {
    "central": "the face nearest the image centre is used if it lies within a quarter of "
    "the image of it (else the fallback detector is tried, then the centred box): LFW "
    "crops are centred on the labelled person.",
    "centre": "the face nearest the image centre is used, however far from it.",
    "largest": "the largest face is used.",
}


def _variant_note(pipe: dict[str, Any]) -> str:
    notes = []
    if pipe.get("padding") is not None:
        notes.append(f"chip padding {pipe['padding']}")
    if pipe.get("landmarks68"):
        notes.append("68-point landmarks")
    if pipe.get("flip"):
        notes.append("descriptor averaged with the mirror image's")
    if not notes:
        return ""
    return "; variant, chip made outside the pipeline: " + ", ".join(notes)


def _markdown(summary: dict[str, Any], result: VerificationResult, pairs: list[Pair]) -> str:
    acc = summary["accuracy"]
    img = summary["images"]
    pipe = summary["pipeline"]
    subset = summary["subset_pairs_per_fold"]
    lines = [
        "# LFW View 2 verification",
        "",
        f"Command: `{summary['run']['command']}`",
        "",
        "Protocol: the 6,000 pairs of `pairs.txt` in 10 folds; for each fold the similarity "
        "threshold that maximises accuracy on the other 9 folds is applied to it. "
        + (f"**Subset run: {subset} pairs per fold.** " if subset else "")
        + "Images are embedded with the service's pipeline "
        f"(detector {pipe['detection']['detector']}, fallback "
        f"{pipe['detection']['fallback_detector']}, jitters {pipe['embedding']['jitters']}, "
        f"face kept: {pipe['selection']} of the image)" + _variant_note(pipe) + ".",
        "",
        md_table(
            ["metric", "value"],
            [
                ["mean accuracy ± std (10 folds)", f"{pct(acc['mean'])} ± {pct(acc['std'])}"],
                ["standard error of the mean", pct(acc["sem"])],
                [
                    "accuracy, no-face pairs counted as errors",
                    pct(acc["mean_no_face_pairs_as_errors"]),
                ],
                ["EER", pct(summary["roc"]["eer"])],
                ["AUC", f"{summary['roc']['auc']:.5f}"],
                *[
                    [
                        f"TAR at FAR {sci(t['far'])}",
                        f"{pct(t['tar'])} (threshold {t['threshold']:.4f}, "
                        f"{t['impostors_at_or_above']} impostor pairs at or above)",
                    ]
                    for t in summary["roc"]["tar_at_far"]
                ],
            ],
        ),
        "",
        f"TAR at FAR 1e-3 rests on {summary['pairs']['impostor']:,} impostor pairs, i.e. "
        "at most a handful of impostors above the threshold: treat it as indicative.",
        "",
        "## Images without a detected face",
        "",
        f"{img['images']:,} distinct images. Faces found by detector: "
        + ", ".join(f"{k}: {v:,}" for k, v in img["by_detector"].items())
        + f". {img['no_face_centre_box']} images had no face found by either detector; as in "
        "dlib's own LFW test, they are embedded from a centred box (LFW crops are centred "
        "on the labelled face), and the pipeline's 5-point landmark model is run inside it. "
        f"{summary['pairs']['with_a_no_face_image']} pairs involve such an image; the row "
        "'no-face pairs counted as errors' above is the accuracy if the service refused them. "
        f"{img['multi_face_images']:,} images show more than one face; "
        + _SELECTION[str(pipe["selection"])],
        "",
    ]
    if img["no_face_images"]:
        lines += [
            "Images with no detected face: "
            + ", ".join(f"`{p}`" for p in img["no_face_images"][:40]),
            "",
        ]
    lines += [
        "## Per fold",
        "",
        md_table(
            ["fold", "accuracy", "threshold"],
            [
                [i + 1, pct(a), f"{t:.4f}"]
                for i, (a, t) in enumerate(
                    zip(acc["per_fold"], acc["fold_thresholds"], strict=True)
                )
            ],
        ),
        "",
        "## Hardest errors",
        "",
        md_table(
            ["pair", "same person", "similarity", "fold threshold"],
            [
                [f"`{p.a}` / `{p.b}`", "yes" if p.same else "no", f"{s:.4f}", f"{t:.4f}"]
                for p, s, t in hardest_errors(pairs, result)
            ],
        ),
        "",
        "Plots: `roc.png`, `scores.png`, `folds.png`. LFW is a research benchmark of "
        "mostly frontal photos of public figures; accuracy on it does not show fitness for "
        "any operational use.",
        "",
    ]
    return "\n".join(lines)
