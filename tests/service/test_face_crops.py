"""The loose crop kept with every enrolled face: written with it, enough for another model
to re-embed the face, and gone with the face (deletion, erasure, retention)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy.orm import sessionmaker

from facesearch.imaging.crops import LOOSE_CROP_MAX_SIDE, loose_crop
from facesearch.service import FacePipeline, FaceSearch
from facesearch.service.reembed import reembed_crop
from facesearch.settings import Settings
from facesearch.store.crops import CropCounts, FaceCrops
from facesearch.types import BoundingBox

from ..onnx_models import arcface_settings
from .helpers import CURATOR

pytestmark = pytest.mark.both_databases

Images = dict[str, list[Path]]
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _crops(fs: FaceSearch) -> FaceCrops:
    return FaceCrops(sessionmaker(fs.store.engine))


def test_loose_crop_geometry() -> None:
    pixels = np.zeros((1000, 800, 3), dtype=np.uint8)
    big = loose_crop(pixels, BoundingBox(300, 400, 500, 600))  # 200 px face: 400 px -> 256
    with Image.open(io.BytesIO(big.jpeg)) as image:
        assert image.size == (LOOSE_CROP_MAX_SIDE, LOOSE_CROP_MAX_SIDE)
    assert big.box.as_tuple() == pytest.approx((64, 64, 192, 192))
    small = loose_crop(pixels, BoundingBox(10, 20, 50, 60))  # near the corner: clipped
    with Image.open(io.BytesIO(small.jpeg)) as image:
        assert image.size == (70, 80)  # x 0..70, y 0..80: never enlarged
    assert small.box.as_tuple() == pytest.approx((10, 20, 50, 60))
    with pytest.raises(ValueError, match="overlap"):
        loose_crop(pixels, BoundingBox(900, 10, 950, 60))


def test_enrolled_faces_keep_a_crop_that_goes_with_them(
    engine: FaceSearch, test_images: Images
) -> None:
    engine.create_gallery("g", legal_basis="t", context=CURATOR)
    a = engine.enroll(test_images["Colin_Powell"][0].read_bytes(), gallery="g", context=CURATOR)
    b = engine.enroll(test_images["Serena_Williams"][0].read_bytes(), gallery="g", context=CURATOR)
    crops = _crops(engine)
    stored = crops.get(a.face_ids[0])
    assert stored is not None and stored.model_id == "dlib-resnet-v1"
    with Image.open(io.BytesIO(stored.jpeg)) as image:
        assert max(image.size) <= LOOSE_CROP_MAX_SIDE
        assert 0 <= stored.box.x1 < stored.box.x2 <= image.size[0]
    assert crops.counts() == [CropCounts("dlib-resnet-v1", 2, 2)]
    batches = list(crops.batches("dlib-resnet-v1", batch=1))
    assert [[c.face_id for c in b] for b in batches] == [[a.face_ids[0]], [b.face_ids[0]]]
    assert list(crops.batches("dlib-resnet-v1", after_id=b.face_ids[0])) == []
    gallery = engine.store.catalog.get_gallery("g")
    assert len(next(crops.batches("dlib-resnet-v1", gallery_ids=[gallery.id]))) == 2
    assert list(crops.batches("dlib-resnet-v1", gallery_ids=[gallery.id + 1])) == []

    engine.delete_faces(list(a.face_ids), context=CURATOR)
    assert crops.get(a.face_ids[0]) is None
    assert crops.counts() == [CropCounts("dlib-resnet-v1", 1, 1)]


def test_erasure_deletes_the_crop(engine: FaceSearch, test_images: Images) -> None:
    engine.create_gallery("g", legal_basis="t", context=CURATOR)
    colin = test_images["Colin_Powell"]
    enrolled = engine.enroll(colin[0].read_bytes(), gallery="g", context=CURATOR)
    view = engine.request_erasure(colin[1].read_bytes(), reference="ER-1", context=CURATOR)
    assert enrolled.face_ids[0] in {f.face_id for f in view.faces}
    engine.confirm_erasure(view.request.id, context=CURATOR)
    assert _crops(engine).get(enrolled.face_ids[0]) is None
    assert _crops(engine).counts() == []


def test_retention_deletes_the_crop(
    settings: Settings, real_pipeline: FacePipeline, test_images: Images
) -> None:
    now = [T0]
    with FaceSearch(settings, pipeline=real_pipeline, clock=lambda: now[0]) as fs:
        fs.create_gallery("booking", legal_basis="t", retention_days=30, context=CURATOR)
        old = fs.enroll(
            test_images["Colin_Powell"][0].read_bytes(),
            gallery="booking",
            collected_at=T0 - timedelta(days=40),
            context=CURATOR,
        )
        assert _crops(fs).get(old.face_ids[0]) is not None
        fs.apply_retention(context=CURATOR)
        assert _crops(fs).get(old.face_ids[0]) is None


def test_a_stored_crop_re_embeds_like_the_photo(
    engine: FaceSearch, test_images: Images, models_dir: Path, tmp_path: Path
) -> None:
    """dlib's crop back through dlib gives (nearly) the stored embedding; the same crop
    through YuNet and EdgeFace-XS gives (nearly) what EdgeFace makes of the whole photo,
    and keeps the four people apart."""
    engine.create_gallery("g", legal_basis="t", context=CURATOR)
    photos = [p for paths in test_images.values() for p in paths]
    face_ids = []
    for photo in photos:
        face_ids.append(engine.enroll(photo.read_bytes(), gallery="g", context=CURATOR).face_ids[0])
    crops = {c.face_id: c for batch in _crops(engine).batches("dlib-resnet-v1") for c in batch}
    stored = {
        int(i): v
        for ids, vectors in engine.store.index_rows.iter_embeddings("dlib-resnet-v1", ids=face_ids)
        for i, v in zip(ids, vectors, strict=True)
    }
    same_model = []
    for face_id in face_ids:
        again = reembed_crop(engine.pipeline, crops[face_id].jpeg, crops[face_id].box)
        assert again is not None
        same_model.append(float(again @ stored[face_id]))
    print("same model", np.round(same_model, 4))
    assert min(same_model) > 0.97, same_model  # JPEG q95 and a re-detection, same model

    edgeface = FacePipeline(arcface_settings(models_dir, tmp_path / "e", "edgeface-xs"))
    vectors, direct = [], []
    for face_id, photo in zip(face_ids, photos, strict=True):
        v = reembed_crop(edgeface, crops[face_id].jpeg, crops[face_id].box)
        assert v is not None and v.shape == (512,)
        vectors.append(v)
        whole = edgeface.analyze(photo.read_bytes()).largest_face()
        assert whole is not None
        direct.append(whole.embedding)
    agreement = np.einsum("ij,ij->i", np.stack(vectors), np.stack(direct))
    print("edgeface crop vs photo", np.round(agreement, 4))
    assert agreement.min() > 0.9, agreement
    sims = np.stack(vectors) @ np.stack(vectors).T
    labels = np.repeat(np.arange(4), 3)
    same = (labels[:, None] == labels[None, :]) & ~np.eye(12, dtype=bool)
    assert sims[same].min() > sims[labels[:, None] != labels[None, :]].max()
