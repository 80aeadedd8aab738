"""A site's sign and public notice page in a real browser, against the local stack (issue 15 points 2 and 3).

The demo owner downloads the site's sign as SVG; Chromium renders it as a browser opens the file, OpenCV's
QRCodeDetector decodes the QR code from the screenshot, and it must be the site's notice URL as staff see it. That
address then opens on a phone and on a desktop: the page answers with its strict policy, carries no script, runs none,
and has no serious or critical axe-core violation. Screenshots land in test-output/screenshots/notice-*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from doti.contracts import purposes
from doti.viewing import signage
from doti.viewing.notice import CameraNotice, Signage, SiteNotice
from tests.browser.viewer_support import VIEWPORTS, Steps
from tests.local_stack.http import Customer

pytestmark = pytest.mark.local_stack

SIGN_URL = "https://sign.test/sign.svg"  # where the test serves the downloaded file to Chromium, as a file it opens
A4_AT_96_DPI = {"width": 794, "height": 1123}


def decoded_qr(png: bytes) -> str:
    """The QR code's text, by OpenCV's QRCodeDetector, else its ArUco-based detector: the classic one missed a code
    rendered at this resolution (a module is about 6.5 px, so its edges fall between pixels) that the other read."""
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        text, _, _ = detector.detectAndDecode(image)
        if text:
            return text
    raise AssertionError("no QR code decoded from the rendered sign")


def rendered(browser: Any, svg: bytes, path: Path) -> bytes:
    """A screenshot of the SVG file as Chromium opens it, the viewport an A4 page at 96 dpi."""
    context = browser.new_context(viewport=A4_AT_96_DPI)
    try:
        page = context.new_page()
        page.route(SIGN_URL, lambda route: route.fulfill(body=svg, content_type="image/svg+xml"))
        page.goto(SIGN_URL)
        # The viewport is the page: a full-page screenshot of a bare SVG document never completes in Chromium.
        return page.screenshot(path=path)
    finally:
        context.close()


def test_the_owners_sign_renders_with_a_qr_code_that_decodes_to_the_sites_notice_page(
    web_stack, demo_owner: Customer, notice_url: str, browser, screenshots
):
    # Given the sign the demo owner downloads
    response = demo_owner.get(f"/v1/sites/{web_stack['site_id']}/signage", format="svg")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/svg+xml"
    assert response.headers["Content-Disposition"].startswith("attachment;")

    # When Chromium opens the file and it is screenshot at A4's size
    shot = rendered(browser, response.content, screenshots / "notice-sign.png")

    # Then its QR code is the site's notice URL
    assert decoded_qr(shot) == notice_url


def test_the_fullest_sign_still_decodes_to_its_notice_url(browser, screenshots):
    # Given a sign with every purpose, several other texts and a long operator name, for a long notice URL
    url = "https://notice.doti.example/prod/p/" + "Xq3v9KcEXAMPLEpublicId"
    fullest = CameraNotice(
        name="Till", purposes=purposes.PURPOSES, other_text="Delivery checks", coverage=None, people_filmed=True
    )
    others = [
        CameraNotice(name=t, purposes=("other",), other_text=t, coverage=None, people_filmed=None)
        for t in ("Queue length", "Stock on the shelves", "Parking")
    ]
    notice = SiteNotice("Main store", "株式会社" + "とても長い名前" * 12, 30, None, (fullest, *others))

    # When Chromium renders it
    shot = rendered(browser, signage.render_svg(Signage(notice, url)), screenshots / "notice-sign-fullest.png")

    # Then the code decodes to the URL
    assert decoded_qr(shot) == url


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_notice_page_opens_strict_scriptless_and_accessible(
    notice_url: str, browser, playwright, screenshots, viewport: str
):
    profile = VIEWPORTS[viewport]
    context = browser.new_context(**profile.context_options(playwright))
    try:
        page = context.new_page()
        steps = Steps(page, profile, screenshots, prefix="notice-", role="public")
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.resource_type))

        # When anyone opens the address on the sign
        opened: Any = page.goto(notice_url)

        # Then the page is there, under its strict policy, in both languages
        assert opened.status == 200
        policy = opened.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy
        assert "frame-ancestors 'none'" in policy
        assert page.get_by_role("heading", level=1).inner_text().startswith("カメラを設置しています")
        assert "Cameras are in operation here" in page.inner_text("h1")
        assert page.locator("#requests").is_visible()

        # and no script is on it or runs: the document alone was loaded, with no <script> element
        assert page.locator("script").count() == 0
        assert requested == ["document"]

        # and it fits the viewport's width (nothing scrolls sideways on the phone)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        steps.shot("page")  # screenshot and axe-core: no serious or critical violation
    finally:
        context.close()


def test_an_unknown_notice_id_is_a_plain_404_page(web_stack, browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        opened: Any = page.goto(web_stack["api_url"] + "/p/AAAAAAAAAAAAAAAAAAAAAA")
        assert opened.status == 404
        assert "Page not found" in page.inner_text("h1")
    finally:
        context.close()
