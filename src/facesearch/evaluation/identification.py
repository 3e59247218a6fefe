"""``facesearch eval identification``: open-set 1:N search on LFW through the real service.

Gallery: the first image of every identity with two or more images, except a seeded tenth
of them held out, plus the one image of every single-image identity (distractors).
Mated probes: the other images of gallery identities. Non-mated probes: every image of
the held-out identities. Every enrollment and search goes through
:class:`facesearch.service.FaceSearch` (store, quality gate, FAISS index), exactly as a
user's would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from facesearch.errors import ConfigurationError, FaceSearchError, NoFaceFound
from facesearch.evaluation.identification_report import GALLERY, ProbeResults, write_report
from facesearch.evaluation.lfw import Lfw, identity_of, image_path
from facesearch.settings import Settings

if TYPE_CHECKING:
    from facesearch.audit import AuditContext
    from facesearch.service import EnrollSummary

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Design:
    """Which images go where (relative paths)."""

    gallery: list[str]
    mated: list[str]
    nonmated: list[str]
    held_out: list[str]
    distractors: int


def design(
    people: dict[str, int],
    *,
    holdout_fraction: float = 0.1,
    seed: int = 1,
    max_probes_per_identity: int | None = None,
) -> Design:
    """The gallery / probe split of ``people`` (name -> image count); see the module doc."""
    rng = random.Random(seed)
    multi = sorted(n for n, c in people.items() if c >= 2)
    single = sorted(n for n, c in people.items() if c == 1)
    held = sorted(rng.sample(multi, round(holdout_fraction * len(multi))))
    held_set = set(held)
    enrolled = [n for n in multi if n not in held_set]

    def probes(name: str, first: int) -> list[str]:
        numbers = list(range(first, people[name] + 1))
        if max_probes_per_identity is not None and len(numbers) > max_probes_per_identity:
            numbers = sorted(rng.sample(numbers, max_probes_per_identity))
        return [image_path(name, k) for k in numbers]

    return Design(
        gallery=[image_path(n, 1) for n in sorted(enrolled + single)],
        mated=[p for n in enrolled for p in probes(n, 2)],
        nonmated=[p for n in held for p in probes(n, 1)],
        held_out=held,
        distractors=len(single),
    )


def run_identification(
    lfw: Lfw,
    settings: Settings,
    *,
    out_dir: Path,
    progress: bool = False,
    k: int = 10,
    holdout_fraction: float = 0.1,
    seed: int = 1,
    max_identities: int | None = None,
    max_probes_per_identity: int | None = None,
    command: str = "facesearch eval identification",
) -> dict[str, Any]:
    """Enroll the gallery and run every probe through ``FaceSearch.search``; write the report.

    ``settings.data_dir`` is the service's data folder (a rerun resumes enrollment: images
    already in the gallery are skipped by sha256). ``max_identities`` samples that many
    multi-image and that many single-image identities (small runs).
    """
    from facesearch.service import FaceSearch

    started = time.perf_counter()
    context = evaluation_context()
    people = lfw.identities()
    if max_identities is not None:
        rng = random.Random(seed)
        multi = sorted(n for n, c in people.items() if c >= 2)
        single = sorted(n for n, c in people.items() if c == 1)
        chosen = rng.sample(multi, min(max_identities, len(multi)))
        chosen += rng.sample(single, min(max_identities, len(single)))
        people = {n: people[n] for n in sorted(chosen)}
    split = design(
        people,
        holdout_fraction=holdout_fraction,
        seed=seed,
        max_probes_per_identity=max_probes_per_identity,
    )
    marker = _Marker.open(settings.data_dir, split)
    with FaceSearch(settings) as fs:
        if GALLERY not in {g.name for g in fs.list_galleries()}:
            fs.create_gallery(
                GALLERY,
                legal_basis="research benchmark (LFW), evaluation only",
                source_category="research-dataset",
                context=context,
            )
        enroll = fs.enroll_paths(
            [lfw.images / p for p in split.gallery],
            gallery=GALLERY,
            subject_from_folder=True,
            progress=progress,
            context=context,
        )
        marker.add(enroll)
        record = next(g for g in fs.list_galleries() if g.name == GALLERY)
        enrolled = {s.label for s in fs.list_subjects(GALLERY) if s.n_faces > 0}
        probes = _search_all(fs, lfw, split, k, progress, context)
        model_id = fs.model_id
    out_dir.mkdir(parents=True, exist_ok=True)
    probes.save(out_dir / "probes.npz")
    meta = {
        "design": {
            "gallery_images": len(split.gallery),
            "gallery_faces_enrolled": probes.gallery_size,
            "distractor_identities": split.distractors,
            "identities_held_out": len(split.held_out),
            "mated_probes": len(split.mated),
            "nonmated_probes": len(split.nonmated),
            "mated_probes_whose_identity_has_no_enrolled_face": int(
                sum(identity_of(p) not in enrolled for p in split.mated)
            ),
            "holdout_fraction": holdout_fraction,
            "seed": seed,
            "max_probes_per_identity": max_probes_per_identity,
            "k": k,
        },
        "enrollment": {
            "images": record.n_images,
            "faces": record.n_faces,
            "images_without_faces": marker.counts["images_without_faces"],
            "faces_rejected": marker.counts["faces_rejected"],
            "errors": marker.counts["errors"],
            "seconds": round(marker.counts["seconds"], 1),
            "resumed_runs": marker.counts["runs"],
        },
    }
    return write_report(
        out_dir,
        probes,
        meta,
        model_id=model_id,
        command=command,
        started=started,
        calibration_path=settings.search.calibration_path,
        calibration_dir=settings.calibration_dir,
    )


class _Marker:
    """``evaluation-design.json`` in the service's data folder: which gallery design it was
    enrolled for (a rerun with another design must start ``--fresh``) and the enrollment
    counts summed over runs (a resumed run skips images already enrolled)."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def open(cls, data_dir: Path, split: Design) -> _Marker:
        digest = hashlib.sha256("\n".join(split.gallery).encode()).hexdigest()
        path = data_dir / "evaluation-design.json"
        if path.exists():
            data = json.loads(path.read_text())
            if data.get("gallery_sha256") != digest:
                raise ConfigurationError(
                    f"{data_dir} holds a gallery enrolled for another evaluation design; "
                    "rerun with --fresh"
                )
            return cls(path, data)
        counts = {
            "images_without_faces": 0,
            "faces_rejected": 0,
            "errors": 0,
            "seconds": 0.0,
            "runs": 0,
        }
        return cls(path, {"gallery_sha256": digest, "counts": counts})

    @property
    def counts(self) -> dict[str, Any]:
        return dict(self.data["counts"])

    def add(self, summary: EnrollSummary) -> None:
        c = self.data["counts"]
        c["images_without_faces"] += summary.images_without_faces
        c["faces_rejected"] += summary.faces_rejected
        c["errors"] += len(summary.errors)
        c["seconds"] += summary.seconds
        c["runs"] += 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=2))


def evaluation_context() -> AuditContext:
    """The audit context of an evaluation run: the local operator, an evaluation purpose."""
    from facesearch.audit import AuditContext

    return AuditContext.local_operator(
        purpose="accuracy evaluation: LFW open-set identification benchmark "
        "(facesearch eval identification)",
        case_reference="evaluation:lfw-identification",
        authorization_reference="research benchmark, no operational use",
    )


def _search_all(
    fs: Any, lfw: Lfw, split: Design, k: int, progress: bool, context: AuditContext
) -> ProbeResults:
    """Run every probe through ``fs.search`` (threshold -1: the top ``k`` always)."""
    ranks: list[int] = []
    mate_scores: list[float] = []
    nonmated = np.full((len(split.nonmated), k), -np.inf)
    latencies: list[float] = []
    gallery_size = 0
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not progress,
    )
    probes = [(True, i, p) for i, p in enumerate(split.mated)]
    probes += [(False, i, p) for i, p in enumerate(split.nonmated)]
    with bar:
        task = bar.add_task("searching", total=len(probes))
        for is_mated, i, rel in probes:
            data = (lfw.images / rel).read_bytes()
            t0 = time.perf_counter()
            try:
                result = fs.search(data, k=k, galleries=[GALLERY], threshold=-1.0, context=context)
                candidates = result.faces[0].candidates
                gallery_size = result.gallery_size
            except FaceSearchError as err:  # NoFaceFound above all: a miss, no candidate
                if not isinstance(err, NoFaceFound):
                    logger.warning("probe %s failed: %s", rel, err)
                candidates = None
            latencies.append(time.perf_counter() - t0)
            if is_mated:
                name = identity_of(rel)
                hit = next((c for c in candidates or () if c.subject == name), None)
                ranks.append(-1 if candidates is None else hit.rank if hit else 0)
                mate_scores.append(hit.similarity if hit else -math.inf)
            else:
                for j, c in enumerate(candidates or ()):
                    nonmated[i, j] = c.similarity
            bar.advance(task)
    return ProbeResults(
        mated_paths=list(split.mated),
        mated_ranks=np.asarray(ranks, dtype=np.int64),
        mated_scores=np.asarray(mate_scores, dtype=np.float64),
        nonmated_paths=list(split.nonmated),
        nonmated_scores=nonmated,
        latencies_s=np.asarray(latencies, dtype=np.float64),
        gallery_size=gallery_size,
    )
