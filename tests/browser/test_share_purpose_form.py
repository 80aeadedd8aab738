"""The share form's purpose (issue 15 point 6), in Chromium against the local stack, on a phone (Japanese) and a desktop
(English), each step checked with axe-core.

A camera without registered purposes offers only the statutory grounds, with a hint that an owner registers purposes;
once registered, its purposes come first. The list of links and the link's page name the purpose in words, with the
note. Each viewport uses a fresh tenant, so its camera starts unregistered whatever ran before.
"""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.viewer_support import VIEWPORTS, Account, Steps, log_in, text
from tests.local_stack.http import send
from tests.support.images import jpeg

pytestmark = pytest.mark.local_stack

GROUNDS = ["ground:art10-3-1", "ground:art10-3-2", "ground:art10-3-3", "ground:art10-3-4", "ground:art10-3-5"]


def offered(page) -> list[str]:
    return page.eval_on_selector("#share-purpose", "s => [...s.options].map((o) => o.value)")


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_the_share_form_offers_the_cameras_purposes_then_the_grounds(
    context_factory, web_stack, staff, screenshots, viewport_name
):
    viewport = VIEWPORTS[viewport_name]
    tenant = staff.new_tenant()
    status, frame = send(tenant, jpeg(label=f"share-purpose-{viewport_name}"))
    assert status == 201, frame
    frame_url = f"{web_stack['api_url']}/#/cameras/{tenant.camera_id}/frames/{frame['frame_id']}"
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="share-purpose-", role="owner")
    log_in(page, steps, web_stack, Account(tenant.login_id, tenant.password, "Owner", "owner"))

    # Given a frame of a camera without registered purposes: only the grounds are offered, and the hint says why
    page.goto(frame_url)
    expect(page.locator("#share-purpose option")).to_have_count(len(GROUNDS))  # once the frame is shown
    assert offered(page) == GROUNDS
    expect(page.locator("#share-purpose-hint")).to_have_text(text(viewport, "share.purpose_unregistered"))
    expect(page.locator("#share-purpose optgroup")).to_have_count(1)
    steps.shot("grounds-only")

    # When staff register the camera's purposes, and the owner opens the frame again
    registered = requests.put(
        f"{web_stack['api_url']}/v1/admin/cameras/{tenant.camera_id}/purposes",
        json={
            "purposes": ["safety", "crime_prevention", "other"],
            "other_text": "checking deliveries",
            "coverage": "the till",
            "people_filmed": True,
        },
        headers=staff.headers,
        timeout=30,
    )
    assert registered.status_code == 200, registered.text
    page.reload()
    expect(page.locator("#share-purpose option")).to_have_count(3 + len(GROUNDS))

    # Then the camera's purposes come first, in the fixed order, `other` by its own text, then the grounds
    assert offered(page) == ["purpose:crime_prevention", "purpose:safety", "purpose:other", *GROUNDS]
    expect(page.locator("#share-purpose option").nth(0)).to_have_text(text(viewport, "purpose.crime_prevention"))
    expect(page.locator("#share-purpose option").nth(2)).to_have_text("checking deliveries")
    expect(page.locator("#share-purpose-hint")).to_be_hidden()
    steps.shot("registered")

    # When the owner shares the frame for safety, with a note
    page.select_option("#share-purpose", "purpose:safety")
    page.get_by_label(text(viewport, "share.purpose_note")).fill("the fall by the till on 1 Dec")
    steps.press(page.locator("#share-form button[type=submit]"))
    expect(page.locator("#share-result")).to_be_visible()
    share_url = page.input_value("#share-url")
    share_id = page.locator("#share-result").get_attribute("data-share-id")
    steps.shot("created")

    # Then the list names the purpose in the page's language, with the note
    steps.menu("#nav-shares")
    listed = page.locator(f'#share-list li[data-share-id="{share_id}"]')
    kind = {"ja": "登録された利用目的", "en": "Registered purpose"}[viewport.lang]
    expect(listed.locator("strong")).to_have_text(
        f"{kind}: {text(viewport, 'purpose.safety')} · the fall by the till on 1 Dec"
    )
    steps.shot("shares")

    # and the link's page names it in both languages
    holder = context_factory(viewport).new_page()
    opened = holder.goto(share_url)
    assert opened is not None
    assert opened.status == 200
    facts = holder.locator("dl").inner_text()
    assert "登録された利用目的: 安全管理 / Registered purpose: Safety" in facts
    assert "the fall by the till on 1 Dec" in facts
    steps.shot("page", holder)
