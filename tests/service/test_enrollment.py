"""The enrollment part built from its dependencies alone: one image, store then index."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.service.pipeline import FacePipeline
from facesearch.settings import Settings

from .helpers import CURATOR
from .parts import collaborators, enrollment_of

pytestmark = pytest.mark.both_databases


def test_enrollment_is_built_from_its_dependencies_alone(
    settings: Settings, real_pipeline: FacePipeline, test_images: dict[str, list[Path]]
) -> None:
    deps = collaborators(settings, model_id=real_pipeline.model_id, dim=real_pipeline.embedder.dim)
    try:
        enrollment = enrollment_of(deps, real_pipeline)
        deps.store.catalog.create_gallery("g", legal_basis="test")
        data = test_images["Colin_Powell"][0].read_bytes()
        result = enrollment.enroll(data, gallery="g", subject="Colin", context=CURATOR)
        assert len(result.face_ids) == 1
        assert len(deps.index) == 1  # added after the store committed
        event = deps.audit.list(limit=1)[0]
        assert (event.action, event.details["face_ids"]) == ("enroll", list(result.face_ids))
    finally:
        deps.close()
