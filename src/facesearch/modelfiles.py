"""Model weight files shipped in PyPI packages, found on disk and checked by sha256.

Nothing is downloaded: dlib's models come from the ``face_recognition_models`` package.
The package's ``__init__`` is not executed (it needs ``pkg_resources``); its folder is
located through the import system's spec.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from facesearch.errors import ModelLoadError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelFile:
    """A weight file: the package that ships it, its relative path and its sha256."""

    package: str
    relpath: str
    sha256: str


DLIB_RESNET_V1 = ModelFile(
    "face_recognition_models",
    "models/dlib_face_recognition_resnet_model_v1.dat",
    "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
)
DLIB_SHAPE_5 = ModelFile(
    "face_recognition_models",
    "models/shape_predictor_5_face_landmarks.dat",
    "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
)
DLIB_MMOD = ModelFile(
    "face_recognition_models",
    "models/mmod_human_face_detector.dat",
    "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
)

_verified: set[tuple[Path, str]] = set()
_lock = threading.Lock()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_path(path: Path, expected_sha256: str) -> Path:
    """Return ``path`` after checking it exists and its sha256 is ``expected_sha256``.

    Raises :class:`ModelLoadError` otherwise. Each path is hashed once per process and
    expected checksum (a file verified against one sha256 is not taken for another).
    """
    path = path.resolve()
    with _lock:
        if (path, expected_sha256) in _verified:
            return path
        if not path.is_file():
            raise ModelLoadError(f"model file not found: {path}")
        actual = sha256_file(path)
        if actual != expected_sha256:
            raise ModelLoadError(
                f"model file {path.name} fails its checksum (sha256 {actual[:12]}…, "
                f"expected {expected_sha256[:12]}…)"
            )
        _verified.add((path, expected_sha256))
        logger.debug("verified model file %s", path)
        return path


def packaged_model(model: ModelFile) -> Path:
    """Locate a packaged model file and verify its checksum."""
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"package {model.package!r} is not installed (it ships the model weights)"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    return verified_path(root / model.relpath, model.sha256)
