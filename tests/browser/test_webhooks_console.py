"""The console's Webhooks section (issue 16 §3) in Chromium against the local stack, on a phone in Japanese and a
desktop in English, each page state checked with axe-core (serious and critical violations fail).

An owner without a site scope registers an endpoint at a receiver on 127.0.0.1 (the local stack's loopback setting).
A refusal is explained at the field the API names (no event chosen, then a private address). The secret is shown
once, then gone when the console is drawn again. A test event the receiver refuses is said as not delivered, with
the receiver's status. An endpoint doti turned off says so in words, with its reason; "Send test event" reaches the
receiver with a signature that verifies under the secret (the Standard Webhooks reference algorithm, written apart
from doti's), the row says how it went, with its latency, and the success turns the endpoint on again; the delivery
log lists both attempts. Rotating (a button that asks twice) shows a new
secret, which signs the next test beside the old one; deleting (asks twice) removes the endpoint. A manager, and an
owner with a site scope, see no Webhooks section and the page never asks its routes.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from tests.browser.viewer_support import (
    VIEWPORTS,
    Account,
    Steps,
    Viewport,
    counted,
    invite,
    log_in,
    stack_table,
    text,
)
from tests.support.webhook_receiver import Receiver, answer_status, running_receiver, verify_standard_webhook

pytestmark = pytest.mark.local_stack

REFUSED_URL = "https://10.0.0.1/x"  # a private address: 422 naming `url`
DISABLED_REASON = "every delivery failed since yesterday (test)"
FAILURES = 8


def make_disabled(web_stack: dict[str, Any], webhook_id: str) -> None:
    """Turns the endpoint off in the stack's table as doti.webhooks.dispatch.disable does, after a day of failures."""
    ddb, table = stack_table(web_stack, "WebhooksTable")
    now = datetime.now(UTC)
    stamp = "%Y-%m-%dT%H:%M:%S.%f+0000"  # PynamoDB's format
    ddb.update_item(
        TableName=table,
        Key={"webhook_id": {"S": webhook_id}, "sort_key": {"S": "endpoint"}},
        UpdateExpression="SET #status = :disabled, disabled_at = :now, disabled_reason = :reason, "
        "consecutive_failures = :failures, failing_since = :since",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":disabled": {"S": "disabled"},
            ":now": {"S": now.strftime(stamp)},
            ":reason": {"S": DISABLED_REASON},
            ":failures": {"N": str(FAILURES)},
            ":since": {"S": (now - timedelta(days=1)).strftime(stamp)},
        },
    )


def posted(page: Page, suffix: str) -> Any:
    """Waits for the page's POST to a webhook route ending in `suffix`."""
    return page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(suffix))


def row_of(page: Page, webhook_id: str) -> Locator:
    return page.locator(f'#webhook-list li[data-webhook-id="{webhook_id}"]')


def press_twice(steps: Steps, button: Locator, viewport: Viewport, label_key: str, says: Locator | None = None) -> None:
    """A destructive button: the first press asks again in its own words (and shows what `says`), the second acts."""
    steps.press(button)
    expect(button).to_have_attribute("data-armed", "1")
    expect(button).to_have_text(text(viewport, "confirm.really", action=text(viewport, label_key)))
    if says is not None:
        expect(says).to_be_visible()
    steps.check(steps.page, f"{label_key} asks")  # axe only: a phone's full-page shot of the console takes seconds
    steps.press(button)


def send_test_event(page: Page, steps: Steps, row: Locator, receiver: Receiver, secret: str) -> dict[str, Any]:
    """Presses "Send test event"; the attempt the API answered, after checking what the receiver got was signed."""
    before = len(receiver.received)
    with posted(page, "/test") as tested:
        steps.press(row.locator('button[data-action="test"]'))
    attempt = tested.value.json()
    assert attempt["ok"] is True, attempt
    assert len(receiver.received) == before + 1
    got = receiver.received[-1]
    assert verify_standard_webhook(secret, got.headers, got.body)
    assert got.headers["webhook-id"] == attempt["event_id"]
    assert json.loads(got.body)["type"] == "webhook.test"
    return attempt


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_an_owner_registers_tests_reenables_reads_the_log_of_rotates_and_deletes_a_webhook(
    context_factory, web_stack, demo_owner, screenshots, viewport_name
):
    viewport = VIEWPORTS[viewport_name]
    # Given an owner without a site scope, in the console
    owner = invite(web_stack, demo_owner, "owner")
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="webhooks-")
    log_in(page, steps, web_stack, owner)
    with page.expect_response(lambda r: r.url.endswith("/v1/webhooks") and r.request.method == "GET"):
        steps.menu("#nav-console")
    expect(page.locator("#console-webhooks")).to_be_visible()
    expect(page.locator("#webhooks-heading")).to_have_text(text(viewport, "webhooks.heading"))
    expect(page.locator("#webhook-event-choices input[type=checkbox]")).to_have_count(7)
    steps.shot("console")

    # When they ask for a webhook with no event chosen
    page.fill("#webhook-url", REFUSED_URL)
    with posted(page, "/v1/webhooks") as refused:
        steps.press(page.locator("#webhook-form button[type=submit]"))

    # Then the API's refusal is said at the events
    assert refused.value.status == 422
    assert refused.value.json()["error"]["details"]["field"] == "events"
    expect(page.locator("#webhook-events-error")).to_have_text(text(viewport, "webhooks.events_missing"))
    expect(page.locator("#webhook-url-error")).to_be_hidden()

    # When they choose an event for the webhook to a private address
    page.check("#webhook-event-camera-offline")
    with posted(page, "/v1/webhooks") as refused:
        steps.press(page.locator("#webhook-form button[type=submit]"))

    # Then the refusal is said at the URL field, which is marked invalid, and nothing is registered
    assert refused.value.status == 422
    assert refused.value.json()["error"]["details"]["field"] == "url"
    reason = refused.value.json()["error"]["message"]
    expect(page.locator("#webhook-url-error")).to_have_text(text(viewport, "webhooks.url_refused", reason=reason))
    expect(page.locator("#webhook-url")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#webhook-events-error")).to_be_hidden()
    expect(page.locator("#webhook-list li")).to_have_count(0)
    steps.shot("refused")

    answers = [answer_status(204)]  # how the receiver answers now: the test changes it

    def answer_as_told(handler: Any) -> None:
        answers[0](handler)

    with running_receiver(answer_as_told) as receiver:
        # When they register the receiver's URL for camera.offline and device.event
        page.fill("#webhook-url", receiver.url())
        page.check("#webhook-event-device-event")
        with posted(page, "/v1/webhooks") as made:
            steps.press(page.locator("#webhook-form button[type=submit]"))
        assert made.value.status == 201, made.value.text()
        created = made.value.json()
        secret, webhook_id = created["secret"], created["webhook_id"]
        assert created["events"] == ["camera.offline", "device.event"]

        # Then the secret is shown once, copyable and read-only, with the warning; the error is gone; the endpoint is
        # listed, active in words, with its events in words
        expect(page.locator("#webhook-secret")).to_be_visible()
        expect(page.locator("#webhook-secret-value")).to_have_value(secret)
        expect(page.locator("#webhook-secret-value")).to_have_attribute("readonly", "")
        expect(page.locator("#webhook-secret-warning")).to_have_text(text(viewport, "webhooks.secret_once"))
        expect(page.locator("#webhook-url-error")).to_be_hidden()
        expect(page.locator("#webhook-url")).not_to_have_attribute("aria-invalid", "true")
        row = row_of(page, webhook_id)
        expect(row).to_contain_text(receiver.url())
        expect(row.locator(".badge.webhook-active")).to_have_text(text(viewport, "webhooks.status.active"))
        for event in ("camera.offline", "device.event"):
            expect(row).to_contain_text(text(viewport, f"webhooks.event.{event}"))
        expect(row).to_contain_text(text(viewport, "webhooks.never_succeeded"))
        steps.shot("secret")

        # When the receiver fails and they send a test event
        answers[0] = answer_status(503)
        with posted(page, "/test") as failed:
            steps.press(row.locator('button[data-action="test"]'))

        # Then the row says in words that it was not delivered, with the receiver's answer and the latency
        attempt = failed.value.json()
        assert attempt["ok"] is False
        assert attempt["status"] == 503
        attempt_error = attempt["error"]
        what = f"HTTP 503 ({attempt_error})"
        expect(row.locator(".webhook-test-result")).to_have_text(
            text(viewport, "webhooks.test_failed", what=what, ms=f"{attempt['latency_ms']:,}")
        )
        expect(row.locator(".badge.webhook-active")).to_be_visible()  # a test counts no failure against the endpoint
        steps.check(page, "test failed")
        answers[0] = answer_status(204)

        # When deliveries to it have failed for over a day and doti turned it off (written into the stack's table:
        # the webhooks function gives up only after a day of retries), and they leave the console and come back
        make_disabled(web_stack, webhook_id)
        steps.menu("#nav-cameras")
        expect(page.locator("#webhook-secret-value")).to_have_value("")
        steps.menu("#nav-console")

        # Then the secret is no longer anywhere in the page, and the row says in words that the endpoint is
        # disabled, why, and how many attempts failed in a row
        expect(page.locator("#webhook-secret")).to_be_hidden()
        expect(page.locator("#webhook-secret-value")).to_have_value("")
        expect(row.locator(".badge.webhook-disabled")).to_have_text(text(viewport, "webhooks.status.disabled"))
        expect(row).to_contain_text(text(viewport, "webhooks.reason", reason=DISABLED_REASON))
        expect(row).to_contain_text(counted(viewport, "webhooks.failures", FAILURES).split("{time}")[0])
        steps.shot("disabled")

        # When the receiver works again and they send a test event
        attempt = send_test_event(page, steps, row, receiver, secret)

        # Then the row says it was delivered, with the receiver's status and the latency, and the success turned the
        # endpoint on again
        ms = f"{attempt['latency_ms']:,}"  # as the page formats numbers (ja-JP and en-GB group alike)
        expect(row.locator(".webhook-test-result")).to_have_text(
            text(viewport, "webhooks.test_ok", status="204", ms=ms)
        )
        expect(row.locator(".badge.webhook-active")).to_have_text(text(viewport, "webhooks.status.active"))
        expect(row).not_to_contain_text(DISABLED_REASON)
        expect(row).not_to_contain_text(text(viewport, "webhooks.never_succeeded"))
        steps.check(page, "tested")

        # When they open the delivery log
        steps.press(row.locator('button[data-action="log"]'))

        # Then it lists both attempts, newest first: each its event in words, attempt 1, the outcome in words, the
        # status and latency, and the failed one's error
        entries = row.locator(".deliveries li")
        expect(entries).to_have_count(2)
        delivered, refused = entries.nth(0), entries.nth(1)
        for entry in (delivered, refused):
            expect(entry).to_contain_text(text(viewport, "webhooks.event.webhook.test"))
            expect(entry).to_contain_text(text(viewport, "webhooks.attempt", n="1"))
        expect(delivered.locator(".badge")).to_have_text(text(viewport, "webhooks.delivered"))
        expect(delivered).to_contain_text("HTTP 204")
        expect(delivered).to_contain_text(text(viewport, "webhooks.latency", ms=ms))
        expect(refused.locator(".badge")).to_have_text(text(viewport, "webhooks.failed"))
        expect(refused).to_contain_text("HTTP 503")
        expect(refused.locator(".delivery-error")).to_have_text(attempt_error)
        expect(row.locator('button[data-action="log"]')).to_have_attribute("aria-expanded", "true")
        steps.shot("log")

        # When they rotate the secret (the button asks twice, saying the old secret works 24 hours more)
        rotate = row.locator('button[data-action="rotate"]')
        with posted(page, "/rotate") as rotated:
            press_twice(steps, rotate, viewport, "webhooks.rotate", says=page.locator(f"#rotate-hint-{webhook_id}"))

        # Then a new secret is shown once, with until when the old one still signs; the button no longer asks
        new_secret = rotated.value.json()["secret"]
        assert new_secret.startswith("whsec_")
        assert new_secret != secret
        expect(page.locator("#webhook-secret-value")).to_have_value(new_secret)
        expect(page.locator("#webhook-secret-overlap")).to_be_visible()
        expect(rotate).to_have_text(text(viewport, "webhooks.rotate"))  # the row drawn again
        expect(rotate).to_be_enabled()
        steps.shot("rotated")

        # And the next test event is signed with both secrets, and the open log lists both attempts
        send_test_event(page, steps, row, receiver, new_secret)
        got = receiver.received[-1]
        assert verify_standard_webhook(secret, got.headers, got.body)
        expect(row.locator(".deliveries li")).to_have_count(3)

    # When they delete the endpoint (the button asks twice)
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        press_twice(steps, row.locator('button[data-action="delete"]'), viewport, "webhooks.delete")

    # Then it is gone from the list and from the API, and so is the new secret shown for it
    assert deleted.value.status == 204
    expect(row).to_have_count(0)
    expect(page.locator("#webhook-secret")).to_be_hidden()
    expect(page.locator("#webhook-secret-value")).to_have_value("")
    listed = requests.get(web_stack["api_url"] + "/v1/webhooks", headers=bearer(page), timeout=30)
    assert webhook_id not in [hook["webhook_id"] for hook in listed.json()["items"]]
    steps.shot("deleted")


def bearer(page: Page) -> dict[str, str]:
    """The page's own session, to ask the API what the page shows."""
    return {"Authorization": "Bearer " + page.evaluate("() => sessionStorage.getItem('doti.session')")}


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_an_owner_chooses_the_events_mailed_to_the_contract(
    context_factory, web_stack, demo_owner, screenshots, viewport_name
):
    viewport = VIEWPORTS[viewport_name]
    # Given an owner in the console, who has chosen no e-mail alerts yet
    owner = invite(web_stack, demo_owner, "owner")
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="alerts-")
    log_in(page, steps, web_stack, owner)
    with page.expect_response(lambda r: r.url.endswith("/v1/alerts/mail")):
        steps.menu("#nav-console")
    section = page.locator("#console-alerts")
    expect(section).to_be_visible()
    expect(page.locator("#alert-choices input[type=checkbox]")).to_have_count(2)
    for event in ("camera.offline", "device.event"):
        expect(section).to_contain_text(text(viewport, f"webhooks.event.{event}"))
        expect(page.locator(f"#alert-{event.replace('.', '-')}")).not_to_be_checked()
    steps.shot("alerts")

    # When they tick "camera offline" and save
    page.check("#alert-camera-offline")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.url.endswith("/v1/alerts/mail")) as saved:
        steps.press(page.locator("#alerts-form button[type=submit]"))

    # Then the choice is saved and said so, and it is what the console shows when it is opened again
    assert saved.value.status == 200, saved.value.text()
    assert saved.value.json()["events"] == ["camera.offline"]
    expect(page.locator("#alerts-saved")).to_have_text(text(viewport, "alerts.saved"))
    steps.shot("saved")
    page.reload()
    expect(page.locator("#alert-camera-offline")).to_be_checked()
    expect(page.locator("#alert-device-event")).not_to_be_checked()


@pytest.mark.parametrize("who", ["manager", "site-owner"])
def test_a_manager_or_an_owner_with_a_site_scope_sees_no_webhooks_and_the_page_never_asks(
    context_factory, web_stack, demo_owner, screenshots, who
):
    # Given a manager, or an owner limited to one site, in the console
    viewport = VIEWPORTS["desktop"]
    account: Account = (
        invite(web_stack, demo_owner, "manager")
        if who == "manager"
        else invite(web_stack, demo_owner, "owner", site_ids=[web_stack["site_id"]])
    )
    page = context_factory(viewport).new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if re.search(r"/v1/webhooks\b", r.url) else None)
    steps = Steps(page, viewport, screenshots, prefix=f"webhooks-{who}-", role=who)
    log_in(page, steps, web_stack, account)
    with page.expect_response(lambda r: r.url.endswith("/v1/deletions")):  # asked beside webhooks, if they were
        steps.menu("#nav-console")
    expect(page.locator("#console-deletions")).to_be_visible()

    # Then there is no Webhooks section, and the page asked none of its routes; e-mail alerts are the owner's, whatever
    # the site scope (they go to the contract's address, not to a receiver that hears every site)
    expect(page.locator("#console-webhooks")).to_be_hidden()
    assert asked == []
    expect(page.locator("#console-alerts")).to_be_visible(visible=who == "site-owner")
    steps.shot("console")
