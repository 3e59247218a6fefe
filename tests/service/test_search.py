"""The search part: search and verify built from their dependencies alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.service.leads import LeadScorer
from facesearch.service.pipeline import FacePipeline
from facesearch.service.search import Searcher
from facesearch.service.suppression import Suppression
from facesearch.settings import Settings
from facesearch.store import NewFace, NewImage

from .helpers import INVESTIGATION
from .parts import collaborators

pytestmark = pytest.mark.both_databases


def test_searcher_is_built_from_its_dependencies_alone(
    settings: Settings, real_pipeline: FacePipeline, test_images: dict[str, list[Path]]
) -> None:
    model_id, dim = real_pipeline.model_id, real_pipeline.embedder.dim
    deps = collaborators(settings, model_id=model_id, dim=dim)
    try:
        searcher = Searcher(
            settings.search,
            catalog=deps.store.catalog,
            pipeline=real_pipeline,
            index=deps.index,
            leads=LeadScorer.for_model(model_id, settings.search),
            suppression=Suppression(
                settings,
                model_id=model_id,
                privacy=deps.store.privacy,
                index_rows=deps.store.index_rows,
            ),
            accountability=deps.accountability,
        )
        data = test_images["Colin_Powell"][0].read_bytes()
        analyzed = real_pipeline.analyze(data)
        face = analyzed.largest_face()
        assert face is not None
        gallery = deps.store.catalog.create_gallery("g", legal_basis="test")
        image = NewImage(analyzed.sha256, analyzed.width, analyzed.height, len(data), "JPEG", "t")
        stored = deps.store.catalog.add_image(
            gallery.id,
            image,
            [
                NewFace(
                    face.detection.box, face.detection.landmarks, face.detection.detector,
                    face.detection.score, face.quality, model_id, face.embedding, face.thumbnail,
                )
            ],
            [],
        )  # fmt: skip
        result = searcher.search(data, k=1, context=INVESTIGATION)  # the index catches up
        assert [c.face_id for c in result.faces[0].candidates] == stored.face_ids
        assert deps.audit.get(result.audit_seq).action == "search"
        verified = searcher.verify(data, data, context=INVESTIGATION)
        assert verified.above_threshold
    finally:
        deps.close()
