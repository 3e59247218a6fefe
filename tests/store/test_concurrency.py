"""Writers are serialized, so face ids become visible in increasing order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import text


def test_a_writer_waits_for_the_open_write_transaction(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    image, face = make.image(), make.face()
    done = threading.Event()
    result: list[Any] = []

    def enroll() -> None:
        result.append(store.catalog.add_image(g.id, image, [face], []))
        done.set()

    with store.database.transaction("hold", write=True) as session:
        session.execute(text("SELECT 1"))
        worker = threading.Thread(target=enroll)
        worker.start()
        assert not done.wait(0.5)  # blocked behind the write lock
    worker.join(20)
    assert done.is_set() and len(result[0].face_ids) == 1


def test_concurrent_enrollments_get_distinct_increasing_ids(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    jobs = [(make.image(), [make.face(), make.face()]) for _ in range(24)]

    def enroll(job: Any) -> list[int]:
        return list(store.catalog.add_image(g.id, job[0], job[1], []).face_ids)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(enroll, jobs))
    ids = [i for r in results for i in r]
    assert len(set(ids)) == 48
    assert all(r[0] < r[1] for r in results)
    assert store.index_rows.count_faces() == 48
    assert store.catalog.get_gallery("g").n_faces == 48
