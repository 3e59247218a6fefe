"""The suppression list in the engine: refusing a suppressed person's face at enrollment
and dropping it from search results.

After an erasure (:mod:`facesearch.service.privacy`) the requester's embedding and the
erased faces' embeddings are suppressed: a face within ``privacy.suppression_target_fmr``
(a similarity from the model's calibration table) of any of them is refused at enrollment
(:class:`~facesearch.errors.Suppressed`) and dropped from every search result, whichever
path enrolled it. :class:`Suppression` is the part that enrollment, search and erasure
consult; it reads the store's privacy and index rows and nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from facesearch.calibration import Calibration, load_calibration
from facesearch.errors import Suppressed
from facesearch.settings import Settings
from facesearch.store.index_rows import IndexRowsRepository
from facesearch.store.privacy import PrivacyRepository


class SuppressionList:
    """The suppressed embeddings of one model, cached and reloaded when the store's list
    changes (checked with one cheap query per use)."""

    def __init__(self, privacy: PrivacyRepository, model_id: str) -> None:
        self._privacy = privacy
        self._model_id = model_id
        self._lock = threading.Lock()
        self._marks: tuple[int, int] | None = None
        self._vectors: NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)

    def vectors(self) -> NDArray[np.float32]:
        """``(n, d)`` float32; ``n == 0`` when nothing of this model is suppressed."""
        return self.snapshot()[1]

    def snapshot(self, *, fresh: bool = True) -> tuple[tuple[int, int], NDArray[np.float32]]:
        """The list's marks (:meth:`PrivacyRepository.suppression_marks`) and its ``(n, d)``
        vectors, as read together. ``fresh=False``: the last snapshot read, without asking
        the store, when there is one (for a caller whose write re-checks the marks in its
        own transaction, as ``add_image`` does)."""
        if not fresh:
            with self._lock:
                if self._marks is not None:
                    return self._marks, self._vectors
        marks = self._privacy.suppression_marks(self._model_id)
        with self._lock:
            if marks != self._marks:
                self._vectors = self._privacy.suppressed_embeddings(self._model_id)
                self._marks = marks
            return marks, self._vectors

    def best(
        self, queries: NDArray[np.float32], vectors: NDArray[np.float32] | None = None
    ) -> NDArray[np.float32]:
        """Highest cosine similarity of each of ``queries`` ``(m, d)`` to the list (or to
        ``vectors``, a snapshot of it), ``(m,)``; ``-inf`` when the list is empty."""
        if vectors is None:
            vectors = self.vectors()
        if len(vectors) == 0 or len(queries) == 0:
            return np.full(len(queries), -np.inf, dtype=np.float32)
        return np.asarray((queries @ vectors.T).max(axis=1), dtype=np.float32)


class Suppression:
    """The suppression check of one model: its thresholds (from the model's calibration
    table, read on first use), the refusal at enrollment and the filter of search ids.

    ``privacy`` gives the suppressed embeddings, ``index_rows`` the stored embeddings of
    search candidates."""

    def __init__(
        self,
        settings: Settings,
        *,
        model_id: str,
        privacy: PrivacyRepository,
        index_rows: IndexRowsRepository,
    ) -> None:
        self._settings = settings
        self._model_id = model_id
        self._index_rows = index_rows
        self.suppressions = SuppressionList(privacy, model_id)

    @cached_property
    def calibration(self) -> Calibration:
        """The model's calibration table (``search.calibration_path``, else the model's own
        in ``data_dir/calibration``, else the shipped one); raises ``CalibrationError``
        when the model has none."""
        return load_calibration(
            self._model_id,
            self._settings.search.calibration_path,
            calibration_dir=self._settings.calibration_dir,
        )

    def threshold_for(self, target_fmr: float) -> float:
        """Cosine similarity of ``target_fmr`` for this model (its calibration table)."""
        return self.calibration.threshold_for_fmr(target_fmr)

    @property
    def threshold(self) -> float:
        """Cosine similarity of ``privacy.suppression_target_fmr`` for this model."""
        return self.threshold_for(self._settings.privacy.suppression_target_fmr)

    def refuse_suppressed(
        self, embeddings: Sequence[NDArray[np.float32]], *, fresh: bool = True
    ) -> tuple[int, int]:
        """``Suppressed`` when any of the ``(d,)`` embeddings is a suppressed person's; else
        the marks of the list checked against (for ``CatalogRepository.add_image``).

        ``fresh=False`` checks against the last list read (no store read): only for a
        write that compares the returned marks with the store's in its own transaction
        (``add_image``'s ``suppressions_checked``), so a list that changed since is caught
        there. A hit on that list is confirmed against a fresh read before refusing."""
        marks, vectors = self.suppressions.snapshot(fresh=fresh)
        if not embeddings or len(vectors) == 0:
            return marks
        best = self.suppressions.best(np.stack(embeddings).astype(np.float32), vectors)
        hits = [i for i, b in enumerate(best) if b >= self.threshold]
        if hits and not fresh:
            return self.refuse_suppressed(embeddings, fresh=True)
        if hits:
            raise Suppressed(
                f"face {hits[0] + 1} of this image is of a person on the suppression list "
                "(an erasure request): it may not be enrolled"
            )
        return marks

    def drop_suppressed(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """``ids`` (any shape, ``-1`` for none) with the faces of suppressed people set to
        ``-1``, so a search never returns them."""
        if len(self.suppressions.vectors()) == 0:
            return ids
        wanted = sorted({int(i) for i in ids.ravel() if i >= 0})
        if not wanted:
            return ids
        threshold = self.threshold
        hidden: set[int] = set()
        for batch_ids, vectors in self._index_rows.iter_embeddings(self._model_id, ids=wanted):
            best = self.suppressions.best(vectors)
            hidden.update(int(i) for i, b in zip(batch_ids, best, strict=True) if b >= threshold)
        if not hidden:
            return ids
        out = ids.copy()
        out[np.isin(out, np.fromiter(hidden, dtype=np.int64))] = -1
        return out
