from __future__ import annotations

import json

import numpy as np
import pytest

from facesearch.errors import InvalidInput
from facesearch.index import FaissFlatIndex, Watermark, watermark_for


def test_json_round_trip() -> None:
    wm = Watermark(model_id="m", dim=128, max_face_id=77, n_vectors=5, deletion_seq=9)
    text = wm.to_json()
    assert json.loads(text) == {
        "model_id": "m",
        "dim": 128,
        "max_face_id": 77,
        "n_vectors": 5,
        "deletion_seq": 9,
    }
    assert Watermark.from_json(text) == wm


def test_from_json_ignores_unknown_keys() -> None:
    wm = Watermark("m", 4, 0, 0, 0)
    data = json.loads(wm.to_json()) | {"index_sha256": "ab", "future": [1]}
    assert Watermark.from_json(json.dumps(data)) == wm


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[1]",
        '{"model_id": "m", "dim": 4, "max_face_id": 0, "n_vectors": 0}',
        '{"model_id": "m", "dim": "4", "max_face_id": 0, "n_vectors": 0, "deletion_seq": 0}',
        '{"model_id": "m", "dim": 4, "max_face_id": 0, "n_vectors": true, "deletion_seq": 0}',
        '{"model_id": "m", "dim": 4, "max_face_id": 1.5, "n_vectors": 0, "deletion_seq": 0}',
        '{"model_id": "", "dim": 4, "max_face_id": 0, "n_vectors": 0, "deletion_seq": 0}',
        '{"model_id": 3, "dim": 4, "max_face_id": 0, "n_vectors": 0, "deletion_seq": 0}',
        '{"model_id": "m", "dim": 0, "max_face_id": 0, "n_vectors": 0, "deletion_seq": 0}',
        '{"model_id": "m", "dim": 4, "max_face_id": -1, "n_vectors": 0, "deletion_seq": 0}',
    ],
)
def test_from_json_rejects_bad_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        Watermark.from_json(text)


def test_watermark_for() -> None:
    idx = FaissFlatIndex(4)
    assert watermark_for(idx, model_id="m", deletion_seq=2) == Watermark("m", 4, 0, 0, 2)
    rng = np.random.default_rng(0)
    idx.add(np.array([9, 3, 12]), rng.standard_normal((3, 4)).astype(np.float32))
    assert watermark_for(idx, model_id="m", deletion_seq=2) == Watermark("m", 4, 12, 3, 2)
