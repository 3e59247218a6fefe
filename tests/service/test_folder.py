"""Folder enrollment decides by content and names every file it does not enroll
(issue 9, item 2): a JPEG called photo.jfif or photo.jpe is enrolled like photo.jpg, and
a HEIC, a truncated JPEG, a text file or a hidden file is counted and named with why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from facesearch.service import FacePipeline, FaceSearch
from facesearch.service.folder import FileTask, FolderEnrollment, Passed, discover
from facesearch.settings import Settings

from .helpers import CURATOR
from .parts import collaborators, enrollment_of

Images = dict[str, list[Path]]

HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


@pytest.fixture
def folder(tmp_path: Path, test_images: Images) -> Path:
    """Real LFW photos under names a camera, a browser or a phone gives them, and the
    files that sit beside photos in real folders."""
    colin, serena = test_images["Colin_Powell"], test_images["Serena_Williams"]
    root = tmp_path / "photos"
    (root / "scans").mkdir(parents=True)
    (root / ".thumbnails").mkdir()
    (root / "photo.jfif").write_bytes(colin[0].read_bytes())
    (root / "photo.jpe").write_bytes(colin[1].read_bytes())
    (root / "scans" / "scan-0042").write_bytes(serena[0].read_bytes())  # no suffix at all
    (root / "IMG_0001.HEIC").write_bytes(HEIC_HEAD)
    jpeg = serena[1].read_bytes()
    (root / "scans" / "broken.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (root / "saved-page.jpg").write_text("<html>not found</html>")
    (root / "empty.png").write_bytes(b"")
    (root / "notes.txt").write_text("box 12, scans 40-45")
    (root / "meta.json").write_text('{"box": 12}')
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / ".thumbnails" / "photo.jpg").write_bytes(colin[2].read_bytes())
    return root


def test_the_walk_judges_every_file_by_its_content(folder: Path) -> None:
    found = list(discover([folder], subject=None, subject_from_folder=False))
    tasks = sorted(str(t.path.relative_to(folder)) for t in found if isinstance(t, FileTask))
    # the truncated JPEG is a JPEG by content: it is tried, and fails at decoding
    assert tasks == ["photo.jfif", "photo.jpe", "scans/broken.jpg", "scans/scan-0042"]
    passed = {
        str(p.path.relative_to(folder)): (p.failed, p.reason)
        for p in found
        if isinstance(p, Passed)
    }
    assert passed == {
        "IMG_0001.HEIC": (
            True,
            "unsupported image format HEIC (facesearch reads JPEG, PNG, WebP, BMP, GIF, TIFF)",
        ),
        "saved-page.jpg": (True, "not an image"),  # named like a photo: a failed file
        "empty.png": (True, "empty file"),
        "notes.txt": (False, "not an image"),
        "meta.json": (False, "not an image"),
        ".DS_Store": (False, "hidden file"),
        ".thumbnails": (False, "hidden folder (not searched)"),
    }


def test_folder_enrollment_enrolls_by_content_and_names_what_it_did_not(
    engine: FaceSearch, folder: Path
) -> None:
    engine.create_gallery("g", legal_basis="test", context=CURATOR)
    summary = engine.enroll_paths([folder], gallery="g", context=CURATOR)
    assert (summary.files, summary.images, summary.faces) == (10, 3, 3)
    errors = {Path(p).name: message for p, message in summary.errors}
    assert set(errors) == {"IMG_0001.HEIC", "broken.jpg", "saved-page.jpg", "empty.png"}
    assert errors["IMG_0001.HEIC"].startswith("unsupported image format HEIC")
    assert errors["broken.jpg"].startswith("corrupt or truncated image")
    assert {Path(p).name for p, _ in summary.skipped} == {
        "notes.txt",
        "meta.json",
        ".DS_Store",
        ".thumbnails",
    }
    assert summary.processed == 3 and summary.server_errors == 0
    event = engine.audit.list(limit=1)[0]
    assert event.action == "enroll.batch"
    assert (event.details["files"], event.details["errors"], event.details["skipped"]) == (
        10,
        4,
        4,
    )


def test_an_unreadable_file_is_a_named_error(folder: Path) -> None:
    gone = folder / "moved-away.jpg"
    gone.symlink_to(folder / "no-such-photo.jpg")  # a link whose target was moved
    found = list(discover([folder], subject=None, subject_from_folder=False))
    (entry,) = [p for p in found if isinstance(p, Passed) and p.path == gone]
    assert entry.failed and entry.reason == "cannot read file: No such file or directory"


def test_links_to_folders_are_named_not_followed(tmp_path: Path, folder: Path) -> None:
    link = tmp_path / "linked"
    link.mkdir()
    (link / "elsewhere").symlink_to(folder / "scans", target_is_directory=True)
    found = list(discover([link], subject=None, subject_from_folder=False))
    assert [(p.path.name, p.reason) for p in found if isinstance(p, Passed)] == [
        ("elsewhere", "link to a folder (not followed)")
    ]
    assert not [t for t in found if isinstance(t, FileTask)]


def test_folder_enrollment_is_built_from_its_dependencies_alone(
    tmp_path: Path, real_pipeline: FacePipeline, test_images: dict[str, list[Path]]
) -> None:
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    deps = collaborators(settings, model_id=real_pipeline.model_id, dim=real_pipeline.embedder.dim)
    try:
        folders = FolderEnrollment(
            settings,
            enrollment=enrollment_of(deps, real_pipeline),
            catalog=deps.store.catalog,
            pipeline=real_pipeline,
            audit=deps.audit,
            accountability=deps.accountability,
        )
        deps.store.catalog.create_gallery("g", legal_basis="test")
        folder = tmp_path / "photos"
        folder.mkdir()
        (folder / "a.jpg").write_bytes(test_images["Colin_Powell"][0].read_bytes())
        summary = folders.enroll_paths([folder], gallery="g", context=CURATOR)
        assert (summary.files, summary.images, summary.faces) == (1, 1, 1)
        assert deps.audit.list(limit=1)[0].action == "enroll.batch"
    finally:
        deps.close()


def test_a_worker_imports_the_pipeline_without_the_engine() -> None:
    """A spawned enrollment worker imports only the pipeline: not the store, audit log or
    index (SQLAlchemy, Alembic, FAISS), which cost about a second of CPU per process."""
    code = (
        "import sys, pickle; import facesearch.service.analysis_worker as w; "
        "from facesearch.settings import Settings; pickle.loads(pickle.dumps(Settings())); "
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'faiss', 'facesearch.store', "
        "'facesearch.index', 'facesearch.service.facesearch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    # and the package still offers the engine, on first use
    import facesearch.service as service

    assert service.FaceSearch.__name__ == "FaceSearch"
    with pytest.raises(AttributeError):
        _ = service.NoSuchThing  # type: ignore[attr-defined]
