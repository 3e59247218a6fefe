"""The suppression part built from the store's privacy and index rows alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facesearch.errors import Suppressed
from facesearch.service.pipeline import FacePipeline
from facesearch.service.suppression import Suppression
from facesearch.settings import Settings
from facesearch.store import Store

from .parts import add_face, unit_vector


def test_suppression_is_built_from_its_dependencies_alone(
    tmp_path: Path, real_pipeline: FacePipeline
) -> None:
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    model_id, dim = real_pipeline.model_id, real_pipeline.embedder.dim  # a calibrated model
    store = Store(f"sqlite:///{tmp_path / 'fs.db'}")
    try:
        suppression = Suppression(
            settings, model_id=model_id, privacy=store.privacy, index_rows=store.index_rows
        )
        person, other = unit_vector(1, dim), unit_vector(2, dim)
        gallery = store.catalog.create_gallery("g", legal_basis="test")
        face_id = add_face(store, gallery.id, person, n=1, model_id=model_id)
        ids = np.array([[face_id, -1]], dtype=np.int64)
        assert suppression.drop_suppressed(ids) is ids  # nothing suppressed yet
        request = store.privacy.add_erasure_request(
            reference="ER-1", note="", model_id=model_id, embedding=person,
            target_fmr=1e-4, threshold=0.9, proposed=[], created_by="curator",
        )  # fmt: skip
        store.privacy.complete_erasure(request.id, [], decided_by="curator")
        with pytest.raises(Suppressed):
            suppression.refuse_suppressed([person])
        suppression.refuse_suppressed([other])  # someone else passes
        assert suppression.drop_suppressed(ids).tolist() == [[-1, -1]]
        assert 0 < suppression.threshold < 1
    finally:
        store.close()
