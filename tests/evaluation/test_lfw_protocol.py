"""LFW protocol parsing, subsets, identification design, face choice and the cache file,
on a tiny fake LFW folder (no dataset, no models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facesearch.errors import ConfigurationError
from facesearch.evaluation.embedcache import (
    STATUS_DETECTED,
    EmbeddingSet,
    ImageEmbedding,
    Recipe,
    centre_box,
    pick_face,
)
from facesearch.evaluation.identification import design
from facesearch.evaluation.lfw import Lfw, identity_of, image_path, slice_pairs
from facesearch.settings import Settings
from facesearch.types import BoundingBox


@pytest.fixture
def fake_lfw(tmp_path: Path) -> Lfw:
    root = tmp_path / "lfw"
    (root / "lfw-deepfunneled").mkdir(parents=True)
    protocol = root / "protocol"
    protocol.mkdir()
    matched = ["Ann\t1\t2", "Bob\t1\t3"]
    mismatched = ["Ann\t1\tBob\t2", "Cy\t1\tAnn\t2"]
    lines = ["2\t2"]
    for _ in range(2):
        lines += matched + mismatched
    (protocol / "pairs.txt").write_text("\n".join(lines) + "\n")
    (protocol / "lfw-names.txt").write_text("Ann\t2\nBob\t3\nCy\t1\n")
    (protocol / "peopleDevTrain.txt").write_text("2\nAnn\t2\nCy\t1\n")
    (protocol / "peopleDevTest.txt").write_text("1\nBob\t3\n")
    (root / "labels").mkdir()
    (root / "labels" / "lfw_identity_demographics.csv").write_text(
        "identity,n_images,gender,gender_source,race_usc,race_primary_single\n"
        'Ann,2,F,list,caucasian,caucasian\nBob,3,M,inferred,"african,caucasian",\n'
        "Cy,1,M,inferred,,\n"
    )
    return Lfw.locate(root)


def test_view2_pairs_folds_and_paths(fake_lfw: Lfw) -> None:
    pairs = fake_lfw.view2_pairs()
    assert len(pairs) == 8
    assert [p.fold for p in pairs] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert pairs[0].a == "Ann/Ann_0001.jpg" and pairs[0].b == "Ann/Ann_0002.jpg"
    assert pairs[0].same and not pairs[2].same
    assert pairs[3].a == "Cy/Cy_0001.jpg" and pairs[3].b == "Ann/Ann_0002.jpg"
    subset = slice_pairs(pairs, 2)
    assert len(subset) == 4 and sum(p.same for p in subset) == 2


def test_identities_view1_and_labels(fake_lfw: Lfw) -> None:
    assert fake_lfw.identities() == {"Ann": 2, "Bob": 3, "Cy": 1}
    assert fake_lfw.view1_people("train") == {"Ann": 2, "Cy": 1}
    assert fake_lfw.images_of({"Bob": 2}) == ["Bob/Bob_0001.jpg", "Bob/Bob_0002.jpg"]
    labels = fake_lfw.demographics()
    assert labels["Ann"].sex == "F" and labels["Ann"].race == "caucasian"
    assert labels["Bob"].race is None  # several labels: not in a race group
    assert identity_of(image_path("Bob", 3)) == "Bob"


def test_locate_refuses_a_wrong_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError):
        Lfw.locate(tmp_path)
    monkeypatch.delenv("FACESEARCH_LFW_DIR", raising=False)
    with pytest.raises(ConfigurationError, match="FACESEARCH_LFW_DIR"):
        Lfw.locate(None)


def test_identification_design_splits_without_overlap() -> None:
    people = {f"m{i}": 3 for i in range(20)} | {f"s{i}": 1 for i in range(7)}
    d = design(people, holdout_fraction=0.1, seed=3)
    held = set(d.held_out)
    assert len(held) == 2 and d.distractors == 7
    assert len(d.gallery) == 18 + 7
    assert all(identity_of(p) not in held for p in d.gallery + d.mated)
    assert {identity_of(p) for p in d.nonmated} == held
    assert len(d.mated) == 18 * 2 and len(d.nonmated) == 2 * 3
    assert not set(d.gallery) & set(d.mated)
    assert design(people, holdout_fraction=0.1, seed=3) == d
    capped = design(people, seed=3, max_probes_per_identity=1)
    assert len(capped.mated) == 18


def test_pick_face_nearest_centre_or_largest() -> None:
    boxes = [BoundingBox(0, 0, 120, 120), BoundingBox(100, 100, 150, 150)]
    assert pick_face(boxes, 250, 250, "centre") == 1
    assert pick_face(boxes, 250, 250, "central") == 1  # 0 px off centre
    assert pick_face(boxes, 250, 250, "largest") == 0
    assert pick_face([], 250, 250, "centre") == -1
    bystander = [BoundingBox(0, 76, 77, 167)]  # LFW Tung_Chee-hwa_0001: 87 px off centre
    assert pick_face(bystander, 250, 250, "centre") == 0
    assert pick_face(bystander, 250, 250, "central") == -1  # beyond 250 / 4 = 62.5 px
    box = centre_box(250, 250)
    assert box.width == pytest.approx(250 / 2.2)
    assert (box.x1 + box.x2) / 2 == pytest.approx(125)


def test_embedding_set_round_trip(tmp_path: Path) -> None:
    records = [
        ImageEmbedding(
            f"A/A_000{i}.jpg",
            np.full(4, 0.5, np.float32),
            STATUS_DETECTED,
            1,
            (1.0, 2.0, 3.0, 4.0),
            0.9,
            float("nan"),
            "dlib-hog",
        )
        for i in range(3)
    ]
    s = EmbeddingSet.from_records(records, 4, {"k": 1})
    path = tmp_path / "e.npz"
    s.save(path)
    again = EmbeddingSet.load(path)
    assert again.paths == s.paths and again.recipe == {"k": 1}
    assert np.array_equal(again.embeddings, s.embeddings)
    sub = again.subset(["A/A_0002.jpg", "A/A_0000.jpg"])
    assert sub.paths == ["A/A_0002.jpg", "A/A_0000.jpg"] and "A/A_0001.jpg" in again


def test_recipe_key_changes_with_what_changes_embeddings() -> None:
    base = Recipe(Settings())
    assert base.key() == Recipe(Settings(workers=7)).key()  # workers do not matter
    jitter = Settings().model_copy(
        update={"embedding": Settings().embedding.model_copy(update={"jitters": 5})}
    )
    assert Recipe(jitter).key() != base.key()
    assert Recipe(Settings(), selection="largest").key() != base.key()
    assert Recipe(Settings(), padding=0.3).key() != base.key()
