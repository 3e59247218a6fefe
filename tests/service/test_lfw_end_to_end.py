"""End to end on LFW: enroll one photo of 300 identities, search another photo of each.

Also searches people who are not enrolled and reports how many get any candidate at or
above the search threshold: at this gallery size that share is the false-positive
identification rate a user would see, and it is printed, not hidden.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from facesearch.errors import NoFaceFound
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import Settings

from .helpers import CURATOR, INVESTIGATION

N_ENROLLED = 300
N_STRANGERS = 200


def _identities(root: Path) -> tuple[list[str], list[str]]:
    people = root / "protocol" / "people.txt"
    multi, single = [], []
    for line in people.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            (multi if int(parts[1]) >= 2 else single).append(parts[0])
    return sorted(multi), sorted(single)


def _photo(root: Path, name: str, n: int) -> Path:
    return root / "lfw-deepfunneled" / name / f"{name}_{n:04d}.jpg"


@pytest.mark.lfw
@pytest.mark.slow
def test_rank1_identification_and_stranger_share(
    lfw_root: Path, tmp_path: Path, real_pipeline: FacePipeline
) -> None:
    multi, single = _identities(lfw_root)
    rng = random.Random(20261127)
    enrolled = rng.sample(multi, N_ENROLLED)
    strangers = rng.sample(single, N_STRANGERS)
    settings = Settings(data_dir=tmp_path / "data", workers=2)
    with FaceSearch(settings, pipeline=real_pipeline) as fs:
        fs.create_gallery("lfw", legal_basis="research benchmark (LFW)", context=CURATOR)
        summary = fs.enroll_paths(
            [_photo(lfw_root, name, 1) for name in enrolled],
            gallery="lfw",
            subject_from_folder=True,
            context=CURATOR,
        )
        assert summary.errors == []
        assert summary.images + summary.images_without_faces == N_ENROLLED
        assert summary.images >= 0.97 * N_ENROLLED

        hits = misses = probe_no_face = 0
        for name in enrolled:
            try:
                result = fs.search(
                    _photo(lfw_root, name, 2).read_bytes(),
                    k=1,
                    threshold=-1.0,
                    context=INVESTIGATION,
                )
            except NoFaceFound:
                probe_no_face += 1
                misses += 1
                continue
            candidates = result.faces[0].candidates
            if candidates and candidates[0].subject == name:
                hits += 1
            else:
                misses += 1
        rank1 = hits / (hits + misses)

        threshold = predicted = 0.0
        with_candidate = searched = 0
        for name in strangers:
            try:
                result = fs.search(
                    _photo(lfw_root, name, 1).read_bytes(), k=10, context=INVESTIGATION
                )
            except NoFaceFound:
                continue
            searched += 1
            threshold, predicted = result.threshold, result.threshold_fpir
            if result.faces[0].candidates:
                with_candidate += 1
        share = with_candidate / searched

    print(
        f"\nLFW end to end: gallery {summary.faces} faces of {N_ENROLLED} identities "
        f"({summary.images_without_faces} enrolment photos without a detected face); "
        f"rank-1 {rank1:.2%} over {hits + misses} probes ({probe_no_face} probes without a face); "
        f"strangers with any candidate >= {threshold:.4f} (target FMR "
        f"{settings.search.search_target_fmr:g}): {with_candidate}/{searched} = {share:.1%}, "
        f"calibration predicts FPIR {predicted:.1%}"
    )
    assert rank1 >= 0.95
    assert searched >= 0.95 * N_STRANGERS
