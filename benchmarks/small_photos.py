"""Closed-set rank-1 on small, unaligned photos: facesearch against the plain dlib recipe.

Set: ``--people`` identities of LFW (deep-funneled, ``FACESEARCH_LFW_DIR``) with two or
more photos, a seeded sample; photo 1 of each is enrolled, photo 2 is the probe. Each
variant shifts every 250x250 photo by a seeded offset of up to ``--shift`` px (of the 250
px photo; the uncovered border is black), downscales it to the variant's side (150 px, 100
px) and encodes it as a JPEG (quality 90): those bytes are what every recipe gets.

Recipes, all in this one run on the same bytes:

* ``plain, 1 upsample`` / ``plain, 2 upsamples`` (the baselines): what face_recognition
  does: ``dlib.get_frontal_face_detector()(pixels, n)``, the first face (dlib sorts by
  score), ``shape_predictor_5_face_landmarks``, ``compute_face_descriptor``; the gallery
  is every enrolled photo's descriptor, rank-1 by cosine similarity;
* ``facesearch``: the service (``FaceSearch.enroll`` with the subject's label, quality
  gate and all; ``FaceSearch.search`` with k 1 and no threshold) at default settings;
* diagnostic rows (``--diagnostics``) that change one step of facesearch at a time.

A probe without a face, or whose identity has no enrolled face, is a miss.

    FACESEARCH_LFW_DIR=../shared/datasets/lfw .venv/bin/python benchmarks/small_photos.py \\
        --people 150

Prints a table and writes ``benchmarks/results/small_photos.json``. Not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from rich.console import Console
from rich.table import Table

from facesearch.settings import Settings

SIDES = (150, 100)


def choose_people(root: Path, n: int, seed: int) -> list[tuple[str, Path, Path]]:
    """``n`` seeded identities with 2+ photos: (name, enrolled photo, probe photo)."""
    people = []
    for folder in sorted((root / "lfw-deepfunneled").iterdir()):
        photos = sorted(folder.glob("*.jpg"))
        if len(photos) >= 2:
            people.append((folder.name, photos[0], photos[1]))
    return sorted(random.Random(seed).sample(people, n))


def small_photo(path: Path, side: int, shift: tuple[int, int]) -> bytes:
    """The photo shifted by ``shift`` px (250 px scale), downscaled to ``side``, as JPEG."""
    photo = Image.open(path).convert("RGB")
    dx, dy = shift
    moved = photo.crop((dx, dy, dx + photo.width, dy + photo.height))
    small = moved.resize((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=90)
    return out.getvalue()


Embed = Callable[[bytes], "NDArray[np.float64] | None"]


def plain_recipe(upsample: int, *, largest: bool = False) -> Embed:
    """face_recognition's recipe: HOG with ``upsample``, first face (or the largest), 5
    landmarks, descriptor."""
    import dlib

    from facesearch.modelfiles import DLIB_RESNET_V1, DLIB_SHAPE_5, packaged_model

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(packaged_model(DLIB_SHAPE_5)))
    encoder = dlib.face_recognition_model_v1(str(packaged_model(DLIB_RESNET_V1)))

    def embed(data: bytes) -> NDArray[np.float64] | None:
        pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        rects = detector(pixels, upsample)
        if len(rects) == 0:
            return None
        rect = max(rects, key=lambda r: r.area()) if largest else rects[0]
        shape = predictor(pixels, rect)
        vec = np.asarray(encoder.compute_face_descriptor(pixels, shape), dtype=np.float64)
        return vec / np.linalg.norm(vec)

    return embed


def run_plain(embed: Embed, gallery: dict[str, bytes], probes: dict[str, bytes]) -> dict[str, Any]:
    started = time.process_time()
    names, vecs = [], []
    for name, data in gallery.items():
        vec = embed(data)
        if vec is not None:
            names.append(name)
            vecs.append(vec)
    matrix = np.stack(vecs)
    hits = no_face = 0
    for name, data in probes.items():
        vec = embed(data)
        if vec is None:
            no_face += 1
            continue
        hits += names[int(np.argmax(matrix @ vec))] == name
    return {
        "rank1": hits / len(probes),
        "hits": hits,
        "enrolled": len(names),
        "probes_without_face": no_face,
        "cpu_s": time.process_time() - started,
    }


def run_facesearch(
    settings: Settings, gallery: dict[str, bytes], probes: dict[str, bytes]
) -> dict[str, Any]:
    """Enroll and search through the service, as a user would."""
    from facesearch.audit import AuditContext
    from facesearch.errors import NoFaceFound
    from facesearch.service import FaceSearch

    context = AuditContext.local_operator(
        purpose="accuracy evaluation: small-photo benchmark",
        case_reference="evaluation:small-photos",
        authorization_reference="research benchmark, no operational use",
    )
    started = time.process_time()
    enrolled = rejected = gallery_no_face = hits = no_face = 0
    with tempfile.TemporaryDirectory() as tmp:
        run_settings = settings.model_copy(
            update={"data_dir": Path(tmp), "workers": 1, "database_url": None}
        )
        with FaceSearch(run_settings) as fs:
            fs.create_gallery("small", legal_basis="research benchmark (LFW)", context=context)
            for name, data in gallery.items():
                try:
                    result = fs.enroll(data, gallery="small", subject=name, context=context)
                except NoFaceFound:
                    gallery_no_face += 1
                    continue
                enrolled += bool(result.face_ids)
                rejected += not result.face_ids
            for name, data in probes.items():
                try:
                    found = fs.search(data, k=1, threshold=-1.0, context=context)
                except NoFaceFound:
                    no_face += 1
                    continue
                candidates = found.faces[0].candidates
                hits += bool(candidates) and candidates[0].subject == name
    return {
        "rank1": hits / len(probes),
        "hits": hits,
        "enrolled": enrolled,
        "rejected_by_quality": rejected,
        "gallery_without_face": gallery_no_face,
        "probes_without_face": no_face,
        "cpu_s": time.process_time() - started,
    }


def _with(settings: Settings, **groups: dict[str, Any]) -> Settings:
    update = {k: getattr(settings, k).model_copy(update=v) for k, v in groups.items()}
    return settings.model_copy(update=update)


def diagnostics(base: Settings) -> dict[str, Settings]:
    """facesearch with one step changed each, to find where accuracy goes."""
    no_gate = {"min_interocular_px": 0.0, "min_sharpness": 0.0, "min_frontalness": 0.0}
    return {
        "facesearch, gate at 16 px (before issue 9)": _with(
            base, quality={"min_interocular_px": 16.0}
        ),
        "facesearch, no quality gate": _with(base, quality=no_gate),
        "facesearch, min_face_px 20 (detect at 4x)": _with(base, detection={"min_face_px": 20}),
        "facesearch, no fallback": _with(base, detection={"fallback_detector": None}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw-dir", type=Path, default=os.environ.get("FACESEARCH_LFW_DIR"))
    parser.add_argument("--people", type=int, default=150)
    parser.add_argument("--shift", type=int, default=10)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--sides", default=",".join(map(str, SIDES)))
    parser.add_argument("--diagnostics", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/small_photos.json"))
    args = parser.parse_args()
    if args.lfw_dir is None:
        parser.error("set FACESEARCH_LFW_DIR or --lfw-dir")
    people = choose_people(Path(args.lfw_dir), args.people, args.seed)
    rng = random.Random(args.seed)
    shifts = {
        path: (rng.randint(-args.shift, args.shift), rng.randint(-args.shift, args.shift))
        for _, a, b in people
        for path in (a, b)
    }
    base = Settings()
    recipes: dict[str, Callable[[dict[str, bytes], dict[str, bytes]], dict[str, Any]]] = {
        "plain, 1 upsample": lambda g, p: run_plain(plain_recipe(1), g, p),
        "plain, 2 upsamples": lambda g, p: run_plain(plain_recipe(2), g, p),
        "facesearch": lambda g, p: run_facesearch(base, g, p),
    }
    if args.diagnostics:
        recipes["plain, 2 upsamples, largest face"] = lambda g, p: run_plain(
            plain_recipe(2, largest=True), g, p
        )
        for label, settings in diagnostics(base).items():
            recipes[label] = lambda g, p, s=settings: run_facesearch(s, g, p)
    results: dict[str, dict[str, Any]] = {}
    for side in (int(s) for s in args.sides.split(",")):
        gallery = {n: small_photo(a, side, shifts[a]) for n, a, _ in people}
        probes = {n: small_photo(b, side, shifts[b]) for n, _, b in people}
        results[str(side)] = {label: run(gallery, probes) for label, run in recipes.items()}
    table = Table(
        title=f"closed-set rank-1, {len(people)} people, photo 1 enrolled, photo 2 searched"
    )
    for col in [
        "side",
        "recipe",
        "rank-1",
        "vs best plain",
        "enrolled",
        "probes w/o face",
        "rejected (quality)",
        "CPU s",
    ]:
        table.add_column(col)
    for side, rows in results.items():
        best = max(r["rank1"] for label, r in rows.items() if label.startswith("plain"))
        for label, r in rows.items():
            table.add_row(
                f"{side} px",
                label,
                f"{100 * r['rank1']:.1f}%",
                f"{r['rank1'] / best:.3f}" if best else "-",
                str(r["enrolled"]),
                str(r["probes_without_face"]),
                str(r.get("rejected_by_quality", "-")),
                f"{r['cpu_s']:.0f}",
            )
    Console(width=160).print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "people": len(people),
                "seed": args.seed,
                "shift_px_at_250": args.shift,
                "settings": base.model_dump(mode="json", include={"detection", "quality"}),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
