"""The converted ONNX file: produced on first use, stored atomically, verified on every load.

The file lives in ``<cache_dir>/dlib-resnet-v1-<dat sha256[:16]>-c<CONVERTER_VERSION>.onnx``
(``cache_dir`` is ``<data_dir>/models`` by default), next to ``<same name>.sha256`` holding
the converted file's own sha256. Every load hashes the file and compares: a missing,
truncated, corrupt or stale file (other converter version, other ``.dat``) is rebuilt from
the ``.dat``, never trusted. Writes go to a temporary file in the same folder, are fsynced
and renamed into place, so a crash never leaves half a model under the final name.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from facesearch.atomicfile import write_atomically
from facesearch.errors import ModelLoadError
from facesearch.modelfiles import DLIB_RESNET_V1, packaged_model

logger = logging.getLogger(__name__)

#: Bump when the reader or the graph builder changes what they produce: older files are
#: then stale and rebuilt.
CONVERTER_VERSION = 1

_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class ConvertedModel:
    """The verified ONNX bytes and where they are stored."""

    path: Path
    data: bytes
    sha256: str
    rebuilt: bool


def converted_name(dat_sha256: str) -> str:
    """File name of the converted model for a ``.dat`` with that sha256."""
    return f"dlib-resnet-v1-{dat_sha256[:16]}-c{CONVERTER_VERSION}.onnx"


def convert(dat_path: Path) -> bytes:
    """Read dlib's ``.dat`` at ``dat_path`` and return the serialized ONNX model."""
    from facesearch.embedding.dlib_onnx.graph import build_onnx
    from facesearch.embedding.dlib_onnx.reader import read_dlib_resnet

    network = read_dlib_resnet(dat_path.read_bytes())
    model = build_onnx(network, producer_version=f"converter-{CONVERTER_VERSION}")
    data: bytes = model.SerializeToString()
    return data


def load_or_convert(cache_dir: Path, *, dat_path: Path | None = None) -> ConvertedModel:
    """The converted model for dlib's packaged ``.dat`` (or ``dat_path``), from ``cache_dir``.

    Hashes the stored file against its recorded sha256 on every call; rebuilds it when it is
    missing, corrupt or stale. Raises :class:`ModelLoadError` when the ``.dat`` cannot be
    read or converted, or the cache folder cannot be written.
    """
    if dat_path is None:
        dat_path = packaged_model(DLIB_RESNET_V1)
        dat_sha = DLIB_RESNET_V1.sha256
    else:
        dat_sha = hashlib.sha256(dat_path.read_bytes()).hexdigest()
    path = cache_dir / converted_name(dat_sha)
    digest_path = path.with_name(path.name + ".sha256")
    with _lock:
        try:
            data = path.read_bytes()
            expected = digest_path.read_text(encoding="ascii").strip()
        except OSError:
            data, expected = b"", ""
        actual = hashlib.sha256(data).hexdigest()
        if data and expected and actual == expected:
            return ConvertedModel(path=path, data=data, sha256=actual, rebuilt=False)
        if data:
            logger.warning("converted model %s fails its checksum; rebuilding it", path)
        logger.info("converting %s to ONNX (converter %d)", dat_path.name, CONVERTER_VERSION)
        try:
            data = convert(dat_path)
        except (OSError, ValueError) as err:
            raise ModelLoadError(f"cannot convert {dat_path.name} to ONNX: {err}") from err
        digest = hashlib.sha256(data).hexdigest()
        try:
            write_atomically(path, data)
            write_atomically(digest_path, (digest + "\n").encode("ascii"))
        except OSError as err:
            raise ModelLoadError(
                f"cannot write the converted model to {cache_dir}: {err.strerror}"
            ) from err
        logger.info("wrote %s (sha256 %s)", path, digest[:12])
        return ConvertedModel(path=path, data=data, sha256=digest, rebuilt=True)
