"""The privacy (erasure) part built from its dependencies alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.service.pipeline import FacePipeline
from facesearch.service.privacy import Privacy
from facesearch.service.suppression import Suppression
from facesearch.settings import Settings

from .helpers import CURATOR
from .parts import collaborators, enrollment_of

pytestmark = pytest.mark.both_databases


def test_privacy_is_built_from_its_dependencies_alone(
    settings: Settings, real_pipeline: FacePipeline, test_images: dict[str, list[Path]]
) -> None:
    deps = collaborators(settings, model_id=real_pipeline.model_id, dim=real_pipeline.embedder.dim)
    try:
        privacy = Privacy(
            settings,
            store=deps.store,
            pipeline=real_pipeline,
            index=deps.index,
            suppression=Suppression(
                settings,
                model_id=real_pipeline.model_id,
                privacy=deps.store.privacy,
                index_rows=deps.store.index_rows,
            ),
            audit=deps.audit,
            accountability=deps.accountability,
            write_lock=deps.write_lock,
        )
        deps.store.catalog.create_gallery("g", legal_basis="test")
        colin = test_images["Colin_Powell"]
        enrolled = enrollment_of(deps, real_pipeline).enroll(
            colin[0].read_bytes(), gallery="g", context=CURATOR
        )
        view = privacy.request_erasure(colin[1].read_bytes(), reference="ER-1", context=CURATOR)
        assert [f.face_id for f in view.faces] == list(enrolled.face_ids)
        assert view.request.threshold == privacy.erasure_threshold
        confirmed = privacy.confirm_erasure(view.request.id, context=CURATOR)
        assert confirmed.record.erased_face_ids == enrolled.face_ids
        assert len(deps.index) == 0 and len(privacy.list_suppressions()) == 2
    finally:
        deps.close()
