"""The contract lifecycle of SPEC §3: making the moves that doti.contracts.contract_states.TRANSITIONS allows, with
their grounds.

No other move exists. In particular a cancellation is not withdrawn (`cancelling -> active`): Art. 13 gives the
customer a notice to cancel and nothing to take it back, so a customer who wants to stay needs a new contract.
`purged` is reached only by the termination job, after the data is gone.

Every transition records its ground (an enumerated article code), a free-text reason, the actor and the time in
the audit log, and is written on condition of the contract's version, so two concurrent transitions cannot both
win. Notices (Art. 5) go out where the terms ask for them or the customer is left to find out otherwise:
  - a planned suspension (Art. 8-2) needs prior notice: it is published when the window is scheduled;
  - emergency suspensions (Art. 8-1) and Art. 12 suspensions need none beforehand, but the customer learns of
    them when they happen (a suspended customer can still read notices);
  - termination and cancellation publish no notice here: Art. 12 ends the contract without notice, Art. 13 is
    the customer's own act, and the termination job e-mails the deletion receipt.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from doti.clock import format_optional, format_rfc3339
from doti.contracts import notices, suspensions
from doti.contracts.contract_states import (
    CUSTOMER_NOTICE,
    GROUNDS,
    PLANNED,
    TRANSITIONS,
)
from doti.contracts.terms import ACTIVE, CANCELLING, PENDING, PURGED, STATES, SUSPENDED, TERMINATED, add_months
from doti.entities import Contract
from doti.errors import Conflict, DotiError, ValidationError
from doti.jobs import schedule
from doti.mail import Mailer
from doti.observability import logger
from doti.oversight import audit
from doti.store import contracts as contract_store
from doti.store.events import EventSink
from doti.store.transactions import Transaction

DEFAULT_PURGE_GRACE_DAYS = 30  # the template's PurgeGraceDays default; jobs and routes pass the setting
CANCELLATION_NOTICE_MONTHS = 2  # Art. 13-1

_MAX_REASON = 2000


def allowed_grounds(current: str, to: str) -> frozenset[str | None] | None:
    """The grounds a move may cite, or None when the move does not exist."""
    return TRANSITIONS.get((current, to))


def transition(
    contract_id: str,
    to: str,
    ground: str | None,
    reason: str,
    effective_at: datetime | None,
    actor: str,
    now: datetime,
    *,
    mailer: Mailer | None = None,
    events: EventSink | None = None,
    purge_grace_days: int = DEFAULT_PURGE_GRACE_DAYS,
    window_id: str | None = None,
) -> Contract:
    """Move the contract to `to`, citing `ground`; audited, version-conditional, with its scheduled work.

    - `cancelling` needs `effective_at`: at least two months after today under art13-1 (Art. 13-1), any time from
      now under art13-2 (the staff override, whose reason is recorded); a "cancel_effective" work item is
      scheduled for that time.
    - `terminated` sets terminated_at and purge_due_at = now + purge_grace_days and schedules a "purge" item.
    - `purged` is the termination job's, once the purge is done and purge_due_at has passed.
    - art8-2 suspensions need the prior notice of a scheduled window (`window_id`, the suspension job's).
    - `mailer` e-mails the notice an emergency or Art. 12 suspension gets, and `events` (required with it) tells it
      (doti.webhooks.producers); without a mailer none is published.
    Work items are written before the state (a stale item is harmless: its consumer re-checks the state), so a
    crash never leaves a terminated contract without its purge. The state and its "contract.transition" entry
    commit in one transaction (doti.oversight.audit.record_with): a rerun that finds the move made finds its entry too.
    A suspension's notice, and the work of e-mailing it, commit in that transaction as well; the e-mail is sent
    right after (doti.contracts.notices.deliver), or, if it cannot be, by the suspension job's next run.
    """
    _check_request(to, ground, reason, window_id)
    notice_due = to == SUSPENDED and ground != PLANNED and mailer is not None
    if mailer is not None and events is None:
        raise TypeError("a transition that may publish a notice needs the events sink as well as the mailer")
    notice = _suspension_notice(contract_id, ground, reason, actor, now) if notice_due else None
    seen: dict[str, Any] = {}

    def prepare() -> audit.StateWrite:
        read = contract_store.read_versioned(contract_id)
        before = read.contract
        if seen.setdefault("state", before.state) != before.state:
            # another move won the race: the caller's decision was made on a state that is gone
            raise Conflict(f"the contract changed meanwhile and is {before.state} now", current_state=before.state)
        _check_move(before, to, ground, effective_at, now)
        purge_due_at = now + timedelta(days=purge_grace_days) if to == TERMINATED else None
        changes = _changes(before, to, effective_at, purge_due_at, now)
        _schedule_ahead(before, to, effective_at, purge_due_at)
        seen["move"] = (before, replace(before, **changes))
        details = _transition_details(before, to, ground, reason, effective_at, purge_due_at, window_id, notice_due)

        def add(transaction: Transaction) -> None:
            contract_store.add_update(transaction, read, changes)  # conditional on the version read
            if notice is not None:
                notices.stage(transaction, notice)

        return audit.StateWrite(add, details)

    try:
        audit.record_with(
            contract_id, actor=actor, action="contract.transition", subject=contract_id, now=now, prepare=prepare
        )
    except Conflict as exc:
        exc.details.setdefault("requested", to)
        raise
    before, after = seen["move"]
    if notice is not None and mailer is not None and events is not None:
        _send_notice(notice, mailer, events, actor, now)
    _tidy_after(before, after)
    return after


def _schedule_ahead(before: Contract, to: str, effective_at: datetime | None, purge_due_at: datetime | None) -> None:
    """The work the new state needs, written before the state (idempotent: a retried attempt writes the same)."""
    if to == CANCELLING and effective_at is not None:
        schedule.schedule_work(schedule.CANCEL_EFFECTIVE, effective_at, before.contract_id)
    if to == TERMINATED and purge_due_at is not None:
        schedule.schedule_work(schedule.PURGE, purge_due_at, before.contract_id)


def _transition_details(
    before: Contract,
    to: str,
    ground: str | None,
    reason: str,
    effective_at: datetime | None,
    purge_due_at: datetime | None,
    window_id: str | None,
    notice_due: bool,
) -> dict[str, Any]:
    """The entry of a move. `customer_notified`: the customer is told of this move, by the window's prior notice
    (a planned suspension) or by the notice that commits with it (whose e-mail's "notice.delivered" entry follows,
    once it is sent)."""
    details: dict[str, Any] = {
        "from": before.state,
        "to": to,
        "ground": ground,
        "reason": reason,
        "effective_at": format_optional(effective_at),
        "customer_notified": (ground == PLANNED and window_id is not None) or notice_due,
    }
    if window_id:
        details["suspension_id"] = window_id
    if purge_due_at is not None:
        details["purge_due_at"] = format_rfc3339(purge_due_at)
    return details


def _check_request(to: str, ground: str | None, reason: str, window_id: str | None) -> None:
    if to not in STATES:
        raise ValidationError("unknown state", field="to", allowed=STATES)
    if ground is not None and ground not in GROUNDS:
        raise ValidationError("unknown ground", field="ground", allowed=GROUNDS)
    if not reason or not reason.strip():
        raise ValidationError("a transition needs a reason", field="reason")
    if len(reason) > _MAX_REASON:
        raise ValidationError("the reason is too long", field="reason", maximum=_MAX_REASON)
    if ground == PLANNED and to == SUSPENDED and window_id is None:
        raise ValidationError(
            "a planned suspension (Art. 8-2) needs prior notice: schedule a suspension window instead",
            field="ground",
        )


def _check_move(current: Contract, to: str, ground: str | None, effective_at: datetime | None, now: datetime) -> None:
    grounds = allowed_grounds(current.state, to)
    if grounds is None:
        raise Conflict(f"a {current.state} contract cannot become {to}", current_state=current.state, requested=to)
    if ground not in grounds:
        raise ValidationError(
            f"ground {ground or '(none)'} does not allow {current.state} -> {to}",
            field="ground",
            allowed=sorted(g or "(none)" for g in grounds),
        )
    if to != CANCELLING and effective_at is not None:
        raise ValidationError("effective_at applies only to a cancellation", field="effective_at")
    if to == CANCELLING:
        _check_cancellation(ground, effective_at, now)
    if current.state == CANCELLING and ground == CUSTOMER_NOTICE:
        due = current.cancel_effective_at
        if due is None or due > now:
            raise Conflict(
                "the cancellation has not taken effect yet",
                current_state=current.state,
                requested=to,
                cancel_effective_at=format_optional(due),
            )
    if to == PURGED and (current.purge_due_at is None or current.purge_due_at > now):
        raise Conflict(
            "the grace period before the purge has not passed",
            current_state=current.state,
            requested=to,
            purge_due_at=format_optional(current.purge_due_at),
        )


def _check_cancellation(ground: str | None, effective_at: datetime | None, now: datetime) -> None:
    if effective_at is None:
        raise ValidationError("a cancellation needs effective_at", field="effective_at")
    if ground == CUSTOMER_NOTICE:
        earliest = add_months(now, CANCELLATION_NOTICE_MONTHS)
        if effective_at < earliest:
            raise ValidationError(
                "a cancellation takes effect at least two months after the notice (Art. 13-1); "
                "only an Art. 13-2 ground with a reason overrides this",
                field="effective_at",
                earliest_effective_at=format_rfc3339(earliest),
            )
    elif effective_at < now:
        raise ValidationError("effective_at must not be in the past", field="effective_at")


def _changes(
    current: Contract, to: str, effective_at: datetime | None, purge_due_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """The fields the move sets, by name (the contract's and its item's names are the same)."""
    changes: dict[str, Any] = {"state": to, "updated_at": now}
    if to == ACTIVE and current.state == PENDING and (current.service_start is None or current.service_start > now):
        changes["service_start"] = now  # started early by staff
    if to == CANCELLING:
        changes["cancel_effective_at"] = effective_at
    if to == TERMINATED:
        changes.update(terminated_at=now, purge_due_at=purge_due_at)
    if to == PURGED:
        changes["purged_at"] = now
    return changes


def _tidy_after(before: Contract, after: Contract) -> None:
    """Retire the work and windows the old state needed and the new one does not."""
    if before.state == CANCELLING and before.cancel_effective_at is not None:
        schedule.done_work(
            schedule.work_for(schedule.CANCEL_EFFECTIVE, after.contract_id, None, before.cancel_effective_at)
        )
    if before.state == SUSPENDED:
        for window in suspensions.suspensions_of(after.contract_id, statuses=(suspensions.WINDOW_APPLIED,)):
            suspensions.set_window_status(window, (suspensions.WINDOW_APPLIED,), suspensions.WINDOW_LIFTED)
    if after.state in (TERMINATED, PURGED):
        for window in suspensions.suspensions_of(after.contract_id, statuses=(suspensions.WINDOW_SCHEDULED,)):
            if suspensions.set_window_status(window, (suspensions.WINDOW_SCHEDULED,), suspensions.WINDOW_CANCELLED):
                suspensions.retire_window_work(window)


def _suspension_notice(contract_id: str, ground: str | None, reason: str, actor: str, now: datetime) -> notices.Draft:
    body = (
        f"The doti service for contract {contract_id} is suspended from {format_rfc3339(now)} "
        f"(ground: {ground}).\nReason: {reason}\n\n"
        f"ドットアイのご利用を {format_rfc3339(now)} より停止しました(根拠: {ground})。\n理由: {reason}"
    )
    return notices.draft(
        audience=contract_id,
        kind="suspension",
        title="Service suspended / ご利用停止のお知らせ",
        body=body,
        actor=actor,
        now=now,
        effective_at=now,
    )


def _send_notice(notice: notices.Draft, mailer: Mailer, events: EventSink, actor: str, now: datetime) -> None:
    """E-mail the notice the move committed; one that cannot go now stays due for the suspension job (the move
    stands either way, and the notice is on the customer's site already)."""
    try:
        notices.deliver(notices.mail_work(notice), mailer=mailer, events=events, actor=actor, now=now)
    except DotiError as exc:
        logger.warning("suspension notice e-mail left to the suspension job", extra={"code": exc.code})
