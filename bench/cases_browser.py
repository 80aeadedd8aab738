"""The web viewer in Chromium (issue 13, point 10): the local stack started as the tests start it
(infra.stack_process), Debian's Chromium driven by Playwright (infra.chromium), a fresh browser context per run (no
cache, no session).

Per run: the login page loads (the baseline: the page, its script, its strings); the demo owner submits the login
form, and the time to the first camera-grid thumbnail decoded (`img.complete && naturalWidth > 0`) is taken; then
the camera's day is opened and the time to its first thumbnail decoded is taken. Medians over the runs, each as a
ratio to the login page's load in the same process. Nothing here is asserted: the numbers go to the table.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from bench.harness import Row, case, row, sized
from infra.chromium import CHROMIUM_ARGS, chromium_path
from infra.stack_process import LocalStack

CASE = "viewer.chromium"
FIRST_DECODED = """(selector) => {
  const img = document.querySelector(selector);
  return Boolean(img && img.complete && img.naturalWidth > 0);
}"""
WAIT_MS = 60_000


@case(CASE)
def chromium_timings() -> Iterator[Row]:
    executable = chromium_path()
    if executable is None:
        yield Row(CASE, "login to first grid thumbnail ms", None, None, None, "skipped: Chromium is not installed")
        return
    from playwright.sync_api import sync_playwright

    runs = sized(5, 1)
    with tempfile.TemporaryDirectory(prefix="bench-chromium-") as folder:
        stack = LocalStack(Path(folder) / "local.json", "--camera-interval", "2")
        try:
            state = stack.wait_ready()
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
                try:
                    times = measure(state, browser, runs, warmup=1)
                finally:
                    browser.close()
        finally:
            stack.stop()
    page_ms = statistics.median(times["page"])
    note = f"median of {runs} fresh contexts; baseline: loading the login page"
    yield row(CASE, "login to first grid thumbnail ms", statistics.median(times["grid"]), page_ms, note=note)
    yield row(CASE, "open camera to first timeline thumbnail ms", statistics.median(times["day"]), page_ms, note=note)


def measure(state: dict[str, Any], browser: Any, runs: int, *, warmup: int) -> dict[str, list[float]]:
    """The milliseconds of each run ("page", "grid", "day") in fresh contexts of a launched Chromium, against a
    running stack whose demo owner can sign in (the bench's own; the browser tests pass theirs, so the suite proves
    this code without starting another stack or browser)."""
    _wait_for_a_thumbnail(state)
    return _measure(state, browser, runs, warmup)


def _wait_for_a_thumbnail(state: dict[str, Any], timeout: float = 60) -> None:
    """The simulated camera's first frame is in, so the grid has a picture to show."""
    login = {"login_id": state["login_id"], "password": state["password"]}
    token = requests.post(state["api_url"] + "/v1/auth/login", json=login, timeout=30).json()["token"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cameras = requests.get(
            state["api_url"] + "/v1/cameras", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()["items"]
        if cameras and cameras[0].get("thumbnail_url"):
            return
        time.sleep(0.5)
    raise TimeoutError("the simulated camera sent no frame in 60 s")


def _measure(state: dict[str, Any], browser: Any, runs: int, warmup: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"page": [], "grid": [], "day": []}
    # `warmup` first runs warm the stack and the browser up, and are not counted
    for _ in range(warmup + runs):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
        context.set_default_timeout(WAIT_MS)
        try:
            measured = _one_run(context.new_page(), state)
        finally:
            context.close()
        for name, ms in measured.items():
            times[name].append(ms)
    return {name: measured[warmup:] for name, measured in times.items()}


def _one_run(page: Any, state: dict[str, Any]) -> dict[str, float]:
    started = time.perf_counter()
    page.goto(state["api_url"] + "/")
    page.locator("#login-form button[type=submit]").wait_for(state="visible")
    page_ms = (time.perf_counter() - started) * 1000

    page.fill("#login-id", state["login_id"])
    page.fill("#password", state["password"])
    started = time.perf_counter()
    page.click("#login-form button[type=submit]")
    page.wait_for_function(FIRST_DECODED, arg=".camera-card img", polling=10)
    grid_ms = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    page.click(".camera-card")
    page.wait_for_function(FIRST_DECODED, arg="#timeline img", polling=10)
    day_ms = (time.perf_counter() - started) * 1000
    return {"page": page_ms, "grid": grid_ms, "day": day_ms}
