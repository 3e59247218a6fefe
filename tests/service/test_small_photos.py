"""Small, low-resolution photos (CCTV stills, scans of old prints) enroll and match.

Issue 9, item 6: at 100 px an LFW face has an eye distance of about 13 to 19 px; the
enrollment gate refused everything under 16 px, although the detector is set to find
faces of 40 px (eye distance about 14 to 16 px) and the descriptor still matches them
(``benchmarks/small_photos.py``, docs/accuracy.md), so those subjects could not be found.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from facesearch.service import FaceSearch
from facesearch.settings import DetectionSettings, QualitySettings

from .helpers import CURATOR, INVESTIGATION


def _small(path: Path, side: int, shift: tuple[int, int] = (0, 0)) -> bytes:
    """The 250 px photo shifted by ``shift`` px, downscaled to ``side``, as a JPEG."""
    photo = Image.open(path).convert("RGB")
    dx, dy = shift
    moved = photo.crop((dx, dy, dx + photo.width, dy + photo.height))
    out = io.BytesIO()
    moved.resize((side, side), Image.Resampling.LANCZOS).save(out, format="JPEG", quality=90)
    return out.getvalue()


def test_the_gate_admits_faces_of_the_size_the_detector_is_set_to_find() -> None:
    # a face of min_face_px has an eye distance of about 0.35 x its box side
    assert QualitySettings().min_interocular_px <= 0.3 * DetectionSettings().min_face_px


def test_100px_photos_enroll_and_the_other_photo_ranks_the_subject_first(
    engine: FaceSearch, test_images: dict[str, list[Path]]
) -> None:
    engine.create_gallery("small", legal_basis="test", context=CURATOR)
    for name, paths in test_images.items():
        result = engine.enroll(
            _small(paths[0], 100, (4, -3)), gallery="small", subject=name, context=CURATOR
        )
        assert result.face_ids, (name, [r.reasons for r in result.rejected])
    for name, paths in test_images.items():
        found = engine.search(
            _small(paths[1], 100, (-5, 2)), k=1, threshold=-1.0, context=INVESTIGATION
        )
        assert found.faces[0].candidates[0].subject == name
