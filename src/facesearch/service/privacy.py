"""Erasure by face, a part of the engine (:class:`~facesearch.service.FaceSearch` builds it).

1. :meth:`Privacy.request_erasure`: a curator files a request with a photo of the
   requester and a request reference. The requester's largest face is compared with every
   face of the engine's model in every gallery; those at or above the similarity of
   ``privacy.erasure_target_fmr`` (from the model's calibration table) are proposed, and
   so, for a few rounds, are the faces at or above it to a face proposed before (each
   shown with the face it was found through). The request keeps the requester's
   embedding and the loose crop of their face (so that the suppression can follow a
   move to another model), never the photo.
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
   from every search result, whichever path enrolled it
   (:class:`~facesearch.service.suppression.Suppression`).

Every step is audited in its own transaction (``erasure.request``, ``erasure.confirm``,
``erasure.cancel``; refusals as ``enroll`` with outcome ``suppressed``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.audit import AuditContext, AuditLog
from facesearch.errors import Conflict, InvalidInput, NoFaceFound
from facesearch.privacy import FieldKind, check_fields
from facesearch.service.accountability import Accountability
from facesearch.service.index_sync import IndexSync
from facesearch.service.pipeline import FacePipeline
from facesearch.service.suppression import Suppression
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


class Privacy:
    """Erasure by face: file, review, confirm and cancel requests (see the module doc).

    ``write_lock`` is the engine's lock around store-then-index steps (enrollment takes
    it too); ``suppression`` gives the thresholds and the list the confirmation extends."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        pipeline: FacePipeline,
        index: IndexSync,
        suppression: Suppression,
        audit: AuditLog,
        accountability: Accountability,
        write_lock: threading.Lock,
    ) -> None:
        self._settings = settings
        self._privacy = store.privacy
        self._catalog = store.catalog
        self._index_rows = store.index_rows
        self._pipeline = pipeline
        self._model_id = pipeline.model_id
        self._index = index
        self._suppression = suppression
        self._audit = audit
        self._accountability = accountability
        self._write_lock = write_lock

    @property
    def erasure_threshold(self) -> float:
        """Cosine similarity of ``privacy.erasure_target_fmr`` for this engine's model."""
        return self._suppression.threshold_for(self._settings.privacy.erasure_target_fmr)

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
            face = self._pipeline.analyze(data).largest_face()
            if face is None:
                raise NoFaceFound("no face found in the requester's photo")
            target = self._settings.privacy.erasure_target_fmr
            threshold = self.erasure_threshold
            proposed = self._propose(face.embedding, threshold)
            record = self._privacy.add_erasure_request(
                reference=reference,
                note=note,
                model_id=self._model_id,
                embedding=face.embedding,
                target_fmr=target,
                threshold=threshold,
                proposed=proposed,
                created_by=context.actor,
                crop=None if face.crop is None else face.crop.jpeg,
                crop_box=None if face.crop is None else face.crop.box,
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
        self._audit.committed()
        return self.erasure(record.id)

    def erasure(self, request_id: int) -> ErasureView:
        """A request with its proposed faces (those still stored carry their record)."""
        record = self._privacy.get_erasure_request(request_id)
        faces = self._catalog.get_faces([p.face_id for p in record.proposed])
        return ErasureView(
            record,
            tuple(
                ErasureFace(p.face_id, p.similarity, faces.get(p.face_id), p.via)
                for p in record.proposed
            ),
        )

    def list_erasures(self, status: str | None = None) -> list[ErasureRecord]:
        return self._privacy.list_erasure_requests(status)

    def list_suppressions(self) -> list[SuppressionRecord]:
        return self._privacy.list_suppressions()

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
                request = self._privacy.get_erasure_request(request_id)
                embedding = self._privacy.erasure_embedding(request_id)  # Conflict unless pending
                proposed = {p.face_id for p in request.proposed}
                new = [
                    p
                    for p in self._propose(embedding, request.threshold)
                    if p.face_id not in proposed
                ]
                if new:
                    self._privacy.add_erasure_proposals(request_id, new)
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
                record = self._privacy.complete_erasure(
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
        self._audit.committed()
        return ErasureConfirmation(record, tuple(hidden))

    def cancel_erasure(self, request_id: int, *, context: AuditContext) -> ErasureRecord:
        """Cancel a pending request (its embedding is wiped; nothing is deleted)."""
        target = f"erasure:{request_id}"
        try:
            record = self._privacy.cancel_erasure(
                request_id,
                decided_by=context.actor,
                audit=lambda r: context.event(
                    "erasure.cancel", target=target, details={"reference": r.reference}
                ),
            )
        except Exception as err:
            self._accountability.failed(context, "erasure.cancel", err, target=target)
            raise
        self._audit.committed()
        return record

    # --- helpers ------------------------------------------------------------------------
    def _hidden_by(self, requester: NDArray[np.float32], erased: Sequence[int]) -> list[int]:
        """Stored faces of this model, other than ``erased``, at or above the suppression
        threshold to the requester's embedding or to an erased face's: the faces the
        suppression entries of this erasure will drop from every search (ascending)."""
        vectors = [np.asarray(requester, dtype=np.float32).reshape(1, -1)]
        vectors += [
            v for _, v in self._index_rows.iter_embeddings(self._model_id, ids=list(erased))
        ]
        queries = np.ascontiguousarray(np.concatenate(vectors, axis=0), dtype=np.float32)
        self._index.catch_up()
        n = min(len(self._index), MAX_PROPOSED)
        if n == 0:
            return []
        scores, ids = self._index.search(queries, n)
        threshold = self._suppression.threshold
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
                for ids, vectors in self._index_rows.iter_embeddings(self._model_id, ids=frontier)
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
