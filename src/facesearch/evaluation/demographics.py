"""Demographic differentials in the manner of NIST IR 8280 (pure numpy).

One global threshold is set for a target FMR over *all* impostor pairs (any two different
people). Then, per group (e.g. sex F / M), FMR is measured over impostor pairs whose two
people both belong to the group, and FNMR over genuine pairs (two images of one person)
of the group's people. Intervals come from a bootstrap over identities, so a group of few
people gets the wide interval it deserves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from facesearch.evaluation.metrics import bootstrap_ratio_ci

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class PerIdentityCounts:
    """Counts per identity ``(k,)`` (identity codes ``0..k-1``) at one threshold.

    ``false_matches[c]``: impostor comparisons involving an image of identity ``c`` at or
    above the threshold; ``impostor_pairs[c]`` all of them (each pair is counted once for
    each of its two identities; ratios are unaffected). ``misses`` / ``genuine_pairs``:
    genuine pairs of ``c`` below the threshold / in total.
    """

    false_matches: IntArray
    impostor_pairs: IntArray
    misses: IntArray
    genuine_pairs: IntArray


def per_identity_counts(
    embeddings: NDArray[np.float32],
    codes: IntArray,
    thresholds: Sequence[float],
    *,
    n_identities: int,
    block: int = 1024,
) -> list[PerIdentityCounts]:
    """Counts for every pair of rows of ``embeddings`` ``(n, d)`` (unit rows) with identity
    ``codes`` ``(n,)``, at each of ``thresholds`` (one result per threshold)."""
    e = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = e.shape[0]
    k = n_identities
    per_image_images = np.bincount(codes, minlength=k)[codes]  # images of own identity
    fm = [np.zeros(k, np.int64) for _ in thresholds]
    miss = [np.zeros(k, np.int64) for _ in thresholds]
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        sims = e[r0:r1] @ e.T  # (b, n)
        same = codes[r0:r1, None] == codes[None, :]
        upper = np.arange(r0, r1)[:, None] < np.arange(n)[None, :]
        row_codes = codes[r0:r1]
        for j, t in enumerate(thresholds):
            above = sims >= t
            fm_rows = np.count_nonzero(above & ~same, axis=1)
            miss_rows = np.count_nonzero(~above & same & upper, axis=1)
            np.add.at(fm[j], row_codes, fm_rows)
            np.add.at(miss[j], row_codes, miss_rows)
    images = np.bincount(codes, minlength=k).astype(np.int64)
    impostor = np.bincount(codes, weights=n - per_image_images, minlength=k).astype(np.int64)
    genuine = images * (images - 1) // 2
    return [PerIdentityCounts(fm[j], impostor, miss[j], genuine) for j in range(len(thresholds))]


@dataclass(frozen=True, slots=True)
class GroupRate:
    """A rate with its 95% interval and the data behind it.

    With no events the bootstrap interval collapses to [0, 0]; ``high`` is then the
    Clopper-Pearson upper bound ``1 - 0.025 ** (1 / comparisons)`` instead (optimistic when
    comparisons share people, but not the false certainty of a zero-width interval).
    """

    estimate: float
    low: float
    high: float
    events: int
    comparisons: int
    identities: int


def _rate(
    events: IntArray, totals: IntArray, *, pair_divisor: int, n_boot: int, level: float, seed: int
) -> GroupRate:
    used = totals > 0
    estimate, low, high = bootstrap_ratio_ci(
        events[used], totals[used], n_boot=n_boot, level=level, seed=seed
    )
    n_events = int(events.sum()) // pair_divisor
    n_pairs = int(totals.sum()) // pair_divisor
    if n_events == 0:
        high = 1.0 - ((1.0 - level) / 2.0) ** (1.0 / max(n_pairs, 1))
    return GroupRate(estimate, low, high, n_events, n_pairs, int(used.sum()))


@dataclass(frozen=True, slots=True)
class GroupResult:
    """FMR and FNMR of one group at one threshold; ratios to the lowest group's rate."""

    group: str
    identities: int
    images: int
    fmr: GroupRate | None
    fnmr: GroupRate | None
    fmr_ratio_to_lowest: float | None = None
    fnmr_ratio_to_lowest: float | None = None


def group_rates(
    counts: PerIdentityCounts,
    *,
    group: str,
    images: int,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> GroupResult:
    """FMR and FNMR with bootstrap intervals from the counts of one group's identities
    (counts computed within the group, so impostor pairs are same-group pairs)."""
    fmr = fnmr = None
    if (counts.impostor_pairs > 0).any():
        # each impostor pair is counted once for each of its two identities
        fmr = _rate(
            counts.false_matches,
            counts.impostor_pairs,
            pair_divisor=2,
            n_boot=n_boot,
            level=level,
            seed=seed,
        )
    if (counts.genuine_pairs > 0).any():
        fnmr = _rate(
            counts.misses,
            counts.genuine_pairs,
            pair_divisor=1,
            n_boot=n_boot,
            level=level,
            seed=seed + 1,
        )
    return GroupResult(
        group=group,
        identities=int(counts.impostor_pairs.size),
        images=images,
        fmr=fmr,
        fnmr=fnmr,
    )


def with_ratios(results: Sequence[GroupResult], *, min_identities: int = 0) -> list[GroupResult]:
    """Each group's FMR and FNMR divided by the lowest non-zero rate among the groups that
    hold at least ``min_identities`` identities (all groups if none does). A zero rate gets
    no ratio (``None``)."""
    readable = [r for r in results if r.identities >= min_identities] or list(results)

    def lowest(values: list[float]) -> float | None:
        positive = [v for v in values if v > 0]
        return min(positive) if positive else None

    fmr_low = lowest([r.fmr.estimate for r in readable if r.fmr is not None])
    fnmr_low = lowest([r.fnmr.estimate for r in readable if r.fnmr is not None])

    def ratio(rate: GroupRate | None, low: float | None) -> float | None:
        if rate is None or low is None or rate.estimate == 0:
            return None
        return rate.estimate / low

    return [
        GroupResult(
            group=r.group,
            identities=r.identities,
            images=r.images,
            fmr=r.fmr,
            fnmr=r.fnmr,
            fmr_ratio_to_lowest=ratio(r.fmr, fmr_low),
            fnmr_ratio_to_lowest=ratio(r.fnmr, fnmr_low),
        )
        for r in results
    ]


def cap_per_identity(
    paths: Sequence[str], identities: Sequence[str], cap: int | None, seed: int
) -> list[int]:
    """Row indices keeping at most ``cap`` images per identity (seeded choice, sorted)."""
    if cap is None:
        return list(range(len(paths)))
    rng = np.random.default_rng(seed)
    by_id: dict[str, list[int]] = {}
    for i, name in enumerate(identities):
        by_id.setdefault(name, []).append(i)
    keep: list[int] = []
    for rows in by_id.values():
        if len(rows) > cap:
            rows = sorted(rng.choice(rows, size=cap, replace=False).tolist())
        keep.extend(rows)
    return sorted(keep)
