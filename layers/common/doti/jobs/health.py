"""The health job (issue 16 §1), every minute: look at the cameras whose health item is due (doti.contracts.
camera_health), and mark offline those that sent nothing for longer than their interval, telling camera.offline.

Its input is the due "camera_health" items only, so a run costs what is due, never what exists: per item, one read of
the camera, one of its contract (once per contract and run), and one write. Each item is handled on its own and
deleted (or replaced) only once its effect is stored, so a run stopped anywhere leaves the rest to the next, and an
item that failed stays for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from doti.contracts import camera_health, terms
from doti.entities import Camera, Contract
from doti.errors import DotiError, NotFound
from doti.jobs import schedule
from doti.observability import logger
from doti.store import registry as registry_store
from doti.store.events import EventSink

BATCH = 100
MAX_ITEMS = 5_000  # per run: the rest waits for the next run, a minute later
RESERVE_MS = 10_000  # stop this long before the Lambda timeout; the next run continues


@dataclass
class HealthReport:
    examined: int = 0
    failed: int = 0
    stopped_early: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)  # items by what came of them (camera_health outcomes)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def run_health(
    *,
    now: datetime,
    events: EventSink,
    remaining_ms: Callable[[], float],
    batch: int = BATCH,
    max_items: int = MAX_ITEMS,
    reserve_ms: float = RESERVE_MS,
) -> HealthReport:
    report = HealthReport()
    contracts: dict[str, Contract | None] = {}
    failed: set[str] = set()  # due keys to read past: failed, or kept for the next run
    while due := schedule.due_work(schedule.CAMERA_HEALTH, now, batch, skip=failed):
        for work in due:
            if remaining_ms() < reserve_ms or report.examined >= max_items:
                report.stopped_early = True
                return report
            report.examined += 1
            try:
                camera = _camera(work.ref)
                contract = _contract(contracts, work.contract_id)
                decided = camera_health.check(work, camera, contract, now)
                outcome = camera_health.apply(work, camera, decided, events, now)
            except DotiError as exc:
                failed.add(work.due_key)
                report.failed += 1
                logger.exception("health job item failed", extra={"camera_id": work.ref, "code": exc.code})
                continue
            if outcome == camera_health.KEPT:
                failed.add(work.due_key)
            report.count(outcome)
    return report


def _camera(camera_id: str | None) -> Camera | None:
    if not camera_id:
        return None
    try:
        # consistent: the health fields a frame wrote a moment ago decide whether this item is still the live one
        return registry_store.get_camera(camera_id, consistent_read=True)
    except NotFound:
        return None  # removed with its contract's purge


def _contract(cache: dict[str, Contract | None], contract_id: str) -> Contract | None:
    if contract_id not in cache:
        try:
            cache[contract_id] = terms.get_contract(contract_id)
        except NotFound:
            cache[contract_id] = None
    return cache[contract_id]
