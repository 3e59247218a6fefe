"""Alignment: canonical face chips per embedding model."""

from facesearch.alignment.chips import DLIB_CHIP, ChipSpec, ChipTemplate, align_faces

__all__ = ["DLIB_CHIP", "ChipSpec", "ChipTemplate", "align_faces"]
