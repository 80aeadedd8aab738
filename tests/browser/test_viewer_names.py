"""Names instead of ids (issue 13), in Chromium against the local stack, on a phone (Japanese) and a desktop (English):
the access log names the contract's people, the security company and the camera for every role that reads it; the
owner's invite form offers the contract's sites by name; the day bar lists each marker's text, as text, never HTML.

Each test makes its own contract through the staff API (two named sites, a camera in each, a named owner), so the
demo contract the other browser tests share is left as it is. Every step is screenshotted and checked with axe-core.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from doti.clock import format_rfc3339
from infra.seed import create_user_with_password, demo_consents
from tests.browser.viewer_support import VIEWPORTS, Account, Steps, Viewport, invite, log_in, on_the_stacks_clock, text
from tests.local_stack.http import Customer, Staff

pytestmark = pytest.mark.local_stack

# A note that looks like markup: it must show as these very characters, and make no element.
NOTE_TEXT = "<b>Gate</b> left open by the courier 🚚 & nobody closed it"


@dataclass(frozen=True)
class NamedContract:
    contract_id: str
    sites: dict[str, str]  # site id -> name
    camera_id: str  # the first site's camera
    camera_name: str
    owner: Account
    manager: Account


def named_contract(web_stack: dict[str, Any], staff: Staff) -> NamedContract:
    """A contract of its own: sites and cameras with names, a named owner, and a manager the owner invited."""
    tag = secrets.token_hex(3)
    cid = staff.post("/v1/admin/contracts", {"name": f"Names {tag}", "contact_email": "names@example.com"})[
        "contract_id"
    ]
    sites, cameras = {}, []
    for site_name, camera_name in ((f"Harbour store {tag}", "Loading dock"), (f"北倉庫 {tag}", "Back gate")):
        site_id = staff.post(f"/v1/admin/contracts/{cid}/sites", {"name": site_name})["site_id"]
        camera = {"site_id": site_id, "name": camera_name, "consents": demo_consents()}
        cameras.append(staff.post(f"/v1/admin/contracts/{cid}/cameras", camera)["camera_id"])
        sites[site_id] = site_name
    login_id, password = f"names-owner-{tag}", "pw-" + secrets.token_urlsafe(12)
    owner_name = f"Akiko Tanaka {tag}"
    owner_body = {"login_id": login_id, "name": owner_name, "role": "owner"}
    create_user_with_password(web_stack["api_url"], web_stack["staff_api_key"], cid, owner_body, password)
    owner = Account(login_id, password, owner_name, "owner")
    manager = invite(web_stack, Customer(web_stack["api_url"], login_id, password), "manager")
    return NamedContract(cid, sites, cameras[0], "Loading dock", owner, manager)


def given_acts(web_stack: dict[str, Any], staff: Staff, contract: NamedContract) -> None:
    """The manager writes a note on the camera; staff look at the camera under a maintenance ticket."""
    manager = Customer(web_stack["api_url"], contract.manager.login_id, contract.manager.password)
    noted = requests.post(
        f"{web_stack['api_url']}/v1/cameras/{contract.camera_id}/notes",
        json={"text": NOTE_TEXT},
        headers=manager.headers,
        timeout=30,
    )
    assert noted.status_code == 201, noted.text
    now = datetime.now(UTC)
    window = {"from": format_rfc3339(now - timedelta(hours=1)), "to": format_rfc3339(now + timedelta(seconds=1))}
    access = {"camera_id": contract.camera_id, **window, "ticket": "MNT-77", "reason": "camera check"}
    looked = requests.post(
        f"{web_stack['api_url']}/v1/admin/contracts/{contract.contract_id}/maintenance-access",
        json=access,
        headers=staff.headers,
        timeout=30,
    )
    assert looked.status_code == 200, looked.text


def open_console(page: Page, steps: Steps) -> None:
    steps.menu("#nav-console")
    expect(page.locator("#view-console")).to_be_visible()
    expect(page.locator("#access-list li").first).to_be_visible()


def access_row(page: Page, viewport: Viewport, action: str) -> Any:
    return page.locator("#access-list li").filter(has_text=text(viewport, f"action.{action}")).first


@pytest.mark.parametrize("viewport", list(VIEWPORTS.values()), ids=list(VIEWPORTS))
def test_the_access_log_the_invite_form_and_the_day_bar_speak_in_names(
    context_factory, web_stack, staff, screenshots, viewport
):
    # Given a contract with named sites, cameras and people, a note by its manager and a maintenance access by staff
    contract = named_contract(web_stack, staff)
    given_acts(web_stack, staff, contract)

    # When the manager (who may not list the users) opens the console
    page = context_factory(viewport).new_page()
    on_the_stacks_clock(page)  # the day bar below shows the stack's today
    steps = Steps(page, viewport, screenshots, prefix="names-manager-")
    log_in(page, steps, web_stack, contract.manager)
    open_console(page, steps)
    steps.shot("access-log")

    # Then the owner's invitation is by the owner's name, the note by "you" on the named camera, and the maintenance
    # access by the security company, on the named camera, with no staff member or raw id anywhere
    expect(access_row(page, viewport, "user.invited")).to_contain_text(contract.owner.name)
    note_row = access_row(page, viewport, "note.created")
    expect(note_row).to_contain_text(text(viewport, "actor.you"))
    expect(note_row).to_contain_text(contract.camera_name)
    maintenance_row = access_row(page, viewport, "maintenance.access")
    expect(maintenance_row).to_contain_text(text(viewport, "actor.staff"))
    expect(maintenance_row).to_contain_text(contract.camera_name)
    log_text = " ".join(page.locator("#access-list").all_inner_texts())
    assert "usr_" not in log_text
    assert "cam_" not in log_text
    assert "stf_" not in log_text
    steps.menu("#logout")

    # When the owner opens the console
    steps = Steps(page, viewport, screenshots, prefix="names-owner-")
    log_in(page, steps, web_stack, contract.owner)
    open_console(page, steps)

    # Then the manager's note is by the manager's name, and the invite form offers both sites by name
    expect(access_row(page, viewport, "note.created")).to_contain_text(contract.manager.name)
    choices = page.locator("#invite-sites label")
    expect(choices).to_have_count(2)
    for site_id, site_name in contract.sites.items():
        choice = choices.filter(has=page.locator(f'input[value="{site_id}"]'))
        expect(choice).to_have_text(site_name)
    page.locator("#invite-sites").scroll_into_view_if_needed()
    steps.shot("invite-sites")

    # When the owner opens the camera with the note
    steps.menu("#nav-cameras")
    steps.press(page.locator(".camera-card").filter(has_text=contract.camera_name))
    expect(page.locator("#daybar-wrap")).to_be_visible()
    markers = page.locator("#daybar-markers-wrap")
    expect(markers).to_be_visible()
    if not markers.evaluate("details => details.open"):  # folded on a phone
        steps.press(page.locator("#daybar-markers-count"))

    # Then the day bar lists the note's text at its local time, as text (the markup made no element), its mark
    # carries the text as a title, and the marker is a button the keyboard reaches
    item = page.locator("#daybar-markers li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(NOTE_TEXT)
    expect(item.locator("time")).to_have_text(lambda_clock(page, item))
    assert page.locator("#daybar-markers b").count() == 0
    expect(page.locator("#daybar .bucket.nt")).to_have_count(1)
    expect(page.locator("#daybar .bucket.nt")).to_have_attribute("title", NOTE_TEXT)
    button = item.get_by_role("button")
    button.focus()
    expect(button).to_be_focused()
    steps.shot("day-bar-markers")

    # When the marker is pressed, the list jumps to that quarter hour
    with page.expect_request(lambda r: "/frames?" in r.url and "to=" in r.url):
        steps.press(button)
    steps.shot("jumped")


def lambda_clock(page: Page, item: Any) -> str:
    """The marker's time as the page should show it: HH:MM in Asia/Tokyo (the viewer's default zone)."""
    at = item.locator("time").get_attribute("datetime")
    return page.evaluate(
        "at => new Intl.DateTimeFormat(document.documentElement.lang || 'en', {hour: '2-digit', minute: '2-digit',"
        " hourCycle: 'h23', timeZone: 'Asia/Tokyo'}).format(new Date(at))",
        at,
    )
