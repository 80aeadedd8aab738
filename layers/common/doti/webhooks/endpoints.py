"""Webhook endpoints (issue 16 §3): what an owner (or staff, for a contract) registers, rotates, tests and removes.

An endpoint is an HTTPS URL that passed the SSRF checks of doti.webhooks.delivery, the event types it subscribes to
(doti.webhooks.events.EVENT_TYPES), and whether its payloads may carry signed thumbnail links. Its secret
(`whsec_...`, Standard Webhooks) is shown once, when it is made or rotated, and otherwise kept sealed with KMS. A
rotation keeps the previous secret signing beside the new one for ROTATION_OVERLAP, so a receiver can switch without
dropping a message. Every change commits with its customer-visible audit entry.

Owners reach these through `for_owner`, which holds the customer rules (the owner role, no site scope: an endpoint
hears of every site, and an open account); staff name the contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from doti import ids
from doti.accounts import roles
from doti.accounts.roles import Permission
from doti.clock import format_rfc3339
from doti.contracts import terms
from doti.entities import User, Webhook, WebhookAttempt
from doti.errors import Conflict, Forbidden, NotFound, ValidationError
from doti.oversight import audit
from doti.store import webhooks as store
from doti.store.webhooks import WebhookSecretBox
from doti.webhooks import delivery, signing
from doti.webhooks.events import EVENT_TYPES

MAX_WEBHOOKS_PER_CONTRACT = 10
ROTATION_OVERLAP = timedelta(hours=24)
LOG_LIMIT = 100  # the delivery log shows an endpoint's last 100 attempts
ATTEMPT_KEEP = timedelta(days=30)
ACTIVE = "active"  # or "disabled" (doti.webhooks.dispatch turns an endpoint off)
_WEBHOOK_ID = re.compile(r"whk_[0-9a-z]{20}")  # doti.ids.new_id("whk")


@dataclass(frozen=True)
class EndpointRequest:
    url: str
    events: frozenset[str]
    include_image_links: bool


@dataclass(frozen=True)
class IssuedSecret:
    """An endpoint and its new secret, which the API shows this once."""

    webhook: Webhook
    secret: str


def read_request(
    url: str, events: Iterable[str], include_image_links: bool, *, allow_loopback: bool
) -> EndpointRequest:
    """The endpoint a body asks for; ValidationError naming `url` or `events` otherwise.

    The URL is checked now (scheme, host, every address it resolves to) and again before every delivery, since
    what a name resolves to may change. A name that does not resolve yet is accepted: its receiver may not be up.
    """
    chosen = list(events)
    unknown = sorted({e for e in chosen if e not in EVENT_TYPES})
    if unknown or not chosen:
        raise ValidationError(
            "events must list one or more of: " + ", ".join(EVENT_TYPES),
            field="events",
            unknown=unknown,
            allowed=list(EVENT_TYPES),
        )
    delivery.check_url(url, allow_loopback=allow_loopback, require_resolution=False)
    return EndpointRequest(url, frozenset(chosen), bool(include_image_links))


def create(
    contract_id: str, request: EndpointRequest, *, box: WebhookSecretBox, actor: str, now: datetime
) -> IssuedSecret:
    contract = terms.get_contract(contract_id)
    terms.require_serving(contract, now)
    if len(store.webhooks_of_contract(contract_id)) >= MAX_WEBHOOKS_PER_CONTRACT:
        raise Conflict(f"a contract has at most {MAX_WEBHOOKS_PER_CONTRACT} webhooks", limit=MAX_WEBHOOKS_PER_CONTRACT)
    webhook_id = ids.new_id("whk")
    secret = signing.new_secret()
    webhook = Webhook(
        webhook_id=webhook_id,
        contract_id=contract_id,
        url=request.url,
        events=request.events,
        include_image_links=request.include_image_links,
        status=ACTIVE,
        secret_ciphertext=box.seal(webhook_id, secret),
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    details = {"url": request.url, "events": sorted(request.events), "include_image_links": request.include_image_links}
    audit.record_with(
        contract_id,
        actor=actor,
        action="webhook.created",
        subject=webhook_id,
        now=now,
        prepare=lambda: audit.StateWrite(lambda t: store.add_new_webhook(t, webhook), details),
    )
    return IssuedSecret(webhook, secret)


def list_of(contract_id: str) -> list[Webhook]:
    terms.get_contract(contract_id)
    return sorted(store.webhooks_of_contract(contract_id), key=lambda w: (w.created_at, w.webhook_id))


def webhook_of(contract_id: str, webhook_id: str) -> Webhook:
    """The contract's endpoint; another contract's is NotFound, as one that does not exist."""
    webhook = _find(webhook_id)
    if webhook is None or webhook.contract_id != contract_id:
        raise NotFound("webhook not found")
    return webhook


def _find(webhook_id: str) -> Webhook | None:
    if not _WEBHOOK_ID.fullmatch(webhook_id):
        return None
    try:
        return store.get_webhook(webhook_id)
    except NotFound:
        return None


def delete(contract_id: str, webhook_id: str, *, actor: str, now: datetime) -> None:
    webhook = webhook_of(contract_id, webhook_id)
    store.delete_attempts(webhook_id)
    audit.record_with(
        contract_id,
        actor=actor,
        action="webhook.deleted",
        subject=webhook_id,
        now=now,
        prepare=lambda: audit.StateWrite(lambda t: store.add_removal(t, webhook_id), {"url": webhook.url}),
    )


def rotate(contract_id: str, webhook_id: str, *, box: WebhookSecretBox, actor: str, now: datetime) -> IssuedSecret:
    """A new secret for the endpoint; the old one keeps signing beside it until ROTATION_OVERLAP has passed."""
    seen = webhook_of(contract_id, webhook_id)
    secret = signing.new_secret()
    sealed = box.seal(webhook_id, secret)
    until = now + ROTATION_OVERLAP
    audit.record_with(
        contract_id,
        actor=actor,
        action="webhook.secret_rotated",
        subject=webhook_id,
        now=now,
        prepare=lambda: audit.StateWrite(
            lambda t: store.add_rotation(t, seen, sealed, until, now),
            {"old_one_signs_until": format_rfc3339(until)},
        ),
    )
    return IssuedSecret(webhook_of(contract_id, webhook_id), secret)


def secrets_in_use(webhook: Webhook, box: WebhookSecretBox, now: datetime) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one during a rotation's overlap."""
    found = [box.open(webhook.webhook_id, webhook.secret_ciphertext)]
    if webhook.previous_secret_ciphertext and webhook.previous_secret_until and webhook.previous_secret_until > now:
        found.append(box.open(webhook.webhook_id, webhook.previous_secret_ciphertext))
    return found


def delivery_log(contract_id: str, webhook_id: str) -> list[WebhookAttempt]:
    webhook_of(contract_id, webhook_id)
    return store.attempts(webhook_id, LOG_LIMIT)


# the owner's side


def for_owner(user: User, now: datetime, *, serving: bool = False) -> str:
    """The contract an owner manages webhooks of; 403 for other roles and for an owner limited to some sites.

    Reading and removing endpoints stays open while the account is (a suspended contract too); registering,
    rotating and testing need a serving contract (`serving`)."""
    roles.require(user, Permission.MANAGE_WEBHOOKS)
    if user.site_ids is not None:
        raise Forbidden(
            "webhooks hear of every site of the contract: only an owner without a site scope manages them",
            required_permission=Permission.MANAGE_WEBHOOKS.value,
        )
    contract = terms.get_contract(user.contract_id)
    terms.require_account_open(contract, now)
    if serving:
        terms.require_serving(contract, now)
    return user.contract_id


def describe(webhook: Webhook) -> Mapping[str, Any]:
    """What the API shows of an endpoint (never its secret)."""
    return {
        "webhook_id": webhook.webhook_id,
        "url": webhook.url,
        "events": [e for e in EVENT_TYPES if e in webhook.events],
        "include_image_links": webhook.include_image_links,
        "status": webhook.status,
        "created_at": webhook.created_at,
        "consecutive_failures": webhook.consecutive_failures,
        "failing_since": webhook.failing_since,
        "last_success_at": webhook.last_success_at,
        "disabled_at": webhook.disabled_at,
        "disabled_reason": webhook.disabled_reason,
        "previous_secret_until": webhook.previous_secret_until,
    }
