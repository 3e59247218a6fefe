"""The catalog part: galleries, subjects, images and faces, audited; deletes reach the index."""

from __future__ import annotations

import pytest

from facesearch.service.catalog import Catalog
from facesearch.settings import Settings

from .helpers import CURATOR
from .parts import add_face, collaborators, unit_vector

pytestmark = pytest.mark.both_databases


def test_catalog_is_built_from_its_dependencies_alone(settings: Settings) -> None:
    deps = collaborators(settings)
    try:
        catalog = Catalog(
            catalog=deps.store.catalog,
            index=deps.index,
            audit=deps.audit,
            write_lock=deps.write_lock,
        )
        gallery = catalog.create_gallery("g", legal_basis="test", context=CURATOR)
        face_id = add_face(deps.store, gallery.id, unit_vector(1), n=1)
        deps.index.catch_up()
        assert len(deps.index) == 1
        assert catalog.delete_gallery("g", context=CURATOR) == [face_id]
        assert len(deps.index) == 0  # store first, then index
        actions = [e.action for e in deps.audit.list(limit=10)]
        assert actions == ["gallery.delete", "gallery.create"]
    finally:
        deps.close()
