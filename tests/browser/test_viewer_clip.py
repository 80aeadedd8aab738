"""A clip (SPEC §4) in the web viewer, on a phone and a desktop: worded as a clip everywhere and played in a video
element. The clip takes the real path: an upload grant, the presigned POST to the bucket, the processor.

A clip under a privacy mask is re-encoded by the processor (H.264, doti.ingest.h264): sent as MPEG-4 Part 2, which
no browser plays, it must come out decoding in Chromium."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.viewer_support import VIEWPORTS, Account, Steps, log_in, text, wait_loaded
from tests.local_stack.http import Customer, Tenant, send, upload
from tests.support.images import jpeg
from tests.support.video import clip, h264_clip


@pytest.fixture(scope="module")
def clip_tenant(web_stack, staff) -> Tenant:
    """A contract whose camera sent a still and then a two-second H.264 clip, both processed and listed."""
    tenant = staff.new_tenant()
    sent = datetime.now(UTC)
    status, answer = send(tenant, jpeg(640, 360), captured_at=sent - timedelta(seconds=20))
    assert status == 201, answer
    upload(tenant, h264_clip(seconds=2.0), "video/mp4", captured_at=sent - timedelta(seconds=10))
    owner = Customer(web_stack["api_url"], tenant.login_id, tenant.password)
    deadline = time.monotonic() + 60
    while len(owner.frames(tenant.camera_id)) < 2:
        assert time.monotonic() < deadline, "the processor did not list the clip within 60 s"
        time.sleep(0.5)
    return tenant


@pytest.mark.parametrize("name", ["phone", "desktop"])
def test_a_clip_is_worded_as_a_clip_and_plays_in_a_video(name, web_stack, clip_tenant, context_factory, screenshots):
    # Given the contract's owner in the viewer, on the camera's pictures
    viewport = VIEWPORTS[name]
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="clip-")
    log_in(page, steps, web_stack, Account(clip_tenant.login_id, clip_tenant.password, "Owner", "owner"))
    steps.press(page.locator(".camera-card").first)
    wait_loaded(page, "#timeline img", at_least=2)

    # Then the clip's thumbnail carries a play badge with its length, and the still none
    badges = page.locator("#timeline .clip-badge")
    expect(badges).to_have_count(1)
    expect(badges).to_have_text("0:02")
    steps.shot("a-still-and-a-clip")

    # When the clip is opened
    steps.press(page.locator("#timeline a.thumb").filter(has=page.locator(".clip-badge")))

    # Then it plays in a video element named as a clip, and its buttons say clip, not image
    video = page.locator("#frame-video")
    expect(video).to_be_visible()
    expect(page.locator("#frame-image")).to_be_hidden()
    clip_words = text(viewport, "frame.clip_alt", camera="Till", time="").split("Till")[0]
    assert (video.get_attribute("aria-label") or "").startswith(clip_words)
    expect(page.locator("#frame-download")).to_have_text(text(viewport, "frame.download_clip"))
    expect(page.locator("#frame-original")).to_have_text(text(viewport, "frame.open_original_clip"))
    expect(page.locator("#note-text")).to_have_attribute("placeholder", text(viewport, "notes.placeholder_clip"))

    # And Chromium loads it from its signed link (H.264, as cameras send), with no "could not be played" warning
    page.wait_for_function("() => { const v = document.getElementById('frame-video'); return v.readyState >= 1; }")
    assert video.evaluate("v => v.error") is None
    assert video.evaluate("v => Math.round(v.duration)") == 2
    expect(page.get_by_text(text(viewport, "frame.clip_error"))).to_have_count(0)
    steps.shot("the-clip-open")

    # When the still is opened from there, it is worded as a picture again
    steps.press(page.locator("#frame-prev"))
    expect(page.locator("#frame-image")).to_be_visible()
    expect(video).to_be_hidden()
    expect(page.locator("#frame-download")).to_have_text(text(viewport, "frame.download"))
    expect(page.locator("#note-text")).to_have_attribute("placeholder", text(viewport, "notes.placeholder"))


@pytest.fixture(scope="module")
def masked_clip_tenant(web_stack, staff) -> Tenant:
    """A contract whose camera has a privacy mask over its left half and sent an mp4v clip, processed and listed."""
    tenant = staff.new_tenant()
    response = requests.put(
        f"{web_stack['api_url']}/v1/admin/cameras/{tenant.camera_id}/privacy-mask",
        json={"polygons": [[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]], "reason": "neighbour's window"},
        headers=staff.headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    upload(tenant, clip(seconds=2.0), "video/mp4", captured_at=datetime.now(UTC) - timedelta(seconds=10))
    owner = Customer(web_stack["api_url"], tenant.login_id, tenant.password)
    deadline = time.monotonic() + 60
    while not owner.frames(tenant.camera_id):
        assert time.monotonic() < deadline, "the processor did not list the masked clip within 60 s"
        time.sleep(0.5)
    return tenant


def test_a_masked_clip_sent_as_mp4v_plays_in_chromium(web_stack, masked_clip_tenant, context_factory, screenshots):
    # Given the owner of a camera under a mask, whose clip came as MPEG-4 Part 2 (which Chromium does not decode)
    viewport = VIEWPORTS["desktop"]
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="masked-clip-")
    owner = Account(masked_clip_tenant.login_id, masked_clip_tenant.password, "Owner", "owner")
    log_in(page, steps, web_stack, owner)
    steps.press(page.locator(".camera-card").first)
    wait_loaded(page, "#timeline img", at_least=1)

    # When the clip is opened and played
    steps.press(page.locator("#timeline a.thumb").filter(has=page.locator(".clip-badge")))
    video = page.locator("#frame-video")
    expect(video).to_be_visible()
    video.evaluate("v => { v.muted = true; return v.play().catch(() => null); }")

    # Then Chromium decodes its frames (HAVE_CURRENT_DATA or more), with no media error and no warning
    page.wait_for_function("() => document.getElementById('frame-video').readyState >= 2", timeout=15_000)
    assert video.evaluate("v => v.error && v.error.code") is None
    assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [320, 240]
    assert video.evaluate("v => Math.round(v.duration)") == 2
    expect(page.get_by_text(text(viewport, "frame.clip_error"))).to_have_count(0)
    steps.shot("the-masked-clip-playing")
