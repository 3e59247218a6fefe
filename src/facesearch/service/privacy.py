"""Erasure by face and the suppression list, as part of :class:`~facesearch.service.FaceSearch`.

1. :meth:`Privacy.request_erasure`: a curator files a request with a photo of the
   requester and a request reference. The requester's largest face is compared with every
   face of the engine's model in every gallery; those at or above the similarity of
   ``privacy.erasure_target_fmr`` (from the model's calibration table) are proposed, and
   so, for a few rounds, are the faces at or above it to a face proposed before (each
   shown with the face it was found through). The request keeps the requester's
   embedding, never the photo.
2. :meth:`Privacy.confirm_erasure`: the curator confirms (all, or some of the proposed
   faces). The requester's embedding is searched again first: faces enrolled since the
   request was filed are added to its proposals and the confirmation is refused
   (``Conflict``) until the curator has seen them. In one store transaction the faces
   are deleted (logged, so every index drops them), images and subjects left without
   faces go too with the faces' review judgements, and the requester's embedding and the
   erased faces' embeddings join the suppression list; then the index applies the
   deletions. Faces the curator kept but that are within the suppression threshold of
   those embeddings stay stored yet are hidden from every search: the result and the
   audit event count them.
3. From then on a face within ``privacy.suppression_target_fmr`` of any suppressed
   embedding is refused at enrollment (:class:`~facesearch.errors.Suppressed`) and dropped
   from every search result, whichever path enrolled it.

Every step is audited in its own transaction (``erasure.request``, ``erasure.confirm``,
``erasure.cancel``; refusals as ``enroll`` with outcome ``suppressed``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.audit import AuditContext, AuditLog
from facesearch.calibration import Calibration, load_calibration
from facesearch.errors import Conflict, InvalidInput, NoFaceFound, Suppressed
from facesearch.privacy import FieldKind, check_fields
from facesearch.service.accountability import Accountability
from facesearch.service.index_sync import IndexSync
from facesearch.service.pipeline import FacePipeline
from facesearch.settings import Settings
from facesearch.store import ErasureRecord, FaceRecord, ProposedFace, Store, SuppressionRecord

MAX_PROPOSED = 10_000
"""Most faces one erasure request proposes (the nearest first)."""

MAX_ROUNDS = 4
"""Rounds of propagation: faces found through faces found through ... the requester's."""


@dataclass(frozen=True, slots=True)
class ErasureFace:
    """A face proposed for erasure: the stored face (``None`` once it is gone) and its
    cosine similarity to the requester's face, or to the proposed face ``via`` through
    which it was found."""

    face_id: int
    similarity: float
    face: FaceRecord | None
    via: int | None = None


@dataclass(frozen=True, slots=True)
class ErasureConfirmation:
    """A confirmed erasure: the completed request, and the stored faces it did not erase
    (the curator kept them) that its suppression entries hide from every search from now
    on (ascending ids)."""

    record: ErasureRecord
    hidden_face_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ErasureView:
    """An erasure request with its proposed faces (for a curator to confirm)."""

    request: ErasureRecord
    faces: tuple[ErasureFace, ...]


class SuppressionList:
    """The suppressed embeddings of one model, cached and reloaded when the store's list
    changes (checked with one cheap query per use)."""

    def __init__(self, store: Store, model_id: str) -> None:
        self._store = store
        self._model_id = model_id
        self._lock = threading.Lock()
        self._marks: tuple[int, int] | None = None
        self._vectors: NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)

    def vectors(self) -> NDArray[np.float32]:
        """``(n, d)`` float32; ``n == 0`` when nothing of this model is suppressed."""
        return self.snapshot()[1]

    def snapshot(self) -> tuple[tuple[int, int], NDArray[np.float32]]:
        """The list's marks (``Store.suppression_marks``) and its ``(n, d)`` vectors, as
        read together."""
        marks = self._store.suppression_marks(self._model_id)
        with self._lock:
            if marks != self._marks:
                self._vectors = self._store.suppressed_embeddings(self._model_id)
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


class Privacy:
    """The erasure and suppression methods of :class:`~facesearch.service.FaceSearch`
    (which sets the attributes declared here)."""

    settings: Settings
    store: Store
    pipeline: FacePipeline
    model_id: str
    audit: AuditLog
    _index: IndexSync
    _write_lock: threading.Lock
    _accountability: Accountability

    @cached_property
    def suppressions(self) -> SuppressionList:
        return SuppressionList(self.store, self.model_id)

    @cached_property
    def _privacy_calibration(self) -> Calibration:
        return load_calibration(
            self.model_id,
            self.settings.search.calibration_path,
            calibration_dir=self.settings.calibration_dir,
        )

    @property
    def erasure_threshold(self) -> float:
        """Cosine similarity of ``privacy.erasure_target_fmr`` for this engine's model."""
        target = self.settings.privacy.erasure_target_fmr
        return self._privacy_calibration.threshold_for_fmr(target)

    @property
    def suppression_threshold(self) -> float:
        """Cosine similarity of ``privacy.suppression_target_fmr`` for this engine's model."""
        target = self.settings.privacy.suppression_target_fmr
        return self._privacy_calibration.threshold_for_fmr(target)

    # --- erasure ------------------------------------------------------------------------
    def request_erasure(
        self, data: bytes, *, reference: str, note: str = "", context: AuditContext
    ) -> ErasureView:
        """File an erasure request for the largest face of ``data``; see the module doc.

        ``NoFaceFound`` when the photo holds no face. Audited (``erasure.request``)."""
        reference = (reference or "").strip()
        try:
            if not reference:
                raise InvalidInput("an erasure request needs a request reference")
            check_fields(
                {
                    "reference": (reference, FieldKind.REFERENCE),
                    "note": (note, FieldKind.NARRATIVE),
                }
            )
            face = self.pipeline.analyze(data).largest_face()
            if face is None:
                raise NoFaceFound("no face found in the requester's photo")
            target = self.settings.privacy.erasure_target_fmr
            threshold = self.erasure_threshold
            proposed = self._propose(face.embedding, threshold)
            record = self.store.add_erasure_request(
                reference=reference,
                note=note,
                model_id=self.model_id,
                embedding=face.embedding,
                target_fmr=target,
                threshold=threshold,
                proposed=proposed,
                created_by=context.actor,
                audit=lambda r: context.event(
                    "erasure.request",
                    target=f"erasure:{r.id}",
                    details={
                        "reference": r.reference,
                        "target_fmr": r.target_fmr,
                        "threshold": round(r.threshold, 6),
                        "proposed_face_ids": [p.face_id for p in r.proposed],
                    },
                ),
            )
        except Exception as err:
            self._accountability.failed(context, "erasure.request", err)
            raise
        self.audit.committed()
        return self.erasure(record.id)

    def erasure(self, request_id: int) -> ErasureView:
        """A request with its proposed faces (those still stored carry their record)."""
        record = self.store.get_erasure_request(request_id)
        faces = self.store.get_faces([p.face_id for p in record.proposed])
        return ErasureView(
            record,
            tuple(
                ErasureFace(p.face_id, p.similarity, faces.get(p.face_id), p.via)
                for p in record.proposed
            ),
        )

    def list_erasures(self, status: str | None = None) -> list[ErasureRecord]:
        return self.store.list_erasure_requests(status)

    def list_suppressions(self) -> list[SuppressionRecord]:
        return self.store.list_suppressions()

    def confirm_erasure(
        self,
        request_id: int,
        *,
        face_ids: Sequence[int] | None = None,
        context: AuditContext,
    ) -> ErasureConfirmation:
        """Erase the proposed faces (or the ``face_ids`` among them) and suppress the
        requester. ``InvalidInput`` for a face id the request did not propose.

        First the requester's stored embedding is searched again at the request's
        threshold: faces enrolled since the request was filed are added to its proposals
        and the confirmation is refused (``Conflict``) so the curator sees them; confirming
        again then goes through. The result (and the ``erasure.confirm`` audit event) says
        which stored faces, kept because they were not confirmed, the new suppression
        entries will hide from every search."""
        target = f"erasure:{request_id}"
        details: dict[str, Any] = {}
        try:
            with self._write_lock:  # enrollment takes it too: no face slips in meanwhile
                request = self.store.get_erasure_request(request_id)
                embedding = self.store.erasure_embedding(request_id)  # Conflict unless pending
                proposed = {p.face_id for p in request.proposed}
                new = [
                    p
                    for p in self._propose(embedding, request.threshold)
                    if p.face_id not in proposed
                ]
                if new:
                    self.store.add_erasure_proposals(request_id, new)
                    details["new_face_ids"] = [p.face_id for p in new]
                    raise Conflict(
                        f"{len(new)} new face(s) since the request was filed; "
                        "review and confirm again"
                    )
                chosen = sorted(proposed if face_ids is None else {int(i) for i in face_ids})
                unknown = [i for i in chosen if i not in proposed]
                if unknown:
                    raise InvalidInput(f"faces {unknown[:10]} were not proposed by this request")
                hidden = self._hidden_by(embedding, chosen)
                record = self.store.complete_erasure(
                    request_id,
                    chosen,
                    decided_by=context.actor,
                    audit=lambda r: context.event(
                        "erasure.confirm",
                        target=target,
                        details={
                            "reference": r.reference,
                            "face_ids": list(r.erased_face_ids),
                            "not_confirmed": sorted(proposed - set(chosen)),
                            "kept_faces_hidden_by_suppression": len(hidden),
                            "hidden_face_ids": list(hidden[:MAX_PROPOSED]),
                        },
                    ),
                )
                self._index.apply_deletions()
        except Exception as err:
            self._accountability.failed(
                context, "erasure.confirm", err, target=target, details=details
            )
            raise
        self.audit.committed()
        return ErasureConfirmation(record, tuple(hidden))

    def cancel_erasure(self, request_id: int, *, context: AuditContext) -> ErasureRecord:
        """Cancel a pending request (its embedding is wiped; nothing is deleted)."""
        target = f"erasure:{request_id}"
        try:
            record = self.store.cancel_erasure(
                request_id,
                decided_by=context.actor,
                audit=lambda r: context.event(
                    "erasure.cancel", target=target, details={"reference": r.reference}
                ),
            )
        except Exception as err:
            self._accountability.failed(context, "erasure.cancel", err, target=target)
            raise
        self.audit.committed()
        return record

    # --- suppression --------------------------------------------------------------------
    def refuse_suppressed(self, embeddings: Sequence[NDArray[np.float32]]) -> tuple[int, int]:
        """``Suppressed`` when any of the ``(d,)`` embeddings is a suppressed person's; else
        the marks of the list checked against (for ``Store.add_image``)."""
        marks, vectors = self.suppressions.snapshot()
        if not embeddings or len(vectors) == 0:
            return marks
        best = self.suppressions.best(np.stack(embeddings).astype(np.float32), vectors)
        hits = [i for i, b in enumerate(best) if b >= self.suppression_threshold]
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
        threshold = self.suppression_threshold
        hidden: set[int] = set()
        for batch_ids, vectors in self.store.iter_embeddings(self.model_id, ids=wanted):
            best = self.suppressions.best(vectors)
            hidden.update(int(i) for i, b in zip(batch_ids, best, strict=True) if b >= threshold)
        if not hidden:
            return ids
        out = ids.copy()
        out[np.isin(out, np.fromiter(hidden, dtype=np.int64))] = -1
        return out

    # --- helpers ------------------------------------------------------------------------
    def _hidden_by(self, requester: NDArray[np.float32], erased: Sequence[int]) -> list[int]:
        """Stored faces of this model, other than ``erased``, at or above the suppression
        threshold to the requester's embedding or to an erased face's: the faces the
        suppression entries of this erasure will drop from every search (ascending)."""
        vectors = [np.asarray(requester, dtype=np.float32).reshape(1, -1)]
        vectors += [v for _, v in self.store.iter_embeddings(self.model_id, ids=list(erased))]
        queries = np.ascontiguousarray(np.concatenate(vectors, axis=0), dtype=np.float32)
        self._index.catch_up()
        n = min(len(self._index), MAX_PROPOSED)
        if n == 0:
            return []
        scores, ids = self._index.search(queries, n)
        threshold = self.suppression_threshold
        gone = {int(i) for i in erased}
        hits = {int(i) for i in ids[(ids >= 0) & (scores >= threshold)].ravel()}
        return sorted(hits - gone)

    def _propose(self, embedding: NDArray[np.float32], threshold: float) -> list[ProposedFace]:
        """The faces to propose for the requester's ``embedding``, best first.

        First the faces at or above ``threshold`` to the requester's face; then, for up to
        :data:`MAX_ROUNDS` rounds, the faces at or above ``threshold`` to a face found in
        the round before (``via`` names it). One photo of a person rarely reaches every
        other photo of them at a strict threshold (pose, age, light), but their photos
        reach each other: on LFW's Tony Blair, the requester's photo alone reaches 3 of 6
        enrolled photos. Every pairwise step is at the strict threshold, and the curator
        confirms each face; the chain is shown (``via``)."""
        self._index.catch_up()
        n = min(len(self._index), MAX_PROPOSED)
        if n == 0:
            return []
        found = {
            p.face_id: p for p in self._nearest(np.asarray(embedding).reshape(1, -1), n, threshold)
        }
        frontier = sorted(found)
        for _ in range(MAX_ROUNDS):
            if not frontier or len(found) >= MAX_PROPOSED:
                break
            queries = {
                int(i): v
                for ids, vectors in self.store.iter_embeddings(self.model_id, ids=frontier)
                for i, v in zip(ids, vectors, strict=True)
            }
            order = [i for i in frontier if i in queries]
            if not order:
                break
            hits = self._nearest(np.stack([queries[i] for i in order]), n, threshold, via=order)
            new: dict[int, ProposedFace] = {}
            for p in hits:
                if p.face_id not in found and (
                    p.face_id not in new or p.similarity > new[p.face_id].similarity
                ):
                    new[p.face_id] = p
            found.update(new)
            frontier = sorted(new)
        ranked = sorted(found.values(), key=lambda p: (p.via is not None, -p.similarity))
        return ranked[:MAX_PROPOSED]

    def _nearest(
        self,
        queries: NDArray[np.float32],
        n: int,
        threshold: float,
        *,
        via: Sequence[int] | None = None,
    ) -> list[ProposedFace]:
        """Faces at or above ``threshold`` to any of ``queries`` ``(m, d)``; a face found by
        query ``j`` is ``via[j]`` (``None``: the requester's face)."""
        scores, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), n)
        out = []
        for j in range(len(ids)):
            through = None if via is None else int(via[j])
            out += [
                ProposedFace(int(i), float(s), through)
                for s, i in zip(scores[j], ids[j], strict=True)
                if i >= 0 and float(s) >= threshold and int(i) != through
            ]
        return out
