"""What models a data folder holds: ``facesearch models list``.

For the configured (active) model and every model that has faces in the store or a
calibration table in the data folder: its faces, how many of them can be re-embedded
(they have a kept crop, :mod:`facesearch.imaging.crops`), where its calibration table
comes from, and whether its index folder exists. Reads only; loads no model.
"""

from __future__ import annotations

from dataclasses import dataclass

from facesearch.calibration import CalibrationError, data_table_path, load_calibration
from facesearch.calibration.table import packaged_table_path
from facesearch.embedding.registry import embedding_model_id
from facesearch.settings import Settings
from facesearch.store import Store


@dataclass(frozen=True, slots=True)
class ModelInventory:
    """One model of a data folder. ``calibration``: ``settings`` (the
    ``search.calibration_path`` table), ``data folder``, ``shipped``, or ``missing`` (or
    why the table found is unusable). ``unsuppressed_erasures``: completed erasures that
    have suppression entries under some model but none under this one (its searches and
    enrollments would not keep those people out: run ``models migrate`` to it again)."""

    model_id: str
    active: bool
    faces: int
    with_crop: int
    calibration: str
    index: bool
    unsuppressed_erasures: int = 0


def _calibration(settings: Settings, model_id: str, active: bool) -> str:
    explicit = settings.search.calibration_path if active else None
    try:
        load_calibration(model_id, explicit, calibration_dir=settings.calibration_dir)
    except CalibrationError as err:
        return "missing" if "no calibration table" in err.message else f"unusable: {err.message}"
    if explicit is not None:
        return "settings"
    if data_table_path(settings.calibration_dir, model_id).is_file():
        return "data folder"
    return "shipped" if packaged_table_path(model_id).is_file() else "missing"


def model_inventory(settings: Settings) -> list[ModelInventory]:
    """The models of ``settings``' data folder, the active one first, then by id."""
    active = embedding_model_id(settings.embedding)
    store = Store(settings.resolved_database_url)
    try:
        counts = {c.model_id: c for c in store.crops.counts()}
        suppressed = store.privacy.suppressed_requests()
    finally:
        store.close()
    erased = frozenset().union(*suppressed.values())
    ids = {active, *counts}
    if settings.calibration_dir.is_dir():
        ids |= {p.stem for p in settings.calibration_dir.glob("*.json")}
    return [
        ModelInventory(
            model_id=m,
            active=m == active,
            faces=counts[m].faces if m in counts else 0,
            with_crop=counts[m].with_crop if m in counts else 0,
            calibration=_calibration(settings, m, m == active),
            index=(settings.index_dir / m).is_dir(),
            unsuppressed_erasures=len(erased - suppressed.get(m, frozenset())),
        )
        for m in sorted(ids, key=lambda m: (m != active, m))
    ]
