"""Data access for webhook endpoints and their delivery logs (doti.webhooks), and the KMS box of their secrets.

An endpoint and its attempts share a partition (`webhook_id`): the endpoint is the item "endpoint", each attempt an
item "attempt#<time>#<event id>#<n>", so the log is one query, newest first, and deleting an endpoint removes its
whole partition. Attempts also leave by TTL.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from doti.clock import format_rfc3339
from doti.entities import Webhook, WebhookAttempt
from doti.errors import NotFound, StorageError
from doti.store.conditions import is_condition_failure
from doti.store.events import send_batches
from doti.store.mapping import to_entity, to_item
from doti.store.models import ENDPOINT_SORT_KEY, WebhookAttemptModel, WebhookModel
from doti.store.transactions import Transaction

_ATTEMPT_PREFIX = "attempt#"


class WebhookSecretBox:
    """Seals endpoint secrets with KMS; the encryption context names the endpoint, so a ciphertext copied onto another
    endpoint does not open."""

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def seal(self, webhook_id: str, secret: str) -> bytes:
        try:
            answer = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext={"webhook_id": webhook_id}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not seal the webhook secret") from exc
        return answer["CiphertextBlob"]

    def open(self, webhook_id: str, blob: bytes) -> str:
        try:
            answer = self._kms.decrypt(CiphertextBlob=blob, EncryptionContext={"webhook_id": webhook_id})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not open the webhook secret") from exc
        return answer["Plaintext"].decode()


class SqsDeliveries:
    """The deliveries queue and its dead-letter queue (doti.webhooks.dispatch)."""

    def __init__(self, sqs: Any, queue_url: str, dead_letter_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._dead_letter_url = dead_letter_url

    def send(self, messages: list[dict[str, Any]], delay_seconds: int = 0) -> None:
        send_batches(self._sqs, self._queue_url, messages, what="queue webhook deliveries", delay=delay_seconds)

    def dead_letter(self, message: dict[str, Any]) -> None:
        """Keep a delivery that gave up in the dead-letter queue (14 days), where an operator can replay it."""
        try:
            self._sqs.send_message(QueueUrl=self._dead_letter_url, MessageBody=json.dumps(message))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not keep the delivery in the dead-letter queue") from exc


def _webhook(item: WebhookModel) -> Webhook:
    return to_entity(Webhook, item, consecutive_failures=int(item.consecutive_failures or 0))


def add_new_webhook(transaction: Transaction, webhook: Webhook) -> None:
    """Store a new endpoint, in the transaction of its "webhook.created" entry."""
    transaction.save(to_item(WebhookModel, webhook), condition=WebhookModel.webhook_id.does_not_exist())


def add_removal(transaction: Transaction, webhook_id: str) -> None:
    """Remove the endpoint item, in the transaction of its "webhook.deleted" entry."""
    transaction.delete(
        WebhookModel(webhook_id=webhook_id, sort_key=ENDPOINT_SORT_KEY), condition=WebhookModel.webhook_id.exists()
    )


def add_rotation(
    transaction: Transaction, seen: Webhook, new_ciphertext: bytes, previous_until: datetime, now: datetime
) -> None:
    """The new secret signs from now on, the one `seen` held until `previous_until` (cancelled if another rotation
    came in between: the secret would otherwise be one nobody was shown)."""
    transaction.update(
        WebhookModel(webhook_id=seen.webhook_id, sort_key=ENDPOINT_SORT_KEY),
        actions=[
            WebhookModel.secret_ciphertext.set(new_ciphertext),
            WebhookModel.previous_secret_ciphertext.set(seen.secret_ciphertext),
            WebhookModel.previous_secret_until.set(previous_until),
            WebhookModel.updated_at.set(now),
        ],
        condition=WebhookModel.secret_ciphertext == seen.secret_ciphertext,
    )


def get_webhook(webhook_id: str) -> Webhook:
    try:
        return _webhook(WebhookModel.get(webhook_id, ENDPOINT_SORT_KEY, consistent_read=True))
    except DoesNotExist as exc:
        raise NotFound("webhook not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the webhook") from exc


def webhooks_of_contract(contract_id: str) -> list[Webhook]:
    try:
        return [_webhook(item) for item in WebhookModel.by_contract.query(contract_id)]
    except PynamoDBException as exc:
        raise StorageError("could not list the webhooks") from exc


def _update(webhook_id: str, actions: list[Any], condition: Any, what: str) -> Webhook | None:
    """Apply `actions` if `condition` holds; the endpoint as it is then, or None when the condition did not hold."""
    item = WebhookModel(webhook_id=webhook_id, sort_key=ENDPOINT_SORT_KEY)
    try:
        item.update(actions=actions, condition=WebhookModel.webhook_id.exists() & condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return None
        raise StorageError(f"could not {what}") from exc
    except PynamoDBException as exc:
        raise StorageError(f"could not {what}") from exc
    return _webhook(item)


def record_success(webhook_id: str, now: datetime) -> None:
    _update(
        webhook_id,
        [
            WebhookModel.consecutive_failures.set(0),
            WebhookModel.failing_since.remove(),
            WebhookModel.last_success_at.set(now),
        ],
        WebhookModel.status == "active",
        "record the delivery",
    )


def record_failure(webhook_id: str, now: datetime) -> Webhook | None:
    """Count a failed attempt (and when the failures began); the endpoint after it, None if it is no longer active."""
    return _update(
        webhook_id,
        [
            WebhookModel.consecutive_failures.add(1),
            WebhookModel.failing_since.set(WebhookModel.failing_since | now),
        ],
        WebhookModel.status == "active",
        "record the failed delivery",
    )


def add_disable(transaction: Transaction, webhook_id: str, reason: str, now: datetime) -> None:
    """Disable an active endpoint, in the transaction of its notice and audit entry (cancelled if it is not active)."""
    transaction.update(
        WebhookModel(webhook_id=webhook_id, sort_key=ENDPOINT_SORT_KEY),
        actions=[
            WebhookModel.status.set("disabled"),
            WebhookModel.disabled_at.set(now),
            WebhookModel.disabled_reason.set(reason),
            WebhookModel.updated_at.set(now),
        ],
        condition=WebhookModel.status == "active",
    )


def add_enable(transaction: Transaction, webhook_id: str, now: datetime) -> None:
    """Enable a disabled endpoint again (its test event went through), counting its failures afresh."""
    transaction.update(
        WebhookModel(webhook_id=webhook_id, sort_key=ENDPOINT_SORT_KEY),
        actions=[
            WebhookModel.status.set("active"),
            WebhookModel.disabled_at.remove(),
            WebhookModel.disabled_reason.remove(),
            WebhookModel.consecutive_failures.set(0),
            WebhookModel.failing_since.remove(),
            WebhookModel.last_success_at.set(now),
            WebhookModel.updated_at.set(now),
        ],
        condition=WebhookModel.status == "disabled",
    )


def attempt_sort_key(attempt: WebhookAttempt) -> str:
    return f"{_ATTEMPT_PREFIX}{format_rfc3339(attempt.attempted_at)}#{attempt.event_id}#{attempt.attempt}"


def add_attempt(attempt: WebhookAttempt) -> None:
    try:
        to_item(WebhookAttemptModel, attempt, sort_key=attempt_sort_key(attempt)).save()
    except PynamoDBException as exc:
        raise StorageError("could not log the delivery attempt") from exc


def attempts(webhook_id: str, limit: int) -> list[WebhookAttempt]:
    """The endpoint's newest `limit` attempts, newest first: one query of its partition."""
    try:
        query = WebhookAttemptModel.query(
            webhook_id,
            WebhookAttemptModel.sort_key.startswith(_ATTEMPT_PREFIX),
            scan_index_forward=False,
            limit=limit,
        )
        return [to_entity(WebhookAttempt, item) for item in query]
    except PynamoDBException as exc:
        raise StorageError("could not read the delivery log") from exc


def delete_attempts(webhook_id: str) -> int:
    """Remove an endpoint's delivery log (before the endpoint: a removal that failed half-way still has its endpoint,
    so the purge, which finds logs through endpoints, or a retry finds the rest). How many attempts went."""
    try:
        items = [
            item
            for item in WebhookAttemptModel.query(webhook_id, attributes_to_get=["webhook_id", "sort_key"])
            if item.sort_key != ENDPOINT_SORT_KEY
        ]
        with WebhookAttemptModel.batch_write() as batch:
            for item in items:
                batch.delete(item)
    except PynamoDBException as exc:
        raise StorageError("could not delete the delivery log") from exc
    return len(items)
