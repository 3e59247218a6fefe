"""Biometric metrics on similarity scores: pure numpy, no I/O, no models.

Conventions: a *score* is a similarity (higher = more alike, cosine in [-1, 1] for
facesearch). A comparison is *accepted* at threshold ``t`` when ``score >= t``.
``genuine`` (mated) scores compare two images of one person, ``impostor`` (non-mated)
scores two people. All rates are fractions in [0, 1].

* FAR / FMR(t): share of impostor scores ``>= t``; TAR(t): share of genuine ``>= t``;
  FNMR = FRR = 1 - TAR.
* Open-set identification (ISO/IEC 19795-1, NIST FRVT 1:N): FPIR(t) = share of
  non-mated searches whose best candidate scores ``>= t``; FNIR(t) = share of mated
  searches whose mate is not returned at rank ``<= R`` with score ``>= t``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Float64Array = NDArray[np.float64]


def _scores(values: ArrayLike, name: str) -> Float64Array:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError(f"{name} scores are empty")
    if not np.all(np.isfinite(array) | np.isneginf(array)):
        raise ValueError(f"{name} scores hold NaN or +inf")
    return array


def rate_at_or_above(scores: ArrayLike, thresholds: ArrayLike) -> Float64Array:
    """Share of ``scores`` ``>= t`` for each ``t`` in ``thresholds`` (same shape as them)."""
    s = np.sort(_scores(scores, "input"))
    t = np.asarray(thresholds, dtype=np.float64)
    below = np.searchsorted(s, t, side="left")
    return np.asarray((s.size - below) / s.size, dtype=np.float64)


def fmr_fnmr(genuine: ArrayLike, impostor: ArrayLike, threshold: float) -> tuple[float, float]:
    """``(FMR, FNMR)`` at ``threshold``: impostors accepted, genuine rejected."""
    g = _scores(genuine, "genuine")
    i = _scores(impostor, "impostor")
    return float(np.mean(i >= threshold)), float(np.mean(g < threshold))


def threshold_at_fmr(impostor: ArrayLike, target: float) -> float:
    """The lowest threshold whose FMR is at most ``target``.

    With ``n`` impostor scores sorted high to low (``s_0 >= s_1 >= ...``) and
    ``k = floor(target * n)``, the threshold is the next representable value above ``s_k``
    so that at most ``k`` impostors (a share ``<= target``) are accepted. float32 input is
    handled in float32 (the threshold is then exactly a float32 value, so comparing it with
    float32 or float64 scores gives the same answer). ``target >= 1`` gives ``-inf``.
    """
    if target < 0.0:
        raise ValueError(f"target FMR must be >= 0, got {target}")
    raw = np.asarray(impostor)
    dtype = np.float32 if raw.dtype == np.float32 else np.float64
    s = raw.astype(dtype, copy=False).ravel()
    if s.size == 0 or np.isnan(s).any():
        raise ValueError("impostor scores are empty or hold NaN")
    k = math.floor(target * s.size + 1e-9)
    if k >= s.size:
        return -math.inf
    kth_largest = np.partition(s, s.size - 1 - k)[s.size - 1 - k]
    return float(np.nextafter(kth_largest, dtype(math.inf)))


@dataclass(frozen=True, slots=True)
class RocCurve:
    """ROC points, one per distinct threshold, from strictest to loosest.

    ``thresholds`` ``(m,)`` descending; ``far`` and ``tar`` ``(m,)`` ascending, the rates
    at ``score >= threshold``. The first point is ``(0, 0)`` at ``+inf``.
    """

    thresholds: Float64Array
    far: Float64Array
    tar: Float64Array

    def auc(self) -> float:
        """Area under TAR(FAR) (trapezoids)."""
        return float(np.trapezoid(self.tar, self.far))


def roc_curve(genuine: ArrayLike, impostor: ArrayLike) -> RocCurve:
    """Exact ROC of ``genuine`` and ``impostor`` scores (every distinct score a threshold)."""
    g = np.sort(_scores(genuine, "genuine"))
    i = np.sort(_scores(impostor, "impostor"))
    thresholds = np.unique(np.concatenate([g, i]))[::-1]
    tar = (g.size - np.searchsorted(g, thresholds, side="left")) / g.size
    far = (i.size - np.searchsorted(i, thresholds, side="left")) / i.size
    return RocCurve(
        thresholds=np.concatenate([[math.inf], thresholds]),
        far=np.concatenate([[0.0], far]).astype(np.float64),
        tar=np.concatenate([[0.0], tar]).astype(np.float64),
    )


def equal_error_rate(genuine: ArrayLike, impostor: ArrayLike) -> tuple[float, float]:
    """``(EER, threshold)``: where FAR equals FRR, linearly interpolated between ROC points."""
    roc = roc_curve(genuine, impostor)
    frr = 1.0 - roc.tar
    diff = roc.far - frr  # rises from -1 (strict) to +1 (loose)
    j = int(np.argmax(diff >= 0))
    if j == 0:
        return float(roc.far[0]), float(roc.thresholds[0])
    d0, d1 = diff[j - 1], diff[j]
    w = 0.0 if d1 == d0 else -d0 / (d1 - d0)
    eer = (1 - w) * roc.far[j - 1] + w * roc.far[j]
    t0, t1 = roc.thresholds[j - 1], roc.thresholds[j]
    threshold = t1 if math.isinf(t0) else (1 - w) * t0 + w * t1
    return float(eer), float(threshold)


def tar_at_far(genuine: ArrayLike, impostor: ArrayLike, far: float) -> tuple[float, float]:
    """``(TAR, threshold)`` at the lowest threshold whose FAR is at most ``far``."""
    threshold = threshold_at_fmr(impostor, far)
    g = _scores(genuine, "genuine")
    return float(np.mean(g >= threshold)), threshold


def best_accuracy_threshold(scores: ArrayLike, same: ArrayLike) -> float:
    """Threshold maximising verification accuracy on ``scores`` with labels ``same`` (bool).

    Candidates are midpoints between consecutive distinct scores (and one below / above
    all); ties in accuracy go to the midpoint nearest the median candidate, so the choice
    is deterministic.
    """
    s = _scores(scores, "input")
    y = np.asarray(same, dtype=bool).ravel()
    if y.shape != s.shape:
        raise ValueError("scores and labels differ in length")
    u = np.unique(s)
    candidates = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2.0, [u[-1] + 1.0]])
    order = np.argsort(s)
    s_sorted, y_sorted = s[order], y[order]
    # accepted at t: score >= t. Correct = genuine accepted + impostors rejected.
    below = np.searchsorted(s_sorted, candidates, side="left")
    genuine_below = np.concatenate([[0], np.cumsum(y_sorted)])[below]
    impostor_below = below - genuine_below
    correct = (int(y.sum()) - genuine_below) + impostor_below
    best = np.flatnonzero(correct == correct.max())
    return float(candidates[best[len(best) // 2]])


@dataclass(frozen=True, slots=True)
class FoldAccuracy:
    """K-fold verification accuracy: per fold, the threshold fit on the other folds.

    ``accuracies`` and ``thresholds`` ``(k,)``; ``std`` is the sample standard deviation
    over folds (ddof=1); ``sem`` = ``std / sqrt(k)`` (LFW's "standard error").
    """

    accuracies: Float64Array
    thresholds: Float64Array

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies, ddof=1)) if self.accuracies.size > 1 else 0.0

    @property
    def sem(self) -> float:
        return self.std / math.sqrt(self.accuracies.size)


def kfold_accuracy(scores: ArrayLike, same: ArrayLike, folds: ArrayLike) -> FoldAccuracy:
    """Accuracy of each fold at the threshold that maximises accuracy on all other folds.

    ``scores`` ``(n,)`` similarities, ``same`` ``(n,)`` bool labels, ``folds`` ``(n,)``
    integer fold ids (LFW View 2: 10 folds of 600 pairs).
    """
    s = _scores(scores, "input")
    y = np.asarray(same, dtype=bool).ravel()
    f = np.asarray(folds).ravel()
    if not s.shape == y.shape == f.shape:
        raise ValueError("scores, labels and folds differ in length")
    ids = np.unique(f)
    if ids.size < 2:
        raise ValueError("k-fold accuracy needs at least 2 folds")
    accuracies, thresholds = [], []
    for k in ids:
        test = f == k
        t = best_accuracy_threshold(s[~test], y[~test])
        predicted = s[test] >= t
        accuracies.append(float(np.mean(predicted == y[test])))
        thresholds.append(t)
    return FoldAccuracy(np.asarray(accuracies), np.asarray(thresholds))


# --- identification ------------------------------------------------------------------------
def cmc(mate_ranks: ArrayLike, max_rank: int) -> Float64Array:
    """Cumulative match characteristic ``(max_rank,)``: entry ``r - 1`` = share of mated
    searches whose mate is at rank ``<= r``. ``mate_ranks`` are 1-based; ``0`` (or any
    value < 1) means the mate was not among the candidates."""
    ranks = np.asarray(mate_ranks, dtype=np.int64).ravel()
    if ranks.size == 0:
        raise ValueError("no mated searches")
    found = ranks[ranks >= 1]
    counts = np.bincount(np.minimum(found, max_rank + 1), minlength=max_rank + 2)[1 : max_rank + 1]
    return np.asarray(np.cumsum(counts) / ranks.size, dtype=np.float64)


def fnir_at_threshold(
    mate_ranks: ArrayLike, mate_scores: ArrayLike, threshold: float, *, max_rank: int = 1
) -> float:
    """FNIR: share of mated searches without the mate at rank ``<= max_rank`` scoring
    ``>= threshold``. ``mate_scores`` is the mate's similarity (any value where rank < 1)."""
    ranks = np.asarray(mate_ranks, dtype=np.int64).ravel()
    scores = np.asarray(mate_scores, dtype=np.float64).ravel()
    hit = (ranks >= 1) & (ranks <= max_rank) & (scores >= threshold)
    return float(1.0 - np.mean(hit))


@dataclass(frozen=True, slots=True)
class FnirAtFpir:
    """One operating point: target FPIR, the threshold reaching it, achieved FPIR, FNIR."""

    target_fpir: float
    threshold: float
    fpir: float
    fnir: float


def fnir_at_fpir(
    mate_ranks: ArrayLike,
    mate_scores: ArrayLike,
    nonmated_top_scores: ArrayLike,
    targets: Sequence[float],
    *,
    max_rank: int = 1,
) -> list[FnirAtFpir]:
    """FNIR at the thresholds where FPIR first drops to each target.

    ``nonmated_top_scores`` ``(m,)``: best candidate similarity of each non-mated search
    (``-inf`` when it returned none). The threshold for a target is the lowest one with
    FPIR ``<= target`` (see :func:`threshold_at_fmr`).
    """
    top = _scores(nonmated_top_scores, "non-mated")
    points = []
    for target in targets:
        t = threshold_at_fmr(top, target)
        points.append(
            FnirAtFpir(
                target_fpir=float(target),
                threshold=t,
                fpir=float(np.mean(top >= t)),
                fnir=fnir_at_threshold(mate_ranks, mate_scores, t, max_rank=max_rank),
            )
        )
    return points


def det_curve(
    mate_ranks: ArrayLike,
    mate_scores: ArrayLike,
    nonmated_top_scores: ArrayLike,
    *,
    max_rank: int = 1,
) -> tuple[Float64Array, Float64Array, Float64Array]:
    """Identification DET: ``(thresholds, fpir, fnir)``, one point per distinct score."""
    ranks = np.asarray(mate_ranks, dtype=np.int64).ravel()
    mated = np.asarray(mate_scores, dtype=np.float64).ravel()
    usable = (ranks >= 1) & (ranks <= max_rank)
    mated_hit = np.sort(mated[usable])
    top = np.sort(_scores(nonmated_top_scores, "non-mated"))
    finite = np.concatenate([mated_hit, top[np.isfinite(top)]])
    thresholds = np.unique(finite)[::-1]
    fpir = (top.size - np.searchsorted(top, thresholds, side="left")) / top.size
    hits = mated_hit.size - np.searchsorted(mated_hit, thresholds, side="left")
    fnir = 1.0 - hits / ranks.size
    return thresholds, fpir.astype(np.float64), fnir.astype(np.float64)


# --- bootstrap -----------------------------------------------------------------------------
def bootstrap_ratio_ci(
    numerators: ArrayLike,
    denominators: ArrayLike,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(estimate, low, high)`` for ``sum(num) / sum(den)`` with a cluster bootstrap.

    Each entry is one cluster (e.g. one identity: its number of false matches and its
    number of comparisons). Clusters are resampled with replacement ``n_boot`` times and
    the percentile interval at ``level`` is returned. Resampling clusters rather than
    single comparisons keeps the dependence between one person's comparisons, so the
    interval is honest about how few people a group holds.
    """
    num = np.asarray(numerators, dtype=np.float64).ravel()
    den = np.asarray(denominators, dtype=np.float64).ravel()
    if num.shape != den.shape or num.size == 0:
        raise ValueError("numerators and denominators must be non-empty and of equal length")
    total = den.sum()
    if total <= 0:
        raise ValueError("denominators sum to zero")
    estimate = float(num.sum() / total)
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot, dtype=np.float64)
    size = num.size
    for b in range(0, n_boot, 256):
        m = min(256, n_boot - b)
        picks = rng.integers(0, size, size=(m, size))
        d = den[picks].sum(axis=1)
        n = num[picks].sum(axis=1)
        stats[b : b + m] = np.divide(n, d, out=np.full(m, np.nan), where=d > 0)
    stats = stats[np.isfinite(stats)]
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return estimate, float(low), float(high)
