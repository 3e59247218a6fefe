"""Calibration: similarity -> estimated false-match rate, per embedding model.

The service turns every candidate's similarity into an estimated FMR with
:func:`load_calibration` (``model_id``) and :meth:`Calibration.fmr`, and reports FPIR and
the expected number of false candidates at the gallery's size with :func:`fpir` and
:func:`expected_false_candidates`. The packaged model's table ships in
``calibration/data/<model_id>.json``; a model by file gets its table in the data folder
(``data_dir/calibration/<model_id>.json``). ``facesearch calibrate`` builds either; a model
without a table gets no threshold (searches and verifications are refused).
"""

from facesearch.calibration.table import (
    Calibration,
    CalibrationError,
    HeldOutCheck,
    LeadEstimates,
    calibration_command,
    data_table_path,
    expected_false_candidates,
    fit_dispersion,
    fit_lognormal,
    fmr_for_fpir,
    fpir,
    fpir_lognormal,
    held_out_check,
    load_calibration,
    packaged_table_path,
    table_from_impostor_scores,
)

__all__ = [
    "Calibration",
    "CalibrationError",
    "HeldOutCheck",
    "LeadEstimates",
    "calibration_command",
    "data_table_path",
    "expected_false_candidates",
    "fit_dispersion",
    "fit_lognormal",
    "fmr_for_fpir",
    "fpir",
    "fpir_lognormal",
    "held_out_check",
    "load_calibration",
    "packaged_table_path",
    "table_from_impostor_scores",
]
