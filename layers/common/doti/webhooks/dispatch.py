"""Telling endpoints (issue 16 §3): fan an event out to the contract's endpoints, deliver it, retry, give up.

The webhooks function takes an event off the events queue and puts one delivery message per subscribed, active
endpoint on the deliveries queue (`fan_out`). Each delivery message is one attempt (`deliver`): it signs the payload
(Standard Webhooks, every secret in use), checks the URL again (SSRF: what a name resolves to may have changed since
it was registered) and sends it. A failure comes back after the next step of BACKOFF (Standard Webhooks' own
schedule: more than 27 hours in all); SQS delays a message at most 15 minutes, so a longer wait is re-delayed in
steps, each message carrying when it is due (`not_before`). After the last attempt fails, the message is kept in the
dead-letter queue and the endpoint, failing for over a day, is disabled, with a notice to the contract and an audit
entry. A successful test event (`send_test`) enables it again.

SQS delivers at least once: a delivery message handled twice sends its event twice with the same `webhook-id`,
which receivers drop (Standard Webhooks asks them to). Every write here is safe to repeat.
"""

from __future__ import annotations

import json
import math
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from doti.clock import format_rfc3339, parse_rfc3339
from doti.contracts import contract_states, notices, terms
from doti.contracts.contract_states import Capability
from doti.entities import Webhook, WebhookAttempt
from doti.errors import Conflict, NotFound, ValidationError
from doti.oversight import audit
from doti.store import frames as frames_store
from doti.store import webhooks as store
from doti.store.objects import Storage
from doti.store.webhooks import SqsDeliveries, WebhookSecretBox
from doti.viewing.frames import sign_frame
from doti.webhooks import delivery, endpoints, signing
from doti.webhooks.events import WEBHOOK_TEST, Event, event_id, from_message

# Standard Webhooks' retry schedule: the wait before attempt n+1 is BACKOFF[n] (attempt 1 goes at once).
BACKOFF: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(BACKOFF)
MAX_SQS_DELAY = 900  # SQS's DelaySeconds ceiling
SYSTEM_ACTOR = audit.job_actor("webhooks")

DELIVERED, RETRYING, GAVE_UP, WAITING, DROPPED = "delivered", "retrying", "gave_up", "waiting", "dropped"


@dataclass(frozen=True)
class Deliverer:
    """What a delivery needs: the secrets' box, the frames bucket (image links), the queue, and the URL rules."""

    box: WebhookSecretBox
    storage: Storage
    queue: SqsDeliveries
    allow_loopback: bool = False
    resolver: delivery.Resolver = delivery.resolve
    ssl_context: ssl.SSLContext | None = None  # tests trust their own CA


def fan_out(event: Event, *, queue: SqsDeliveries) -> int:
    """Queue one delivery of `event` per active endpoint of its contract subscribed to its type; how many."""
    subscribed = [
        w
        for w in store.webhooks_of_contract(event.contract_id)
        if w.status == endpoints.ACTIVE and event.type in w.events
    ]
    queue.send([_message(w.webhook_id, event, 1) for w in subscribed])
    return len(subscribed)


def _message(webhook_id: str, event: Event, attempt: int, not_before: datetime | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"webhook_id": webhook_id, "event": event.to_message(), "attempt": attempt}
    if not_before is not None:
        message["not_before"] = format_rfc3339(not_before)
    return message


def deliver(message: Mapping[str, Any], *, deliverer: Deliverer, now: datetime) -> str:
    """One delivery message: wait longer, attempt, schedule the retry, or give up. What happened (DELIVERED, ...)."""
    not_before = parse_rfc3339(message["not_before"], "not_before") if message.get("not_before") else None
    if not_before is not None and not_before > now:
        deliverer.queue.send([dict(message)], delay_seconds=_delay(not_before, now))
        return WAITING
    try:
        webhook = store.get_webhook(str(message["webhook_id"]))
    except NotFound:
        return DROPPED  # removed since: its events go nowhere
    if webhook.status != endpoints.ACTIVE:
        return DROPPED
    event = from_message(message["event"])
    number = int(message["attempt"])
    if attempt(webhook, event, number, deliverer=deliverer, now=now).ok:
        store.record_success(webhook.webhook_id, now)
        return DELIVERED
    store.record_failure(webhook.webhook_id, now)
    if number < MAX_ATTEMPTS:
        due = now + BACKOFF[number]
        deliverer.queue.send([_message(webhook.webhook_id, event, number + 1, due)], delay_seconds=_delay(due, now))
        return RETRYING
    deliverer.queue.dead_letter(dict(message))
    disable(webhook.webhook_id, event, now=now)
    return GAVE_UP


def _delay(due: datetime, now: datetime) -> int:
    return max(0, min(MAX_SQS_DELAY, math.ceil((due - now).total_seconds())))


def attempt(webhook: Webhook, event: Event, number: int, *, deliverer: Deliverer, now: datetime) -> WebhookAttempt:
    """Sign and send `event` to the endpoint once, and log the attempt (its delivery log)."""
    body = json.dumps(event.payload(_image_link(webhook, event, deliverer.storage, now)), separators=(",", ":"))
    payload = body.encode()
    try:
        checked = delivery.check_url(webhook.url, allow_loopback=deliverer.allow_loopback, resolver=deliverer.resolver)
    except ValidationError as exc:
        result = delivery.DeliveryResult(None, 0, f"not sent: {exc.message}")
    else:
        secrets = endpoints.secrets_in_use(webhook, deliverer.box, now)
        headers = signing.headers(secrets, event.event_id, int(now.timestamp()), payload)
        headers["Content-Type"] = "application/json"
        result = delivery.send(checked, payload, headers, ssl_context=deliverer.ssl_context)
    logged = WebhookAttempt(
        webhook_id=webhook.webhook_id,
        attempted_at=now,
        event_id=event.event_id,
        event_type=event.type,
        attempt=number,
        ok=result.ok,
        latency_ms=result.latency_ms,
        expires_at=now + endpoints.ATTEMPT_KEEP,
        status=result.status,
        error=result.error,
    )
    store.add_attempt(logged)
    return logged


def _image_link(webhook: Webhook, event: Event, storage: Storage, now: datetime) -> dict[str, Any]:
    """The frame's thumbnail, signed for the contract's link lifetime, when the owner turned image links on for the
    endpoint and the contract is serving; nothing when the frame has gone (expired, taken down)."""
    if not (webhook.include_image_links and event.frame_id and event.camera_id):
        return {}
    contract = terms.get_contract(webhook.contract_id)
    if contract_states.refusal(contract, Capability.SERVING, now) is not None:
        return {}
    try:
        frame = frames_store.get_frame(event.camera_id, event.frame_id)
    except NotFound:
        return {}
    if frame.contract_id != webhook.contract_id:
        return {}
    signed = sign_frame(frame, storage, contract.signed_url_ttl, now)
    return {"thumbnail_url": signed.thumbnail_url, "thumbnail_url_expires_at": format_rfc3339(signed.url_expires_at)}


def disable(webhook_id: str, event: Event, *, now: datetime) -> bool:
    """Disable an endpoint whose event failed every attempt, with a notice to its contract, once; False if it was
    no longer active."""
    webhook = store.get_webhook(webhook_id)
    if webhook.status != endpoints.ACTIVE:
        return False
    since = webhook.failing_since or now
    reason = f"every delivery failed since {format_rfc3339(since)} (event {event.event_id}, {MAX_ATTEMPTS} attempts)"
    title = "A webhook was turned off / Webhook を停止しました"
    body = (
        f"Deliveries to {webhook.url} have failed since {format_rfc3339(since)}: doti stopped sending to it. Check the "
        "receiver, then send a test event from the viewer (Console → Webhooks): when it succeeds the webhook is on "
        "again. Its delivery log says what failed.\n\n"
        f"{webhook.url} への送信が {format_rfc3339(since)} から失敗し続けたため、送信を停止しました。受信側を確認し、"
        "ビューアーの「コンソール → Webhook」からテストイベントを送ってください。成功すると再開します。"
    )
    draft = notices.draft(
        audience=webhook.contract_id, kind="webhook_disabled", title=title, body=body, actor=SYSTEM_ACTOR, now=now
    )

    def prepare() -> audit.StateWrite:
        if store.get_webhook(webhook_id).status != endpoints.ACTIVE:
            raise Conflict("the webhook is not active")

        def add(transaction: Any) -> None:
            store.add_disable(transaction, webhook_id, reason, now)
            notices.stage(transaction, draft)

        return audit.StateWrite(add, {"url": webhook.url, "reason": reason, "notice_id": draft.notice_id})

    try:
        audit.record_with(
            webhook.contract_id,
            actor=SYSTEM_ACTOR,
            action="webhook.disabled",
            subject=webhook_id,
            now=now,
            prepare=prepare,
        )
    except Conflict:
        return False
    return True


def send_test(contract_id: str, webhook_id: str, *, deliverer: Deliverer, actor: str, now: datetime) -> WebhookAttempt:
    """Send a `webhook.test` event to the endpoint now, once (no retries), and log it; a success enables an endpoint
    that was disabled for failing."""
    webhook = endpoints.webhook_of(contract_id, webhook_id)
    event = Event(
        WEBHOOK_TEST,
        event_id(WEBHOOK_TEST, webhook_id, format_rfc3339(now)),
        now,
        contract_id,
        data={"webhook_id": webhook_id, "message": "A test event from doti: this endpoint receives and verifies."},
    )
    result = attempt(webhook, event, 1, deliverer=deliverer, now=now)
    if result.ok and webhook.status != endpoints.ACTIVE:
        _enable(webhook, actor=actor, now=now)
    elif result.ok:
        store.record_success(webhook_id, now)
    return result


def _enable(webhook: Webhook, *, actor: str, now: datetime) -> None:
    def prepare() -> audit.StateWrite:
        if store.get_webhook(webhook.webhook_id).status == endpoints.ACTIVE:
            raise Conflict("the webhook is active")
        return audit.StateWrite(lambda t: store.add_enable(t, webhook.webhook_id, now), {"url": webhook.url})

    try:
        audit.record_with(
            webhook.contract_id,
            actor=actor,
            action="webhook.enabled",
            subject=webhook.webhook_id,
            now=now,
            prepare=prepare,
        )
    except Conflict:
        return
