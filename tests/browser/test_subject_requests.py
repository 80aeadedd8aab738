"""Requests from the people filmed (issue 15 points 4, 5 and 7) in Chromium against the local stack, on a phone and a
desktop, each page state checked with axe-core (serious and critical violations fail).

A person uses the notice page's form in a browser that runs no script: a form with a missing text and a window older
than the contract keeps (the demo contract keeps a day) comes back 422 listing both problems and keeping what was
typed; corrected, it lands on the status page with its reference and status. An owner then finds the request in the
console with its due date (on the desktop, one moved past it in the stack's table: the row says "Overdue" in words
until it is answered), opens it, looks at the camera's footage of the window in one press, discloses a frame,
replies, and asks for the window's deletion (a button that asks twice); the status page, in a fresh browser, shows
each answer and a disclosure link that opens on the share's interstitial. A viewer is offered no requests at all.

An owner also names the camera when the person named none, on a contract of its own with two cameras at one site.

Every accepted request counts against one ip (the local gateway's 127.0.0.1) whose limit is 5 an hour, whatever the
site: these tests send 5 (one per test and viewport); refused forms are not counted.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.viewer_support import (
    VIEWPORTS,
    Account,
    Steps,
    Viewport,
    invite,
    log_in,
    stack_table,
    text,
    wait_loaded,
)
from tests.local_stack.http import Customer, Staff, demo_consents

pytestmark = pytest.mark.local_stack

JST = timezone(timedelta(hours=9))  # the form's times are the site's local time (doti.subjects.requests.JST)
CONTACT = "hanako@example.jp"


def local(moment: datetime) -> str:
    """A datetime-local field's value: Japan time, to the minute."""
    return moment.astimezone(JST).strftime("%Y-%m-%dT%H:%M")


def input_value(moment: datetime) -> re.Pattern[str]:
    """A datetime-local input's value for a whole minute, Japan time (Chromium drops the ":00" seconds)."""
    return re.compile("^" + re.escape(local(moment)) + "(:00)?$")


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def without_script(context_factory, viewport: Viewport) -> Page:
    return context_factory(viewport, java_script_enabled=False).new_page()


class ScriptlessSteps(Steps):
    """Steps on a page in a browser that runs no script. axe-core needs the page's timers, which such a browser never
    runs (its promise would never settle), so it checks a copy of the page as it is, in a browser that runs script:
    the same document, since these pages carry no script of their own."""

    def __init__(self, page: Page, viewport: Viewport, folder, checker: Page, prefix: str):
        super().__init__(page, viewport, folder, prefix=prefix, role="public")
        self.checker = checker

    def check(self, shown: Page, step: str) -> None:
        if shown is self.page:
            self.checker.set_content(shown.content())
            shown = self.checker
        super().check(shown, step)


def fill_request(page: Page, *, start: datetime, end: datetime, request_text: str) -> None:
    """A disclosure request about the site's first camera."""
    page.check("#req-kind-disclosure")
    page.select_option("#req-camera", index=1)
    page.fill("#req-from", local(start))
    page.fill("#req-to", local(end))
    page.fill("#req-contact", CONTACT)
    page.fill("#req-text", request_text)


def send(page: Page, steps: Steps) -> Any:
    """Presses the form's button; the response the browser ended on (a 303 is followed)."""
    with page.expect_navigation() as sent:
        steps.press(page.locator("#requests button[type=submit]"))
    return sent.value


def a_window() -> tuple[datetime, datetime]:
    """The last ten minutes to the minute, and the next two (the form takes minutes; the camera posts every second)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=10), now + timedelta(minutes=2)


def make_overdue(web_stack: dict[str, Any], request_id: str) -> None:
    """Moves the request's due date to yesterday in the stack's table: fourteen days pass, as far as the list knows."""
    ddb, table = stack_table(web_stack, "SubjectRequestsTable")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")  # PynamoDB's format
    ddb.update_item(
        TableName=table,
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET due_at = :due",
        ExpressionAttributeValues={":due": {"S": yesterday}},
    )


def make_request(context_factory, viewport: Viewport, notice_url: str, screenshots, request_text: str) -> str:
    """A person's request, sent from the notice page without script; the status page's URL."""
    page = without_script(context_factory, viewport)
    steps = Steps(page, viewport, screenshots, prefix="request-made-", role="public")
    page.goto(notice_url)
    start, end = a_window()
    fill_request(page, start=start, end=end, request_text=request_text)
    landed = send(page, steps)
    assert landed.status == 200, page.content()[:2000]
    assert "/r/" in page.url
    return page.url


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_a_person_without_script_is_told_what_to_fix_then_lands_on_the_status_page(
    context_factory, notice_url, screenshots, viewport_name
):
    viewport = VIEWPORTS[viewport_name]
    # Given the notice page in a browser that runs no script
    page = without_script(context_factory, viewport)
    checker = context_factory(viewport).new_page()
    steps = ScriptlessSteps(page, viewport, screenshots, checker, prefix="request-form-")
    opened: Any = page.goto(notice_url)
    # (its referrer policy lets the form's POST carry the page's origin: under no-referrer Chromium sends
    # `Origin: null`, which the form refuses as another site's)
    assert opened.headers["referrer-policy"] == "same-origin"
    steps.shot("form")

    # When they send a form with no text, about a window older than the contract keeps (a day)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    fill_request(page, start=start, end=start + timedelta(hours=1), request_text="")
    refused = send(page, steps)

    # Then the page comes back 422, listing both problems, each by its field
    assert refused.status == 422, page.inner_text("body")
    problems = page.locator("#form-problems")
    expect(problems).to_contain_text("Please fill this in.")
    expect(problems).to_contain_text("has already been deleted")
    expect(page.locator("#text-problem")).to_be_visible()
    expect(page.locator("#from-problem")).to_be_visible()
    expect(page.locator("#req-text")).to_have_attribute("aria-invalid", "true")
    # and what was typed is still there
    expect(page.locator("#req-kind-disclosure")).to_be_checked()
    expect(page.locator("#req-contact")).to_have_value(CONTACT)
    expect(page.locator("#req-from")).to_have_value(local(start))
    expect(page.locator("#req-camera")).to_have_value(page.locator("#req-camera option").nth(1).get_attribute("value"))
    steps.shot("refused")

    # When they correct the window, write their request and send it again
    start, end = a_window()
    page.fill("#req-from", local(start))
    page.fill("#req-to", local(end))
    page.fill("#req-text", "I walked past the entrance in a red coat. Please show me the footage.")
    landed = send(page, steps)

    # Then they land on the request's status page: its reference, and the status "received"
    assert landed.status == 200
    assert re.search(r"/r/dsr_[^/.]+\.[^/]+$", page.url), page.url
    reference = page.locator(".reference")
    expect(reference).to_have_text(re.compile(r"^dsr_"))
    assert reference.inner_text() in page.url
    expect(page.locator(".status")).to_contain_text("Received, awaiting an answer")
    expect(page.locator("#answers")).to_have_count(0)  # no answer yet
    assert page.locator("script").count() == 0
    steps.shot("status")


def open_status(context_factory, viewport: Viewport, status_url: str, steps_prefix: str, screenshots) -> Page:
    """The status page in a fresh browser, as the person opens their link later."""
    page = context_factory(viewport).new_page()
    page.goto(status_url)
    Steps(page, viewport, screenshots, prefix=steps_prefix, role="public").shot("status")
    return page


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_an_owner_handles_a_request_from_the_console_end_to_end(
    context_factory, web_stack, demo_owner: Customer, camera_has_frames, notice_url, screenshots, viewport_name
):
    viewport = VIEWPORTS[viewport_name]
    # Given a person's request about the demo camera's last minutes, and an owner in the console
    asked = f"Red coat at the entrance ({secrets.token_hex(3)}). Please show me the footage."
    status_url = make_request(context_factory, viewport, notice_url, screenshots, asked)
    request_id = status_url.rsplit("/r/", 1)[1].split(".", 1)[0]
    overdue = viewport_name == "desktop"  # the desktop's request has passed its due date, the phone's has not
    if overdue:
        make_overdue(web_stack, request_id)
    listed = demo_owner.get(f"/v1/requests/{request_id}").json()
    assert listed["overdue"] is overdue
    owner = invite(web_stack, demo_owner, "owner")
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="requests-")
    log_in(page, steps, web_stack, owner)
    steps.menu("#nav-console")

    # Then the request is listed with its kind, status and due date
    row = page.locator(f'#request-list li[data-request-id="{request_id}"]')
    expect(row).to_contain_text(text(viewport, "request.kind.disclosure"))
    expect(row).to_contain_text(text(viewport, "request.status.open"))
    expect(row.locator(".request-due")).to_contain_text(text(viewport, "requests.due"))
    expect(row.locator(".request-due time")).to_have_attribute("datetime", listed["due_at"])
    # and an overdue one says so in words (its red edge is only a cue)
    expect(row.locator(".badge.overdue")).to_have_count(1 if overdue else 0)
    if overdue:
        expect(row.locator(".badge.overdue")).to_have_text(text(viewport, "requests.overdue"))
    row.scroll_into_view_if_needed()
    steps.shot("list")

    # When the owner opens it
    steps.press(row.locator(".row-button"))

    # Then it shows under its row: what they asked, how to reach them, the window and no answer yet
    detail = row.locator("#request-detail")
    expect(detail).to_be_visible()
    expect(row.locator(".row-button")).to_have_attribute("aria-expanded", "true")
    expect(detail.locator(".request-text")).to_have_text(asked)
    expect(detail.locator(".request-contact")).to_have_text(CONTACT)
    expect(detail.locator("#request-facts time")).to_have_count(4)  # the window's two ends, received, due
    expect(detail.locator("#request-answers-empty")).to_be_visible()
    steps.shot("detail")

    # When they press "see the footage"
    steps.press(detail.locator("#request-footage"))

    # Then the camera's timeline shows the window: every thumbnail is inside it, and the chip says the range
    expect(page.locator("#view-timeline")).to_be_visible()
    wait_loaded(page, "#timeline img")
    times = page.locator("#timeline a.thumb time").evaluate_all("nodes => nodes.map((n) => n.getAttribute('datetime'))")
    start, end = moment(listed["from"]), moment(listed["to"])
    assert times
    assert all(start <= moment(at) < end for at in times), (listed["from"], listed["to"], times[:3])
    # (the viewer reads times in Japan time by default, as the form does)
    expect(page.locator("#filter-from")).to_have_value(input_value(start))
    expect(page.locator("#filter-to")).to_have_value(input_value(end))
    expect(page.locator("#date-chip")).to_contain_text(start.astimezone(JST).strftime("%H:%M"))
    steps.shot("footage")

    # When they go back, the request is still open; they choose to disclose a frame
    with page.expect_response(lambda r: f"/v1/requests/{request_id}" in r.url):  # the console drawn afresh
        page.go_back()
    expect(page.locator("#view-console")).to_be_visible()
    expect(detail).to_be_visible()
    steps.press(detail.locator('label:has(input[value="disclose"])'))
    choices = detail.locator("#request-frames label.frame-choice")
    expect(choices.first).to_be_visible()
    wait_loaded(page, "#request-frames img")
    steps.shot("disclose")
    steps.press(choices.first)
    with page.expect_response(lambda r: r.url.endswith("/answer") and r.request.method == "POST") as answered:
        steps.press(detail.locator("#request-send button"))

    # Then the answer is recorded and listed, and the request is answered
    assert answered.value.status == 200, answered.value.text()
    disclosed = answered.value.json()["answers"][0]
    assert disclosed["action"] == "disclose"
    assert disclosed["frame_id"]
    expect(detail.locator("#request-answers li")).to_have_count(1)
    expect(detail.locator("#request-answers li")).to_contain_text(text(viewport, "request.answered.disclose"))
    expect(row.locator(".row-button")).to_contain_text(text(viewport, "request.status.answered"))
    expect(row.locator(".badge.overdue")).to_have_count(0)  # answered: no longer overdue
    steps.shot("disclosed")

    # And the person's status page, in a fresh browser, shows the answer with a one-time link that opens on the
    # share's interstitial (its button, not the opening, would use it up)
    status = open_status(context_factory, viewport, status_url, "requests-person-", screenshots)
    expect(status.locator(".status")).to_contain_text("Answered")
    expect(status.locator("#answers")).to_contain_text("Footage disclosed")
    link = status.locator("a.disclosure-link")
    expect(link).to_be_visible()
    status.goto(link.get_attribute("href"))
    expect(status.get_by_role("button", name=re.compile("Show the footage"))).to_be_visible()
    assert status.locator("img").count() == 0
    Steps(status, viewport, screenshots, prefix="requests-link-", role="holder").shot("interstitial")

    # When the owner also replies in text
    reply = "We have sent you a link to the footage. It opens once, within 7 days."
    steps.press(detail.locator('label:has(input[value="reply"])'))
    detail.locator("#request-answer-text").fill(reply)
    with page.expect_response(lambda r: r.url.endswith("/answer") and r.request.method == "POST") as answered:
        steps.press(detail.locator("#request-send button"))
    assert answered.value.status == 200, answered.value.text()

    # Then the reply is listed, and the status page shows it
    expect(detail.locator("#request-answers li")).to_have_count(2)
    expect(detail.locator("#request-answers li").nth(1)).to_contain_text(reply)
    status.goto(status_url)
    expect(status.locator("#answers li")).to_have_count(2)
    expect(status.locator("#answers")).to_contain_text(reply)

    # When they ask for the window's footage to be deleted: the button asks once more
    steps.press(detail.locator('label:has(input[value="delete"])'))
    delete = detail.locator("#request-send button")
    expect(delete).to_have_text(text(viewport, "requests.delete"))
    steps.press(delete)
    expect(delete).to_have_attribute("data-armed", "1")
    steps.shot("delete-armed")
    with page.expect_response(lambda r: r.url.endswith("/answer") and r.request.method == "POST") as answered:
        steps.press(delete)

    # Then the request is being deleted: no more answers are offered until the retention job has done it
    assert answered.value.status == 200, answered.value.text()
    assert answered.value.json()["status"] == "deleting"
    expect(row.locator(".row-button")).to_contain_text(text(viewport, "request.status.deleting"))
    expect(detail.locator("#request-deleting")).to_be_visible()
    expect(detail.locator("#request-answer-form")).to_be_hidden()
    steps.shot("deleting")
    status.goto(status_url)
    expect(status.locator(".status")).to_contain_text("Deletion in progress")

    # And logging out leaves nothing of the request in the page (its text and contact are a person's data)
    steps.menu("#logout")
    expect(page.locator("#view-login")).to_be_visible()
    expect(page.locator("#request-list li")).to_have_count(0)
    expect(page.locator(".request-contact, .request-text")).to_have_count(0)
    assert CONTACT not in page.content()


def test_a_viewer_is_offered_no_requests(context_factory, web_stack, demo_owner: Customer, screenshots):
    # Given a viewer of the demo contract, logged in on a desktop
    viewer = invite(web_stack, demo_owner, "viewer")
    desktop = VIEWPORTS["desktop"]
    page = context_factory(desktop).new_page()
    steps = Steps(page, desktop, screenshots, prefix="requests-viewer-", role="viewer")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/v1/requests" in request.url else None)
    log_in(page, steps, web_stack, viewer)

    # Then the requests section is taken out, and the console's address leads back to the cameras
    expect(page.locator("#console-requests")).to_have_attribute("hidden", "")
    page.evaluate("location.hash = '#/console'")
    expect(page.locator("#view-cameras")).to_be_visible()
    expect(page.locator("#console-requests")).to_be_hidden()
    steps.shot("cameras")
    # and the page never asks for requests, which the API refuses them anyway
    assert asked == []
    token = page.evaluate("sessionStorage.getItem('doti.session')")
    refused = requests.get(
        web_stack["api_url"] + "/v1/requests", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert refused.status_code == 403


def test_an_owner_names_the_camera_when_the_person_named_none(context_factory, web_stack, staff: Staff, screenshots):
    # Given a contract of its own whose site has two cameras (the demo contract keeps its one), and a person's
    # deletion request that names no camera, sent from the notice page's form as a browser sends it
    tenant = staff.new_tenant()
    second = staff.post(
        f"/v1/admin/contracts/{tenant.contract_id}/cameras",
        {"site_id": tenant.site_id, "name": "Back door", "consents": demo_consents()},
    )
    sites = requests.get(
        f"{web_stack['api_url']}/v1/admin/contracts/{tenant.contract_id}/sites", headers=staff.headers, timeout=30
    )
    (site,) = sites.json()["items"]
    session = requests.Session()
    page_html = session.get(site["notice_url"], timeout=30).text
    token = re.search(r'name="form_token" value="([^"]+)"', page_html).group(1)
    start, end = a_window()
    form = {"form_token": token, "kind": "delete", "camera_id": "", "from": local(start), "to": local(end),
            "contact": CONTACT, "text": "Please delete the footage of me at the back.", "website": ""}  # fmt: skip
    sent = session.post(
        site["notice_url"] + "/requests", data=form, headers={"Origin": web_stack["api_url"]}, timeout=30,
        allow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303, sent.text[:500]
    request_id = sent.headers["Location"].rsplit("/r/", 1)[1].split(".", 1)[0]

    # When the owner opens it on a desktop
    desktop = VIEWPORTS["desktop"]
    page = context_factory(desktop).new_page()
    steps = Steps(page, desktop, screenshots, prefix="requests-camera-")
    log_in(page, steps, web_stack, Account(tenant.login_id, tenant.password, "Owner", "owner"))
    steps.menu("#nav-console")
    row = page.locator(f'#request-list li[data-request-id="{request_id}"]')
    steps.press(row.locator(".row-button"))

    # Then it offers the site's cameras to look at, and the footage link follows the choice
    choice = page.locator("#request-camera")
    expect(choice).to_be_visible()
    expect(choice.locator("option")).to_have_count(2)
    page.select_option("#request-camera", second["camera_id"])
    expect(page.locator("#request-footage")).to_have_attribute("href", f"#/cameras/{second['camera_id']}")
    steps.shot("camera-chosen")

    # And the deletion the owner asks for is on the chosen camera
    page.locator('input[name="request-action"][value="delete"]').check()
    with page.expect_response(lambda r: r.url.endswith("/answer") and r.request.method == "POST") as answered:
        steps.press(page.locator("#request-send button"))
        steps.press(page.locator("#request-send button"))
    assert answered.value.status == 200, answered.value.text()
    assert answered.value.json()["camera_id"] == second["camera_id"]
    assert answered.value.json()["status"] == "deleting"
