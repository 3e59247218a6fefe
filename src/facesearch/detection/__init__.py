"""Face detection: boxes, scores and 5 landmarks, behind the :class:`FaceDetector` protocol.

Concrete detectors implement :class:`WindowDetector` (one pass at scale 1); the registry
wraps each in a :class:`PlannedDetector`, which plans scales and tiles
(:func:`plan_detection`) so that ``min_face_px`` holds at every image size.
"""

from facesearch.detection.base import Candidate, FaceDetector, WindowDetector
from facesearch.detection.planned import PlannedDetector, merge_candidates
from facesearch.detection.planning import DetectionPlan, Tile, plan_detection
from facesearch.detection.registry import DETECTORS, create_detector

__all__ = [
    "DETECTORS",
    "Candidate",
    "DetectionPlan",
    "FaceDetector",
    "PlannedDetector",
    "Tile",
    "WindowDetector",
    "create_detector",
    "merge_candidates",
    "plan_detection",
]
