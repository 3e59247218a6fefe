"""Face detection: boxes, scores and 5 landmarks, behind the :class:`FaceDetector` protocol."""

from facesearch.detection.base import FaceDetector, ScalePlan, plan_scale
from facesearch.detection.registry import DETECTORS, create_detector

__all__ = ["DETECTORS", "FaceDetector", "ScalePlan", "create_detector", "plan_scale"]
