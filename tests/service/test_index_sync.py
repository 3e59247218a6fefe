"""The index-sync part built from the store alone: it rebuilds from, and catches up with,
the store's rows (its kinds and crash safety are in ``test_index_kinds`` and
``test_crash_safety``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facesearch.service.index_sync import IndexSync
from facesearch.settings import IndexBackend
from facesearch.store import Store

from .parts import DIM, MODEL, add_face, unit_vector


def test_index_sync_is_built_from_the_store_alone(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'fs.db'}")
    try:
        gallery = store.catalog.create_gallery("g", legal_basis="test")
        first = add_face(store, gallery.id, unit_vector(1), n=1)
        sync = IndexSync(
            store,
            model_id=MODEL,
            dim=DIM,
            backend=IndexBackend.FAISS,
            folder=tmp_path / "index" / MODEL,
            save_every=10**6,
        )
        assert sync.open().action == "rebuilt"
        second = add_face(store, gallery.id, unit_vector(2), n=2)  # committed after the open
        sync.catch_up()
        scores, ids = sync.search(np.stack([unit_vector(2)]), 2)
        assert ids.tolist() == [[second, first]] and scores[0, 0] > 0.99
        assert sync.status().in_sync
        sync.close()
    finally:
        store.close()
