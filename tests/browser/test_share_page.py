"""A one-time share link in a real browser, on a phone and on a desktop, against the local stack (issue 13, points 6
and 7): it opens on an interstitial whose button, a plain form under the page's CSP, shows the frame; the browser's
own Origin passes the POST's check; labels stack over values on the phone, the image is never stretched past its
natural size and times stay whole. A screenshot of each step lands in test-output/screenshots/share-<viewport>-*.png,
and each page is checked with axe-core.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from tests.browser.viewer_support import VIEWPORTS as PROFILES
from tests.browser.viewer_support import Steps
from tests.local_stack.http import Customer

pytestmark = pytest.mark.local_stack

LOADED = "img => img.complete && img.naturalWidth > 0"
VIEWPORTS = ["phone", "desktop"]


def context_options(playwright: Any, viewport: str) -> dict[str, Any]:
    if viewport == "phone":
        return {k: v for k, v in playwright.devices["iPhone 13"].items() if k != "default_browser_type"}
    return {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def demo_owner(web_stack) -> Customer:
    # The demo owner's password works: the seed set it at first login (staff create users with a temporary one).
    return Customer(web_stack["api_url"], web_stack["login_id"], web_stack["password"])


def a_frame_id(web_stack, owner: Customer) -> str:
    deadline = time.monotonic() + 30
    while not (frames := owner.frames(web_stack["camera_id"], limit="1")):
        assert time.monotonic() < deadline, "the simulated camera sent no frame in 30 s"
        time.sleep(0.5)
    return frames[0]["frame_id"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_one_time_link_opens_on_its_button_and_then_is_used_up(
    web_stack, demo_owner, browser, playwright, screenshots, viewport
):
    # Given a one-time link to a frame of the demo camera
    body = {
        "camera_id": web_stack["camera_id"],
        "frame_id": a_frame_id(web_stack, demo_owner),
        "purpose": "ground:art10-3-2",
        "purpose_note": "Insurance claim for the broken window at the back entrance",
        "expires_in": 600,
        "one_time": True,
    }
    created = requests.post(web_stack["api_url"] + "/v1/shares", json=body, headers=demo_owner.headers, timeout=30)
    assert created.status_code == 201, created.text
    url = created.json()["url"]
    context = browser.new_context(**context_options(playwright, viewport))
    page = context.new_page()
    steps = Steps(page, PROFILES[viewport], screenshots, prefix="share-", role="holder")  # screenshots and axe-core
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )

    # When the holder opens it
    opened = page.goto(url)

    # Then the interstitial shows the purpose and a button, and no image
    assert opened is not None
    assert opened.status == 200
    assert "Insurance claim" in page.content()
    assert "Statutory ground: Protection of a person's life, body or property" in page.locator("dl").inner_text()
    assert page.locator("img").count() == 0
    button = page.get_by_role("button", name=re.compile("Show the footage"))
    assert button.is_visible()
    # and on the phone each label sits over its value; times never wrap inside themselves
    columns = page.eval_on_selector("dl", "e => getComputedStyle(e).gridTemplateColumns").split()
    assert len(columns) == (1 if viewport == "phone" else 2), columns
    assert page.eval_on_selector("time", "e => getComputedStyle(e).whiteSpace") == "nowrap"
    for time_element in page.locator("time").all():
        box = time_element.bounding_box()
        assert box is not None
        assert box["height"] < 40, box  # one line
    steps.shot("interstitial")

    # When they press the button
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        steps.press(button)

    # Then the browser's own form POST (its Origin is the page's) shows the frame, loaded from its signed URL
    assert posted.value.status == 200, posted.value.text()
    image = page.locator("figure img")
    image.wait_for()
    page.wait_for_function(f"() => ({LOADED})(document.querySelector('figure img'))")
    natural, shown = page.eval_on_selector("figure img", "e => [e.naturalWidth, e.getBoundingClientRect().width]")
    assert 0 < shown <= natural, (natural, shown)  # shrunk to fit at most, never stretched
    assert "This page can be opened only once." in page.content()
    steps.shot("frame")

    # and the link is used up: a resent form and a fresh GET are refused
    assert requests.post(url, data={"open": "1"}, timeout=30).status_code == 404
    again = page.goto(url)
    assert again is not None
    assert again.status == 404
    assert "already been opened" in page.content()
    steps.shot("used-up")
    # and the page's policy never blocked anything it needed
    assert refused == []
    context.close()
