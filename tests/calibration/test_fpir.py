"""FPIR with correlated comparisons: the beta-binomial formula against simulations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facesearch.calibration import fit_dispersion, fmr_for_fpir, fpir, load_calibration
from facesearch.calibration.table import Calibration, CalibrationError


def _simulate(f: float, kappa: float, n: int, probes: int, seed: int) -> np.ndarray:
    """Per-probe false-match counts: each probe's FMR drawn from Beta(f kappa, (1-f) kappa),
    then ``n`` comparisons."""
    rng = np.random.default_rng(seed)
    per_probe = rng.beta(f * kappa, (1 - f) * kappa, size=probes)
    return rng.binomial(n, per_probe)


@pytest.mark.parametrize("n", [1_000, 100_000, 10_000_000])
def test_beta_binomial_fpir_matches_a_simulation_where_the_independent_one_overstates(
    n: int,
) -> None:
    f, kappa = 1e-4, 1300.0
    hits = _simulate(f, kappa, n, probes=200_000, seed=n)
    observed = float(np.mean(hits > 0))
    predicted = float(fpir(f, n, kappa))
    assert predicted == pytest.approx(observed, abs=0.005)
    if n >= 100_000:  # large galleries: the independent formula is far off (1.0 vs ~0.3)
        assert float(fpir(f, n)) > observed + 0.2


def test_fit_dispersion_recovers_kappa_and_finds_none_in_binomial_counts() -> None:
    hits = _simulate(1e-3, 500.0, 10_000, probes=20_000, seed=1)
    kappa = fit_dispersion(hits, np.full(hits.size, 10_000))
    assert 500 / 1.3 < kappa < 500 * 1.3
    independent = np.random.default_rng(2).binomial(10_000, 1e-3, size=20_000)
    k_ind = fit_dispersion(independent, np.full(independent.size, 10_000))
    assert k_ind > 1e5  # no over-dispersion: FPIR falls back to the independent formula
    assert float(fpir(1e-3, 1000, k_ind)) == pytest.approx(float(fpir(1e-3, 1000)), rel=0.01)
    with pytest.raises(CalibrationError):
        fit_dispersion([0, 0], [10, 10])


def test_fmr_for_fpir_inverts_the_beta_binomial() -> None:
    for n in (10, 10_000, 10_000_000):
        f = fmr_for_fpir(0.01, n, 1300.0)
        assert float(fpir(f, n, 1300.0)) == pytest.approx(0.01, rel=1e-6)
        assert f >= fmr_for_fpir(0.01, n)
    assert float(fpir(1e-4, 0, 1300.0)) == 0.0
    assert float(fpir(1e-4, 1000, math.inf)) == pytest.approx(float(fpir(1e-4, 1000)))


def test_the_shipped_table_reports_fpir_with_its_dispersion() -> None:
    table = load_calibration("dlib-resnet-v1")
    t = table.threshold_for_fmr(1e-4)
    kappa = table.dispersion(t)
    assert kappa is not None and 500 < float(kappa) < 5000
    at_1m = float(table.fpir(t, 1_000_000))
    assert at_1m < 0.9 < float(fpir(1e-4, 1_000_000))  # the independent formula says ~1.0
    est = table.estimates([t], 1_000_000)
    assert float(est.fpir[0]) == pytest.approx(at_1m)
    # a target FPIR gives a threshold at which the table's FPIR is that target
    s = table.threshold_for_fpir(0.5, 1_000_000)
    assert float(table.fpir(s, 1_000_000)) == pytest.approx(0.5, rel=0.05)
    again = Calibration.from_dict(table.to_dict())
    assert again.dispersion_kappas is not None
    assert np.array_equal(again.dispersion_kappas, table.dispersion_kappas)
