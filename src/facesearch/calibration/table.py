"""Similarity -> false-match-rate tables (one per embedding model) and open-set arithmetic.

A :class:`Calibration` holds knots ``(similarity, FMR)``: at each knot the share of
impostor comparisons (two different people) of a development set whose similarity is at
or above it. Between knots log10(FMR) is interpolated linearly in similarity, so
:meth:`Calibration.fmr` and :meth:`Calibration.threshold_for_fmr` are monotone inverses.
Above the highest knot the FMR is reported as the table's floor (the smallest FMR it can
measure): the true value is lower, the estimate errs on the cautious side.

For a search of a gallery of ``N`` faces, the chance that at least one impostor scores at
or above a threshold of FMR ``f`` is FPIR = 1 - (1 - f)^N if the N comparisons were
independent, and the expected number of false candidates at or above it is ``f * N``.

They are not independent: a probe that resembles one stranger tends to resemble several,
so false matches bunch on some probes and most probes have none. FPIR is
1 - E[(1 - f_p)^N] over the per-probe FMR ``f_p``, whose distribution (mean ``f``) is fitted
by maximum likelihood to per-probe impostor counts at a few thresholds and stored in the
table; between them its parameter is interpolated in similarity. Two models:

- **log-normal** (``fpir_lognormal``, :func:`fit_lognormal`, :func:`fpir_lognormal`):
  log f_p ~ Normal(log f - sigma^2/2, sigma^2).
- **beta** (``fpir_dispersion``, :func:`fit_dispersion`, :func:`fpir` with a
  ``dispersion``): f_p ~ Beta(f kappa, (1 - f) kappa), a beta-binomial, FPIR =
  1 - B(a, b + N) / B(a, b); 1 - (1 - f)^N when ``kappa`` is infinite.

Both reproduce LFW's own FPIR (13,233 images: at FMR 1e-4, observed 0.246, log-normal
0.241, beta 0.236; the independent formula 0.72). Where they part, each errs on the other
side of the truth: on smaller LFW galleries the beta is high and the log-normal slightly
low; at 1M-10M faces, where only the lower tail of f_p matters and no 13k-face set measures
it, the beta is low and the log-normal high (``benchmarks/fpir_simulation.py``). So
:meth:`Calibration.fpir` reports the larger of the two: cautious wherever it was checked
(docs/performance.md; tests in ``tests/calibration/test_fpir.py``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from facesearch.errors import ConfigurationError

Float64Array = NDArray[np.float64]

#: Format version of the JSON table files.
TABLE_FORMAT = 1


class CalibrationError(ConfigurationError):
    """No table for a model, a malformed table, or a target outside the table's range."""


_lgamma = np.vectorize(math.lgamma, otypes=[np.float64])


def fpir(fmr: ArrayLike, gallery_size: int, dispersion: ArrayLike | None = None) -> Float64Array:
    """FPIR of a search of ``gallery_size`` faces at a threshold of FMR ``fmr``.

    ``dispersion`` ``None`` (or infinite): independent comparisons, 1 - (1 - fmr)^N computed
    as ``-expm1(N * log1p(-fmr))``. Else the beta-binomial ``kappa`` (scalar or broadcast
    with ``fmr``): 1 - B(a, b + N) / B(a, b), ``a = fmr kappa``, ``b = (1 - fmr) kappa``.
    ``fmr`` in [0, 1]; returns float64 of the broadcast shape.
    """
    if gallery_size < 0:
        raise ValueError("gallery size must be >= 0")
    f = np.clip(np.asarray(fmr, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        independent = np.asarray(-np.expm1(gallery_size * np.log1p(-f)), dtype=np.float64)
    if dispersion is None or gallery_size == 0:
        return independent
    kappa = np.broadcast_to(np.asarray(dispersion, dtype=np.float64), f.shape)
    inner = (f > 0) & (f < 1) & np.isfinite(kappa)
    out = independent.copy()
    if np.any(inner):
        fi, ki = f[inner], kappa[inner]
        a, b = fi * ki, (1.0 - fi) * ki
        log_none = (
            _lgamma(b + gallery_size) + _lgamma(a + b) - _lgamma(b) - _lgamma(a + b + gallery_size)
        )
        out[inner] = -np.expm1(np.minimum(log_none, 0.0))
    return np.asarray(out, dtype=np.float64)


def fmr_for_fpir(target_fpir: float, gallery_size: int, dispersion: float | None = None) -> float:
    """The per-comparison FMR at which a gallery of ``gallery_size`` reaches ``target_fpir``
    (inverse of :func:`fpir`): ``-expm1(log1p(-fpir) / N)`` for independent comparisons,
    by bisection in log FMR for a beta-binomial ``dispersion``."""
    if not 0.0 < target_fpir < 1.0:
        raise ValueError(f"target FPIR must be in (0, 1), got {target_fpir}")
    if gallery_size <= 0:
        return 1.0
    independent = float(-math.expm1(math.log1p(-target_fpir) / gallery_size))
    if dispersion is None or not math.isfinite(dispersion):
        return independent
    lo, hi = math.log(independent), 0.0  # FPIR(beta) <= FPIR(independent): f >= independent
    for _ in range(100):
        mid = (lo + hi) / 2
        if float(fpir(math.exp(mid), gallery_size, dispersion)[()]) > target_fpir:
            hi = mid
        else:
            lo = mid
    return math.exp(lo)


def fit_dispersion(hits: ArrayLike, comparisons: ArrayLike) -> float:
    """Maximum-likelihood beta-binomial ``kappa`` for per-probe impostor counts: probe ``p``
    had ``hits[p]`` of its ``comparisons[p]`` impostor comparisons at or above a threshold.

    The mean is held at the pooled FMR; ``kappa`` is searched on a log grid (1 to 1e9) and
    refined. Returns ``inf`` when the counts show no over-dispersion (the independent
    formula is then right) and raises :class:`CalibrationError` when there are no hits.
    """
    h, m, f = _probe_counts(hits, comparisons)

    def loglik(log_k: float) -> float:
        k = math.exp(log_k)
        a, b = f * k, (1 - f) * k
        return float(
            np.sum(
                _lgamma(h + a)
                + _lgamma(m - h + b)
                - _lgamma(m + a + b)
                - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
            )
        )

    grid = np.linspace(0.0, math.log(1e9), 91)
    values = [loglik(x) for x in grid]
    best = int(np.argmax(values))
    if best == grid.size - 1:
        return math.inf
    return math.exp(_golden_max(loglik, grid, best, 40))


def _probe_counts(
    hits: ArrayLike, comparisons: ArrayLike
) -> tuple[Float64Array, Float64Array, float]:
    """Per-probe ``(hits, comparisons)`` as float64 ``(n,)``, without probes compared with
    no one (they tell nothing), and the pooled FMR. Raises :class:`CalibrationError` on
    malformed counts or when no probe has a hit."""
    h = np.asarray(hits, dtype=np.float64).ravel()
    m = np.asarray(comparisons, dtype=np.float64).ravel()
    if h.shape != m.shape or h.size == 0 or np.any(h < 0) or np.any(h > m):
        raise CalibrationError("hits and comparisons must be (n,) with 0 <= hits <= comparisons")
    h, m = h[m > 0], m[m > 0]
    f = float(h.sum() / m.sum()) if m.size else 0.0
    if not 0 < f < 1:
        raise CalibrationError("no impostor at or above the threshold: cannot fit a model")
    return h, m, f


def _golden_max(
    loglik: Callable[[float], float], grid: Float64Array, best: int, iterations: int
) -> float:
    """Golden-section refinement of the maximum of ``loglik`` in the bracket of its best
    grid point ``grid[best]``."""
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    for _ in range(iterations):
        x1, x2 = lo + 0.382 * (hi - lo), lo + 0.618 * (hi - lo)
        if loglik(x1) < loglik(x2):
            lo = x1
        else:
            hi = x2
    return float((lo + hi) / 2)


_Z = np.linspace(-8.0, 8.0, 801)
_Z_WEIGHTS = np.exp(-0.5 * _Z**2) / np.sum(np.exp(-0.5 * _Z**2))
"""Standard-normal grid and weights for the log-normal integrals (trapezoid on [-8, 8])."""


def fpir_lognormal(fmr: float, gallery_size: int, sigma: float) -> float:
    """FPIR of a search of ``gallery_size`` faces when the per-probe FMR is log-normal with
    mean ``fmr`` and log-scale spread ``sigma``: 1 - E[(1 - f_p)^N] with
    log f_p ~ Normal(log fmr - sigma^2 / 2, sigma^2) (so E[f_p] = fmr).

    The log-normal's lower tail is thinner than the beta's: fewer probes with a tiny FMR,
    so a larger FPIR at large N (see :meth:`Calibration.fpir` for why both are used).
    """
    if gallery_size < 0:
        raise ValueError("gallery size must be >= 0")
    if gallery_size == 0 or fmr <= 0:
        return 0.0
    if fmr >= 1:
        return 1.0
    f = np.minimum(np.exp(math.log(fmr) - sigma**2 / 2 + sigma * _Z), 1.0 - 1e-12)
    return float(-np.sum(_Z_WEIGHTS * np.expm1(gallery_size * np.log1p(-f))))


def fit_lognormal(hits: ArrayLike, comparisons: ArrayLike) -> float:
    """Maximum-likelihood ``sigma`` of a log-normal per-probe FMR (see
    :func:`fpir_lognormal`) for per-probe impostor counts: probe ``p`` had ``hits[p]`` of its
    ``comparisons[p]`` comparisons at or above a threshold (Poisson counts, the binomial's
    limit for small FMRs). The mean is held at the pooled FMR, like :func:`fit_dispersion`;
    ``sigma`` is searched on a grid (0 to 6) and refined. Raises :class:`CalibrationError`
    when there are no hits.
    """
    h, m, f = _probe_counts(hits, comparisons)
    counts, inverse = np.unique(np.stack([h, m]), axis=1, return_inverse=True)
    weight = np.bincount(inverse.ravel(), minlength=counts.shape[1]).astype(np.float64)
    hh, mm = counts
    log_fact = _lgamma(hh + 1)

    def loglik(sigma: float) -> float:
        log_f = math.log(f) - sigma**2 / 2 + sigma * _Z  # (grid,)
        lam = mm[:, None] * np.exp(log_f)[None, :]
        log_p = hh[:, None] * np.log(lam) - lam - log_fact[:, None]
        top = log_p.max(axis=1, keepdims=True)
        per = top[:, 0] + np.log(np.exp(log_p - top) @ _Z_WEIGHTS)
        return float(weight @ per)

    grid = np.linspace(0.0, 6.0, 61)
    values = [loglik(x) for x in grid]
    return _golden_max(loglik, grid, int(np.argmax(values)), 30)


def expected_false_candidates(fmr: ArrayLike, gallery_size: int) -> Float64Array:
    """Expected number of impostor faces at or above a threshold of FMR ``fmr``: ``fmr * N``."""
    return np.asarray(np.asarray(fmr, dtype=np.float64) * gallery_size, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class LeadEstimates:
    """Per-candidate estimates, each ``(n,)`` float64 (see :meth:`Calibration.estimates`)."""

    fmr: Float64Array
    fpir: Float64Array
    expected_false_candidates: Float64Array


@dataclass(frozen=True)
class Calibration:
    """Similarity -> FMR for one model.

    ``similarities`` ``(m,)`` strictly increasing cosine similarities; ``fmrs`` ``(m,)``
    strictly decreasing, in (0, 1]; ``pairs`` ``(m,)`` impostor pairs at or above each knot
    (counts behind the estimate); ``n_impostor_pairs`` the comparisons the table was made
    from; ``provenance`` how it was made (dataset, split, pipeline, command, checks).
    """

    model_id: str
    similarities: Float64Array
    fmrs: Float64Array
    pairs: NDArray[np.int64]
    n_impostor_pairs: int
    provenance: dict[str, Any] = field(default_factory=dict)
    dispersion_similarities: Float64Array | None = None
    dispersion_kappas: Float64Array | None = None
    spread_similarities: Float64Array | None = None
    spread_sigmas: Float64Array | None = None

    def __post_init__(self) -> None:
        ss, sg = self.spread_similarities, self.spread_sigmas
        if (ss is None) != (sg is None) or (
            ss is not None
            and sg is not None
            and (
                ss.shape != sg.shape
                or ss.size == 0
                or np.any(np.diff(ss) <= 0)
                or not np.all(np.isfinite(sg) & (sg >= 0))
            )
        ):
            raise CalibrationError("FPIR spread knots must rise in similarity, sigma >= 0")
        ds, dk = self.dispersion_similarities, self.dispersion_kappas
        if (ds is None) != (dk is None) or (
            ds is not None
            and dk is not None
            and (
                ds.shape != dk.shape or ds.size == 0 or np.any(np.diff(ds) <= 0) or np.any(dk <= 0)
            )
        ):
            raise CalibrationError("FPIR dispersion knots must rise in similarity, kappa > 0")
        s, f = self.similarities, self.fmrs
        if s.ndim != 1 or s.shape != f.shape or s.size < 2:
            raise CalibrationError("a calibration needs at least 2 knots of equal length")
        if not (np.all(np.diff(s) > 0) and np.all(np.diff(f) < 0)):
            raise CalibrationError("knots must rise in similarity and fall in FMR")
        if not (f[-1] > 0 and f[0] <= 1):
            raise CalibrationError("FMRs must lie in (0, 1]")

    @property
    def min_fmr(self) -> float:
        """The smallest FMR the table measures (its floor)."""
        return float(self.fmrs[-1])

    @overload
    def fmr(self, similarity: float) -> float: ...
    @overload
    def fmr(self, similarity: NDArray[Any]) -> Float64Array: ...

    def fmr(self, similarity: float | NDArray[Any]) -> float | Float64Array:
        """Estimated FMR at ``similarity`` (scalar or array, cosine). Monotone decreasing;
        1.0 below the lowest knot, :attr:`min_fmr` above the highest."""
        log_f = np.interp(
            np.asarray(similarity, dtype=np.float64), self.similarities, np.log10(self.fmrs)
        )
        out = np.power(10.0, log_f)
        if np.ndim(out) == 0:
            return float(out)
        return np.asarray(out, dtype=np.float64)

    def threshold_for_fmr(self, target: float) -> float:
        """The similarity at which the estimated FMR is ``target``.

        Raises :class:`CalibrationError` when ``target`` is below the table's floor (the
        table cannot vouch for it) or not in (0, 1].
        """
        if not 0.0 < target <= 1.0:
            raise CalibrationError(f"target FMR must be in (0, 1], got {target}")
        if target < self.min_fmr * (1 - 1e-9):
            raise CalibrationError(
                f"target FMR {target:g} is below the lowest FMR this table measures "
                f"({self.min_fmr:.2g}, from {self.n_impostor_pairs:,} impostor pairs)"
            )
        target = max(target, self.min_fmr)
        # np.interp needs increasing x: log10(FMR) reversed is increasing.
        return float(
            np.interp(np.log10(target), np.log10(self.fmrs[::-1]), self.similarities[::-1])
        )

    def dispersion(self, similarity: ArrayLike) -> Float64Array | None:
        """The beta-binomial ``kappa`` at ``similarity`` (log-linear between the table's
        knots, held at the end knots), or ``None`` when the table has none (FPIR then
        assumes independent comparisons)."""
        if self.dispersion_similarities is None or self.dispersion_kappas is None:
            return None
        log_k = np.interp(
            np.asarray(similarity, dtype=np.float64),
            self.dispersion_similarities,
            np.log(self.dispersion_kappas),
        )
        return np.asarray(np.exp(log_k), dtype=np.float64)

    def spread(self, similarity: float) -> float | None:
        """The log-normal ``sigma`` of the per-probe FMR at ``similarity`` (linear between
        the table's knots, held at the end knots), or ``None`` when the table has none."""
        if self.spread_similarities is None or self.spread_sigmas is None:
            return None
        return float(np.interp(similarity, self.spread_similarities, self.spread_sigmas))

    def _fpir_at(self, fmr: float, similarity: float, gallery_size: int) -> float:
        """FPIR at FMR ``fmr`` (the table's FMR at ``similarity``) for ``gallery_size``: the
        larger of the log-normal and beta-binomial models the table has, else independent
        comparisons."""
        kappa = self.dispersion(similarity)
        beta = float(fpir(fmr, gallery_size, kappa)[()])
        sigma = self.spread(similarity)
        if sigma is None:
            return beta
        lognormal = fpir_lognormal(fmr, gallery_size, sigma)
        return max(lognormal, beta) if kappa is not None else lognormal

    def fpir(self, similarity: ArrayLike, gallery_size: int) -> Float64Array:
        """FPIR of a search of ``gallery_size`` faces at threshold ``similarity`` (scalar
        or array).

        Which model: comparisons within one search are correlated, so the per-probe FMR
        varies from probe to probe and FPIR = 1 - E[(1 - f_p)^N]. Two models of f_p fitted
        to LFW's per-probe impostor counts, a log-normal and a beta, are used, and the larger
        FPIR reported: each errs low where the other errs high. On random LFW galleries of
        100 to 10,000 faces (exact, from the per-probe counts) the log-normal is within a few
        percent and at strict thresholds slightly low, the beta high; on 1M-10M faces drawn
        from a generator fitted to LFW (``benchmarks/fpir_simulation.py``) the beta errs low
        and the log-normal high (docs/performance.md). Both are far closer than
        1 - (1 - FMR)^N, which says 1.0 at 1M faces.
        """
        s = np.asarray(similarity, dtype=np.float64)
        f = self.fmr(s)
        flat_s, flat_f = np.atleast_1d(s).ravel(), np.atleast_1d(f).ravel()
        out = np.asarray(
            [
                self._fpir_at(float(a), float(b), gallery_size)
                for a, b in zip(flat_f, flat_s, strict=True)
            ],
            dtype=np.float64,
        )
        return out.reshape(s.shape)

    def fmr_for_fpir(self, target_fpir: float, gallery_size: int) -> float:
        """The FMR whose threshold gives ``target_fpir`` for ``gallery_size`` faces under
        :meth:`fpir`'s model (bisection in log FMR; the model's spread or dispersion is read
        at the similarity of each FMR tried). May be below the table's floor, which
        :meth:`threshold_for_fmr` then refuses."""
        f = fmr_for_fpir(target_fpir, gallery_size)
        if (self.dispersion_similarities is None and self.spread_similarities is None) or (
            gallery_size <= 0
        ):
            return f
        # FPIR(model) <= FPIR(independent) at the same FMR: the answer is >= f
        lo, hi = math.log(f), 0.0
        log_fmrs, sims = np.log(self.fmrs[::-1]), self.similarities[::-1]
        for _ in range(60):
            mid = (lo + hi) / 2
            s = float(np.interp(mid, log_fmrs, sims))
            if self._fpir_at(math.exp(mid), s, gallery_size) > target_fpir:
                hi = mid
            else:
                lo = mid
        return math.exp((lo + hi) / 2)

    def estimates(self, similarities: ArrayLike, gallery_size: int) -> LeadEstimates:
        """What the service reports per candidate, for ``similarities`` ``(n,)`` found in a
        search of ``gallery_size`` faces: FMR at each similarity, the chance that a search of
        this gallery turns up any impostor at or above it (FPIR), and the expected number
        of impostors at or above it (``FMR * N``)."""
        s = np.asarray(similarities, dtype=np.float64).ravel()
        f = self.fmr(s)
        return LeadEstimates(
            fmr=f,
            fpir=self.fpir(s, gallery_size),
            expected_false_candidates=expected_false_candidates(f, gallery_size),
        )

    def threshold_for_fpir(self, target_fpir: float, gallery_size: int) -> float:
        """The similarity at which a search of ``gallery_size`` faces has FPIR ``target_fpir``
        (raises :class:`CalibrationError` if the needed FMR is below the table's floor)."""
        return self.threshold_for_fmr(self.fmr_for_fpir(target_fpir, gallery_size))

    # --- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return (
            {
                "format": TABLE_FORMAT,
                "model_id": self.model_id,
                "n_impostor_pairs": self.n_impostor_pairs,
                "knots": [
                    {"similarity": round(float(s), 7), "fmr": float(f), "pairs": int(n)}
                    for s, f, n in zip(self.similarities, self.fmrs, self.pairs, strict=True)
                ],
                "provenance": self.provenance,
            }
            | (
                {
                    "fpir_dispersion": [
                        {"similarity": round(float(s), 7), "kappa": float(k)}
                        for s, k in zip(
                            self.dispersion_similarities, self.dispersion_kappas, strict=True
                        )
                    ]
                }
                if self.dispersion_similarities is not None and self.dispersion_kappas is not None
                else {}
            )
            | (
                {
                    "fpir_lognormal": [
                        {"similarity": round(float(s), 7), "sigma": float(g)}
                        for s, g in zip(self.spread_similarities, self.spread_sigmas, strict=True)
                    ]
                }
                if self.spread_similarities is not None and self.spread_sigmas is not None
                else {}
            )
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        try:
            if data["format"] != TABLE_FORMAT:
                raise CalibrationError(f"unknown calibration format {data['format']!r}")
            knots = data["knots"]
            return cls(
                model_id=str(data["model_id"]),
                similarities=np.asarray([k["similarity"] for k in knots], dtype=np.float64),
                fmrs=np.asarray([k["fmr"] for k in knots], dtype=np.float64),
                pairs=np.asarray([k["pairs"] for k in knots], dtype=np.int64),
                n_impostor_pairs=int(data["n_impostor_pairs"]),
                provenance=dict(data.get("provenance", {})),
                dispersion_similarities=(
                    np.asarray([d["similarity"] for d in data["fpir_dispersion"]], np.float64)
                    if data.get("fpir_dispersion")
                    else None
                ),
                dispersion_kappas=(
                    np.asarray([d["kappa"] for d in data["fpir_dispersion"]], np.float64)
                    if data.get("fpir_dispersion")
                    else None
                ),
                spread_similarities=(
                    np.asarray([d["similarity"] for d in data["fpir_lognormal"]], np.float64)
                    if data.get("fpir_lognormal")
                    else None
                ),
                spread_sigmas=(
                    np.asarray([d["sigma"] for d in data["fpir_lognormal"]], np.float64)
                    if data.get("fpir_lognormal")
                    else None
                ),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CalibrationError(f"malformed calibration table: {err}") from err

    def save(self, path: Path) -> None:
        """Write the table as JSON, atomically (a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Calibration:
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as err:
            raise CalibrationError(f"cannot read calibration table {path}: {err}") from err


def packaged_table_path(model_id: str) -> Path:
    """Where the shipped table of ``model_id`` lives (``calibration/data/<model_id>.json``)."""
    return Path(str(resources.files("facesearch.calibration").joinpath("data", f"{model_id}.json")))


def data_table_path(calibration_dir: Path, model_id: str) -> Path:
    """Where ``facesearch calibrate`` writes the table of a model that ships without one
    (a model by file): ``<calibration_dir>/<model_id>.json`` (``data_dir/calibration``)."""
    return calibration_dir / f"{model_id}.json"


def calibration_command(model_id: str) -> str:
    """One line telling an operator how to make the table of ``model_id``."""
    return (
        f"run `facesearch calibrate` with this model configured (it writes "
        f"<data_dir>/calibration/{model_id}.json from LFW View 1)"
    )


def load_calibration(
    model_id: str, path: Path | None = None, *, calibration_dir: Path | None = None
) -> Calibration:
    """The table for ``model_id``: from ``path`` if given; else the data folder's
    (``calibration_dir/<model_id>.json``, see :func:`data_table_path`) if there is one; else
    the one shipped in the package. Never another model's.

    Raises :class:`CalibrationError` when there is none (saying how to make one), or the
    table found was made for another model.
    """
    candidates = [path] if path is not None else []
    if path is None and calibration_dir is not None:
        candidates.append(data_table_path(calibration_dir, model_id))
    if path is None:
        candidates.append(packaged_table_path(model_id))
    source = next((c for c in candidates if c.is_file()), None)
    if source is None:
        where = f" at {path}" if path is not None else ""
        raise CalibrationError(
            f"no calibration table for model {model_id!r}{where}: searches and verifications "
            f"with it are refused until one exists; {calibration_command(model_id)}"
        )
    table = Calibration.load(source)
    if table.model_id != model_id:
        raise CalibrationError(f"table {source} is for {table.model_id!r}, not {model_id!r}")
    return table


def table_from_impostor_scores(
    scores: ArrayLike,
    *,
    model_id: str,
    levels_per_decade: int = 10,
    min_pairs: int = 10,
    provenance: dict[str, Any] | None = None,
) -> Calibration:
    """Build a table from impostor similarities ``scores`` ``(n,)``.

    Knots sit at FMR levels 1, 10^(-1/L), 10^(-2/L), ... (L = ``levels_per_decade``) down to
    the level still backed by ``min_pairs`` impostor pairs. At each level the knot is the
    lowest similarity whose empirical FMR does not exceed the level, and the FMR stored is
    the empirical one there (so knots are exact, not smoothed).
    """
    s = np.sort(np.asarray(scores, dtype=np.float64).ravel())[::-1]  # high to low
    n = s.size
    if n < 2 * min_pairs:
        raise CalibrationError(f"too few impostor scores ({n}) for a calibration table")
    floor = min_pairs / n
    n_levels = math.floor(-math.log10(floor) * levels_per_decade + 1e-9)
    sims: list[float] = [float(s[-1])]
    fmrs: list[float] = [1.0]
    counts: list[int] = [n]
    for j in range(1, n_levels + 1):
        level = 10.0 ** (-j / levels_per_decade)
        k = math.floor(level * n + 1e-9)  # at most k impostors accepted
        if k < min_pairs:
            break
        threshold = float(np.nextafter(s[k], math.inf))
        accepted = int(n - np.searchsorted(s[::-1], threshold, side="left"))
        if threshold <= sims[-1] or accepted >= counts[-1] or accepted < min_pairs:
            continue
        sims.append(threshold)
        fmrs.append(accepted / n)
        counts.append(accepted)
    return Calibration(
        model_id=model_id,
        similarities=np.asarray(sims, dtype=np.float64),
        fmrs=np.asarray(fmrs, dtype=np.float64),
        pairs=np.asarray(counts, dtype=np.int64),
        n_impostor_pairs=n,
        provenance=dict(provenance or {}),
    )


@dataclass(frozen=True, slots=True)
class HeldOutCheck:
    """Empirical FMR on held-out impostors at the table's threshold for ``target``.

    ``ratio`` = empirical / target; ``ok`` when within a factor ``tolerance`` either way.
    """

    target_fmr: float
    threshold: float
    empirical_fmr: float
    false_matches: int
    n_pairs: int
    ratio: float
    ok: bool


def held_out_check(
    table: Calibration,
    impostor_scores: ArrayLike,
    targets: Sequence[float] = (1e-3, 1e-4),
    *,
    tolerance: float = 2.0,
) -> list[HeldOutCheck]:
    """Check ``table`` on impostor similarities of identities it was not built from."""
    s = np.asarray(impostor_scores, dtype=np.float64).ravel()
    if s.size == 0:
        raise ValueError("no held-out impostor scores")
    out = []
    for target in targets:
        t = table.threshold_for_fmr(target)
        hits = int(np.count_nonzero(s >= t))
        empirical = hits / s.size
        ratio = empirical / target
        out.append(
            HeldOutCheck(
                target_fmr=float(target),
                threshold=t,
                empirical_fmr=empirical,
                false_matches=hits,
                n_pairs=int(s.size),
                ratio=ratio,
                ok=bool(1.0 / tolerance <= ratio <= tolerance),
            )
        )
    return out
