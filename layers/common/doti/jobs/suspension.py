"""The suspension job (SPEC §9), every five minutes: carry out the lifecycle work that has come due.

In order: start the service of pending contracts (Art. 3), apply and lift planned suspension windows (Art. 8),
suspend contracts whose security-service contract ended (Art. 12-1), and flag contracts unused for three months
(Art. 12-1-11) with one notice, and tell the customer of requests from people filmed left unanswered past their
due date (doti.subjects.overdue); then e-mail the notices whose publisher could not (doti.contracts.notices.deliver: at
most once; one whose e-mail may have gone is never sent again, and the report counts it). Its input is due work items
only, so its cost follows what is due, not how many contracts exist. Each item is handled on its own: its effect is
written first, then the item is deleted, so a run stopped anywhere (timeout reserve, crash) leaves the rest for the
next run, and a rerun finds nothing to redo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from doti.clock import format_rfc3339
from doti.contracts import contract_states, lifecycle, notices, suspensions, terms
from doti.entities import Contract
from doti.errors import Conflict, DotiError, NotFound
from doti.jobs import schedule
from doti.mail import Mailer
from doti.observability import logger
from doti.oversight import audit
from doti.store.events import EventSink
from doti.subjects import overdue

JOB = "suspension"
ACTOR = audit.job_actor(JOB)
BATCH = 100
RESERVE_MS = 20_000  # stop this long before the Lambda timeout; the next run continues
IDLE_RECHECK = timedelta(days=7)  # a contract that cannot be used (pending, suspended) is looked at again later


@dataclass
class SuspensionReport:
    examined: int = 0
    changed: int = 0
    failed: int = 0
    notices_unconfirmed: int = 0  # notice e-mails that may not have gone (never resent): check with the customer
    stopped_early: bool = False
    by_kind: dict[str, int] = field(default_factory=dict)  # items changed, per kind


@dataclass(frozen=True)
class _Run:
    now: datetime
    mailer: Mailer
    events: EventSink
    report: SuspensionReport


def run_suspension(
    *,
    now: datetime,
    mailer: Mailer,
    events: EventSink,
    remaining_ms: Callable[[], float],
    batch: int = BATCH,
    reserve_ms: float = RESERVE_MS,
) -> SuspensionReport:
    report = SuspensionReport()
    run = _Run(now=now, mailer=mailer, events=events, report=report)
    for kind, handle in _HANDLERS.items():
        failed: set[str] = set()
        while due := schedule.due_work(kind, now, batch, skip=failed):
            for work in due:
                if remaining_ms() < reserve_ms:
                    report.stopped_early = True
                    return report
                report.examined += 1
                try:
                    changed = handle(run, work)
                    schedule.done_work(work)
                except DotiError as exc:
                    failed.add(work.due_key)
                    report.failed += 1
                    logger.exception("suspension job item failed", extra={"kind": kind, "code": exc.code})
                    continue
                if changed:
                    report.changed += 1
                    report.by_kind[kind] = report.by_kind.get(kind, 0) + 1
    return report


def _contract(work: schedule.ScheduledWork) -> Contract | None:
    try:
        return terms.get_contract(work.contract_id)
    except NotFound:
        return None  # scheduled ahead of a contract that was never stored


def _move(run: _Run, contract_id: str, to: str, ground: str | None, reason: str, window_id: str | None = None) -> bool:
    """A transition by the job; a Conflict means someone moved the contract first, so there is nothing to do."""
    try:
        lifecycle.transition(
            contract_id,
            to,
            ground,
            reason,
            None,
            ACTOR,
            run.now,
            mailer=run.mailer,
            events=run.events,
            window_id=window_id,
        )
    except Conflict:
        return False
    return True


def _start_service(run: _Run, work: schedule.ScheduledWork) -> bool:
    contract = _contract(work)
    if contract is None or contract.state != terms.PENDING:
        return False
    if contract.service_start is not None and contract.service_start > run.now:
        return False  # moved later; its own item is scheduled
    return _move(run, contract.contract_id, terms.ACTIVE, None, "the service starts (Art. 3)")


def _apply_window(run: _Run, work: schedule.ScheduledWork) -> bool:
    window = _window(work)
    if window is None or window.status not in (suspensions.WINDOW_SCHEDULED, suspensions.WINDOW_APPLIED):
        return False
    contract = _contract(work)
    if window.status == suspensions.WINDOW_SCHEDULED:
        if contract is None or contract.state != terms.ACTIVE or window.ends_at <= run.now:
            suspensions.set_window_status(window, (suspensions.WINDOW_SCHEDULED,), suspensions.WINDOW_SKIPPED)
            audit.record(
                work.contract_id,
                actor=ACTOR,
                action="suspension.skipped",
                subject=window.suspension_id,
                details={"state": contract.state if contract else None, "ends_at": format_rfc3339(window.ends_at)},
                now=run.now,
            )
            return False
        # Claim the window first: "applied" on an active contract means "suspend it", also after a crash here.
        if not suspensions.set_window_status(window, (suspensions.WINDOW_SCHEDULED,), suspensions.WINDOW_APPLIED):
            return False
    if contract is None or contract.state != terms.ACTIVE:
        return False
    reason = f"planned suspension {window.suspension_id}: {window.reason}"
    return _move(run, contract.contract_id, terms.SUSPENDED, window.ground, reason, window.suspension_id)


def _lift_window(run: _Run, work: schedule.ScheduledWork) -> bool:
    window = _window(work)
    if window is None or window.status != suspensions.WINDOW_APPLIED:
        return False  # never applied, cancelled, or already lifted (by staff or an earlier run)
    contract = _contract(work)
    if contract is None or contract.state != terms.SUSPENDED:
        suspensions.set_window_status(window, (suspensions.WINDOW_APPLIED,), suspensions.WINDOW_LIFTED)
        return False
    reason = f"planned suspension {window.suspension_id} ended"
    # leaving `suspended` marks the window lifted (doti.contracts.lifecycle)
    return _move(run, contract.contract_id, terms.ACTIVE, window.ground, reason, window.suspension_id)


def _window(work: schedule.ScheduledWork) -> lifecycle.SuspensionWindow | None:
    if not work.ref:
        return None
    try:
        return suspensions.get_window(work.contract_id, work.ref)
    except NotFound:
        return None


def _security_contract_ended(run: _Run, work: schedule.ScheduledWork) -> bool:
    contract = _contract(work)
    if contract is None or contract.security_contract_ended_at is None:
        return False  # the end date was withdrawn
    if contract.security_contract_ended_at > run.now:
        return False  # moved later; its own item is scheduled
    if contract.state != terms.ACTIVE:
        return False  # not running (pending, already suspended, cancelling or ended): staff decide
    return _move(
        run,
        contract.contract_id,
        terms.SUSPENDED,
        contract_states.SECURITY_CONTRACT_ENDED,
        "the security-service contract ended (Art. 12-1)",
    )


def _idle_check(run: _Run, work: schedule.ScheduledWork) -> bool:
    """Art. 12-1-11: notify once a contract unused for three months; the next check is scheduled from its data."""
    contract = _contract(work)
    if contract is None or contract.state in terms.ENDED_STATES:
        return False
    used = terms.last_use(contract)
    due = terms.add_months(used, terms.IDLE_MONTHS)
    if contract.state not in terms.SERVING_STATES:
        _next_check(contract, max(due, run.now + IDLE_RECHECK))
        return False
    if due > run.now:
        _next_check(contract, due)
        return False
    if contract.idle_notified_at is not None and contract.idle_notified_at >= used:
        _next_check(contract, _first_after(contract.idle_notified_at, run.now))
        return False  # notified for this idle spell already
    notices.publish(
        audience=contract.contract_id,
        kind="inactivity",
        title="The service has not been used for three months / 3か月以上ご利用がありません",
        body=(
            f"Contract {contract.contract_id} has not used the doti service since {format_rfc3339(used)}. "
            "Please reply to this notice; without a reply the contract may be ended (Art. 12-1-11).\n\n"
            f"{format_rfc3339(used)} 以降、本サービスのご利用がありません。本通知にご返信ください。"
            "ご返信がない場合、契約を解除することがあります(第12条第1項第11号)。"
        ),
        actor=ACTOR,
        mailer=run.mailer,
        events=run.events,
        now=run.now,
    )
    after = terms.mark_idle_notified(contract.contract_id, run.now)
    audit.record(
        contract.contract_id,
        actor=ACTOR,
        action="contract.idle_flagged",
        subject=contract.contract_id,
        details={"ground": "art12-1-11", "last_used_at": format_rfc3339(used)},
        now=run.now,
    )
    _next_check(after, _first_after(run.now, run.now))
    return True


def _first_after(start: datetime, now: datetime) -> datetime:
    """start + 3k months for the smallest k >= 1 that is after now (the same result on every rerun)."""
    moment = terms.add_months(start, terms.IDLE_MONTHS)
    while moment <= now:
        moment = terms.add_months(moment, terms.IDLE_MONTHS)
    return moment


def _next_check(contract: Contract, due_at: datetime) -> None:
    schedule.schedule_work(schedule.IDLE_CHECK, due_at, contract.contract_id)


def _request_overdue(run: _Run, work: schedule.ScheduledWork) -> bool:
    return overdue.notify_overdue(work, actor=ACTOR, now=run.now)


def _mail_notice(run: _Run, work: schedule.ScheduledWork) -> bool:
    """A notice's e-mail its publisher did not send (it failed, or its process stopped)."""
    outcome = notices.deliver(work, mailer=run.mailer, events=run.events, actor=ACTOR, now=run.now)
    if outcome == notices.UNCONFIRMED:
        run.report.notices_unconfirmed += 1
    return outcome != notices.DONE


_HANDLERS: dict[str, Callable[[_Run, schedule.ScheduledWork], bool]] = {
    schedule.SERVICE_START: _start_service,
    schedule.SUSPENSION_START: _apply_window,
    schedule.SUSPENSION_END: _lift_window,
    schedule.SECURITY_CONTRACT_ENDED: _security_contract_ended,
    schedule.IDLE_CHECK: _idle_check,
    schedule.REQUEST_OVERDUE: _request_overdue,
    schedule.NOTICE_MAIL: _mail_notice,  # last: the notices the items above publish are due after this run
}
