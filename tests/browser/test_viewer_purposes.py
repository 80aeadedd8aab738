"""The purpose registry in the viewer (Art. 2-4, issue 15 point 1), in Chromium against the local stack, on a phone
(Japanese) and a desktop (English), each step checked with axe-core.

A camera without registered purposes shows a warning to every role, on its tile and above its timeline; only the
owner gets the form to register them (a viewer sees no control it cannot use), and once registered the warning goes
and the summary says what is registered. The owner's and the manager's console show the operator and the inquiry
contact that staff record on the contract, or that staff have not recorded them yet. Each viewport uses a fresh
tenant, so its camera starts unregistered and its contract without an operator whatever ran before.
"""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.viewer_support import VIEWPORTS, Account, Steps, invite, log_in, text
from tests.local_stack.http import Customer

pytestmark = pytest.mark.local_stack


def open_camera(page: Page, steps: Steps) -> None:
    tile = page.locator(".camera-tile").first
    expect(tile.locator(".purpose-warning")).to_be_visible()
    steps.shot("cameras")
    steps.press(tile.locator(".camera-card"))
    expect(page.locator("#view-timeline")).to_be_visible()
    expect(page.locator("#purposes-warning")).to_be_visible()


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_the_owner_registers_a_cameras_purposes_and_the_warning_goes(
    context_factory, web_stack, staff, screenshots, viewport_name
):
    viewport = VIEWPORTS[viewport_name]
    tenant = staff.new_tenant()
    owner = Account(tenant.login_id, tenant.password, "Owner", "owner")
    viewer = invite(web_stack, Customer(web_stack["api_url"], owner.login_id, owner.password), "viewer")

    # Given a viewer of a camera without registered purposes: they see the warning but no form
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="purposes-viewer-", role="viewer")
    log_in(page, steps, web_stack, viewer)
    open_camera(page, steps)
    expect(page.locator("#purposes-warning")).to_have_text(text(viewport, "purposes.missing"))
    expect(page.locator("#purposes-panel")).to_be_hidden()
    expect(page.locator("#purposes-form")).to_be_hidden()
    steps.shot("timeline")

    # When the owner opens the camera: the warning, and the form open beneath it
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="purposes-owner-", role="owner")
    log_in(page, steps, web_stack, owner)
    open_camera(page, steps)
    expect(page.locator("#purposes-form")).to_be_visible()
    steps.shot("form")

    # And registers two purposes and `other` with its text, what it covers, and that people are filmed
    form = page.locator("#purposes-form")
    for code in ("crime_prevention", "safety", "other"):
        form.get_by_label(text(viewport, f"purpose.{code}"), exact=True).check()
    form.get_by_label(text(viewport, "purposes.other_text")).fill("checking deliveries")
    form.get_by_label(text(viewport, "purposes.coverage")).fill("the till and the entrance")
    form.get_by_label(text(viewport, "purposes.people_yes"), exact=True).check()
    with page.expect_response(lambda r: r.url.endswith("/purposes") and r.request.method == "PUT") as saved:
        steps.press(form.locator("button[type=submit]"))

    # Then the camera is registered: the warning is gone and the purposes are shown in the page's language, "other"
    # named as such before its text, with what the camera covers and that it films people
    assert saved.value.status == 200, saved.value.text()
    assert saved.value.json()["purposes"] == ["crime_prevention", "safety", "other"]
    expect(page.locator("#purposes-warning")).to_be_hidden()
    named = [text(viewport, "purpose.crime_prevention"), text(viewport, "purpose.safety")]
    named.append(text(viewport, "purposes.other_named", text="checking deliveries"))
    expect(page.locator("#purposes-summary")).to_have_text(
        " · ".join(
            [
                text(viewport, "purposes.summary", purposes=" / ".join(named)),
                "the till and the entrance",
                text(viewport, "purposes.people_filmed_yes"),
            ]
        )
    )
    steps.shot("registered")

    # And when the owner says the camera films no one, the summary says so
    steps.press(page.locator("#purposes-panel summary"))
    form.get_by_label(text(viewport, "purposes.people_no"), exact=True).check()
    with page.expect_response(lambda r: r.url.endswith("/purposes") and r.request.method == "PUT") as saved:
        steps.press(form.locator("button[type=submit]"))
    assert saved.value.status == 200, saved.value.text()
    expect(page.locator("#purposes-summary")).to_contain_text(text(viewport, "purposes.people_filmed_no"))

    # And the camera list no longer warns, nor does the viewer's
    steps.menu("#nav-cameras")
    expect(page.locator(".camera-tile").first).to_be_visible()
    expect(page.locator(".camera-tile .purpose-warning")).to_have_count(0)
    steps.shot("cameras-registered")


def open_console(page: Page, steps: Steps) -> None:
    steps.menu("#nav-console")
    expect(page.locator("#view-console")).to_be_visible()


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_the_console_shows_owners_and_managers_the_operator_and_inquiry_contact_staff_recorded(
    context_factory, web_stack, staff, screenshots, viewport_name
):
    viewport = VIEWPORTS[viewport_name]
    tenant = staff.new_tenant()
    owner = Account(tenant.login_id, tenant.password, "Owner", "owner")
    manager = invite(web_stack, Customer(web_stack["api_url"], owner.login_id, owner.password), "manager")
    contract_url = f"{web_stack['api_url']}/v1/admin/contracts/{tenant.contract_id}"
    contract_name = requests.get(contract_url, headers=staff.headers, timeout=30).json()["name"]

    # Given a contract on which staff recorded neither: the owner's console says so, and that the notice page names
    # the contract meanwhile
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="operator-owner-", role="owner")
    log_in(page, steps, web_stack, owner)
    open_console(page, steps)
    expect(page.locator("#operator-missing")).to_have_text(text(viewport, "operator.missing"))
    expect(page.locator("#operator-name")).to_have_text(text(viewport, "operator.unset_name", name=contract_name))
    expect(page.locator("#operator-contact")).to_have_text(text(viewport, "operator.unset"))
    steps.shot("unset")

    # When staff record them
    recorded = {"operator_name": "喫茶ほし合同会社", "inquiry_contact": "privacy@hoshi.example / 03-1234-5678"}
    patched = requests.patch(contract_url, json=recorded, headers=staff.headers, timeout=30)
    assert patched.status_code == 200, patched.text

    # Then the owner sees them the next time the console opens, in the same session, and the warning is gone
    steps.menu("#nav-cameras")
    expect(page.locator("#view-cameras")).to_be_visible()
    open_console(page, steps)
    expect(page.locator("#operator-name")).to_have_text(recorded["operator_name"])
    expect(page.locator("#operator-contact")).to_have_text(recorded["inquiry_contact"])
    expect(page.locator("#operator-missing")).to_be_hidden()
    steps.shot("recorded")

    # And a manager's console shows them too
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="operator-manager-", role="manager")
    log_in(page, steps, web_stack, manager)
    open_console(page, steps)
    expect(page.locator("#operator-name")).to_have_text(recorded["operator_name"])
    expect(page.locator("#operator-contact")).to_have_text(recorded["inquiry_contact"])
    expect(page.locator("#operator-missing")).to_be_hidden()
    steps.shot("recorded")
