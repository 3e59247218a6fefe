"""The vector index contract: protocols, the persisted watermark and the index errors.

Vectors are float32, C-contiguous ``(n, dim)`` and L2-normalised upstream, so the inner
product an index returns is the cosine similarity. Ids are int64 ``faces.id`` keys
(non-negative; ``-1`` is the "no result" padding of ``search``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from facesearch.errors import IndexUnavailable, InvalidInput
from facesearch.types import FloatArray, IntArray

__all__ = [
    "IndexCorrupt",
    "IndexMissing",
    "PersistentIndex",
    "VectorIndex",
    "Watermark",
    "watermark_for",
]


class IndexMissing(IndexUnavailable):
    """No saved index exists in the folder (first start, or it was deleted): rebuild it."""

    code = "index_missing"


class IndexCorrupt(IndexUnavailable):
    """A saved index can't be read, fails its checksum or disagrees with its watermark."""

    code = "index_corrupt"


_WATERMARK_INT_FIELDS = ("dim", "max_face_id", "n_vectors", "deletion_seq")


@dataclass(frozen=True, slots=True)
class Watermark:
    """What a saved index contains, so start-up can reconcile it with the store.

    ``model_id``: the embedding model of every vector. ``dim``: vector dimension.
    ``max_face_id``: highest face id the saved index contains (0 if empty).
    ``n_vectors``: number of vectors in the saved index. ``deletion_seq``: the last
    store ``face_deletions.seq`` applied to this index (0 if none).
    """

    model_id: str
    dim: int
    max_face_id: int
    n_vectors: int
    deletion_seq: int

    def __post_init__(self) -> None:
        if not isinstance(self.model_id, str) or not self.model_id:
            raise InvalidInput("watermark model_id must be a non-empty string")
        for name in _WATERMARK_INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(f"watermark {name} must be an integer")
            if value < 0:
                raise InvalidInput(f"watermark {name} must be >= 0, got {value}")
        if self.dim == 0:
            raise InvalidInput("watermark dim must be > 0")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "dim": self.dim,
            "max_face_id": self.max_face_id,
            "n_vectors": self.n_vectors,
            "deletion_seq": self.deletion_seq,
        }

    def to_json(self) -> str:
        """One JSON object with the five fields, keys sorted."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Watermark:
        """Parse :meth:`to_json` output; unknown keys are ignored (forward compatible).

        Raises :class:`InvalidInput` when the text is not a JSON object with the five
        fields of the right types.
        """
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InvalidInput("watermark is not valid JSON") from err
        if not isinstance(data, dict):
            raise InvalidInput("watermark JSON must be an object")
        missing = [k for k in ("model_id", *_WATERMARK_INT_FIELDS) if k not in data]
        if missing:
            raise InvalidInput(f"watermark JSON lacks {', '.join(missing)}")
        return cls(
            model_id=data["model_id"],
            dim=data["dim"],
            max_face_id=data["max_face_id"],
            n_vectors=data["n_vectors"],
            deletion_seq=data["deletion_seq"],
        )


@runtime_checkable
class VectorIndex(Protocol):
    """Exact or approximate inner-product search over int64-keyed float32 vectors.

    Implementations are safe to call from several threads.
    """

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    def add(self, ids: IntArray, vectors: FloatArray) -> None:
        """Add ``vectors`` ``(n, dim)`` under ``ids`` ``(n,)``.

        Ids must be non-negative, unique and not already present; vectors are cast to
        C-contiguous float32 and must be finite. Raises :class:`InvalidInput` otherwise,
        leaving the index unchanged.
        """
        ...

    def remove(self, ids: IntArray) -> int:
        """Remove ``ids`` ``(m,)``; returns how many were present. Unknown ids are ignored."""
        ...

    def search(
        self, queries: FloatArray, k: int, *, subset: IntArray | None = None
    ) -> tuple[FloatArray, IntArray]:
        """The ``k`` best vectors by inner product for each of ``queries`` ``(q, dim)``.

        Returns ``(scores, ids)``: float32 ``(q, k)`` in descending order and int64
        ``(q, k)``, padded with score ``-inf`` and id ``-1`` where fewer than ``k``
        vectors exist. ``subset`` ``(m,)`` restricts the search to those ids (exactly).
        ``k <= 0`` raises :class:`InvalidInput`.
        """
        ...

    def __len__(self) -> int:
        """Number of vectors."""
        ...

    def ids(self) -> IntArray:
        """The ids present, sorted ascending, int64 ``(n,)``."""
        ...

    def contains(self, ids: IntArray) -> NDArray[np.bool_]:
        """Whether each of ``ids`` ``(m,)`` is present, bool ``(m,)``."""
        ...


@runtime_checkable
class PersistentIndex(VectorIndex, Protocol):
    """A :class:`VectorIndex` that saves to and loads from a folder with a watermark."""

    def save(self, folder: Path, watermark: Watermark) -> None:
        """Atomically replace the index saved in ``folder`` with this one and ``watermark``.

        Raises :class:`InvalidInput` when the watermark's ``dim`` or ``n_vectors``
        disagree with the index, or its ``max_face_id`` is below an id it contains.
        """
        ...

    @classmethod
    def load(cls, folder: Path) -> tuple[Self, Watermark]:
        """Read an index saved by :meth:`save`.

        Raises :class:`IndexMissing` when nothing was saved there, :class:`IndexCorrupt`
        when the files are unreadable, fail their checksum or disagree with each other,
        and :class:`IndexUnavailable` when the operating system refuses to read them.
        """
        ...


def watermark_for(index: VectorIndex, *, model_id: str, deletion_seq: int) -> Watermark:
    """The watermark describing ``index`` as it is now (``max_face_id`` 0 when empty)."""
    present = index.ids()
    return Watermark(
        model_id=model_id,
        dim=index.dim,
        max_face_id=int(present[-1]) if present.size else 0,
        n_vectors=int(present.size),
        deletion_seq=deletion_seq,
    )
