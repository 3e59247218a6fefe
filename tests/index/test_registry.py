from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facesearch.errors import ConfigurationError, InvalidInput
from facesearch.index import (
    FaissFlatIndex,
    IndexMissing,
    PersistentIndex,
    VectorIndex,
    create_index,
    load_index,
    watermark_for,
)
from facesearch.settings import IndexBackend


@pytest.mark.parametrize("key", [IndexBackend.FAISS, "faiss"])
def test_create_and_load(key: IndexBackend, tmp_path: Path) -> None:
    idx = create_index(key, 8)
    assert isinstance(idx, FaissFlatIndex)
    assert isinstance(idx, VectorIndex) and isinstance(idx, PersistentIndex)
    assert idx.dim == 8 and len(idx) == 0
    rng = np.random.default_rng(0)
    idx.add(np.arange(1, 6), rng.standard_normal((5, 8)).astype(np.float32))
    wm = watermark_for(idx, model_id="m", deletion_seq=1)
    idx.save(tmp_path, wm)
    loaded, got = load_index(key, tmp_path)
    assert isinstance(loaded, FaissFlatIndex) and got == wm and len(loaded) == 5


def test_unknown_backend_raises_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        create_index("annoy", 8)
    with pytest.raises(ConfigurationError):
        load_index("annoy", tmp_path)


def test_bad_dim_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        create_index(IndexBackend.FAISS, 0)
    with pytest.raises(IndexMissing):
        load_index(IndexBackend.FAISS, tmp_path)
