"""Fires the template's Schedule events locally (moto stores EventBridge rules but never fires them)."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from infra.template import Schedule

log = logging.getLogger("doti.local.scheduler")


class Invocable(Protocol):
    def invoke(self, event: dict[str, Any]) -> dict[str, Any]: ...


def scheduled_event(schedule: Schedule, region: str, account: str) -> dict[str, Any]:
    """The event EventBridge sends to a Lambda target of a schedule rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/doti-local-{schedule.function}"],
        "detail": {},
    }


class Scheduler:
    """Runs each schedule on a thread. A run that raises is retried as Lambda retries an asynchronous invocation
    (the template's EventInvokeConfig), then its event goes to the function's dead-letter queue with Lambda's
    message attributes, so a failing job is as visible locally as deployed. Retries follow at once, not after
    Lambda's minutes."""

    def __init__(
        self,
        schedules: Iterable[Schedule],
        functions: Mapping[str, Invocable],
        *,
        region: str,
        account: str,
        scale: float = 1.0,
        sqs: Any = None,
        queue_urls: Mapping[str, str] | None = None,
    ):
        self._schedules = list(schedules)
        self._functions = functions
        self._region = region
        self._account = account
        self._scale = scale  # < 1 runs schedules faster, for demos; the template's rate stays the truth
        self._sqs = sqs
        self._urls = queue_urls or {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def fire(self, schedule: Schedule) -> dict[str, Any] | None:
        event = scheduled_event(schedule, self._region, self._account)
        for attempt in range(1 + schedule.retries):  # bounded: the template's retry count
            request_id = str(uuid.uuid4())
            try:
                result = self._functions[schedule.function].invoke(event)
            except Exception as exc:
                log.exception("scheduled run of %s failed (attempt %d)", schedule.function, attempt + 1)
                failure = exc
                continue
            log.info("%s ran: %s", schedule.function, result)
            return result
        self._dead_letter(schedule, event, request_id, failure)
        return None

    def _dead_letter(self, schedule: Schedule, event: dict[str, Any], request_id: str, exc: Exception) -> None:
        if schedule.dead_letter_queue is None or self._sqs is None:
            return
        self._sqs.send_message(
            QueueUrl=self._urls[schedule.dead_letter_queue],
            MessageBody=json.dumps(event),
            MessageAttributes={  # what Lambda puts on a dead-lettered asynchronous event
                "RequestID": {"DataType": "String", "StringValue": request_id},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": f"{type(exc).__name__}: {exc}"[:1000]},
            },
        )
        log.error(
            "%s failed %d times: its event is in %s",
            schedule.function,
            1 + schedule.retries,
            schedule.dead_letter_queue,
        )

    def _loop(self, schedule: Schedule) -> None:
        interval = schedule.seconds * self._scale
        while not self._stop.wait(interval):
            self.fire(schedule)

    def start(self) -> None:
        for schedule in self._schedules:
            thread = threading.Thread(
                target=self._loop, args=(schedule,), name=f"schedule-{schedule.function}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def describe(self) -> list[str]:
        return [f"{s.function} every {s.seconds * self._scale:g}s ({s.expression})" for s in self._schedules]
