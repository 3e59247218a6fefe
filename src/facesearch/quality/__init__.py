"""Per-face quality: size, sharpness, frontalness and the enrollment gate."""

from facesearch.quality.measures import (
    assess,
    enrollment_failures,
    frontalness,
    interocular_px,
    laplacian_variance,
)

__all__ = ["assess", "enrollment_failures", "frontalness", "interocular_px", "laplacian_variance"]
