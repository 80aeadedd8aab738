"""The viewer shows each role only what it may do (SPEC §2, §6; doti/accounts/roles.py), and the owner console works
end to end, in Chromium against the local stack.

Each role logs in as a person the demo owner invited by link: a viewer sees no note form, no share form, no share-links
entry and no console, and typing those pages' addresses leads back to the cameras; a manager has notes, shares and a
console of exports and the access log; an owner also manages users. Every step is screenshotted, and each page
state is checked with axe-core once per role (serious and critical violations fail).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.viewer_support import VIEWPORTS, Steps, invite, log_in, text, wait_loaded

pytestmark = pytest.mark.local_stack

DESKTOP = VIEWPORTS["desktop"]


def open_first_frame(page: Page, steps: Steps) -> None:
    steps.press(page.locator(".camera-card").first)
    expect(page.locator("#view-timeline")).to_be_visible()
    wait_loaded(page, "#timeline img")
    with page.expect_response(lambda r: "/frames/" in r.url) as opened:
        steps.press(page.locator("#timeline a.thumb").first)
    expect(page.locator("#view-frame")).to_be_visible()
    wait_loaded(page, "#frame-image")
    expect(page.locator("#notes-heading")).to_be_visible()  # everyone reads notes and events
    # the download button is there exactly when the API gives the frame's attachment link
    expect(page.locator("#frame-download")).to_be_visible(visible="download_url" in opened.value.json())


@pytest.mark.parametrize("role", ["viewer", "manager", "owner"])
def test_each_role_sees_only_the_controls_it_may_use(
    context_factory, web_stack, demo_owner, camera_has_frames, screenshots, role
):
    # Given a person of the role, logged in on a desktop
    account = invite(web_stack, demo_owner, role)
    page = context_factory(DESKTOP).new_page()
    steps = Steps(page, DESKTOP, screenshots, prefix=f"role-{role}-", role=role)
    log_in(page, steps, web_stack, account)
    steps.shot("cameras")

    # When they open the menu
    steps.open_menu()
    steps.shot("menu")

    # Then share links and the console are offered to managers and owners only, the console named for the role
    writer = role != "viewer"
    expect(page.locator("#nav-shares")).to_be_visible(visible=writer)
    expect(page.locator("#nav-console")).to_be_visible(visible=writer)
    if writer:
        title = "console.owner" if role == "owner" else "console.manager"
        expect(page.locator("#nav-console")).to_have_text(text(DESKTOP, title))
    steps.press(page.locator("#menu-toggle"))

    # When they open a frame
    open_first_frame(page, steps)
    steps.shot("frame")

    # Then the note and share forms are there only for a role that may use them
    expect(page.locator("#note-form")).to_be_visible(visible=writer)
    expect(page.locator("#share-panel")).to_be_visible(visible=writer)

    if not writer:
        # And the addresses of pages the viewer may not use lead back to the cameras
        for hidden_page in ("#/shares", "#/console"):
            page.evaluate(f"location.hash = '{hidden_page}'")
            expect(page.locator("#view-cameras")).to_be_visible()
            expect(page.locator("#view-shares")).to_be_hidden()
            expect(page.locator("#view-console")).to_be_hidden()
        return

    # When a manager or owner opens the console
    steps.menu("#nav-console")
    expect(page.locator("#view-console")).to_be_visible()

    # Then exports, the access log, deletions and notices are there, and users for the owner only
    expect(page.locator("#console-exports")).to_be_visible()
    expect(page.locator("#console-access")).to_be_visible()
    expect(page.locator("#console-deletions")).to_be_visible()
    expect(page.locator("#console-notices")).to_be_visible()
    expect(page.locator("#console-users")).to_be_visible(visible=role == "owner")
    expect(page.locator("#access-list li").first).to_be_visible()
    steps.shot("console")


def test_the_owner_console_invites_exports_and_explains_the_log(
    context_factory, web_stack, demo_owner, camera_has_frames, screenshots
):
    # Given an owner on a desktop, in the console, and a viewer of the contract
    owner = invite(web_stack, demo_owner, "owner")
    leaver = invite(web_stack, demo_owner, "viewer")
    page = context_factory(DESKTOP).new_page()
    steps = Steps(page, DESKTOP, screenshots, prefix="console-")
    log_in(page, steps, web_stack, owner)
    steps.menu("#nav-console")
    expect(page.locator("#console-users")).to_be_visible()
    expect(page.locator(f'#user-list li[data-login-id="{owner.login_id}"]')).to_contain_text(owner.name)
    # an owner cannot remove themselves, so no button is offered for it
    expect(page.locator(f'#user-list li[data-login-id="{owner.login_id}"] button')).to_have_count(0)

    # When they remove the viewer (the button asks once more)
    leaving = page.locator(f'#user-list li[data-login-id="{leaver.login_id}"]')
    steps.press(leaving.get_by_role("button"))
    expect(leaving.get_by_role("button")).to_have_text(re.compile(text(DESKTOP, "users.remove")))
    with page.expect_response(lambda r: r.request.method == "DELETE") as removed:
        steps.press(leaving.get_by_role("button"))
    # Then the user is gone from the list
    assert removed.value.status == 204
    expect(page.locator(f'#user-list li[data-login-id="{leaver.login_id}"]')).to_have_count(0)

    # When they invite a viewer for the demo site only
    page.fill("#invite-name", "Night guard")
    page.select_option("#invite-role", "viewer")
    page.locator("#invite-sites input[type=checkbox]").first.check()
    with page.expect_response(lambda r: r.url.endswith("/v1/users") and r.request.method == "POST") as created:
        steps.press(page.locator("#invite-form button[type=submit]"))

    # Then the link is shown once, the invitation is pending with its role and site, and leaving the page hides it
    assert created.value.status == 201
    assert created.value.json()["site_ids"] == [web_stack["site_id"]]
    expect(page.locator("#invite-result")).to_be_visible()
    assert page.input_value("#invite-url").startswith("http")
    pending = page.locator("#invitation-list li").filter(has_text="Night guard")
    expect(pending).to_contain_text(text(DESKTOP, "role.viewer"))
    steps.shot("invited")
    steps.menu("#nav-cameras")
    steps.menu("#nav-console")
    expect(page.locator("#invite-result")).to_be_hidden()

    # When they revoke it (the button asks once more, and still asks when the console draws its lists again in
    # between: the console refreshes them whenever it is shown, and the refresh may land between the two presses)
    pending = page.locator("#invitation-list li").filter(has_text="Night guard")
    steps.press(pending.get_by_role("button"))
    expect(pending.get_by_role("button")).to_have_attribute("data-armed", "1")
    steps.menu("#nav-cameras")
    with page.expect_response(lambda r: r.url.endswith("/v1/users") and r.request.method == "GET"):
        steps.menu("#nav-console")
    expect(pending.get_by_role("button")).to_have_attribute("data-armed", "1")
    steps.press(pending.get_by_role("button"))
    expect(page.locator("#invitation-list li").filter(has_text="Night guard")).to_have_count(0)

    # When they ask for an export of the camera's frames so far today
    with page.expect_response(lambda r: r.url.endswith("/v1/exports") and r.request.method == "POST") as asked:
        steps.press(page.locator("#export-form button[type=submit]"))
    assert asked.value.status == 202, asked.value.text()

    # Then its progress is polled until it is ready to download
    row = page.locator(f'#export-list li[data-export-id="{asked.value.json()["export_id"]}"]')
    expect(row).to_be_visible()
    expect(row.locator("a.button")).to_be_visible(timeout=60_000)
    expect(row.locator(".badge")).to_have_text(text(DESKTOP, "exports.ready"))
    assert row.locator("a.button").get_attribute("href").startswith("http")
    steps.shot("export-ready")

    # And the access log says who did what in words: the owner's own acts as "You", no raw action codes
    page.reload()
    expect(page.locator("#view-console")).to_be_visible()
    log = page.locator("#access-list li")
    expect(log.filter(has_text=text(DESKTOP, "action.export.requested")).first).to_contain_text(
        text(DESKTOP, "actor.you")
    )
    expect(log.filter(has_text=text(DESKTOP, "action.invitation.revoked")).first).to_be_visible()
    assert not [row for row in log.all_inner_texts() if re.search(r"\b[a-z]+\.[a-z_]+\b", row)]
    # And deletion receipts and notices are listed (the demo contract has none of either yet, so it says so)
    expect(page.locator("#deletions-empty").or_(page.locator("#deletion-list tr").first)).to_be_visible()
    steps.shot("access-log")
