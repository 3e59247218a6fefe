"""Seeded face-like embeddings fitted to a model's real embeddings (for index benchmarks).

:meth:`FaceEmbeddingModel.fit` takes real embeddings ``(n, d)`` with identity labels
``(n,)`` (for example the model's LFW embeddings) and fits two Gaussians:

- **between identities**: mean and covariance of the identities' mean embeddings (those
  with at least two images). The covariance of means of ``n_i`` samples also holds
  ``C_within / n_i``; that share (its average over identities) is subtracted and negative
  eigenvalues are clipped, so the centres are not drawn noisier than real identities;
- **within an identity**: the covariance of residuals ``x - mean_i``, each scaled by
  ``sqrt(n_i / (n_i - 1))`` (the unbiased estimate).

:meth:`FaceEmbeddingModel.sample` draws identity centres from the first Gaussian and faces
``centre + residual`` from the second, then L2-normalises, all from one seed.
:func:`fit_check` compares genuine (same identity) and impostor cosine distributions of a
synthetic set against the real one: the Kolmogorov-Smirnov distance of each, and the FMR
at a threshold (the issue's acceptance: within a factor of 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from facesearch.errors import InvalidInput
from facesearch.types import FloatArray, IntArray

__all__ = ["FaceEmbeddingModel", "FitCheck", "fit_check", "ks_distance", "load_labelled"]


@dataclass(frozen=True)
class FaceEmbeddingModel:
    """Two Gaussians fitted to real embeddings: ``mean`` ``(d,)`` of identity centres,
    ``between`` ``(d, d)`` their covariance, ``within`` ``(d, d)`` the covariance of a face
    around its identity's centre; ``n_identities``/``n_faces`` what it was fitted on."""

    mean: NDArray[np.float64]
    between: NDArray[np.float64]
    within: NDArray[np.float64]
    n_identities: int
    n_faces: int
    between_scales: NDArray[np.float64]
    within_scales: NDArray[np.float64]

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @classmethod
    def fit(cls, embeddings: FloatArray, labels: NDArray[np.generic]) -> FaceEmbeddingModel:
        """Fit on ``embeddings`` ``(n, d)`` (unit rows) and ``labels`` ``(n,)`` (any hashable
        dtype). Only identities with 2 or more faces count. Raises :class:`InvalidInput` for
        mismatched shapes or fewer than 2 such identities."""
        x = np.asarray(embeddings, dtype=np.float64)
        lab = np.asarray(labels)
        if x.ndim != 2 or lab.shape != (x.shape[0],):
            raise InvalidInput(
                f"need (n, d) embeddings and (n,) labels, got {x.shape}, {lab.shape}"
            )
        _, inverse, counts = np.unique(lab, return_inverse=True, return_counts=True)
        keep = counts[inverse] >= 2
        x, inverse = x[keep], inverse[keep]
        ident, inverse, counts = np.unique(inverse, return_inverse=True, return_counts=True)
        if ident.size < 2:
            raise InvalidInput("need at least 2 identities with 2 or more faces each")
        d = x.shape[1]
        sums = np.zeros((ident.size, d))
        np.add.at(sums, inverse, x)
        means = sums / counts[:, None]
        resid = (x - means[inverse]) * np.sqrt(counts / (counts - 1.0))[inverse, None]
        within = resid.T @ resid / x.shape[0]
        mu = means.mean(axis=0)
        centred = means - mu
        between = centred.T @ centred / (ident.size - 1) - within * float(np.mean(1.0 / counts))
        between = _clip_psd(between)
        # heavy tails: each real residual's and centre's squared length over its expected
        # value (about 1 for a Gaussian); sampling draws a scale from these, so the synthetic
        # set keeps the real outliers that make the genuine and impostor tails
        within_scales = np.einsum("ij,ij->i", resid, resid) / np.trace(within)
        expected = np.trace(between) + np.trace(within) / counts
        b_scales = np.einsum("ij,ij->i", centred, centred) / expected
        return cls(
            mu,
            between,
            within,
            int(ident.size),
            int(x.shape[0]),
            np.sort(b_scales),
            np.sort(within_scales),
        )

    def sample(
        self, n_identities: int, faces_per_identity: float, *, seed: int, n_faces: int | None = None
    ) -> tuple[FloatArray, IntArray]:
        """``(embeddings (m, d) float32 unit rows, identity (m,) int64 in [0, n_identities))``.

        Each identity gets ``1 + Poisson(faces_per_identity - 1)`` faces, or exactly
        ``n_faces`` faces in all are drawn with uniformly chosen identities when given.
        Deterministic for a seed.
        """
        rng = np.random.default_rng(seed)
        centres = self.centres(n_identities, rng)
        if n_faces is None:
            per = 1 + rng.poisson(max(faces_per_identity - 1.0, 0.0), size=n_identities)
            who = np.repeat(np.arange(n_identities, dtype=np.int64), per)
        else:
            who = rng.integers(0, n_identities, size=n_faces, dtype=np.int64)
        return self.faces_of(centres, who, rng), who

    def centres(self, n: int, rng: np.random.Generator) -> FloatArray:
        """``n`` identity centres ``(n, d)`` float32 (not normalised)."""
        z = rng.standard_normal((n, self.dim), dtype=np.float32)
        z *= np.sqrt(rng.choice(self.between_scales, size=n)).astype(np.float32)[:, None]
        return (z @ _sqrt_psd(self.between).T + self.mean).astype(np.float32)

    def faces_of(
        self, centres: FloatArray, who: IntArray, rng: np.random.Generator, chunk: int = 262144
    ) -> FloatArray:
        """One face of identity ``who[i]`` per row: ``centres[who] + residual``, normalised."""
        root = _sqrt_psd(self.within).T.astype(np.float32)
        out = np.empty((who.size, self.dim), dtype=np.float32)
        for s in range(0, who.size, chunk):
            e = min(who.size, s + chunk)
            block = rng.standard_normal((e - s, self.dim), dtype=np.float32) @ root
            scale = np.sqrt(rng.choice(self.within_scales, size=e - s)).astype(np.float32)
            block *= scale[:, None]
            block += centres[who[s:e]]
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            out[s:e] = block
        return out


def _clip_psd(m: NDArray[np.float64]) -> NDArray[np.float64]:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return np.asarray((v * np.clip(w, 0.0, None)) @ v.T, dtype=np.float64)


def _sqrt_psd(m: NDArray[np.float64]) -> NDArray[np.float64]:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return np.asarray(v * np.sqrt(np.clip(w, 0.0, None)), dtype=np.float64)


def ks_distance(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    """Two-sample Kolmogorov-Smirnov distance: the largest gap between the two empirical
    CDFs (0 = same distribution, 1 = disjoint)."""
    a, b = np.sort(np.asarray(a, dtype=np.float64)), np.sort(np.asarray(b, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        raise InvalidInput("KS distance needs two non-empty samples")
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def pair_scores(
    embeddings: FloatArray, labels: NDArray[np.generic], *, n_impostor: int, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(genuine, impostor)`` cosines: every same-label pair (at most 200,000, seeded
    sample) and ``n_impostor`` seeded random different-label pairs."""
    x = np.asarray(embeddings, dtype=np.float32)
    lab = np.asarray(labels)
    rng = np.random.default_rng(seed)
    order = np.argsort(lab, kind="stable")
    _, starts, counts = np.unique(lab[order], return_index=True, return_counts=True)
    ga, gb = [], []
    for s, c in zip(starts[counts >= 2], counts[counts >= 2], strict=True):
        i, j = np.triu_indices(int(c), 1)
        ga.append(order[s + i])
        gb.append(order[s + j])
    a = np.concatenate(ga) if ga else np.empty(0, np.int64)
    b = np.concatenate(gb) if gb else np.empty(0, np.int64)
    if a.size > 200_000:
        pick = rng.choice(a.size, 200_000, replace=False)
        a, b = a[pick], b[pick]
    genuine = np.einsum("ij,ij->i", x[a], x[b]).astype(np.float64)
    ia = rng.integers(0, len(x), size=2 * n_impostor)
    ib = rng.integers(0, len(x), size=2 * n_impostor)
    ok = lab[ia] != lab[ib]
    ia, ib = ia[ok][:n_impostor], ib[ok][:n_impostor]
    impostor = np.einsum("ij,ij->i", x[ia], x[ib]).astype(np.float64)
    return genuine, impostor


@dataclass(frozen=True, slots=True)
class FitCheck:
    """How a synthetic set compares with the real one (see :func:`fit_check`)."""

    ks_genuine: float
    ks_impostor: float
    threshold: float
    fmr_real: float
    fmr_synthetic: float
    fnmr_real: float
    fnmr_synthetic: float

    @property
    def fmr_ratio(self) -> float:
        """Synthetic FMR over real FMR at the threshold (inf when the real one is 0)."""
        return self.fmr_synthetic / self.fmr_real if self.fmr_real > 0 else float("inf")

    @property
    def fmr_within_2x(self) -> bool:
        return 0.5 <= self.fmr_ratio <= 2.0


def fit_check(
    real: FloatArray,
    real_labels: NDArray[np.generic],
    synthetic: FloatArray,
    synthetic_labels: NDArray[np.generic],
    *,
    threshold: float,
    n_impostor: int = 2_000_000,
    seed: int = 0,
) -> FitCheck:
    """Genuine and impostor cosine distributions of ``synthetic`` against ``real``: KS
    distance of each, FMR and FNMR of each at ``threshold`` (cosine)."""
    rg, ri = pair_scores(real, real_labels, n_impostor=n_impostor, seed=seed)
    sg, si = pair_scores(synthetic, synthetic_labels, n_impostor=n_impostor, seed=seed + 1)
    return FitCheck(
        ks_genuine=ks_distance(rg, sg),
        ks_impostor=ks_distance(ri, si),
        threshold=threshold,
        fmr_real=float(np.mean(ri >= threshold)),
        fmr_synthetic=float(np.mean(si >= threshold)),
        fnmr_real=float(np.mean(rg < threshold)),
        fnmr_synthetic=float(np.mean(sg < threshold)),
    )


def load_labelled(path: Path) -> tuple[FloatArray, NDArray[np.str_]]:
    """Embeddings ``(n, d)`` float32 unit rows and identity labels ``(n,)`` from an ``.npz``.

    Either ``embeddings`` + ``labels`` arrays, or an embedding cache written by the
    evaluation commands (``embeddings`` + ``paths`` like ``Name/Name_0001.jpg``; the label
    is the folder; rows whose embedding is all zeros, the failed images, are dropped).
    Raises :class:`InvalidInput` for a file without those arrays.
    """
    with np.load(path, allow_pickle=False) as z:
        if "embeddings" not in z.files or not ({"labels", "paths"} & set(z.files)):
            raise InvalidInput(f"{path}: needs 'embeddings' and 'labels' (or 'paths') arrays")
        x = np.asarray(z["embeddings"], dtype=np.float32)
        if "labels" in z.files:
            labels = np.asarray(z["labels"]).astype(str)
        else:
            labels = np.asarray([str(p).split("/")[0] for p in z["paths"]])
    norms = np.linalg.norm(x, axis=1)
    ok = norms > 0
    x = x[ok] / norms[ok, None]
    return np.ascontiguousarray(x), labels[ok]
