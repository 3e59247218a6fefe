"""YuNet (OpenCV Zoo, MIT), a small ONNX face detector, run by OpenCV's ``FaceDetectorYN``.

The model is taken by path with its sha256 from settings (``detection.yunet_model_path``,
``detection.yunet_model_sha256``); nothing is packaged or downloaded. YuNet gives a box, a
score and five landmarks of its own; the dlib chip needs dlib's 5-point landmarks, so dlib's
shape predictor runs inside a box built from YuNet's (see :func:`dlib_box_from_yunet`).
It is a :class:`~facesearch.detection.base.WindowDetector`: the detector-agnostic planner
(:mod:`facesearch.detection.planning`) scales and tiles images for it with YuNet's own
smallest face (:data:`YUNET_WINDOW_PX`) instead of dlib's 80 px window.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facesearch.detection.base import Candidate
from facesearch.detection.dlib_common import DlibLandmarks5
from facesearch.errors import ConfigurationError, ModelLoadError
from facesearch.lazy import LazyModel
from facesearch.modelfiles import verified_path
from facesearch.settings import DetectionSettings
from facesearch.types import BoundingBox, Keypoints5, Landmarks5

logger = logging.getLogger(__name__)

#: Smallest face side (pixels at the detector's input) YuNet is trained to find: its
#: smallest anchors are 10, 16 and 24 px (libfacedetection.train, ``min_sizes``); faces
#: below 20 px are upsampled to reach it.
YUNET_WINDOW_PX = 20

#: Non-maximum suppression IoU and the most faces kept per image (OpenCV's defaults).
_NMS_THRESHOLD = 0.3
_TOP_K = 5000

_PATH_SETTING = "FACESEARCH_DETECTION__YUNET_MODEL_PATH"
_SHA_SETTING = "FACESEARCH_DETECTION__YUNET_MODEL_SHA256"


def dlib_box_from_yunet(x: float, y: float, w: float, h: float) -> BoundingBox:
    """The box given to dlib's shape predictor for a YuNet box ``(x, y, w, h)``.

    dlib's 5-point predictor was trained inside HOG boxes: square, eyebrows to chin. YuNet's
    box is taller (forehead to chin); the square of side ``(w + h) / 2`` on the same centre
    lands within the spread of HOG's boxes on the checked-in LFW photos (see the tests).
    """
    side = (w + h) / 2
    cx, cy = x + w / 2, y + h / 2
    return BoundingBox(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


class _YunetModel(LazyModel[Any]):
    def __init__(self, path: Path, sha256: str, score_threshold: float) -> None:
        self._path = path
        self._sha256 = sha256
        self._score = score_threshold

    def cache_key(self) -> str:
        return f"{super().cache_key()}:{self._path}:{self._sha256}:{self._score}"

    def _load(self) -> Any:
        import cv2
        import cv2.utils.logging as cv_logging

        # OpenCV's DNN module warns on stderr at every session ("setPreferableTarget Targets
        # are not supported by the new graph engine"): errors only, so the CLI keeps its
        # one-line error rule (OpenCV's logging API, cv::utils::logging)
        cv_logging.setLogLevel(cv_logging.LOG_LEVEL_ERROR)
        try:
            path = verified_path(self._path, self._sha256)
        except ModelLoadError as err:
            raise ModelLoadError(f"{_PATH_SETTING} / {_SHA_SETTING}: {err.message}") from err
        logger.info("loading YuNet face detector from %s", path)
        return cv2.FaceDetectorYN.create(
            str(path), "", (320, 320), self._score, _NMS_THRESHOLD, _TOP_K
        )


class YunetDetector:
    """YuNet boxes and scores, dlib's 5-point landmarks inside them (a window detector),
    and YuNet's own five points as the ArcFace keypoints (for ArcFace-style chips).

    Raises :class:`ConfigurationError` naming the setting when the model path or sha256 is
    not set; :class:`ModelLoadError` naming it when the file is missing or fails its sha256.
    """

    name = "yunet"
    window_px = YUNET_WINDOW_PX
    gives_keypoints = True

    def __init__(self, settings: DetectionSettings) -> None:
        if settings.yunet_model_path is None:
            raise ConfigurationError(f"detector yunet needs {_PATH_SETTING} (the YuNet ONNX file)")
        if not settings.yunet_model_sha256:
            raise ConfigurationError(f"detector yunet needs {_SHA_SETTING} (the file's sha256)")
        self._settings = settings
        self._model = _YunetModel(
            settings.yunet_model_path,
            settings.yunet_model_sha256.lower(),
            settings.yunet_score_threshold,
        )
        self._landmarks = DlibLandmarks5()

    def find(self, pixels: NDArray[np.uint8]) -> list[Candidate]:
        """Faces of :data:`YUNET_WINDOW_PX` and up in ``(h, w, 3)`` uint8 RGB as given (the
        planner resizes and tiles), as dlib-style square boxes without dlib landmarks, with
        YuNet's five points (row columns 4 to 13: right eye, left eye, nose tip, right and
        left mouth corners, x then y) as ArcFace keypoints."""
        height, width = pixels.shape[:2]
        bgr = np.ascontiguousarray(pixels[:, :, ::-1])
        model = self._model.load()
        with self._model.lock:
            model.setInputSize((width, height))
            _, faces = model.detect(bgr)
        found: list[Candidate] = []
        for row in faces if faces is not None else []:
            x, y, w, h = (float(v) for v in row[:4])
            if w <= 0 or h <= 0:
                continue
            points = tuple((float(row[4 + 2 * i]), float(row[5 + 2 * i])) for i in range(5))
            found.append(
                Candidate(
                    dlib_box_from_yunet(x, y, w, h),
                    float(row[14]),
                    keypoints=Keypoints5(points),
                )
            )
        return found

    def landmarks(self, pixels: NDArray[np.uint8], box: BoundingBox) -> Landmarks5:
        """dlib's 5 landmarks inside ``box`` of full-resolution ``(h, w, 3)`` RGB pixels
        (the dlib chip is defined by them, not by YuNet's own five)."""
        return self._landmarks.landmarks(pixels, box)
