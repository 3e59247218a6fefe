"""FPIR with correlated comparisons: the log-normal and beta-binomial models against
simulations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facesearch.calibration import (
    fit_dispersion,
    fit_lognormal,
    fmr_for_fpir,
    fpir,
    fpir_lognormal,
    load_calibration,
)
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


def _simulate_lognormal(f: float, sigma: float, n: int, probes: int, seed: int) -> np.ndarray:
    """Per-probe false-match counts: log f_p ~ Normal(log f - sigma^2/2, sigma^2), then
    ``n`` comparisons."""
    rng = np.random.default_rng(seed)
    per_probe = np.minimum(np.exp(rng.normal(math.log(f) - sigma**2 / 2, sigma, probes)), 1.0)
    return rng.binomial(n, per_probe)


@pytest.mark.parametrize("n", [1_000, 100_000, 10_000_000])
def test_lognormal_fpir_matches_a_simulation(n: int) -> None:
    f, sigma = 1e-4, 2.3
    hits = _simulate_lognormal(f, sigma, n, probes=200_000, seed=n)
    assert float(np.mean(hits > 0)) == pytest.approx(fpir_lognormal(f, n, sigma), abs=0.005)
    assert fpir_lognormal(f, 0, sigma) == 0.0 and fpir_lognormal(0.0, n, sigma) == 0.0
    # no spread: every probe has the same FMR, the independent formula
    assert fpir_lognormal(f, n, 0.0) == pytest.approx(float(fpir(f, n)), rel=1e-6)


def test_fit_lognormal_recovers_sigma_and_refuses_counts_without_hits() -> None:
    hits = _simulate_lognormal(1e-4, 2.0, 13_000, probes=13_000, seed=3)
    sigma = fit_lognormal(hits, np.full(hits.size, 13_000))
    assert 2.0 / 1.15 < sigma < 2.0 * 1.15
    independent = np.random.default_rng(4).binomial(13_000, 1e-3, size=13_000)
    assert fit_lognormal(independent, np.full(independent.size, 13_000)) < 0.2
    with pytest.raises(CalibrationError):
        fit_lognormal([0, 0], [10, 10])
    # a probe compared with no one (0 of 0) tells nothing and changes nothing
    with_empty = fit_lognormal(np.append(hits, 0), np.append(np.full(hits.size, 13_000), 0))
    assert with_empty == pytest.approx(sigma, rel=1e-6)
    with pytest.raises(ValueError):
        fpir_lognormal(1e-4, -1, 2.0)


def test_the_two_models_part_at_large_n_where_the_beta_has_more_probes_of_tiny_fmr() -> None:
    """Fitted to the same counts at a small gallery, both models reproduce its FPIR; at a
    large one the log-normal's is the larger (the cautious one, docs/performance.md)."""
    n0 = 13_000
    hits = _simulate_lognormal(1e-4, 2.3, n0, probes=20_000, seed=5)
    m = np.full(hits.size, n0)
    f = hits.sum() / m.sum()
    sigma, kappa = fit_lognormal(hits, m), fit_dispersion(hits, m)
    observed = float(np.mean(hits > 0))
    assert fpir_lognormal(f, n0, sigma) == pytest.approx(observed, abs=0.02)
    assert float(fpir(f, n0, kappa)) == pytest.approx(observed, abs=0.02)
    assert fpir_lognormal(f, 10_000_000, sigma) > float(fpir(f, 10_000_000, kappa)) + 0.2


def test_the_shipped_table_reports_the_larger_of_its_two_models() -> None:
    table = load_calibration("dlib-resnet-v1")
    t = table.threshold_for_fmr(1e-4)
    sigma, kappa = table.spread(t), table.dispersion(t)
    assert sigma is not None and 1.0 < sigma < 4.0
    assert kappa is not None and 500 < float(kappa) < 5000
    # the larger of the two models: the log-normal at 1M faces (the beta-binomial says
    # less, the independent formula ~1.0), the beta at 1,000
    at_1m = float(table.fpir(t, 1_000_000))
    assert at_1m == pytest.approx(fpir_lognormal(table.fmr(t), 1_000_000, sigma))
    assert float(fpir(1e-4, 1_000_000, kappa)) < at_1m < 0.95 < float(fpir(1e-4, 1_000_000))
    at_1k = float(table.fpir(t, 1_000))
    assert at_1k == pytest.approx(float(fpir(table.fmr(t), 1_000, kappa)), rel=1e-6)
    assert fpir_lognormal(table.fmr(t), 1_000, sigma) < at_1k < float(fpir(1e-4, 1_000))
    est = table.estimates([t, t + 0.01], 1_000_000)
    assert float(est.fpir[0]) == pytest.approx(at_1m)
    assert est.fpir.shape == (2,) and est.fpir[1] < est.fpir[0]
    # a target FPIR gives a threshold at which the table's FPIR is that target
    for n in (10_000, 1_000_000):
        s = table.threshold_for_fpir(0.5, n)
        assert float(table.fpir(s, n)) == pytest.approx(0.5, rel=0.01)
    again = Calibration.from_dict(table.to_dict())
    assert again.spread_sigmas is not None and again.dispersion_kappas is not None
    assert np.array_equal(again.spread_sigmas, table.spread_sigmas)
    assert np.array_equal(again.dispersion_kappas, table.dispersion_kappas)


def test_a_table_without_the_lognormal_spread_uses_its_beta_dispersion() -> None:
    data = load_calibration("dlib-resnet-v1").to_dict()
    del data["fpir_lognormal"]
    table = Calibration.from_dict(data)
    t = table.threshold_for_fmr(1e-4)
    kappa = table.dispersion(t)
    assert table.spread(t) is None and kappa is not None
    assert float(table.fpir(t, 10**6)) == pytest.approx(float(fpir(1e-4, 10**6, kappa)), rel=1e-3)
    s = table.threshold_for_fpir(0.3, 10**6)
    assert float(table.fpir(s, 10**6)) == pytest.approx(0.3, rel=0.01)
    del data["fpir_dispersion"]
    bare = Calibration.from_dict(data)
    assert float(bare.fpir(t, 10**6)) == pytest.approx(float(fpir(1e-4, 10**6)), rel=1e-3)
