"""The web viewer in a real browser, on a phone and on a desktop, against the local stack (SPEC §6).

One customer per viewport, invited by the demo owner with a link, opens it, chooses a login id and a password on
the invitation page and logs in with them. Later support resets the password: the customer logs in with the
temporary one and is made to replace it first. Then they see the simulated camera's frames load, open a full frame
and step through, read and mark a notice, add a note, create a share link that opens in a fresh context without
login, revoke it and see it stop, are sent to the camera list by a mangled link, and log out. A screenshot of each
step lands in test-output/screenshots/<viewport>-<nn>-<step>.png.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import BrowserContext, Locator, Page, expect

from doti.ingest.activity import DEFAULT_THRESHOLD
from tests.local_stack.http import Customer, Staff

pytestmark = pytest.mark.local_stack

STRINGS = json.loads(
    (Path(__file__).resolve().parents[2] / "functions" / "viewer" / "web" / "i18n.json").read_text(encoding="utf-8")
)
LOADED = "img => img.complete && img.naturalWidth > 0"


@dataclass(frozen=True)
class Viewport:
    name: str
    lang: str  # the phone browses in Japanese, the desktop in English: both string sets get exercised
    touch: bool

    def context_options(self, playwright: Any) -> dict[str, Any]:
        if self.name == "phone":
            profile = {k: v for k, v in playwright.devices["iPhone 13"].items() if k != "default_browser_type"}
            return {**profile, "locale": "ja-JP"}
        return {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}


VIEWPORTS = {"phone": Viewport("phone", "ja", touch=True), "desktop": Viewport("desktop", "en", touch=False)}


@pytest.fixture(scope="module")
def staff(web_stack) -> Staff:
    return Staff(web_stack["api_url"], web_stack["staff_api_key"])


@pytest.fixture(scope="module")
def demo_owner(web_stack) -> Customer:
    return Customer(web_stack["api_url"], web_stack["login_id"], web_stack["password"])


@pytest.fixture(scope="module")
def camera_has_frames(web_stack, demo_owner) -> None:
    """The simulated camera has sent a few frames, so the timeline has something to show and to step through."""
    deadline = time.monotonic() + 30
    while len(demo_owner.frames(web_stack["camera_id"], limit="3")) < 3:
        assert time.monotonic() < deadline, "the simulated camera sent fewer than 3 frames in 30 s"
        time.sleep(0.5)


@dataclass(frozen=True)
class Person:
    invitation_url: str  # the one-time link the demo owner's invitation answered
    login_id: str  # what they choose on the invitation page
    chosen_password: str  # what they choose there too
    password: str  # what they set after support reset the chosen one
    name: str


NOTICE = {
    "kind": "maintenance",
    "title": "Maintenance window",
    "body": "<b>Planned</b> maintenance on Sunday night.\nViewing pauses for ten minutes.",
}


@pytest.fixture(scope="module")
def contract_notice(staff, web_stack) -> None:
    """One notice to the demo contract: unread for every new person of it."""
    staff.post("/v1/admin/notices", {"audience": web_stack["contract_id"], **NOTICE})


@pytest.fixture
def person(web_stack, demo_owner, camera_has_frames, contract_notice) -> Person:
    """A new owner of the demo contract (one login id per person, Art. 7-11), so read states start afresh, invited
    by the demo owner by link: the link is all they have until they choose a login id and password on its page."""
    login_id = f"web-{secrets.token_hex(4)}"
    name = f"Owner {login_id}"
    invited = requests.post(
        web_stack["api_url"] + "/v1/users",
        json={"name": name, "role": "owner"},
        headers=demo_owner.headers,
        timeout=30,
    )
    assert invited.status_code == 201, invited.text
    passwords = ("pw-" + secrets.token_urlsafe(12), "pw-" + secrets.token_urlsafe(12))
    return Person(invited.json()["url"], login_id, *passwords, name)


def reset_password(web_stack, staff: Staff, login_id: str) -> str:
    """Support resets the customer's password (a staff reset): the temporary password, shown once."""
    response = requests.post(
        f"{web_stack['api_url']}/v1/admin/users/{login_id}/reset", headers=staff.headers, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()["temporary_password"]


class Steps:
    """Presses the way the viewport's user does (a tap on the phone) and screenshots each step."""

    def __init__(self, page: Page, viewport: Viewport, folder: Path):
        self.page, self.viewport, self.folder = page, viewport, folder
        self.count = 0

    def press(self, target: Locator) -> None:
        if self.viewport.touch:
            target.tap()
        else:
            target.click()

    def shot(self, step: str, page: Page | None = None) -> None:
        self.count += 1
        path = self.folder / f"{self.viewport.name}-{self.count:02d}-{step}.png"
        (page or self.page).screenshot(path=path, full_page=True)


def _text(viewport: Viewport, key: str, **values: str) -> str:
    text = STRINGS[viewport.lang][key]
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def _wait_loaded(page: Page, selector: str, at_least: int = 1) -> None:
    page.wait_for_function(
        f"([sel, n]) => {{ const imgs = [...document.querySelectorAll(sel)].slice(0, n);"
        f" return imgs.length === n && imgs.every({LOADED}); }}",
        arg=[selector, at_least],
    )


@pytest.fixture
def context_factory(browser, playwright) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def open_context(viewport: Viewport) -> BrowserContext:
        context = browser.new_context(**viewport.context_options(playwright))
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.mark.parametrize("viewport_name", list(VIEWPORTS))
def test_a_customer_browses_annotates_and_shares_footage(
    context_factory, web_stack, staff, person, screenshots, viewport_name
):
    viewport = VIEWPORTS[viewport_name]
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots)
    policy_violations: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and policy_violations.append(m.text))

    # Given the invitation link, opened with no session
    response = page.goto(person.invitation_url)
    assert response is not None
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "form-action 'self'" in policy
    expect(page.locator("h1")).to_contain_text("Invitation to doti")
    expect(page.locator("main")).to_contain_text(person.name)
    # and each field is found by its label, as assistive technology finds it
    login_id_field = page.get_by_label("Login ID")
    password_field = page.get_by_label("パスワード / Password", exact=True)
    again_field = page.get_by_label("Password again")
    expect(login_id_field).to_have_attribute("autocomplete", "username")
    expect(password_field).to_have_attribute("autocomplete", "new-password")
    expect(again_field).to_have_attribute("autocomplete", "new-password")
    steps.shot("invitation")

    # When the invitee chooses a login id, and types two passwords that differ
    login_id_field.fill(person.login_id.upper())
    password_field.fill(person.chosen_password)
    again_field.fill(person.chosen_password + "x")
    with page.expect_navigation() as refused:
        steps.press(page.get_by_role("button"))

    # Then the page says so by the field, keeps the login id, and asks for the passwords again
    assert refused.value is not None
    assert refused.value.status == 422
    expect(page.locator("#password_again-problem")).to_contain_text("The two passwords differ")
    expect(page.locator("#password_again")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#login_id")).to_have_value(person.login_id.upper())
    expect(page.locator("#password")).to_have_value("")
    steps.shot("invitation-refused")

    # When they type the same password twice
    page.fill("#password", person.chosen_password)
    page.fill("#password_again", person.chosen_password)
    with page.expect_navigation() as accepted:
        steps.press(page.get_by_role("button"))

    # Then their account exists, under the login id as the service spells it, and the link is used up
    assert accepted.value is not None
    assert accepted.value.status == 201
    expect(page.locator("h1")).to_contain_text("Your account is ready")
    expect(page.locator("dd")).to_have_text(person.login_id)
    steps.shot("invitation-accepted")
    used = context_factory(viewport).new_page().goto(person.invitation_url)
    assert used is not None
    assert used.status == 404

    # When they follow the page's link to the viewer
    steps.press(page.get_by_role("link"))

    # Then the viewer opens with no session
    expect(page).to_have_url(web_stack["api_url"] + "/")
    expect(page.locator("#view-login")).to_be_visible()
    expect(page.locator("#view-login h2")).to_have_text(_text(viewport, "login.heading"))
    steps.shot("login")

    # When they log in with what they chose
    page.fill("#login-id", person.login_id)
    page.fill("#password", person.chosen_password)
    steps.press(page.locator("#login-form button[type=submit]"))

    # Then the cameras come at once: the password is their own, nothing asks to replace it
    expect(page.locator(".camera-card").first).to_be_visible()
    expect(page.locator("#view-password")).to_be_hidden()
    expect(page.locator("#user-name")).to_have_text(person.name)
    steps.press(page.locator("#logout"))
    expect(page.locator("#view-login")).to_be_visible()

    # When support resets the password, and the customer logs in with the temporary one
    temporary = reset_password(web_stack, staff, person.login_id)
    page.fill("#login-id", person.login_id)
    page.fill("#password", temporary)
    steps.press(page.locator("#login-form button[type=submit]"))

    # Then the password form comes first, saying why, with nothing else on offer in the header
    expect(page.locator("#view-password")).to_be_visible()
    expect(page.locator("#password-required")).to_have_text(_text(viewport, "login.must_change"))
    expect(page.locator("#nav-cameras")).to_be_hidden()
    # And a wrong current password is refused with its own message, as text
    page.fill("#password-current", "not-the-temporary-one")
    page.fill("#password-new", person.password)
    page.fill("#password-confirm", person.password)
    steps.press(page.locator("#password-form button[type=submit]"))
    expect(page.locator("#password-error")).to_have_text(_text(viewport, "password.wrong_current"))
    steps.shot("password")

    # When the customer gives the temporary password and a new one
    page.fill("#password-current", temporary)
    steps.press(page.locator("#password-form button[type=submit]"))

    # Then the change is confirmed and the camera grid loads: the page now holds the reply's new token, since the
    # change ended the session the temporary password opened. The grid shows the demo camera's latest thumbnail
    expect(page.locator("#status")).to_have_text(_text(viewport, "password.changed"))
    card = page.locator(".camera-card").first
    expect(card).to_be_visible()
    expect(page.locator("#user-name")).to_have_text(person.name)
    expect(page.locator("#nav-password")).to_be_visible()  # the form stays reachable for a later change
    _wait_loaded(page, ".camera-card img")
    # And the notices banner counts the unread notice, whose text is shown as text
    expect(page.locator("#notices-summary")).to_have_text(_text(viewport, "notices.unread", n="1"))
    steps.shot("cameras")
    steps.press(page.locator("#notices-toggle"))
    unread = page.locator("#notices-list li.unread").filter(has_text=NOTICE["title"])
    expect(unread.locator("p")).to_have_text(NOTICE["body"])
    steps.shot("notices")
    steps.press(unread.get_by_role("button"))
    expect(page.locator("#notices-summary")).to_have_text(_text(viewport, "notices.all_read"))

    # When the customer opens the camera's timeline
    steps.press(card)
    expect(page.locator("#view-timeline")).to_be_visible()

    # Then the thumbnails load from their signed URLs
    _wait_loaded(page, "#timeline img", at_least=3)
    steps.shot("timeline")

    # And the activity filter asks the API for frames with activity only, and shows the person walking past: the
    # simulated camera's second and third frames (infra.camera), posted before camera_has_frames let the test start
    page.check("#filter-activity")
    with page.expect_response(lambda r: "/frames?" in r.url and "activity=true" in r.url) as filtered:
        steps.press(page.locator("#filter-form button[type=submit]"))
    assert filtered.value.status == 200
    active = filtered.value.json()["items"]
    assert active
    assert all(item["activity_score"] >= DEFAULT_THRESHOLD for item in active)
    expect(page.locator("#timeline li")).to_have_count(len(active))
    expect(page.locator("#timeline-empty")).to_be_hidden()
    _wait_loaded(page, "#timeline img")
    steps.shot("timeline-activity")
    # And a time range before the camera existed finds nothing, until the filters are cleared
    steps.press(page.locator("#filter-clear"))
    page.fill("#filter-to", "2020-01-01T00:00:00")
    steps.press(page.locator("#filter-form button[type=submit]"))
    expect(page.locator("#timeline-empty")).to_be_visible()
    expect(page.locator("#timeline li")).to_have_count(0)
    steps.press(page.locator("#filter-clear"))
    _wait_loaded(page, "#timeline img", at_least=3)

    # When a thumbnail is opened
    first, second = (page.locator("#timeline a.thumb").nth(i).get_attribute("data-frame-id") for i in (0, 1))
    steps.press(page.locator("#timeline a.thumb").first)

    # Then the full frame loads, and previous and next step through the timeline
    expect(page).to_have_url(f"{web_stack['api_url']}/#/cameras/{web_stack['camera_id']}/frames/{first}")
    _wait_loaded(page, "#frame-image")
    expect(page.locator("#frame-next")).to_be_disabled()
    steps.shot("frame")
    steps.press(page.locator("#frame-prev"))
    expect(page).to_have_url(f"{web_stack['api_url']}/#/cameras/{web_stack['camera_id']}/frames/{second}")
    _wait_loaded(page, "#frame-image")
    steps.press(page.locator("#frame-next"))
    expect(page).to_have_url(f"{web_stack['api_url']}/#/cameras/{web_stack['camera_id']}/frames/{first}")
    _wait_loaded(page, "#frame-image")

    # When a note is added to the frame (markup in it is just text)
    note = f"Figure at the back door <img src=x> {secrets.token_hex(3)}"
    page.fill("#note-text", note)
    steps.press(page.locator("#note-form button[type=submit]"))

    # Then it is listed with the customer's name, as text
    added = page.locator("#notes-list li").filter(has_text=note)
    expect(added).to_be_visible()
    expect(added.locator("p")).to_have_text(note)
    expect(added).to_contain_text(person.name)
    assert page.locator("#notes-list img").count() == 0
    steps.shot("note")

    # When a share link is created for the frame
    page.fill("#share-purpose", "Police report")
    page.select_option("#share-expires", "3600")
    steps.press(page.locator("#share-form button[type=submit]"))
    expect(page.locator("#share-result")).to_be_visible()
    share_url = page.input_value("#share-url")
    share_id = page.locator("#share-result").get_attribute("data-share-id")
    assert share_url.startswith("http")
    steps.shot("share")

    # Then it opens in a fresh browser without any login, showing the frame
    stranger = context_factory(viewport).new_page()
    opened = stranger.goto(share_url)
    assert opened is not None
    assert opened.status == 200
    _wait_loaded(stranger, "img")
    steps.shot("shared-page", stranger)

    # When the customer revokes it from the list of share links
    steps.press(page.locator("#nav-shares"))
    listed = page.locator(f'#share-list li[data-share-id="{share_id}"]')
    expect(listed).to_contain_text("Police report")
    steps.press(listed.get_by_role("button", name=_text(viewport, "shares.revoke")))
    expect(listed.locator(".badge")).to_have_text(_text(viewport, "shares.revoked"))
    steps.shot("shares")

    # Then the link stops working
    refused = stranger.goto(share_url)
    assert refused is not None
    assert refused.status == 404
    assert stranger.evaluate(f"[...document.images].filter({LOADED}).length") == 0
    steps.shot("shared-page-revoked", stranger)

    # When a link with broken percent-encoding is followed, and then loaded afresh
    page.evaluate("location.hash = '#/cameras/%E0%A4%A'")
    # Then the camera list shows each time instead of the previous view or a blank page
    expect(page.locator("#view-cameras")).to_be_visible()
    page.reload()
    expect(page.locator("#view-cameras")).to_be_visible()
    expect(page.locator(".camera-card").first).to_be_visible()

    # When the customer logs out, the session is gone from the tab
    steps.press(page.locator("#logout"))
    expect(page.locator("#view-login")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    steps.shot("logged-out")

    # And nothing on the way broke the Content-Security-Policy
    assert policy_violations == []
