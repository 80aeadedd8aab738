"""The termination job (SPEC §9), hourly: end cancelled contracts, close ended contracts' access, purge after grace.

In order:
  1. "cancel_effective" work that is due: a `cancelling` contract past its effective date becomes `terminated`
     (Art. 13), which sets purge_due_at = now + the grace period and schedules its "purge" work
     (doti.contracts.lifecycle);
  2. every terminated contract awaiting its purge (its "purge" work item, due or not, is how the job finds the
     ones staff terminated directly): still-active devices revoked, sessions deleted, share links revoked, audited
     once, before the first of them;
  3. "purge" work that is due: the irrecoverable purge (doti.jobs.purge), which may take several runs.
Each item's effect is written before the item is deleted, so a run stopped anywhere (timeout reserve, `max_items`,
crash) leaves the rest for the next run, and a rerun finds nothing to redo.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from doti.contracts import contract_states, lifecycle, terms
from doti.errors import Conflict, DotiError, NotFound
from doti.jobs import schedule
from doti.jobs.purge import RECEIPT_UNCONFIRMED, NotPurgeable, PurgeOutcome, purge_contract
from doti.mail import Mailer
from doti.observability import logger
from doti.oversight import audit
from doti.store import contracts as contract_store
from doti.store import purge as store
from doti.store.objects import Storage
from doti.store.transactions import Transaction

JOB = "termination"
ACTOR = audit.job_actor(JOB)
BATCH = 25
RESERVE_MS = 30_000  # stop this long before the Lambda timeout (900 s); the next run continues
# Terminated contracts awaiting their purge, looked at per run (the grace period bounds how many there are).
ENDED_PER_RUN = 1000
_FAR_FUTURE = timedelta(days=36_500)
_CANCELLATION_SEARCH = 500  # audit entries searched, newest first, for the ground the cancellation cited
_ACCESS_LIMIT = 10_000  # sessions or share links of one contract counted for its revocation entry


@dataclass
class TerminationReport:
    examined: int = 0
    changed: int = 0
    failed: int = 0
    terminated: int = 0
    devices_revoked: int = 0
    sessions_deleted: int = 0
    shares_revoked: int = 0
    purged: int = 0
    purges_incomplete: int = 0  # purges this run left unfinished (stopped by the time budget, or failed): rerun
    receipts_unconfirmed: int = 0  # deletion receipts that may not have reached SES (never resent): check by hand
    items_deleted: int = 0  # objects, index items and registry items the purges deleted
    bytes_freed: int = 0
    stopped_early: bool = False
    failures: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Run:
    storage: Storage
    mailer: Mailer
    now: datetime
    remaining_ms: Callable[[], float]
    purge_grace_days: int
    reserve_ms: float
    max_items: int | None
    purge_batch: int
    report: TerminationReport = field(default_factory=TerminationReport)
    items: int = 0
    access_open: set[str] = field(default_factory=set)  # contracts whose access this run failed to close

    def may_continue(self) -> bool:
        """False (and the report says so) once the time budget or the item cap is spent."""
        out_of_items = self.max_items is not None and self.items >= self.max_items
        if out_of_items or self.remaining_ms() < self.reserve_ms:
            self.report.stopped_early = True
            return False
        self.items += 1
        self.report.examined += 1
        return True

    def fail(self, kind: str, contract_id: str, exc: DotiError) -> None:
        self.report.failed += 1
        self.report.failures.append({"kind": kind, "contract_id": contract_id, "code": exc.code})
        logger.exception("termination job item failed", extra={"kind": kind, "contract_id": contract_id})


def run_termination(
    *,
    storage: Storage,
    mailer: Mailer,
    now: datetime,
    remaining_ms: Callable[[], float],
    purge_grace_days: int,
    reserve_ms: float = RESERVE_MS,
    max_items: int | None = None,
    purge_batch: int = 1000,
) -> TerminationReport:
    """One run of the job; `max_items` caps the work items and contracts it takes on (tests, benchmarks)."""
    run = _Run(
        storage,
        mailer,
        now,
        remaining_ms,
        purge_grace_days,
        reserve_ms,
        max_items,
        purge_batch,
    )
    if _end_cancellations(run) and _close_access(run):
        _purge_due(run)
    return run.report


# 1. cancellations that took effect


def _end_cancellations(run: _Run) -> bool:
    failed: set[str] = set()
    while due := schedule.due_work(schedule.CANCEL_EFFECTIVE, run.now, BATCH, skip=failed):
        for work in due:
            if not run.may_continue():
                return False
            try:
                if _end_cancellation(run, work):
                    run.report.changed += 1
                    run.report.terminated += 1
                schedule.done_work(work)
            except DotiError as exc:
                failed.add(work.due_key)
                run.fail(work.kind, work.contract_id, exc)
    return True


def _end_cancellation(run: _Run, work: schedule.ScheduledWork) -> bool:
    try:
        contract = terms.get_contract(work.contract_id)
    except NotFound:
        return False
    due = contract.cancel_effective_at
    if contract.state != terms.CANCELLING or due is None or due > run.now:
        return False  # terminated meanwhile, or a stale item (the contract's own item is scheduled)
    try:
        lifecycle.transition(
            contract.contract_id,
            terms.TERMINATED,
            _cancellation_ground(contract.contract_id),
            "the cancellation took effect (Art. 13)",
            None,
            ACTOR,
            run.now,
            purge_grace_days=run.purge_grace_days,
        )
    except Conflict:
        return False  # someone moved the contract first
    _revoke_access(run, contract.contract_id)
    return True


def _cancellation_ground(contract_id: str) -> str:
    """The ground the cancellation cited (art13-1 or art13-2), from its audit entry; art13-1 if not found."""
    after: int | None = None
    searched = 0
    while searched < _CANCELLATION_SEARCH:
        page, after = audit.entries(contract_id, limit=100, after_seq=after)
        searched += len(page)
        for entry in page:
            if entry.action == "contract.transition" and entry.details.get("to") == terms.CANCELLING:
                ground = entry.details.get("ground")
                return ground if ground in contract_states.CANCELLATION_GROUNDS else contract_states.CUSTOMER_NOTICE
        if after is None:
            break
    return contract_states.CUSTOMER_NOTICE


# 2. access of terminated contracts


def _close_access(run: _Run) -> bool:
    """Sweep the terminated contracts awaiting purge: staff may have terminated any of them since the last run."""
    pending = schedule.due_work(schedule.PURGE, run.now + _FAR_FUTURE, ENDED_PER_RUN)
    for contract_id in dict.fromkeys(work.contract_id for work in pending):
        if not run.may_continue():
            return False
        try:
            if _revoke_access(run, contract_id):
                run.report.changed += 1
        except DotiError as exc:
            run.access_open.add(contract_id)  # not purged by this run: the purge would revoke it unaudited
            run.fail("access", contract_id, exc)
    return True


def _revoke_access(run: _Run, contract_id: str) -> bool:
    """Revoke devices, sessions and share links of a terminated contract; True when anything changed.

    Audited first: "contract.access_revoked", with what there is to revoke, commits with the contract's
    access_revoked_at (doti.oversight.audit.record_with), before anything is revoked, so a run stopped midway loses no
    entry. Every run then revokes what is left: a run that finds access_revoked_at set finishes an earlier run's work
    without a second entry."""
    try:
        contract = contract_store.read_contract(contract_id)
    except NotFound:
        return False
    if contract.state != terms.TERMINATED:
        return False
    if contract.access_revoked_at is None:
        _record_revocation(run, contract_id, _access_left(contract_id))
    devices = store.revoke_active_devices(contract_id, run.now)
    sessions = _delete_all(lambda n: store.delete_by_contract("sessions", contract_id, n))
    shares = revoke_shares(contract_id)
    run.report.devices_revoked += devices
    run.report.sessions_deleted += sessions
    run.report.shares_revoked += shares
    return bool(devices or sessions or shares)


def _access_left(contract_id: str) -> dict[str, int]:
    """What a terminated contract still has to be revoked, as the entry states it."""
    shares = len(store.find_by_contract("shares", contract_id, _ACCESS_LIMIT))
    return {
        "devices_revoked": store.active_devices(contract_id),
        "sessions_deleted": len(store.find_by_contract("sessions", contract_id, _ACCESS_LIMIT)),
        "shares_revoked": shares,
    }


def _record_revocation(run: _Run, contract_id: str, left: dict[str, int]) -> None:
    """The entry and the contract's access_revoked_at, together and once; nothing when there is nothing to revoke."""
    if not any(left.values()):
        return

    def prepare() -> audit.StateWrite:
        read = contract_store.read_versioned(contract_id)
        if read.contract.state != terms.TERMINATED or read.contract.access_revoked_at is not None:
            raise _Recorded  # recorded meanwhile (or the contract moved on)

        def add(transaction: Transaction) -> None:
            contract_store.add_update(transaction, read, {"access_revoked_at": run.now})  # on the version read

        return audit.StateWrite(add, left)

    with suppress(_Recorded):
        audit.record_with(
            contract_id,
            actor=ACTOR,
            action="contract.access_revoked",
            subject=contract_id,
            now=run.now,
            prepare=prepare,
        )


class _Recorded(Exception):
    """Another run recorded the revocation first."""


def revoke_shares(contract_id: str) -> int:
    """Share links die with the contract: their items are deleted (share pages also check the contract's state)."""
    return _delete_all(lambda n: store.delete_by_contract("shares", contract_id, n))


def _delete_all(delete_batch: Callable[[int], int]) -> int:
    total = 0
    while (deleted := delete_batch(BATCH)) > 0:
        total += deleted
        if deleted < BATCH:
            break
    return total


# 3. purges past the grace period


def _purge_due(run: _Run) -> bool:
    failed: set[str] = set()
    while due := schedule.due_work(schedule.PURGE, run.now, BATCH, skip=failed):
        for work in due:
            if work.contract_id in run.access_open:
                failed.add(work.due_key)  # its access first, with its entry, at the next run (reported above)
                run.report.purges_incomplete += 1
                continue
            if not run.may_continue():
                return False
            try:
                outcome = _purge(run, work)
            except DotiError as exc:
                failed.add(work.due_key)
                run.report.purges_incomplete += 1
                run.fail(work.kind, work.contract_id, exc)
                continue
            if outcome is not None:
                run.report.items_deleted += sum(outcome.counts.values())
                run.report.bytes_freed += outcome.bytes_freed
                _report_receipt(run, outcome)
                if not outcome.done:
                    run.report.purges_incomplete += 1
                if outcome.stopped_early:
                    run.report.stopped_early = True
                    return False
                if not outcome.done:
                    failed.add(work.due_key)
                    code = outcome.error or "incomplete"
                    run.report.failed += 1
                    run.report.failures.append({"kind": work.kind, "contract_id": work.contract_id, "code": code})
                    logger.warning(
                        "purge incomplete", extra={"contract_id": work.contract_id, "code": code, "left": outcome.left}
                    )
                    continue
                if outcome.status == "purged":
                    run.report.changed += 1
                    run.report.purged += 1
            schedule.done_work(work)
    return True


def _report_receipt(run: _Run, outcome: PurgeOutcome) -> None:
    """A receipt that may not have gone is never resent (it may have): operators must hear of it."""
    if outcome.receipt == RECEIPT_UNCONFIRMED and outcome.done:
        run.report.receipts_unconfirmed += 1
        logger.warning("deletion receipt unconfirmed", extra={"contract_id": outcome.contract_id})


def _purge(run: _Run, work: schedule.ScheduledWork) -> PurgeOutcome | None:
    """The purge of one due item; None when the item is stale (no such contract, or it is not terminated)."""
    try:
        return purge_contract(
            work.contract_id,
            storage=run.storage,
            mailer=run.mailer,
            now=run.now,
            remaining_ms=run.remaining_ms,
            actor=ACTOR,
            batch=run.purge_batch,
            reserve_ms=run.reserve_ms,
        )
    except NotPurgeable as exc:
        logger.info("stale purge item dropped", extra={"contract_id": work.contract_id, "reason": exc.message})
        return None
