"""Browser tests: Debian's Chromium driven by Playwright against one local stack per test process.

The stack is started exactly as tests/local_stack starts it (same LocalStack helper, real HTTP only); Playwright
drives the system's /usr/bin/chromium (infra.chromium), since `playwright install` and its bundled browsers are not
used here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from infra.chromium import CHROMIUM_ARGS, chromium_path
from tests.browser.viewer_support import Account, Steps, Viewport, invite, log_in
from tests.local_stack.conftest import ROOT, LocalStack
from tests.local_stack.http import Customer, Staff

SCREENSHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The running stack's state (api_url, staff key, demo contract…), its camera posting a frame a second."""
    stack = LocalStack(tmp_path_factory.mktemp("browser-stack") / "local.json", "--camera-interval", "1")
    try:
        yield stack.wait_ready()
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed and could not be (make test runs `apt-get install -y chromium`)")
    browser = playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def staff(web_stack) -> Staff:
    return Staff(web_stack["api_url"], web_stack["staff_api_key"])


@pytest.fixture(scope="session")
def notice_url(web_stack, staff: Staff) -> str:
    """The demo site's notice URL, as the staff listing gives it."""
    response = requests.get(
        f"{web_stack['api_url']}/v1/admin/contracts/{web_stack['contract_id']}/sites", headers=staff.headers, timeout=30
    )
    assert response.status_code == 200, response.text
    (site,) = [s for s in response.json()["items"] if s["site_id"] == web_stack["site_id"]]
    return site["notice_url"]


@pytest.fixture(scope="session")
def demo_owner(web_stack) -> Customer:
    return Customer(web_stack["api_url"], web_stack["login_id"], web_stack["password"])


@pytest.fixture(scope="session")
def camera_has_frames(web_stack, demo_owner) -> None:
    """The simulated camera has sent a few frames, so the timeline has something to show and to step through."""
    deadline = time.monotonic() + 30
    while len(demo_owner.frames(web_stack["camera_id"], limit="3")) < 3:
        assert time.monotonic() < deadline, "the simulated camera sent fewer than 3 frames in 30 s"
        time.sleep(0.5)


@pytest.fixture
def context_factory(browser, playwright) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_context(viewport: Any, **options: Any) -> Any:
        context = browser.new_context(**viewport.context_options(playwright), **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def reader(web_stack, demo_owner) -> Account:
    """An owner of the demo contract for the tests that only look (invited once per session, by link)."""
    return invite(web_stack, demo_owner, "owner")


@pytest.fixture(scope="session")
def signed_in(browser, playwright, web_stack, reader, camera_has_frames, screenshots) -> Iterator[Any]:
    """The reader's page on a viewport, logged in once per session and shared by the tests that only read: each call
    brings it back to the camera grid."""
    pages: dict[str, Any] = {}

    def open_page(viewport: Viewport) -> Any:
        page = pages.get(viewport.name)
        if page is None:
            context = browser.new_context(**viewport.context_options(playwright))
            context.set_default_timeout(15_000)
            page = pages[viewport.name] = context.new_page()
            log_in(page, Steps(page, viewport, screenshots), web_stack, reader)
        else:
            page.evaluate("location.hash = '#/'")
        expect(page.locator("#view-cameras")).to_be_visible()
        return page

    yield open_page
    for page in pages.values():
        page.context.close()
