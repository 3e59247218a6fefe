"""Enrollment throughput: the facesearch engine against the plain dlib recipe, same images.

The plain recipe is what most projects do: one process, one image at a time, HOG with one
upsample, 5-point landmarks, the ResNet descriptor on the full image. facesearch runs its
whole enrollment (decode, detect, align, embed, quality, thumbnails, store transaction,
index) with a process pool. Both run in this one invocation on the same LFW images, so the
ratio is what to read (absolute numbers move with the machine's load).

    FACESEARCH_LFW_DIR=../shared/datasets/lfw .venv/bin/python benchmarks/enroll_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table


def lfw_sample(root: Path, n: int, seed: int) -> list[Path]:
    photos = sorted((root / "lfw-deepfunneled").glob("*/*.jpg"))
    return sorted(random.Random(seed).sample(photos, n))


def plain_recipe(paths: list[Path]) -> dict[str, float]:
    """The face_recognition-style loop: HOG upsample 1, 5 landmarks, descriptor per face."""
    import dlib

    from facesearch.modelfiles import DLIB_RESNET_V1, DLIB_SHAPE_5, packaged_model

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(packaged_model(DLIB_SHAPE_5)))
    encoder = dlib.face_recognition_model_v1(str(packaged_model(DLIB_RESNET_V1)))
    faces = 0
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    for path in paths:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        for rect in detector(pixels, 1):
            shape = predictor(pixels, rect)
            np.asarray(encoder.compute_face_descriptor(pixels, shape))
            faces += 1
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_started
    return {"images": len(paths), "faces": faces, "seconds": seconds, "cpu_seconds": cpu}


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _settings(tmp: Path, workers: int, runtime: str, detector: str, batch: int) -> Any:
    from facesearch.settings import Settings

    # "dlib-hog@80": that detector with detection.min_face_px = 80 (no upsampling on LFW)
    detector, _, min_face = detector.partition("@")
    detection: dict[str, Any] = {"detector": detector}
    if min_face:
        detection["min_face_px"] = int(min_face)
    if detector == "yunet":
        models = Path(os.environ["FACESEARCH_MODELS_DIR"])
        detection["yunet_model_path"] = models / YUNET_FILE
        detection["yunet_model_sha256"] = YUNET_SHA256
    return Settings(
        data_dir=tmp / "data",
        workers=workers,
        embedding={"runtime": runtime, "batch_size": batch},
        detection=detection,
    )


def engine(
    paths: list[Path], workers: int, runtime: str, detector: str, batch: int
) -> dict[str, float]:
    from facesearch.audit import AuditContext
    from facesearch.service import FaceSearch

    operator = AuditContext.local_operator()
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp), workers, runtime, detector, batch)
        if runtime == "onnxruntime":  # convert once, outside the timed part (first use)
            from facesearch.embedding.dlib_onnx.cache import load_or_convert

            load_or_convert(settings.models_cache_dir)
        with FaceSearch(settings) as fs:
            fs.create_gallery("bench", legal_basis="benchmark", context=operator)
            cpu_started = _cpu_seconds()
            started = time.perf_counter()
            summary = fs.enroll_paths(paths, gallery="bench", progress=False, context=operator)
            seconds = time.perf_counter() - started
            cpu = _cpu_seconds() - cpu_started  # the pool has shut down: workers counted
    return {
        "images": len(paths),
        "faces": summary.faces + summary.faces_rejected,
        "faces_indexed": summary.faces,
        "images_without_faces": summary.images_without_faces,
        "seconds": seconds,
        "cpu_seconds": cpu,
    }


YUNET_FILE = "yunet_s_dynamic.onnx"
YUNET_SHA256 = "daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3"
STAGES = ["decode", "detect", "landmarks", "fallback", "align", "descriptor", "quality",
          "thumbnail", "store"]  # fmt: skip


def stage_breakdown(
    paths: list[Path], runtime: str, detector: str, batch: int
) -> tuple[dict[str, float], Any]:
    """CPU-bound seconds per image of each stage, one process, the pipeline's own functions
    wrapped in timers (``detect`` excludes ``landmarks``; ``store`` is the parent's commit of
    each analysed image: store transaction, audit event, index). Returns the per-image
    milliseconds and the dlib chips it made (for the equivalence check)."""
    from facesearch.audit import AuditContext
    from facesearch.detection import dlib_common
    from facesearch.service import FaceSearch
    from facesearch.service import pipeline as pipeline_module
    from facesearch.service.enrollment import Enrollment

    totals: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    chips_seen: list[np.ndarray] = []

    def timed(stage: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[stage] += time.perf_counter() - started

        return wrapper

    saved = {
        name: getattr(pipeline_module, name)
        for name in ("decode_image", "align_faces", "assess", "make_thumbnail")
    }
    saved_landmarks = dlib_common.DlibLandmarks5.landmarks
    saved_commit = Enrollment.commit_analyzed
    operator = AuditContext.local_operator()
    try:
        pipeline_module.decode_image = timed("decode", saved["decode_image"])  # type: ignore[attr-defined]
        pipeline_module.align_faces = timed("align", saved["align_faces"])  # type: ignore[attr-defined]
        pipeline_module.assess = timed("quality", saved["assess"])  # type: ignore[attr-defined]
        pipeline_module.make_thumbnail = timed("thumbnail", saved["make_thumbnail"])  # type: ignore[attr-defined]
        dlib_common.DlibLandmarks5.landmarks = timed("landmarks", saved_landmarks)  # type: ignore[method-assign]
        Enrollment.commit_analyzed = timed("store", saved_commit)  # type: ignore[method-assign]
        with tempfile.TemporaryDirectory() as tmp:
            settings = _settings(Path(tmp), 1, runtime, detector, batch)
            with FaceSearch(settings) as fs:
                pipe = fs.pipeline
                fs.create_gallery("bench", legal_basis="benchmark", context=operator)
                pipe.analyze(paths[0].read_bytes())  # load the models outside the timers
                pipe.detector.detect = timed("detect", pipe.detector.detect)  # type: ignore[method-assign]
                if pipe.fallback_detector is not None:
                    pipe.fallback_detector.detect = timed(  # type: ignore[method-assign]
                        "fallback", pipe.fallback_detector.detect
                    )
                embed = timed("descriptor", pipe.embedder.embed)

                def keep_chips(chips: np.ndarray) -> Any:
                    chips_seen.append(chips.copy())
                    return embed(chips)

                pipe.embedder.embed = keep_chips  # type: ignore[method-assign]
                for stage in STAGES:
                    totals[stage] = 0.0
                for i in range(0, len(paths), batch):
                    chunk = paths[i : i + batch]
                    for path, analyzed in zip(
                        chunk, pipe.analyze_many([p.read_bytes() for p in chunk]), strict=True
                    ):
                        if isinstance(analyzed, Exception) or not analyzed.faces:
                            continue
                        fs.commit_analyzed(  # type: ignore[attr-defined]
                            analyzed, gallery=fs.store.catalog.get_gallery("bench"), subject=None,
                            source_uri=path.resolve().as_uri(), legal_basis=None,
                            collected_at=None, context=operator,
                        )  # fmt: skip
    finally:
        for name, fn in saved.items():
            setattr(pipeline_module, name, fn)
        dlib_common.DlibLandmarks5.landmarks = saved_landmarks  # type: ignore[method-assign]
        Enrollment.commit_analyzed = saved_commit  # type: ignore[method-assign]
    totals["detect"] -= totals["landmarks"]  # detect() includes its landmarks
    per_image = {stage: 1000 * totals[stage] / len(paths) for stage in STAGES}
    chips = np.concatenate(chips_seen) if chips_seen else np.zeros((0, 150, 150, 3), np.uint8)
    return per_image, chips


def descriptor_sweep(chips: np.ndarray, batches: list[int]) -> dict[str, dict[str, float]]:
    """Descriptor faces/s on one thread: dlib vs onnxruntime at several batch sizes."""
    import dlib

    from facesearch.embedding.dlib_onnx_runtime import DlibResnetOnnxEmbedder
    from facesearch.modelfiles import DLIB_RESNET_V1, packaged_model

    sample = chips[:128]
    out: dict[str, dict[str, float]] = {}
    model = dlib.face_recognition_model_v1(str(packaged_model(DLIB_RESNET_V1)))
    started = time.perf_counter()
    for chip in sample[:32]:
        model.compute_face_descriptor(chip, 0)
    out["dlib, batch 1"] = {"faces_per_s": 32 / (time.perf_counter() - started)}
    embedder = DlibResnetOnnxEmbedder(threads=1)
    embedder.embed(sample[:1])
    for batch in batches:
        started = time.perf_counter()
        for i in range(0, len(sample), batch):
            embedder.embed(sample[i : i + batch])
        out[f"onnxruntime, batch {batch}"] = {
            "faces_per_s": len(sample) / (time.perf_counter() - started)
        }
    return out


def equivalence(chips: np.ndarray) -> dict[str, float]:
    """dlib's raw descriptors against onnxruntime's on the same chips."""
    import dlib

    from facesearch.embedding.dlib_onnx_runtime import DlibResnetOnnxEmbedder
    from facesearch.modelfiles import DLIB_RESNET_V1, packaged_model

    model = dlib.face_recognition_model_v1(str(packaged_model(DLIB_RESNET_V1)))
    session = DlibResnetOnnxEmbedder(threads=1)._session.load()
    reference = np.concatenate(
        [
            np.asarray([np.asarray(v) for v in model.compute_face_descriptor(list(part), 0)])
            for part in np.array_split(chips, max(1, len(chips) // 64))
        ]
    )
    ours = np.concatenate(
        [session.run(None, {"chips": part})[0] for part in np.array_split(chips, 16)]
    ).astype(np.float64)
    cosine = (reference * ours).sum(1) / np.linalg.norm(reference, axis=1)
    cosine /= np.linalg.norm(ours, axis=1)
    return {
        "faces": float(len(chips)),
        "min_cosine": float(cosine.min()),
        "max_abs_difference": float(np.abs(reference - ours).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch", type=int, default=16, help="embedding.batch_size")
    parser.add_argument(
        "--breakdown-images",
        type=int,
        default=1000,
        help="images (the first of the sample) for the per-stage breakdown and equivalence",
    )
    parser.add_argument(
        "--hog-min-face-px",
        type=int,
        default=80,
        help="also a HOG row with this detection.min_face_px (0: none)",
    )
    parser.add_argument(
        "--skip-dlib-engine", action="store_true", help="no engine row on the dlib runtime"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/enroll_throughput.json")
    )
    args = parser.parse_args()
    root = os.environ.get("FACESEARCH_LFW_DIR")
    if not root:
        raise SystemExit("set FACESEARCH_LFW_DIR to the LFW dataset")
    paths = lfw_sample(Path(root), args.images, args.seed)
    detectors = ["dlib-hog"]
    if os.environ.get("FACESEARCH_MODELS_DIR"):
        detectors.append("yunet")
    else:
        print("FACESEARCH_MODELS_DIR is not set: no YuNet rows")
    configs = [("onnxruntime", d) for d in detectors]
    if args.hog_min_face_px:
        configs.append(("onnxruntime", f"dlib-hog@{args.hog_min_face_px}"))
    if not args.skip_dlib_engine:
        configs.insert(0, ("dlib", "dlib-hog"))

    results: dict[str, dict[str, float]] = {"plain dlib recipe (1 process)": plain_recipe(paths)}
    for runtime, detector in configs:
        name = f"facesearch enroll, {detector}, {runtime} ({args.workers} workers)"
        results[name] = engine(paths, args.workers, runtime, detector, args.batch)
    base = next(iter(results.values()))
    table = Table(title=f"Enrollment throughput, {len(paths)} LFW images, {os.cpu_count()} cores")
    columns = ["pipeline", "images/s", "faces/s", "faces", "no face", "seconds"]
    for column in [*columns, "vs plain (images/s)", "CPU s/image"]:
        table.add_column(column)
    base_rate = base["images"] / base["seconds"]
    for name, r in results.items():
        rate = r["images"] / r["seconds"]
        r["images_per_s"] = rate
        r["faces_per_s"] = r["faces"] / r["seconds"]
        r["ratio_vs_plain"] = rate / base_rate
        r["cpu_seconds_per_image"] = r["cpu_seconds"] / r["images"]
        table.add_row(
            name,
            f"{rate:.2f}",
            f"{r['faces_per_s']:.2f}",
            str(int(r["faces"])),
            str(int(r.get("images_without_faces", 0))),
            f"{r['seconds']:.1f}",
            f"{r['ratio_vs_plain']:.2f}x",
            f"{r['cpu_seconds_per_image']:.3f}",
        )
    console = Console(width=160)
    console.print(table)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")

    breakdown: dict[str, dict[str, float]] = {}
    chips = np.zeros((0, 150, 150, 3), np.uint8)
    for runtime, detector in configs:
        per_image, made = stage_breakdown(
            paths[: args.breakdown_images], runtime, detector, args.batch
        )
        breakdown[f"{detector}, {runtime}"] = per_image
        if detector == "dlib-hog" and runtime == "onnxruntime":
            chips = made
    stages = Table(
        title=f"Per-stage ms per image, one process, {min(len(paths), args.breakdown_images)} "
        "images"
    )
    stages.add_column("pipeline")
    for stage in [*STAGES, "total"]:
        stages.add_column(stage)
    for name, per_image in breakdown.items():
        total = sum(per_image.values())
        stages.add_row(name, *[f"{per_image[s]:.1f}" for s in STAGES], f"{total:.1f}")
    console.print(stages)

    sweep = descriptor_sweep(chips, [1, 4, 16, 64])
    sweep_table = Table(title="Descriptor alone, one thread")
    for column in ["runtime", "faces/s", "vs dlib"]:
        sweep_table.add_column(column)
    dlib_rate = sweep["dlib, batch 1"]["faces_per_s"]
    for name, row in sweep.items():
        sweep_table.add_row(
            name, f"{row['faces_per_s']:.1f}", f"{row['faces_per_s'] / dlib_rate:.1f}x"
        )
    console.print(sweep_table)
    same = equivalence(chips)
    print(
        f"equivalence on {int(same['faces'])} LFW faces: min cosine {same['min_cosine']:.9f}, "
        f"largest per-dimension difference {same['max_abs_difference']:.3g}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "enroll_throughput",
                "images": len(paths),
                "seed": args.seed,
                "batch_size": args.batch,
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_at_end": os.getloadavg(),
                "results": results,
                "stage_ms_per_image": breakdown,
                "descriptor_sweep": sweep,
                "equivalence": same,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
