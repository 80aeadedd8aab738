"""Fires the template's Schedule events locally (moto stores EventBridge rules but never fires them)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from infra.gateway import LocalFunction
from infra.template import Schedule

log = logging.getLogger("doti.local.scheduler")


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
    def __init__(
        self,
        schedules: Iterable[Schedule],
        functions: dict[str, LocalFunction],
        *,
        region: str,
        account: str,
        scale: float = 1.0,
    ):
        self._schedules = list(schedules)
        self._functions = functions
        self._region = region
        self._account = account
        self._scale = scale  # < 1 runs schedules faster, for demos; the template's rate stays the truth
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def fire(self, schedule: Schedule) -> dict[str, Any] | None:
        try:
            result = self._functions[schedule.function].invoke(scheduled_event(schedule, self._region, self._account))
        except Exception:  # a failed run is logged and retried on the next tick, as EventBridge would
            log.exception("scheduled run of %s failed", schedule.function)
            return None
        log.info("%s ran: %s", schedule.function, result)
        return result

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
