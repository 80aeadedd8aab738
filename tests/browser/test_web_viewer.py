"""The web viewer in a real browser, on a phone and on a desktop, against the local stack (SPEC §6).

One customer per viewport, invited by the demo owner with a link, opens it, chooses a login id and a password on
the invitation page and logs in with them. Later support resets the password: the customer logs in with the
temporary one and is made to replace it first. Then they see the simulated camera's frames load, open a full frame
and step through, read and mark a notice, add a note, create a share link that opens in a fresh context without
login, revoke it and see it stop, are sent to the camera list by a mangled link, and log out. A screenshot of each
step lands in test-output/screenshots/<viewport>-<nn>-<step>.png; axe-core checks each page state once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
import requests
from playwright.sync_api import expect

from doti.ingest.activity import DEFAULT_THRESHOLD
from tests.browser.viewer_support import LOADED, VIEWPORTS, Steps, counted, wait_loaded
from tests.browser.viewer_support import text as _text
from tests.local_stack.http import Staff

pytestmark = pytest.mark.local_stack


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
    steps.menu("#logout")
    expect(page.locator("#view-login")).to_be_visible()

    # When support resets the password, and the customer logs in with the temporary one
    temporary = reset_password(web_stack, staff, person.login_id)
    page.fill("#login-id", person.login_id)
    page.fill("#password", temporary)
    steps.press(page.locator("#login-form button[type=submit]"))

    # Then the password form comes first, saying why, with nothing else on offer in the menu
    expect(page.locator("#view-password")).to_be_visible()
    expect(page.locator("#password-required")).to_have_text(_text(viewport, "login.must_change"))
    steps.open_menu()
    expect(page.locator("#nav-cameras")).to_be_hidden()
    expect(page.locator("#nav-shares")).to_be_hidden()
    expect(page.locator("#nav-console")).to_be_hidden()
    steps.press(page.locator("#menu-toggle"))
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
    steps.open_menu()
    expect(page.locator("#nav-password")).to_be_visible()  # the form stays reachable for a later change
    steps.press(page.locator("#menu-toggle"))
    expect(page.locator("#nav")).to_be_hidden()
    wait_loaded(page, ".camera-card img")
    # And the notices banner counts the unread notice in the singular, whose text is shown as text
    expect(page.locator("#notices-summary")).to_have_text(counted(viewport, "notices.unread", 1))
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
    wait_loaded(page, "#timeline img", at_least=3)
    steps.shot("timeline")

    # And the activity filter asks the API for frames with activity only, and shows the person walking past: the
    # simulated camera's second and third frames (infra.camera), posted before camera_has_frames let the test start
    steps.open_filters()
    page.check("#filter-activity")
    with page.expect_response(lambda r: "/frames?" in r.url and "activity=true" in r.url) as filtered:
        steps.press(page.locator("#filter-form button[type=submit]"))
    assert filtered.value.status == 200
    active = filtered.value.json()["items"]
    assert active
    assert all(item["activity_score"] >= DEFAULT_THRESHOLD for item in active)
    expect(page.locator("#timeline li.thumb-item")).to_have_count(len(active))
    expect(page.locator("#filter-form")).to_be_hidden()  # folded back behind the chip, which says what is shown
    expect(page.locator("#date-chip")).to_contain_text(_text(viewport, "filter.activity_short"))
    expect(page.locator("#timeline-empty")).to_be_hidden()
    wait_loaded(page, "#timeline img")
    steps.shot("timeline-activity")
    # And a time range before the camera existed finds nothing, until the filters are cleared
    steps.open_filters()
    steps.press(page.locator("#filter-clear"))
    # the list is asked for again; once the chip is redrawn, the form has folded and can be opened again
    expect(page.locator("#date-chip")).not_to_contain_text(_text(viewport, "filter.activity_short"))
    steps.open_filters()
    page.fill("#filter-to", "2020-01-01T00:00:00")
    steps.press(page.locator("#filter-form button[type=submit]"))
    expect(page.locator("#timeline-empty")).to_be_visible()
    expect(page.locator("#timeline li")).to_have_count(0)
    steps.open_filters()
    steps.press(page.locator("#filter-clear"))
    wait_loaded(page, "#timeline img", at_least=3)

    # When a thumbnail is opened
    first, second = (page.locator("#timeline a.thumb").nth(i).get_attribute("data-frame-id") for i in (0, 1))
    steps.press(page.locator("#timeline a.thumb").first)

    # Then the full frame loads, and previous and next step through the timeline
    expect(page).to_have_url(f"{web_stack['api_url']}/#/cameras/{web_stack['camera_id']}/frames/{first}")
    wait_loaded(page, "#frame-image")
    expect(page.locator("#frame-next")).to_be_disabled()
    steps.shot("frame")
    # And its download button is the API's attachment link: pressing it saves the original and the page stays
    download = page.locator("#frame-download")
    expect(download).to_be_visible()
    expect(download).to_have_text(_text(viewport, "frame.download"))
    assert download.get_attribute("href").startswith("http")
    assert download.get_attribute("download") is not None
    frame_url = page.url
    with page.expect_download() as saved:
        steps.press(download)
    assert saved.value.suggested_filename
    assert page.url == frame_url
    expect(page.locator("#view-frame")).to_be_visible()
    steps.press(page.locator("#frame-prev"))
    expect(page).to_have_url(f"{web_stack['api_url']}/#/cameras/{web_stack['camera_id']}/frames/{second}")
    wait_loaded(page, "#frame-image")
    steps.press(page.locator("#frame-next"))
    expect(page).to_have_url(f"{web_stack['api_url']}/#/cameras/{web_stack['camera_id']}/frames/{first}")
    wait_loaded(page, "#frame-image")

    # When a note is added to the frame (markup in it is just text)
    note = f"Figure at the back door <img src=x> {secrets.token_hex(3)}"
    page.fill("#note-text", note)
    steps.press(page.locator("#note-form button[type=submit]"))

    # Then it is listed with the customer's name, as text
    added = page.locator("#notes-list li").filter(has_text=note)
    expect(added).to_be_visible()
    expect(added.locator("p")).to_have_text(note)
    expect(added).to_contain_text(person.name)
    expect(added.locator("time")).not_to_be_empty()  # and when it was written, as a <time>
    assert added.locator("time").get_attribute("datetime")
    assert page.locator("#notes-list img").count() == 0
    steps.shot("note")

    # When a share link is created for the frame, on a statutory ground (the demo camera has no registered purpose),
    # with a note
    page.select_option("#share-purpose", "ground:art10-3-1")
    page.fill("#share-purpose-note", "Police report")
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
    wait_loaded(stranger, "img")
    steps.shot("shared-page", stranger)

    # When the customer revokes it from the list of share links
    steps.menu("#nav-shares")
    listed = page.locator(f'#share-list li[data-share-id="{share_id}"]')
    expect(listed).to_contain_text(_text(viewport, "ground.art10-3-1"))
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
    steps.menu("#logout")
    expect(page.locator("#view-login")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    steps.shot("logged-out")

    # And nothing on the way broke the Content-Security-Policy
    assert policy_violations == []
