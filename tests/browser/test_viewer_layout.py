"""The viewer on a phone first (SPEC §6): a one-line header with a menu, the first picture in the upper half of an
iPhone 13's screen, filters folded behind a date chip, times that never wrap, pictures never blown up past their
size; on a desktop the camera grid has two to four columns. The grid refreshes only while the page is visible, and
the day bar is operable with the keyboard."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.viewer_support import VIEWPORTS, Steps, invite, log_in, wait_loaded

pytestmark = pytest.mark.local_stack

PHONE, DESKTOP = VIEWPORTS["phone"], VIEWPORTS["desktop"]
NOT_UPSCALED = "img => img.naturalWidth > 0 && img.getBoundingClientRect().width <= img.naturalWidth + 0.5"


def viewport_height(page: Page) -> float:
    return page.evaluate("window.innerHeight")


def top_of(page: Page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["y"]


def columns(page: Page, selector: str) -> int:
    tracks = f"getComputedStyle(document.querySelector('{selector}')).gridTemplateColumns"
    return page.evaluate(f"{tracks}.split(' ').length")


def test_on_a_phone_the_pictures_come_first_and_nothing_wraps_or_blows_up(
    context_factory, web_stack, demo_owner, camera_has_frames, screenshots
):
    # Given an owner on an iPhone 13
    account = invite(web_stack, demo_owner, "owner")
    page = context_factory(PHONE).new_page()
    steps = Steps(page, PHONE, screenshots, prefix="layout-")
    log_in(page, steps, web_stack, account)
    wait_loaded(page, ".camera-card img")
    steps.shot("cameras")

    # Then the header is one line, the grid one column, and the first camera's picture starts in the upper half
    header = page.locator("header.bar").bounding_box()
    assert header is not None
    assert header["height"] < 60
    assert columns(page, "#camera-grid") == 1
    assert top_of(page, ".camera-card img") < viewport_height(page) / 2
    assert page.locator(".camera-card img").first.evaluate(NOT_UPSCALED)
    assert page.locator(".camera-time time").first.evaluate("t => getComputedStyle(t).whiteSpace") == "nowrap"

    # When they open the camera
    steps.press(page.locator(".camera-card").first)
    wait_loaded(page, "#timeline img", at_least=3)
    steps.shot("timeline")

    # Then the filters are folded behind the date chip, the first thumbnail starts in the upper half, under an hour
    # heading, and no time wraps
    expect(page.locator("#filter-form")).to_be_hidden()
    expect(page.locator("#date-chip")).to_be_visible()
    expect(page.locator("#timeline li").first).to_have_class("hour-heading")
    assert top_of(page, "#timeline a.thumb img") < viewport_height(page) / 2
    assert page.locator("#timeline time").first.evaluate("t => getComputedStyle(t).whiteSpace") == "nowrap"

    # And a full frame is shown at most at its natural size
    steps.press(page.locator("#timeline a.thumb").first)
    wait_loaded(page, "#frame-image")
    assert page.locator("#frame-image").evaluate(NOT_UPSCALED)
    steps.shot("frame")


def test_on_a_desktop_the_grid_has_two_to_four_columns_and_refreshes_only_while_visible(
    context_factory, web_stack, demo_owner, camera_has_frames, screenshots
):
    # Given an owner on a desktop whose page's timers are under the test's control
    account = invite(web_stack, demo_owner, "owner")
    page = context_factory(DESKTOP).new_page()
    page.clock.install()
    steps = Steps(page, DESKTOP, screenshots, prefix="layout-")
    log_in(page, steps, web_stack, account)
    wait_loaded(page, ".camera-card img")
    assert 2 <= columns(page, "#camera-grid") <= 4
    steps.shot("cameras")
    asked: list[str] = []
    page.on("request", lambda r: r.url.endswith("/v1/cameras") and asked.append(r.url))

    # When 16 s pass with the page visible, the grid asks for the cameras again
    page.clock.run_for(16_000)
    expect(page.locator(".camera-card").first).to_be_visible()
    page.wait_for_timeout(500)
    assert len(asked) == 1

    # When the tab goes to the background, nothing more is asked however long it stays there
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.clock.run_for(120_000)
    page.wait_for_timeout(500)
    assert len(asked) == 1

    # And coming back refreshes at once
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.wait_for_timeout(500)
    assert len(asked) == 2

    # When the camera's live view is opened, it shows the newest frame with its time and age
    steps.press(page.locator(".live-link").first)
    expect(page.locator("#view-live")).to_be_visible()
    wait_loaded(page, "#live-image")
    expect(page.locator("#live-time")).not_to_be_empty()
    expect(page.locator("#live-age")).not_to_be_empty()
    steps.shot("live")


def day_of_buckets(date: str) -> dict[str, Any]:
    """A timeline answer of the agreed shape for a Tokyo day: frames in the 10:00-10:15 bucket, an event at 10:05."""
    start = datetime.fromisoformat(f"{date}T00:00:00+09:00").astimezone(UTC)
    buckets = [
        {
            "start": (start + timedelta(minutes=15 * i)).isoformat().replace("+00:00", "Z"),
            "count": 12 if i == 40 else (1 if i == 41 else 0),
            "max_activity": 5.0 if i == 40 else None,
            "first_frame_id": None,
        }
        for i in range(96)
    ]
    marker = (start + timedelta(hours=10, minutes=5)).isoformat().replace("+00:00", "Z")
    return {"buckets": buckets, "markers": [{"at": marker, "kind": "event", "text": "Door opened"}]}


def test_the_day_bar_hides_without_the_timeline_api_and_is_operable_with_the_keyboard(
    context_factory, web_stack, demo_owner, camera_has_frames, screenshots
):
    # Given an owner on a desktop
    account = invite(web_stack, demo_owner, "owner")
    page = context_factory(DESKTOP, timezone_id="Europe/London").new_page()
    steps = Steps(page, DESKTOP, screenshots, prefix="daybar-")
    log_in(page, steps, web_stack, account)

    # When they open the camera, the page asks for its day timeline
    with page.expect_response(lambda r: "/timeline?" in r.url) as answered:
        steps.press(page.locator(".camera-card").first)
    # Then the bar shows exactly when the API answers one (a stack without the route: 404, no bar, the list works)
    expect(page.locator("#daybar-wrap")).to_be_visible(visible=answered.value.ok)
    wait_loaded(page, "#timeline img")

    # Given a timeline answer of the agreed shape (for a stack without the route yet)
    def fulfil(route: Route) -> None:
        date = route.request.url.split("date=")[1][:10]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(day_of_buckets(date)))

    page.route("**/timeline?*", fulfil)
    page.reload()
    bar = page.locator("#daybar")
    expect(bar).to_be_visible()
    steps.shot("bar")

    # Then the bar starts on the day's last busy bucket and says what is in it
    expect(bar).to_have_attribute("role", "slider")
    expect(bar).to_have_attribute("aria-valuenow", "41")
    expect(page.locator("#daybar .bucket.act")).to_have_count(1)
    expect(page.locator("#daybar .bucket.ev")).to_have_count(1)

    # When the keyboard moves it back a bucket and Enter opens it
    bar.focus()
    page.keyboard.press("ArrowLeft")
    expect(bar).to_have_attribute("aria-valuenow", "40")
    expect(bar).to_have_attribute("aria-valuetext", "10:00\u201310:15, 12 frames, activity, 1 event")
    with page.expect_request(lambda r: "/frames?" in r.url) as listed:
        page.keyboard.press("Enter")

    # Then the list is loaded up to the end of that quarter hour (10:15 Tokyo)
    assert "to=" in listed.value.url
    expect(page.locator("#date-chip")).to_contain_text("10:15")
    steps.shot("jumped")

    # When a day is picked in the calendar, its bar and its frames are asked for
    steps.open_filters()
    day_bar = page.expect_request(lambda r: "/timeline?" in r.url and "date=2026-01-15" in r.url)
    frames = page.expect_request(lambda r: "/frames?" in r.url and "from=2026-01-14T15%3A00%3A00" in r.url)
    with day_bar, frames:  # midnight in Tokyo
        page.fill("#filter-day", "2026-01-15")
    expect(page.locator("#date-chip")).to_contain_text("15 Jan 2026")
    expect(page.locator("#timeline-empty")).to_be_visible()  # the camera did not exist then

    # When the viewer switches the times to the browser's own zone, the bar is asked for in that zone
    with page.expect_request(lambda r: "/timeline?" in r.url) as asked:
        steps.menu("#tz-toggle")
    assert "tz=Europe%2FLondon" in asked.value.url
    expect(page.locator("#daybar")).to_be_visible()
    steps.open_menu()
    expect(page.locator("#tz-toggle")).to_contain_text("Europe/London")
