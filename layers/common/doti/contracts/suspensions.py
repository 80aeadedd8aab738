"""Suspension windows (Art. 8): planned suspensions announced ahead (Art. 8-2), and Art. 8-1 windows planned at
short notice, which the suspension job applies and lifts (doti.jobs.suspension) through doti.contracts.lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from doti import ids
from doti.clock import format_rfc3339
from doti.contracts import notices
from doti.contracts.contract_states import (
    EMERGENCY,
    PLANNED,
    states_where,
)
from doti.contracts.terms import SUSPENDED
from doti.entities import SuspensionWindow
from doti.errors import Conflict, ValidationError
from doti.jobs import schedule
from doti.mail import Mailer
from doti.oversight import audit
from doti.store import contracts as contract_store
from doti.store import suspensions as store
from doti.store.events import EventSink
from doti.store.transactions import Transaction

WINDOW_GROUNDS = frozenset({*EMERGENCY, PLANNED})  # what a scheduled suspension window may cite

WINDOW_SCHEDULED, WINDOW_APPLIED, WINDOW_LIFTED, WINDOW_CANCELLED, WINDOW_SKIPPED = (
    "scheduled",
    "applied",
    "lifted",
    "cancelled",
    "skipped",  # the contract was not active when the window started, or the window was over before it ran
)
_SCHEDULABLE_STATES = states_where("suspension_schedulable")


def schedule_suspension(
    contract_id: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    ground: str,
    reason: str,
    actor: str,
    now: datetime,
    mailer: Mailer,
    events: EventSink,
) -> SuspensionWindow:
    """Plan a suspension window; the suspension job applies it at `starts_at` and lifts it at `ends_at`.

    An art8-2 window is announced to the contract now (the prior notice of Art. 8-2). Windows of one contract
    do not overlap, so the end of one never lifts a suspension that another still needs.
    """
    if ground not in WINDOW_GROUNDS:
        raise ValidationError(
            "a suspension window cites Art. 8-2 or 8-1", field="ground", allowed=sorted(WINDOW_GROUNDS)
        )
    if not reason.strip():
        raise ValidationError("a suspension window needs a reason", field="reason")
    if starts_at <= now:
        raise ValidationError("starts_at must be in the future", field="starts_at")
    if ends_at <= starts_at:
        raise ValidationError("ends_at must be after starts_at", field="ends_at")
    contract = contract_store.read_contract(contract_id)
    if contract.state not in _SCHEDULABLE_STATES:
        raise Conflict(
            f"a {contract.state} contract cannot be scheduled for suspension",
            current_state=contract.state,
            requested=SUSPENDED,
        )
    for other in suspensions_of(contract_id, statuses=(WINDOW_SCHEDULED, WINDOW_APPLIED)):
        if other.starts_at < ends_at and starts_at < other.ends_at:
            raise Conflict("the window overlaps another suspension window", suspension_id=other.suspension_id)
    window = SuspensionWindow(
        contract_id=contract_id,
        suspension_id="sus_" + ids.time_sorted_id(starts_at).lower(),
        starts_at=starts_at,
        ends_at=ends_at,
        ground=ground,
        reason=reason,
        status=WINDOW_SCHEDULED,
        created_by=actor,
        created_at=now,
    )
    schedule.schedule_work(schedule.SUSPENSION_START, starts_at, contract_id, window.suspension_id)
    schedule.schedule_work(schedule.SUSPENSION_END, ends_at, contract_id, window.suspension_id)

    def store_window(transaction: Transaction) -> None:
        store.add_new_window(transaction, window)

    audit.record_with(
        contract_id,
        actor=actor,
        action="suspension.scheduled",
        subject=window.suspension_id,
        now=now,
        prepare=lambda: audit.StateWrite(store_window, _window_details(window)),
    )
    if ground == PLANNED:
        _announce(window, mailer, events, actor, now, cancelled=False)
    return window


def suspensions_of(contract_id: str, *, statuses: Iterable[str] | None = None) -> list[SuspensionWindow]:
    """The contract's windows, oldest first (one key range: the windows of one contract)."""
    wanted = set(statuses) if statuses is not None else None
    return [w for w in store.windows_of(contract_id) if wanted is None or w.status in wanted]


def list_suspensions(contract_id: str) -> list[SuspensionWindow]:
    contract_store.read_contract(contract_id)  # NotFound for an unknown contract
    return suspensions_of(contract_id)


def get_window(contract_id: str, suspension_id: str) -> SuspensionWindow:
    return store.get_window(contract_id, suspension_id)


def set_window_status(window: SuspensionWindow, expected: Iterable[str], status: str) -> bool:
    """Move the window to `status` if it is still in one of `expected`; False when it had moved on."""
    return store.set_status(window, expected, status)


def cancel_suspension(
    contract_id: str, suspension_id: str, *, actor: str, now: datetime, mailer: Mailer, events: EventSink
) -> None:
    """Call off a window that has not started; one that is applied or over is a Conflict. Cancelling twice is fine."""
    window = get_window(contract_id, suspension_id)
    if window.status == WINDOW_CANCELLED:
        return

    def prepare() -> audit.StateWrite:
        current = get_window(contract_id, suspension_id).status
        if current != WINDOW_SCHEDULED:
            raise _WindowMoved(current)

        def cancel(transaction: Transaction) -> None:
            store.add_status(transaction, contract_id, suspension_id, WINDOW_SCHEDULED, WINDOW_CANCELLED)

        return audit.StateWrite(cancel, _window_details(window))

    try:
        audit.record_with(
            contract_id, actor=actor, action="suspension.cancelled", subject=suspension_id, now=now, prepare=prepare
        )
    except _WindowMoved as moved:
        if moved.status == WINDOW_CANCELLED:
            return  # cancelled meanwhile, with its entry
        raise Conflict(
            f"the suspension window is {moved.status}; only a scheduled one can be cancelled", status=moved.status
        ) from moved
    retire_window_work(window)
    if window.ground == PLANNED:
        _announce(window, mailer, events, actor, now, cancelled=True)


class _WindowMoved(Exception):
    """The window left `scheduled` before it could be cancelled."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def retire_window_work(window: SuspensionWindow) -> None:
    schedule.done_work(
        schedule.work_for(schedule.SUSPENSION_START, window.contract_id, window.suspension_id, window.starts_at)
    )
    schedule.done_work(
        schedule.work_for(schedule.SUSPENSION_END, window.contract_id, window.suspension_id, window.ends_at)
    )


def _window_details(window: SuspensionWindow) -> dict[str, Any]:
    return {
        "starts_at": format_rfc3339(window.starts_at),
        "ends_at": format_rfc3339(window.ends_at),
        "ground": window.ground,
        "reason": window.reason,
    }


def _announce(
    window: SuspensionWindow, mailer: Mailer, events: EventSink, actor: str, now: datetime, *, cancelled: bool
) -> None:
    span = f"{format_rfc3339(window.starts_at)} - {format_rfc3339(window.ends_at)}"
    if cancelled:
        title = "Planned suspension cancelled / 停止予定の取消し"
        body = f"The planned suspension {span} will not take place.\n予定していた {span} の停止は行いません。"
    else:
        title = "Planned suspension / 本サービスの停止予定"
        body = (
            f"The doti service will be suspended {span} (Art. 8-2).\nReason: {window.reason}\n\n"
            f"本サービスを {span} の間、停止します(第8条第2項)。\n理由: {window.reason}"
        )
    notices.publish(
        audience=window.contract_id,
        kind="suspension",
        title=title,
        body=body,
        actor=actor,
        mailer=mailer,
        events=events,
        now=now,
        effective_at=window.starts_at,
    )
