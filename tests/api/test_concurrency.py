"""Searches running while another client enrolls: consistent results, no errors."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .conftest import WHY, Api

SEARCHES_PER_THREAD = 5
SEARCH_THREADS = 3


def test_searches_during_enrollment(enrolled_api: Api, test_images: dict[str, list[Path]]) -> None:
    api = enrolled_api
    names = sorted(test_images)
    enrolling = threading.Event()
    errors: list[str] = []

    def enroll() -> int:
        enrolling.set()
        h = api.headers("curator")
        done = 0
        for name in names:
            photo = test_images[name][1]
            r = api.client.post(
                "/api/v1/galleries/g/images",
                files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))],
                data={"subject": name},
                headers=h,
            )
            if r.status_code != 200 or r.json()["enrolled"] != 1:
                errors.append(f"enroll {name}: {r.status_code} {r.text[:200]}")
            done += 1
        return done

    def search(worker: int) -> list[dict[str, Any]]:
        enrolling.wait(10)
        h = api.headers("investigator")
        seen = []
        for i in range(SEARCHES_PER_THREAD):
            name = names[(worker + i) % len(names)]
            probe = test_images[name][2]
            r = api.client.post(
                "/api/v1/search",
                files={"probe": (probe.name, probe.read_bytes(), "image/jpeg")},
                data={**WHY, "threshold": "-1"},
                headers=h,
            )
            if r.status_code != 200:
                errors.append(f"search {name}: {r.status_code} {r.text[:200]}")
                continue
            body = r.json()
            candidates = body["faces"][0]["candidates"]
            sims = [c["similarity"] for c in candidates]
            if candidates[0]["subject"] != name or sims != sorted(sims, reverse=True):
                errors.append(f"search {name}: ranked {candidates[0]['subject']} first")
            if not 4 <= body["gallery_size"] <= 8 or len(candidates) != body["gallery_size"]:
                errors.append(f"search {name}: {len(candidates)} of {body['gallery_size']}")
            seen.append(body)
        return seen

    with ThreadPoolExecutor(max_workers=SEARCH_THREADS + 1) as pool:
        enrolled = pool.submit(enroll)
        searches = [pool.submit(search, w) for w in range(SEARCH_THREADS)]
        results = [s.result(timeout=300) for s in searches]
        assert enrolled.result(timeout=300) == len(names)
    assert errors == []
    assert sum(len(r) for r in results) == SEARCH_THREADS * SEARCHES_PER_THREAD
    # every search is in the audit log, each with its own seq; the chain is intact
    seqs = [body["audit_seq"] for r in results for body in r]
    assert len(set(seqs)) == len(seqs)
    assert all(api.engine.audit.get(s).action == "search" for s in seqs)
    assert api.engine.audit.verify().ok
    status = api.engine.index_status()
    assert status.in_sync and status.n_index == 8
