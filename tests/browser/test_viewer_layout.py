"""The viewer on a phone first (SPEC §6): a one-line header with a menu, the first picture in the upper half of an
iPhone 13's screen, filters folded behind a date chip, times that never wrap, pictures never blown up past their
size; on a desktop the camera grid has two to four columns. The grid refreshes only while the page is visible; on
both, each tile has its status badge and age and one camera's live view follows its newest frame."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from infra.camera import camera_frame
from infra.drawing import encode_jpeg
from tests.browser.viewer_support import (
    VIEWPORTS,
    Account,
    Steps,
    counted,
    log_in,
    on_the_stacks_clock,
    text,
    wait_loaded,
)
from tests.local_stack.http import Customer, Tenant, send

pytestmark = pytest.mark.local_stack

PHONE, DESKTOP = VIEWPORTS["phone"], VIEWPORTS["desktop"]
TOKYO = ZoneInfo("Asia/Tokyo")
EVENTS = "/v1/device/events"
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


def test_on_a_phone_the_pictures_come_first_and_nothing_wraps_or_blows_up(signed_in, screenshots):
    # Given an owner on an iPhone 13 (only reading: the session's signed-in phone)
    page = signed_in(PHONE)
    steps = Steps(page, PHONE, screenshots, prefix="layout-")
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
    context_factory, web_stack, reader, camera_has_frames, screenshots
):
    # Given an owner on a desktop whose page's timers are under the test's control
    page = context_factory(DESKTOP).new_page()
    page.clock.install()
    steps = Steps(page, DESKTOP, screenshots, prefix="layout-")
    log_in(page, steps, web_stack, reader)
    wait_loaded(page, ".camera-card img")
    assert 2 <= columns(page, "#camera-grid") <= 4
    steps.shot("cameras")
    asked: list[str] = []
    page.on("request", lambda r: r.url.endswith("/v1/cameras") and asked.append(r.url))

    def grid_asked(r) -> bool:
        return r.url.endswith("/v1/cameras")

    # When 16 s pass with the page visible, the grid asks for the cameras again
    with page.expect_request(grid_asked):
        page.clock.run_for(16_000)
    expect(page.locator(".camera-card").first).to_be_visible()
    assert len(asked) == 1

    # When the tab goes to the background, nothing more is asked however long it stays there
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.clock.run_for(120_000)

    # And coming back refreshes at once: the request events arrive in order, so a background one would be counted
    # before it
    with page.expect_request(grid_asked):
        page.evaluate(
            "Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )
    assert len(asked) == 2


@pytest.mark.parametrize("viewport_name", list(VIEWPORTS))
def test_each_tile_has_its_status_and_age_and_the_live_view_follows_the_newest_frame(
    context_factory, web_stack, reader, demo_owner, camera_has_frames, screenshots, viewport_name
):
    # Given an owner on the viewport whose page's timers are under the test's control
    viewport = VIEWPORTS[viewport_name]
    page = context_factory(viewport).new_page()
    page.clock.install()
    steps = Steps(page, viewport, screenshots, prefix="live-")
    log_in(page, steps, web_stack, reader)
    wait_loaded(page, ".camera-card img")

    # Then the demo camera's tile (a frame a second, 60 s expected) says it is online, when its frame was taken and
    # how old it is, on one line
    tile = page.locator(f'.camera-tile[data-camera-id="{web_stack["camera_id"]}"]')
    expect(tile.locator(".badge.status-online")).to_have_text(text(viewport, "status.online"))
    expect(tile.locator(".camera-time time")).not_to_be_empty()
    expect(tile.locator(".camera-time .age")).not_to_be_empty()
    assert tile.locator(".camera-time time").evaluate("t => getComputedStyle(t).whiteSpace") == "nowrap"
    steps.shot("cameras")

    # When the camera's live view is opened, it shows the newest frame with its status, time and age
    steps.press(tile.locator(".live-link"))
    expect(page.locator("#view-live")).to_be_visible()
    wait_loaded(page, "#live-image")
    expect(page.locator("#live-status")).to_have_text(text(viewport, "status.online"))
    expect(page.locator("#live-time")).not_to_be_empty()
    expect(page.locator("#live-age")).not_to_be_empty()
    shown = page.locator("#live-image").get_attribute("data-frame-id")
    steps.shot("live")

    # When the camera has sent a newer frame and the live view's 5 s pass
    deadline = time.monotonic() + 15
    while (newest := demo_owner.frames(web_stack["camera_id"], order="newest", limit="1")[0]["frame_id"]) == shown:
        assert time.monotonic() < deadline, "the simulated camera sent no frame in 15 s"
        time.sleep(0.2)
    with page.expect_response(lambda r: "order=newest" in r.url):
        page.clock.run_for(5_000)

    # Then the live view shows it (or one newer still), loaded
    expect(page.locator("#live-image")).not_to_have_attribute("data-frame-id", shown or "")
    assert page.locator("#live-image").get_attribute("data-frame-id") >= newest
    wait_loaded(page, "#live-image")


@dataclass(frozen=True)
class PastDay:
    """A contract of its own whose camera sent four frames on one past Tokyo day, with an event and a note."""

    tenant: Tenant
    day: str  # the Tokyo day, yyyy-mm-dd
    frames: dict[str, str]  # Tokyo clock time -> frame id


def tokyo(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+09:00")


@pytest.fixture(scope="module")
def past_day(web_stack, staff) -> PastDay:
    """Frames at 10:02, 10:04 (the person walks in: activity), 10:07 and 13:20 Tokyo two days ago, a device event at
    10:05 and a customer note at 13:21. The day is computed from the same "now" the frames are sent at, so the test
    holds on any date."""
    tenant = staff.new_tenant()
    day = (datetime.now(UTC) - timedelta(days=2)).astimezone(TOKYO).date().isoformat()
    frames = {}
    for number, clock in enumerate(("10:02", "10:04", "10:07", "13:20")):
        status, body = send(tenant, encode_jpeg(camera_frame(number, tokyo(day, clock))), captured_at=tokyo(day, clock))
        assert status == 201, body
        frames[clock] = body["frame_id"]
    event = json.dumps(
        {"camera_id": tenant.camera_id, "occurred_at": format_rfc3339(tokyo(day, "10:05")), "text": "Door opened"}
    ).encode()
    device = tenant.device
    headers = signed_headers(device.device_id, device.device_secret, "POST", EVENTS, event, datetime.now(UTC))
    posted = requests.post(
        web_stack["api_url"] + EVENTS, data=event, headers={**headers, "Content-Type": "application/json"}, timeout=30
    )
    assert posted.status_code == 201, posted.text
    owner = Customer(web_stack["api_url"], tenant.login_id, tenant.password)
    noted = requests.post(
        f"{web_stack['api_url']}/v1/cameras/{tenant.camera_id}/notes",
        json={"text": "Delivery van at the gate", "at": format_rfc3339(tokyo(day, "13:21"))},
        headers=owner.headers,
        timeout=30,
    )
    assert noted.status_code == 201, noted.text
    return PastDay(tenant, day, frames)


def bucket_of(page: Page, index: int) -> Locator:
    return page.locator("#daybar .bucket").nth(index)


@pytest.mark.parametrize("viewport_name", list(VIEWPORTS))
def test_the_day_bar_shows_a_real_day_jumps_on_click_and_keys_and_follows_the_time_zone(
    context_factory, web_stack, past_day, screenshots, viewport_name
):
    # Given the contract's owner on the viewport, in a browser whose own zone is UTC (no summer time: fixed buckets)
    viewport = VIEWPORTS[viewport_name]
    tenant = past_day.tenant
    page = context_factory(viewport, timezone_id="UTC").new_page()
    on_the_stacks_clock(page)
    steps = Steps(page, viewport, screenshots, prefix="daybar-")
    log_in(page, steps, web_stack, Account(tenant.login_id, tenant.password, "Owner", "owner"))

    # Then the grid says the camera is offline (its newest frame is two days old), with the frame's age
    tile = page.locator(".camera-tile").first
    expect(tile.locator(".badge.status-offline")).to_have_text(text(viewport, "status.offline"))
    expect(tile.locator(".camera-time .age")).not_to_be_empty()
    wait_loaded(page, ".camera-card img")

    # When they open the camera, today's bar is empty (the newest frames are listed below it, whatever their day)
    steps.press(tile.locator(".camera-card"))
    expect(page.locator("#daybar .bucket.d0")).to_have_count(96)
    # and they pick the day in the calendar: its bar and its frames are asked for
    steps.open_filters()
    day_bar = page.expect_request(lambda r: "/timeline?" in r.url and f"date={past_day.day}" in r.url)
    listed = page.expect_request(lambda r: "/frames?" in r.url and "from=" in r.url)
    with day_bar as bar_asked, listed:
        page.fill("#filter-day", past_day.day)
    assert "tz=Asia%2FTokyo" in bar_asked.value.url
    expect(page.locator("#date-chip")).not_to_contain_text(text(viewport, "filter.today"))

    # Then the bar has the day's density, activity and markers, and starts on the last busy quarter hour (13:15)
    bar = page.locator("#daybar")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("role", "slider")
    expect(bar).to_have_attribute("aria-valuenow", "53")
    expect(bar).to_have_attribute("aria-valuetext", re.compile(r"^13:15.13:30, "))
    expect(bar).to_have_attribute("aria-valuetext", re.compile(re.escape(counted(viewport, "daybar.frames", 1))))
    expect(bucket_of(page, 40)).to_have_class(re.compile(r"\bd4\b.*\bact\b.*\bev\b"))  # 3 frames, the busiest
    expect(bucket_of(page, 53)).to_have_class(re.compile(r"\bd2\b.*\bnt\b"))  # 1 frame of 3: the second shade
    expect(page.locator("#daybar .bucket.d0")).to_have_count(94)
    expect(page.locator("#daybar .bucket.act")).to_have_count(1)
    expect(page.locator("#daybar .bucket.ev")).to_have_count(1)
    expect(page.locator("#daybar .bucket.nt")).to_have_count(1)
    # And the thumbnails of the day are listed newest first under their hour headings
    expect(page.locator("#timeline a.thumb")).to_have_count(4)
    expect(page.locator("#timeline li.hour-heading")).to_have_count(2)
    expect(page.locator("#timeline li.hour-heading").first).to_contain_text("13:00")
    expect(page.locator("#timeline li.hour-heading").last).to_contain_text("10:00")
    wait_loaded(page, "#timeline img", at_least=4)
    steps.shot("day")

    # When the bar is clicked (tapped) on 10:00-10:15
    box = bar.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 40.5 / 96, box["y"] + box["height"] / 2
    with page.expect_request(lambda r: "/frames?" in r.url and "to=" in r.url):
        if viewport.touch:
            page.touchscreen.tap(x, y)
        else:
            page.mouse.click(x, y)

    # Then the list jumps there: the frames up to 10:15, and the chip says so
    expect(bar).to_have_attribute("aria-valuenow", "40")
    expect(page.locator("#date-chip")).to_contain_text("10:15")
    expect(page.locator("#timeline a.thumb")).to_have_count(3)
    expect(page.locator("#timeline a.thumb").first).to_have_attribute("data-frame-id", past_day.frames["10:07"])
    steps.shot("jumped")

    # When the keyboard moves the bar (an hour with Page Up, a quarter with the arrows, ends with Home and End)
    bar.focus()
    for key, now in (("End", "95"), ("Home", "0"), ("ArrowRight", "1"), ("PageUp", "5"), ("ArrowLeft", "4")):
        page.keyboard.press(key)
        expect(bar).to_have_attribute("aria-valuenow", now)
    for _ in range(12):
        page.keyboard.press("PageUp")
    page.keyboard.press("ArrowRight")
    expect(bar).to_have_attribute("aria-valuenow", "53")
    # and Enter opens that quarter hour
    with page.expect_request(lambda r: "/frames?" in r.url and "to=" in r.url):
        page.keyboard.press("Enter")
    expect(page.locator("#date-chip")).to_contain_text("13:30")
    expect(page.locator("#timeline a.thumb")).to_have_count(4)

    # When a thumbnail is opened with the keyboard, and the arrow keys step through the frames
    page.locator(f'#timeline a.thumb[data-frame-id="{past_day.frames["10:04"]}"]').focus()
    page.keyboard.press("Enter")
    frame_url = f"{web_stack['api_url']}/#/cameras/{tenant.camera_id}/frames/"

    def shows(
        clock: str,
    ) -> None:  # the address, then the frame itself (a key pressed before it loads steps from the last)
        expect(page).to_have_url(frame_url + past_day.frames[clock])
        expect(page.locator("#frame-image")).to_have_attribute("src", re.compile(past_day.frames[clock]))
        wait_loaded(page, "#frame-image")

    shows("10:04")
    page.keyboard.press("ArrowLeft")
    shows("10:02")
    page.keyboard.press("ArrowRight")
    shows("10:04")

    # Then the frame view lists the device's event with the device's name and its time
    event = page.locator("#notes-list li.event").filter(has_text="Door opened")
    expect(event).to_contain_text(text(viewport, "notes.device_named", device="Panel"))
    expect(event.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d{2}-\d{2}T01:05"))
    expect(event.locator("time")).not_to_be_empty()
    steps.shot("frame-event")

    # When, back on the list, the times are switched to the browser's own zone (UTC) and the day picked again
    steps.press(page.locator("#frame-back"))
    expect(page.locator("#view-timeline")).to_be_visible()
    with page.expect_request(lambda r: "/timeline?" in r.url) as switched:
        steps.menu("#tz-toggle")
    assert "tz=UTC" in switched.value.url or "tz=Etc%2FUTC" in switched.value.url
    steps.open_filters()
    with page.expect_request(lambda r: "/timeline?" in r.url and f"date={past_day.day}" in r.url):
        page.fill("#filter-day", past_day.day)

    # Then the bar is that day in UTC: the frames at 01:02-01:07 and 04:20, the last busy quarter 04:15
    expect(bar).to_have_attribute("aria-valuenow", "17")
    expect(bucket_of(page, 4)).to_have_class(re.compile(r"\bd4\b.*\bact\b.*\bev\b"))
    expect(page.locator("#timeline li.hour-heading").first).to_contain_text("04:00")
    steps.open_menu()
    expect(page.locator("#tz-toggle")).to_contain_text("UTC")
    steps.shot("utc")
