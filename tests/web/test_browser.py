"""The web UI in a real browser: Playwright driving Debian's Chromium (headless).

Sign in, create a gallery, upload LFW photos, search a probe, see the right person ranked
first, and find the search with its purpose on the audit page. A screenshot of the
candidate grid is saved in the test's output folder (``tmp_path``) and copied to
``test-output/browser/`` at the repository root (git-ignored), where it survives the run.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from PIL import Image

from facesearch.api import create_app
from facesearch.audit import AuditContext
from facesearch.service import FacePipeline, FaceSearch
from facesearch.settings import Settings

from ..conftest import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
KEPT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
SETUP = AuditContext(actor="test-setup")

pytestmark = pytest.mark.slow


@dataclass
class Server:
    url: str
    engine: FaceSearch
    key: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(settings: Settings, real_pipeline: FacePipeline) -> Iterator[Server]:
    if not CHROMIUM.exists():  # a skip here, a failure in CI (.ci/run installs it)
        skip_or_fail("needs Debian's chromium (apt-get install -y chromium)")
    app = create_app(settings, pipeline=real_pipeline)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    else:
        raise AssertionError("the server did not become ready")
    engine = app.state.runtime.engine
    engine.accounts.create_first_admin("root", context=SETUP)
    engine.accounts.create_user("olga", ["curator", "investigator", "auditor"], context=SETUP)
    key = engine.accounts.issue_key("olga", context=SETUP).secret
    try:
        yield Server(url, engine, key)
    finally:
        running.should_exit = True
        thread.join(30)


def test_sign_in_enroll_search_and_audit(
    server: Server, test_images: dict[str, list[Path]], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(60_000)

        page.goto(server.url)
        expect(page).to_have_url(f"{server.url}/ui/signin")
        page.get_by_label("API key").fill("fsk_00000000." + "x" * 43)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("invalid")
        page.get_by_label("API key").fill(server.key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Search a probe photo")).to_be_visible()

        page.get_by_role("link", name="Galleries").click()
        page.get_by_label("Name").fill("lfw")
        page.get_by_label("Legal basis").fill("research benchmark (LFW)")
        page.get_by_role("button", name="Create gallery").click()
        expect(page.get_by_role("heading", name="Gallery lfw")).to_be_visible()
        for name, paths in test_images.items():
            page.get_by_label("Photos").set_input_files([str(p) for p in paths[:2]])
            page.get_by_label("Subject label").fill(name)
            page.get_by_role("button", name="Upload").click()
            expect(page.locator("ul.results li")).to_have_count(2)
            expect(page.locator("ul.results")).not_to_contain_text("error")
        expect(page.locator("li.card")).to_have_count(2 * len(test_images))  # a card a face
        server.engine.grant("olga", "lfw", context=SETUP)  # searching a gallery needs a grant

        page.get_by_role("link", name="Search").click()
        page.get_by_label("Photo").set_input_files(str(test_images["Serena_Williams"][2]))
        expect(page.locator("#faces-status")).to_contain_text("selected")
        expect(page.locator(".face-box")).to_have_count(1)
        page.get_by_label("Purpose").fill("browser test: who is in the probe photo?")
        page.get_by_label("Case reference").fill("WEB-CASE-7")
        page.get_by_label("Authorization reference").fill("WEB-AUTH-7")
        page.get_by_label("Minimum similarity").fill("0.5")  # loose: every person is listed
        page.get_by_role("button", name="Search", exact=True).click()
        candidates = page.locator("li.candidate")
        expect(candidates).to_have_count(2 * len(test_images))
        expect(page.locator("#results-summary")).to_contain_text("in this search 100%")
        for rank in (0, 1):  # both photos of her, ahead of everyone else
            expect(candidates.nth(rank)).to_contain_text(f"#{rank + 1} Serena_Williams")
        expect(candidates.nth(2)).not_to_contain_text("Serena_Williams")
        expect(candidates.first.locator("img")).to_have_js_property("complete", True)
        page.locator("#results").screenshot(path=str(tmp_path / "candidates.png"))

        # A probe with two people: move the selection to the face not picked by default,
        # by keyboard, and that person comes first; the other one is not a candidate.
        pair = tmp_path / "two-people.png"
        _side_by_side(test_images["Serena_Williams"][2], test_images["Colin_Powell"][2], pair)
        page.get_by_label("Photo").set_input_files(str(pair))
        boxes = page.locator(".face-box")
        expect(boxes).to_have_count(2)
        expect(page.locator("#faces-status")).to_contain_text("selected")
        default = 0 if boxes.nth(0).get_attribute("aria-checked") == "true" else 1
        other = 1 - default
        boxes.nth(default).focus()
        page.keyboard.press("ArrowRight")
        expect(boxes.nth(other)).to_have_attribute("aria-checked", "true")
        expect(boxes.nth(default)).to_have_attribute("aria-checked", "false")
        expect(page.locator("#faces-status")).to_contain_text(
            re.compile(f"face {other + 1} selected", re.IGNORECASE)
        )
        page.set_viewport_size({"width": 700, "height": 1000})  # boxes placed again
        page.set_viewport_size({"width": 1280, "height": 1000})
        expect(boxes).to_have_count(2)
        expect(boxes.nth(other)).to_have_attribute("aria-checked", "true")
        lefts = [float(boxes.nth(i).evaluate("b => parseFloat(b.style.left)")) for i in (0, 1)]
        on_the_right = lefts[other] > lefts[default]
        picked, not_picked = (
            ("Colin_Powell", "Serena_Williams")
            if on_the_right
            else ("Serena_Williams", "Colin_Powell")
        )
        page.get_by_label("Minimum similarity").fill("")  # the calibrated default
        page.get_by_role("button", name="Search", exact=True).click()
        expect(candidates.first).to_contain_text(f"#1 {picked}")
        expect(page.locator("#results")).not_to_contain_text(not_picked)

        page.get_by_role("link", name="Audit").click()
        row = page.locator("#events tbody tr").first
        expect(row).to_contain_text("search")
        expect(row).to_contain_text("browser test: who is in the probe photo?")
        expect(row).to_contain_text("WEB-CASE-7")
        page.get_by_role("button", name="Verify the chain").click()
        expect(page.locator("#chain-report")).to_contain_text("Chain intact")
        browser.close()
    assert (tmp_path / "candidates.png").stat().st_size > 1000
    KEPT.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "candidates.png", KEPT / "candidates.png")
    event = server.engine.audit.list(limit=50)
    searches = [e for e in event if e.action == "search"]
    assert len(searches) == 2 and searches[1].case_reference == "WEB-CASE-7"
    assert searches[0].probe_sha256 != searches[1].probe_sha256  # the two-face photo
    assert searches[0].results and len(searches[1].results) == 2 * len(test_images)


def _side_by_side(left: Path, right: Path, out: Path) -> None:
    """Two LFW photos pasted side by side into one PNG (a probe with two faces)."""
    a = np.asarray(Image.open(left).convert("RGB"))
    b = np.asarray(Image.open(right).convert("RGB"))
    Image.fromarray(np.concatenate([a, b], axis=1)).save(out)
