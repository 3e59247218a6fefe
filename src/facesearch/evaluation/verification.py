"""LFW View 2 verification: scores of protocol pairs and the metrics the field reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facesearch.evaluation.embedcache import STATUS_DETECTED, EmbeddingSet
from facesearch.evaluation.lfw import Pair
from facesearch.evaluation.metrics import (
    Float64Array,
    FoldAccuracy,
    RocCurve,
    equal_error_rate,
    kfold_accuracy,
    roc_curve,
    tar_at_far,
)

#: FAR levels at which TAR is reported (1e-4 is below what View 2's 3,000 impostor pairs
#: can show: its threshold sits above every impostor; indicative only).
FAR_LEVELS = (1e-2, 1e-3, 1e-4)


@dataclass(frozen=True, slots=True)
class PairScores:
    """Cosine similarity of each pair ``(n,)``, its label, fold, and whether both images
    had a detected face (``False``: at least one fell back to the centred box)."""

    scores: Float64Array
    same: np.ndarray
    folds: np.ndarray
    detected: np.ndarray


def pair_scores(pairs: Sequence[Pair], embeddings: EmbeddingSet) -> PairScores:
    """Scores of ``pairs`` from ``embeddings`` (which must hold every image of them)."""
    a = embeddings.rows([p.a for p in pairs])
    b = embeddings.rows([p.b for p in pairs])
    e = embeddings.embeddings.astype(np.float64)
    scores = np.einsum("ij,ij->i", e[a], e[b])
    detected = (embeddings.status[a] == STATUS_DETECTED) & (embeddings.status[b] == STATUS_DETECTED)
    return PairScores(
        scores=np.clip(scores, -1.0, 1.0),
        same=np.asarray([p.same for p in pairs], dtype=bool),
        folds=np.asarray([p.fold for p in pairs], dtype=np.int64),
        detected=detected,
    )


@dataclass(frozen=True, slots=True)
class TarAtFar:
    far: float
    tar: float
    threshold: float
    impostors_above: int


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """Everything ``eval lfw`` reports.

    ``folds``: accuracy per fold with the threshold fit on the other folds.
    ``accuracy_no_face_as_error``: mean over folds when every pair with a fallback image
    counts as wrong (a lower bound). ``roc`` over all pairs pooled.
    """

    n_pairs: int
    n_genuine: int
    n_impostor: int
    folds: FoldAccuracy
    accuracy_no_face_as_error: float
    roc: RocCurve
    auc: float
    eer: float
    eer_threshold: float
    tar_at_far: tuple[TarAtFar, ...]
    pairs_with_fallback: int
    scores: PairScores


def evaluate_verification(scores: PairScores) -> VerificationResult:
    """The View 2 metrics of ``scores`` (any number of folds >= 2)."""
    s, y, f = scores.scores, scores.same, scores.folds
    folds = kfold_accuracy(s, y, f)
    strict = []
    for k, t in zip(np.unique(f), folds.thresholds, strict=True):
        test = f == k
        correct = ((s[test] >= t) == y[test]) & scores.detected[test]
        strict.append(float(np.mean(correct)))
    genuine, impostor = s[y], s[~y]
    roc = roc_curve(genuine, impostor)
    eer, eer_t = equal_error_rate(genuine, impostor)
    tars = []
    for far in FAR_LEVELS:
        tar, t = tar_at_far(genuine, impostor, far)
        tars.append(TarAtFar(far, tar, t, int(np.count_nonzero(impostor >= t))))
    return VerificationResult(
        n_pairs=int(s.size),
        n_genuine=int(y.sum()),
        n_impostor=int((~y).sum()),
        folds=folds,
        accuracy_no_face_as_error=float(np.mean(strict)),
        roc=roc,
        auc=roc.auc(),
        eer=eer,
        eer_threshold=eer_t,
        tar_at_far=tuple(tars),
        pairs_with_fallback=int(np.count_nonzero(~scores.detected)),
        scores=scores,
    )


def hardest_errors(
    pairs: Sequence[Pair], result: VerificationResult, limit: int = 15
) -> list[tuple[Pair, float, float]]:
    """The misclassified pairs farthest from their fold's threshold: ``(pair, score, t)``."""
    s = result.scores
    thresholds = dict(zip(np.unique(s.folds).tolist(), result.folds.thresholds, strict=True))
    rows = []
    for i, p in enumerate(pairs):
        t = float(thresholds[int(s.folds[i])])
        if (s.scores[i] >= t) != s.same[i]:
            rows.append((p, float(s.scores[i]), t))
    rows.sort(key=lambda r: -abs(r[1] - r[2]))
    return rows[:limit]
