"""Alignment: canonical face chips per embedding model."""

from facesearch.alignment.chips import ChipSpec, align_faces

__all__ = ["ChipSpec", "align_faces"]
