"""Search (1:N) and verify (1:1): a part of the engine (:class:`~facesearch.service.FaceSearch`
builds it).

A search analyses the probe, catches the index up with the store, searches it (dropping
suppressed people's faces, :class:`~facesearch.service.suppression.Suppression`), reads the
candidates' rows, scores them (:class:`~facesearch.service.leads.LeadScorer`) and commits
its audit event before it returns (:class:`~facesearch.service.accountability.Accountability`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

import numpy as np
from numpy.typing import NDArray

from facesearch.audit import AuditContext
from facesearch.errors import InvalidInput, NoFaceFound
from facesearch.imaging import sha256_hex
from facesearch.service.accountability import Accountability
from facesearch.service.grants import galleries_to_search
from facesearch.service.index_sync import IndexSync
from facesearch.service.leads import LeadScorer
from facesearch.service.pipeline import AnalyzedFace, AnalyzedImage, FacePipeline
from facesearch.service.results import Candidate, ProbeFace, SearchResult, VerifyResult
from facesearch.service.suppression import Suppression
from facesearch.settings import SearchSettings
from facesearch.store import FaceRecord
from facesearch.store.catalog import CatalogRepository


class Searcher:
    """Search and verify over one model's index, justified and audited."""

    def __init__(
        self,
        settings: SearchSettings,
        *,
        catalog: CatalogRepository,
        pipeline: FacePipeline,
        index: IndexSync,
        leads: LeadScorer,
        suppression: Suppression,
        accountability: Accountability,
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._pipeline = pipeline
        self._model_id = pipeline.model_id
        self._index = index
        self._leads = leads
        self._suppression = suppression
        self._accountability = accountability

    def search(
        self,
        data: bytes,
        *,
        context: AuditContext,
        k: int | None = None,
        galleries: Sequence[str] | None = None,
        all_faces: bool = False,
        threshold: float | None = None,
        face: int | None = None,
        allowed_galleries: Collection[str] | None = None,
    ) -> SearchResult:
        """Rank enrolled faces by similarity to the probe's largest face (or every face, or
        the ``face``-th face of ``pipeline.analyze(data).faces``).

        ``context`` must carry a purpose, a case reference and an authorization reference
        (else :class:`InvalidInput` and nothing runs). Returns at most ``k`` candidates per
        probe face whose similarity is at or above ``threshold`` (default: the search
        threshold setting). ``galleries`` restricts the search (default: all). Raises
        :class:`NoFaceFound` when the probe holds no face. The audit event (galleries, probe
        sha256, every candidate returned) is committed before this returns; if it cannot
        be, the search fails. Failures are audited too.
        """
        sha = sha256_hex(data)
        self._accountability.justify(context, "search", sha)
        searched: list[str] = []
        try:
            result = self._search(
                data,
                k=k,
                galleries=galleries_to_search(galleries, allowed_galleries),
                all_faces=all_faces,
                threshold=threshold,
                face_index=face,
                searched=searched,
            )
        except Exception as err:
            details = {
                "k": k,
                "threshold": threshold,
                "all_faces": all_faces,
                "face": face,
                "requested_galleries": list(galleries or ()),
            }
            # only the galleries actually searched (none when refused before searching)
            self._accountability.failed(
                context, "search", err, galleries=searched, probe_sha256=sha, details=details
            )
            raise
        record = self._accountability.searched(context, result)
        self._accountability.keep_probe(data, sha)
        return dataclasses.replace(result, audit_seq=record.seq)

    def _search(
        self,
        data: bytes,
        *,
        k: int | None,
        galleries: Sequence[str] | None,
        all_faces: bool,
        threshold: float | None,
        face_index: int | None = None,
        searched: list[str] | None = None,
    ) -> SearchResult:
        """See :meth:`search`; the names of the galleries searched are appended to
        ``searched`` once the index is about to be searched."""
        self._leads.require()  # no calibration table for this model: refused, audited
        k = self._check_k(k)
        analyzed = self._pipeline.analyze(data)
        probe_faces = self._probe_faces(analyzed, all_faces=all_faces, face=face_index)
        if galleries:
            records = [self._catalog.get_gallery(name) for name in galleries]
            gallery_ids: list[int] | None = [g.id for g in records]
            names = tuple(g.name for g in records)
        else:
            gallery_ids = None
            names = tuple(g.name for g in self._catalog.list_galleries())
        # faces another process committed and has not added here yet are added now; the
        # index then picks the faces of `gallery_ids` itself (an in-memory map beside a
        # local index, a filter inside a shared one)
        self._index.catch_up()
        queries = np.stack([f.embedding for f in probe_faces]).astype(np.float32)
        if searched is not None:
            searched.extend(names)
        scores, ids, gallery_size = self._search_unsuppressed(
            queries, k, threshold=threshold, galleries=gallery_ids
        )
        if threshold is None:
            threshold = self._leads.search_threshold(gallery_size)
        wanted = sorted({int(i) for i in ids.ravel() if i >= 0})
        records_by_id = self._catalog.get_faces(wanted)
        results = []
        for face, row_scores, row_ids in zip(probe_faces, scores, ids, strict=True):
            kept = [
                (float(score), records_by_id[int(face_id)])
                for score, face_id in zip(row_scores, row_ids, strict=True)
                # a face deleted between the index search and the row read is dropped
                if face_id >= 0 and float(score) >= threshold and int(face_id) in records_by_id
            ]
            est = self._leads.estimates([sim for sim, _ in kept], gallery_size)
            candidates = tuple(
                _candidate(
                    rank,
                    sim,
                    rec,
                    fmr=float(est.fmr[rank - 1]),
                    fpir=float(est.fpir[rank - 1]),
                    expected=float(est.expected_false_candidates[rank - 1]),
                )
                for rank, (sim, rec) in enumerate(kept, start=1)
            )
            results.append(
                ProbeFace(
                    box=face.detection.box,
                    detector_score=face.detection.score,
                    quality=face.quality,
                    candidates=candidates,
                )
            )
        return SearchResult(
            probe_sha256=analyzed.sha256,
            model_id=self._model_id,
            k=k,
            threshold=threshold,
            galleries=names,
            gallery_size=gallery_size,
            faces=tuple(results),
            threshold_fmr=self._leads.fmr(threshold),
            threshold_fpir=self._leads.fpir(threshold, gallery_size),
            calibration=self._leads.describe(),
        )

    def _search_unsuppressed(
        self,
        queries: NDArray[np.float32],
        k: int,
        *,
        threshold: float | None,
        galleries: Sequence[int] | None = None,
    ) -> tuple[NDArray[np.float32], NDArray[np.int64], int]:
        """The top ``k`` faces per query ``(m, d)`` that are not of a suppressed person:
        ``(scores (m, k), ids (m, k) with -1 where fewer, gallery size)``.

        Suppressed faces are dropped after the index search, so while a row has fewer
        than ``k`` faces left, holds no face below the threshold yet and the index holds
        more, the search is widened (at least doubled) and repeated."""
        fetch = k
        while True:
            scores, ids, gallery_size = self._index.search_counted(
                queries, fetch, galleries=galleries
            )
            limit = self._leads.search_threshold(gallery_size) if threshold is None else threshold
            kept = self._suppression.drop_suppressed(ids)  # never return a suppressed person's face
            valid = kept >= 0
            short = valid.sum(axis=1) < k
            # a row whose last fetched face is below the threshold cannot gain a candidate
            more_above = (ids[:, -1] >= 0) & (scores[:, -1] >= limit)
            if fetch >= gallery_size or not np.any(short & more_above):
                break
            dropped = int(((ids >= 0) & ~valid).sum(axis=1).max())
            fetch = min(max(2 * fetch, k + dropped), gallery_size)
        out_scores = np.full((len(kept), k), -np.inf, dtype=np.float32)
        out_ids = np.full((len(kept), k), -1, dtype=np.int64)
        for row in range(len(kept)):
            take = np.flatnonzero(valid[row])[:k]
            out_scores[row, : len(take)] = scores[row, take]
            out_ids[row, : len(take)] = kept[row, take]
        return out_scores, out_ids, gallery_size

    def verify(self, data_a: bytes, data_b: bytes, *, context: AuditContext) -> VerifyResult:
        """Compare the largest face of two images (1:1) at the verify threshold.

        Justified and audited like :meth:`search` (both probes' sha256, the similarity).
        """
        sha_a, sha_b = sha256_hex(data_a), sha256_hex(data_b)
        self._accountability.justify(context, "verify", sha_a)
        try:
            self._leads.require()  # no calibration table for this model: refused, audited
            face_a = self._largest(self._pipeline.analyze(data_a), "first")
            face_b = self._largest(self._pipeline.analyze(data_b), "second")
        except Exception as err:
            self._accountability.failed(
                context, "verify", err, probe_sha256=sha_a, details={"second_probe_sha256": sha_b}
            )
            raise
        similarity = float(np.dot(face_a.embedding, face_b.embedding))
        threshold = self._leads.verify_threshold
        result = VerifyResult(
            similarity=similarity,
            threshold=threshold,
            above_threshold=similarity >= threshold,
            model_id=self._model_id,
            fmr=self._leads.fmr(similarity),
            threshold_fmr=self._leads.fmr(threshold),
            face_a=_probe(face_a),
            face_b=_probe(face_b),
        )
        record = self._accountability.verified(context, result, sha_a, sha_b)
        self._accountability.keep_probe(data_a, sha_a)
        self._accountability.keep_probe(data_b, sha_b)
        return dataclasses.replace(result, audit_seq=record.seq)

    # --- helpers ------------------------------------------------------------------------
    def _check_k(self, k: int | None) -> int:
        search = self._settings
        if k is None:
            return search.default_k
        if not 1 <= k <= search.max_k:
            raise InvalidInput(f"k must be between 1 and {search.max_k}, got {k}")
        return k

    @staticmethod
    def _probe_faces(
        analyzed: AnalyzedImage, *, all_faces: bool, face: int | None = None
    ) -> list[AnalyzedFace]:
        if not analyzed.faces:
            raise NoFaceFound("no face found in the probe image")
        if face is not None:
            if not 0 <= face < len(analyzed.faces):
                raise InvalidInput(f"face must be between 0 and {len(analyzed.faces) - 1}")
            return [analyzed.faces[face]]
        if all_faces:
            return list(analyzed.faces)
        largest = analyzed.largest_face()
        return [largest] if largest is not None else []

    @staticmethod
    def _largest(analyzed: AnalyzedImage, which: str) -> AnalyzedFace:
        face = analyzed.largest_face()
        if face is None:
            raise NoFaceFound(f"no face found in the {which} image")
        return face


def _candidate(
    rank: int, similarity: float, rec: FaceRecord, *, fmr: float, fpir: float, expected: float
) -> Candidate:
    return Candidate(
        rank=rank,
        face_id=rec.id,
        similarity=similarity,
        gallery=rec.gallery_name,
        subject=rec.subject_label,
        image_id=rec.image_id,
        source_uri=rec.source_uri,
        legal_basis=rec.legal_basis,
        box=rec.box,
        quality=rec.quality,
        fmr=fmr,
        expected_false_candidates=expected,
        fpir=fpir,
    )


def _probe(face: AnalyzedFace) -> ProbeFace:
    return ProbeFace(
        box=face.detection.box,
        detector_score=face.detection.score,
        quality=face.quality,
        candidates=(),
    )
