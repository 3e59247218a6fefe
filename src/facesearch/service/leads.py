"""Similarities turned into the numbers a reviewer needs: false-match rates, calibrated.

Thresholds are configured as a target false-match rate (FMR) per comparison, or as a
target false-positive identification rate (FPIR) for the gallery at hand, and converted to
a similarity with the model's calibration table. Each candidate then carries the FMR at
its similarity, the expected number of other people at or above it in a gallery of this
size, and the chance that such a search turns up anyone else that high (FPIR).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from facesearch.calibration import (
    Calibration,
    CalibrationError,
    LeadEstimates,
    load_calibration,
)
from facesearch.settings import SearchSettings

logger = logging.getLogger(__name__)


class LeadScorer:
    """Calibrated thresholds and per-candidate estimates for one embedding model.

    ``calibration``: the table, or a function that loads it on first use. Built with
    :meth:`for_model`, a model without a table still starts (enrollment needs no
    threshold); every threshold or estimate asked of it then raises
    :class:`CalibrationError` saying how to make one, so a search or verify is refused
    rather than scored with another model's numbers.
    """

    def __init__(
        self, calibration: Calibration | Callable[[], Calibration], settings: SearchSettings
    ) -> None:
        self._table: Calibration | None = None
        self._load: Callable[[], Calibration] | None = None
        if isinstance(calibration, Calibration):
            self._table = calibration
        else:
            self._load = calibration
        self._lock = threading.Lock()
        self._settings = settings

    @classmethod
    def for_model(
        cls, model_id: str, settings: SearchSettings, *, calibration_dir: Path | None = None
    ) -> LeadScorer:
        """The scorer of ``model_id``; its table (``settings.calibration_path``, else
        ``calibration_dir/<model_id>.json``, else the shipped one) loads on first use."""
        return cls(
            lambda: load_calibration(
                model_id, settings.calibration_path, calibration_dir=calibration_dir
            ),
            settings,
        )

    @property
    def calibration(self) -> Calibration:
        """The table (loaded on first use; :class:`CalibrationError` when there is none)."""
        if self._table is None:
            with self._lock:
                if self._table is None and self._load is not None:
                    self._table = self._load()
        if self._table is None:  # pragma: no cover - one of the two is always set
            raise CalibrationError("no calibration table")
        return self._table

    def require(self) -> None:
        """Raise :class:`CalibrationError` (saying how to make one) unless the table is
        there: called before a search or verify does any work."""
        self.calibration  # noqa: B018 (loads it)

    @property
    def verify_threshold(self) -> float:
        """Similarity at ``verify_target_fmr``."""
        return self._threshold(self._settings.verify_target_fmr)

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
