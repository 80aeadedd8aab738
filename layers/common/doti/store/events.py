"""The events queue (doti.webhooks.events): producers put events on it; the webhooks function takes them off."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError
from doti.webhooks.events import Event

SQS_MAX_BATCH = 10


class EventSink(Protocol):
    def publish(self, events: Sequence[Event]) -> None: ...


class SqsEventQueue:
    """Sends events to the events queue, ten to a request; raises StorageError unless SQS took every one."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def publish(self, events: Sequence[Event]) -> None:
        for start in range(0, len(events), SQS_MAX_BATCH):
            chunk = events[start : start + SQS_MAX_BATCH]
            entries = [
                {"Id": str(index), "MessageBody": json.dumps(event.to_message(), separators=(",", ":"))}
                for index, event in enumerate(chunk)
            ]
            try:
                answer = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError("could not publish events") from exc
            if answer.get("Failed"):
                raise StorageError("could not publish events", failed=len(answer["Failed"]))


class NoEvents:
    """Events turned off (EVENTS_QUEUE_URL unset: a tool or bench that runs a function without the queue)."""

    def publish(self, events: Sequence[Event]) -> None:  # noqa: ARG002 - the EventSink interface
        return None
