"""The third-party ONNX models the tests use (FACESEARCH_MODELS_DIR; see
../shared/models/README.md for their provenance, licences and preprocessing), and settings
that run them. Research-use models: tests and evaluation only, never a default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from facesearch.settings import Settings

YUNET_FILE = "yunet_s_dynamic.onnx"
YUNET_SHA256 = "daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3"

#: name -> (file, sha256, channel order, input mean, input std, embedding size)
RECOGNIZERS: dict[str, tuple[str, str, str, float, float, int]] = {
    "edgeface-xs": (
        "edgeface_xs_q_dequant_fp32.onnx",
        "e0e6caf2f5dd1118401a709dd6ac0d5b60b18bc441991b1b88afde8f5f4f61bb",
        "rgb",
        127.5,
        127.5,
        512,
    ),
    "edgeface-xxs": (
        "edgeface_xxs_q_dequant_fp32.onnx",
        "4d0e094934efa2125f77f74135e06c8d7d0ed2955b91c08d2978a28d3396eeaf",
        "rgb",
        127.5,
        127.5,
        512,
    ),
    "mobileface-v2": (
        "mobileface_V2.onnx",
        "16dcdbe89c85df9d322e831fcfff9cc5d7b59eaa8048501fa33968800cd43315",
        "rgb",
        0.0,
        1.0,
        256,
    ),
}


def onnx_settings(models_dir: Path, name: str = "edgeface-xs") -> dict[str, Any]:
    """``embedding.onnx`` for one of :data:`RECOGNIZERS`."""
    file, sha256, order, mean, std, _ = RECOGNIZERS[name]
    return {
        "name": name,
        "path": models_dir / file,
        "sha256": sha256,
        "channel_order": order,
        "input_mean": mean,
        "input_std": std,
    }


def yunet_detection(models_dir: Path, **update: Any) -> dict[str, Any]:
    """``detection`` with YuNet and no fallback (what an ArcFace chip needs)."""
    return {
        "detector": "yunet",
        "fallback_detector": None,
        "yunet_model_path": models_dir / YUNET_FILE,
        "yunet_model_sha256": YUNET_SHA256,
        **update,
    }


def arcface_settings(models_dir: Path, data_dir: Path, name: str = "edgeface-xs") -> Settings:
    """Settings of an engine on YuNet and the recognizer ``name``."""
    return Settings(
        data_dir=data_dir,
        workers=1,
        database_url=None,
        detection=yunet_detection(models_dir),
        embedding={"model": "arcface-onnx", "onnx": onnx_settings(models_dir, name)},
    )
