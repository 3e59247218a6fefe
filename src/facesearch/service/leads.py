"""Similarities turned into the numbers a reviewer needs: false-match rates, calibrated.

Thresholds are configured as a target false-match rate (FMR) per comparison, or as a
target false-positive identification rate (FPIR) for the gallery at hand, and converted to
a similarity with the model's calibration table. Each candidate then carries the FMR at
its similarity, the expected number of other people at or above it in a gallery of this
size, and the chance that such a search turns up anyone else that high (FPIR).
"""

from __future__ import annotations

import logging

from facesearch.calibration import (
    Calibration,
    CalibrationError,
    LeadEstimates,
    load_calibration,
)
from facesearch.settings import SearchSettings

logger = logging.getLogger(__name__)


class LeadScorer:
    """Calibrated thresholds and per-candidate estimates for one embedding model."""

    def __init__(self, calibration: Calibration, settings: SearchSettings) -> None:
        self.calibration = calibration
        self._settings = settings
        self.verify_threshold = self._threshold(settings.verify_target_fmr)

    @classmethod
    def for_model(cls, model_id: str, settings: SearchSettings) -> LeadScorer:
        return cls(load_calibration(model_id, settings.calibration_path), settings)

    def _threshold(self, target_fmr: float) -> float:
        """Similarity for ``target_fmr``; targets below what the table measures are held at
        its floor (the table cannot vouch for less), with a warning."""
        try:
            return self.calibration.threshold_for_fmr(target_fmr)
        except CalibrationError:
            floor = self.calibration.min_fmr
            logger.warning(
                "target FMR %.2g is below the calibration floor %.2g; using the floor",
                target_fmr,
                floor,
            )
            return self.calibration.threshold_for_fmr(floor)

    def search_threshold(self, gallery_size: int) -> float:
        """The search threshold for a search of ``gallery_size`` faces."""
        target_fpir = self._settings.search_target_fpir
        if target_fpir is not None and gallery_size > 0:
            return self._threshold(self.calibration.fmr_for_fpir(target_fpir, gallery_size))
        return self._threshold(self._settings.search_target_fmr)

    def fmr(self, similarity: float) -> float:
        return self.calibration.fmr(float(similarity))

    def fpir(self, similarity: float, gallery_size: int) -> float:
        return float(self.calibration.fpir(similarity, gallery_size)[()])

    def estimates(self, similarities: list[float], gallery_size: int) -> LeadEstimates:
        """FMR, FPIR and expected false candidates, each ``(n,)``, for ``similarities``."""
        return self.calibration.estimates(similarities, gallery_size)

    def describe(self) -> str:
        """One line on where the estimates come from."""
        p = self.calibration.provenance
        source = ", ".join(str(p[k]) for k in ("dataset", "split") if k in p) or "unknown"
        return (
            f"{self.calibration.model_id}: {source}; "
            f"{self.calibration.n_impostor_pairs:,} impostor pairs; "
            f"floor FMR {self.calibration.min_fmr:.1e}"
        )
