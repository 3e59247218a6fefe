"""Calibration tables on synthetic impostor scores, open-set arithmetic, the shipped table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from facesearch.calibration import (
    Calibration,
    CalibrationError,
    expected_false_candidates,
    fmr_for_fpir,
    fpir,
    held_out_check,
    load_calibration,
    packaged_table_path,
    table_from_impostor_scores,
)
from facesearch.settings import EmbedderKind


@pytest.fixture(scope="module")
def uniform_table() -> Calibration:
    """Impostor scores uniform on [0, 1): FMR(s) = 1 - s."""
    scores = np.random.default_rng(0).random(1_000_000)
    return table_from_impostor_scores(scores, model_id="test-model", min_pairs=10)


def test_table_reproduces_a_known_distribution(uniform_table: Calibration) -> None:
    t = uniform_table
    assert t.n_impostor_pairs == 1_000_000
    assert t.min_fmr == pytest.approx(1e-5, rel=0.3)  # 10 pairs of a million
    for target in (1e-1, 1e-2, 1e-3, 1e-4):
        assert t.threshold_for_fmr(target) == pytest.approx(
            1 - target, abs=3 * target**0.5 / 1e3 + 1e-5
        )
        assert t.fmr(1 - target) == pytest.approx(target, rel=0.15 if target >= 1e-3 else 0.4)
    assert t.fmr(-0.5) == 1.0
    assert t.fmr(1.5) == pytest.approx(t.min_fmr)  # clamped to the floor


def test_fmr_is_vectorised_monotone_and_inverse_of_threshold(uniform_table: Calibration) -> None:
    grid = np.linspace(0.0, 1.0, 2001)
    values = uniform_table.fmr(grid)
    assert isinstance(values, np.ndarray) and values.shape == grid.shape
    assert np.all(np.diff(values) <= 0)
    assert isinstance(uniform_table.fmr(0.5), float)
    for target in (0.3, 2e-3, 5e-5):
        t = uniform_table.threshold_for_fmr(target)
        assert uniform_table.fmr(t) == pytest.approx(target, rel=1e-9)


def test_targets_outside_the_table_are_refused(uniform_table: Calibration) -> None:
    with pytest.raises(CalibrationError, match="below the lowest FMR"):
        uniform_table.threshold_for_fmr(1e-8)
    with pytest.raises(CalibrationError):
        uniform_table.threshold_for_fmr(0.0)
    with pytest.raises(CalibrationError):
        table_from_impostor_scores([0.1, 0.2], model_id="x")


def test_fpir_is_stable_for_tiny_rates() -> None:
    # the naive 1 - (1 - f) ** n loses every digit here
    assert float(fpir(1e-15, 10)) == pytest.approx(1e-14, rel=1e-9)
    assert float(fpir(0.5, 2)) == pytest.approx(0.75)
    assert float(fpir(0.0, 1000)) == 0.0
    assert float(fpir(1.0, 3)) == 1.0
    assert float(fpir(1e-4, 0)) == 0.0
    out = fpir(np.array([1e-6, 1e-3]), 1000)
    assert out.shape == (2,)
    assert out[1] == pytest.approx(1 - (1 - 1e-3) ** 1000)


def test_fmr_for_fpir_inverts_fpir() -> None:
    for target, n in ((0.01, 5_000), (0.5, 10), (1e-6, 10_000_000)):
        f = fmr_for_fpir(target, n)
        assert float(fpir(f, n)) == pytest.approx(target, rel=1e-9)
    assert fmr_for_fpir(0.1, 0) == 1.0


def test_threshold_for_fpir_tightens_with_gallery_size(uniform_table: Calibration) -> None:
    small = uniform_table.threshold_for_fpir(0.01, 10)
    large = uniform_table.threshold_for_fpir(0.01, 1000)
    assert large > small


def test_expected_false_candidates() -> None:
    assert float(expected_false_candidates(1e-4, 10_000)) == pytest.approx(1.0)
    assert expected_false_candidates(np.array([1e-3, 1e-5]), 1000).tolist() == pytest.approx(
        [1.0, 0.01]
    )


def test_held_out_check_on_the_same_distribution_passes(uniform_table: Calibration) -> None:
    held = np.random.default_rng(1).random(500_000)
    checks = held_out_check(uniform_table, held, (1e-3, 1e-4))
    assert [c.ok for c in checks] == [True, True]
    assert checks[0].ratio == pytest.approx(1.0, abs=0.2)
    shifted = held_out_check(uniform_table, held * 0.5 + 0.5, (1e-3,))
    assert shifted[0].ok is False  # a distribution twice as wide above 0.5: ratio ~2000


def test_save_load_round_trip(uniform_table: Calibration, tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    uniform_table.save(path)
    again = load_calibration("test-model", path)
    assert again.n_impostor_pairs == uniform_table.n_impostor_pairs
    assert np.allclose(again.similarities, uniform_table.similarities, atol=1e-6)
    assert np.array_equal(again.fmrs, uniform_table.fmrs)
    with pytest.raises(CalibrationError, match="not 'other'"):
        load_calibration("other", path)


def test_malformed_or_missing_tables_raise(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 1, "model_id": "m"}))
    with pytest.raises(CalibrationError, match="malformed"):
        Calibration.load(bad)
    bad.write_text("{")
    with pytest.raises(CalibrationError):
        Calibration.load(bad)
    with pytest.raises(CalibrationError, match="facesearch calibrate"):
        load_calibration("no-such-model")


def test_the_shipped_table_is_complete_and_passed_its_check() -> None:
    model_id = EmbedderKind.DLIB_RESNET_V1.value
    assert packaged_table_path(model_id).is_file()
    table = load_calibration(model_id)
    assert table.model_id == model_id
    assert table.min_fmr <= 2e-6  # "down to about 1e-6"
    assert table.n_impostor_pairs > 10_000_000
    record = table.provenance
    assert "peopleDevTrain" in record["split"] and record["command"].startswith("facesearch")
    results = record["held_out_check"]["results"]
    assert [r["target_fmr"] for r in results] == [1e-3, 1e-4]
    assert all(r["ok"] and 0.5 <= r["ratio"] <= 2.0 for r in results)
    # sane shape: cosine thresholds rise as the FMR target falls
    t3, t4, t6 = (table.threshold_for_fmr(f) for f in (1e-3, 1e-4, 2e-6))
    assert 0.0 < t3 < t4 < t6 < 1.0
    assert math.isclose(table.fmr(t4), 1e-4, rel_tol=1e-6)


def test_estimates_for_a_candidate_list(uniform_table: Calibration) -> None:
    est = uniform_table.estimates([0.999, 0.99], 1000)
    assert est.fmr == pytest.approx([1e-3, 1e-2], rel=0.15)
    assert est.expected_false_candidates == pytest.approx(est.fmr * 1000)
    assert est.fpir == pytest.approx(1 - (1 - est.fmr) ** 1000)
