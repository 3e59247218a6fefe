"""The face embedder contract."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from facesearch.alignment import ChipSpec
from facesearch.errors import InvalidInput
from facesearch.types import FloatArray


@runtime_checkable
class FaceEmbedder(Protocol):
    """Turns aligned chips into L2-normalised embeddings.

    ``model_id`` names the model (stored with every face; different ids are never compared),
    ``dim`` the embedding size, ``chip`` the alignment it expects (read-only; a model by
    file may load itself to read ``dim``).
    ``embed(chips)`` takes ``(n, size, size, 3)`` uint8 RGB and returns ``(n, dim)`` float32,
    C-contiguous, each row of unit L2 norm.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def chip(self) -> ChipSpec: ...

    def embed(self, chips: NDArray[np.uint8]) -> FloatArray: ...


def l2_normalize(vectors: NDArray[np.floating]) -> FloatArray:
    """Rows scaled to unit L2 norm, as float32 ``(n, d)`` C-contiguous (zero rows stay zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)


def check_chips(chips: NDArray[np.uint8], chip: ChipSpec) -> None:
    """Refuse ``chips`` unless they are ``(n, size, size, 3)`` for ``chip`` (``InvalidInput``)."""
    if chips.ndim != 4 or chips.shape[1:] != (chip.size, chip.size, 3):
        raise InvalidInput(
            f"expected chips of shape (n, {chip.size}, {chip.size}, 3), got {chips.shape}"
        )
