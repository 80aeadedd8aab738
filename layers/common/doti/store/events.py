"""The events queue (doti.webhooks.events): producers put events on it; the webhooks function takes them off."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError
from doti.webhooks.events import Event

SQS_MAX_BATCH = 10


class EventSink(Protocol):
    def publish(self, events: Sequence[Event]) -> None: ...


def send_batches(sqs: Any, queue_url: str, messages: Sequence[Mapping[str, Any]], *, what: str, delay: int = 0) -> None:
    """Send JSON messages, ten to a request; StorageError ("could not <what>") unless SQS took every one."""
    for start in range(0, len(messages), SQS_MAX_BATCH):
        entries = [
            {"Id": str(index), "MessageBody": json.dumps(message, separators=(",", ":")), "DelaySeconds": delay}
            for index, message in enumerate(messages[start : start + SQS_MAX_BATCH])
        ]
        try:
            answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not {what}") from exc
        if answer.get("Failed"):
            raise StorageError(f"could not {what}", failed=len(answer["Failed"]))


class SqsEventQueue:
    """Sends events to the events queue; raises StorageError unless SQS took every one."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def publish(self, events: Sequence[Event]) -> None:
        send_batches(self._sqs, self._queue_url, [event.to_message() for event in events], what="publish events")


class NoEvents:
    """Events turned off (EVENTS_QUEUE_URL unset: a tool or bench that runs a function without the queue)."""

    def publish(self, events: Sequence[Event]) -> None:  # noqa: ARG002 - the EventSink interface
        return None
