"""The collaborators an engine part takes, each built on its own (never a ``FaceSearch``).

A part's unit test builds the part from these, to show that its constructor names all it
uses: a real SQLite store in the test's data folder, the audit log over it, the index of
one model over the store, the accountability checks, and one write lock.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np

from facesearch.audit import AuditLog
from facesearch.service.accountability import Accountability
from facesearch.service.enrollment import Enrollment
from facesearch.service.index_sync import IndexSync
from facesearch.service.pipeline import FacePipeline
from facesearch.service.suppression import Suppression
from facesearch.settings import Settings
from facesearch.store import NewFace, NewImage, Store
from facesearch.store.tables import utcnow
from facesearch.types import BoundingBox, FaceQuality, Landmarks5

MODEL = "test-model-v1"
DIM = 8


@dataclass
class Collaborators:
    settings: Settings
    store: Store
    audit: AuditLog
    accountability: Accountability
    index: IndexSync
    write_lock: threading.Lock

    def close(self) -> None:
        self.index.close()
        self.store.close()


def collaborators(settings: Settings, *, model_id: str = MODEL, dim: int = DIM) -> Collaborators:
    """A store, audit log, accountability, opened index of ``model_id`` and a lock."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.resolved_database_url)
    audit = AuditLog(store, anchor_path=settings.audit_anchor_path)
    index = IndexSync(
        store,
        model_id=model_id,
        dim=dim,
        backend=settings.index.backend,
        folder=settings.index_dir / model_id,
        save_every=settings.index.save_every,
    )
    index.open()
    return Collaborators(
        settings, store, audit, Accountability(audit, settings), index, threading.Lock()
    )


def unit_vector(seed: int, dim: int = DIM) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def add_face(
    store: Store, gallery_id: int, vector: np.ndarray, *, n: int, model_id: str = MODEL
) -> int:
    """Store one image with one face of embedding ``vector`` (``(d,)`` float32); its id."""
    image = NewImage(
        sha256=hashlib.sha256(f"part-image-{n}".encode()).hexdigest(),
        width=640,
        height=480,
        n_bytes=1,
        format="JPEG",
        legal_basis="test",
        source_uri=None,
    )
    face = NewFace(
        box=BoundingBox(10.0, 20.0, 60.0, 80.0),
        landmarks=Landmarks5(((1.5, 2.0), (3.0, 4.0), (5.0, 6.0), (7.0, 8.0), (9.0, 10.5))),
        detector="fake",
        detector_score=0.9,
        quality=FaceQuality(interocular_px=22.5, sharpness=140.0, frontalness=0.9, score=0.8),
        model_id=model_id,
        embedding=vector,
        thumbnail=b"\xff\xd8thumb",
    )
    return store.catalog.add_image(gallery_id, image, [face], []).face_ids[0]


def enrollment_of(deps: Collaborators, pipeline: FacePipeline) -> Enrollment:
    """An :class:`Enrollment` over ``deps`` and ``pipeline`` (no engine)."""
    return Enrollment(
        deps.settings,
        catalog=deps.store.catalog,
        pipeline=pipeline,
        index=deps.index,
        suppression=Suppression(
            deps.settings,
            model_id=pipeline.model_id,
            privacy=deps.store.privacy,
            index_rows=deps.store.index_rows,
        ),
        accountability=deps.accountability,
        write_lock=deps.write_lock,
        clock=utcnow,
    )
