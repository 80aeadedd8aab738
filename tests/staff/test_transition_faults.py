"""Contract transitions under a single fault at any AWS call (issue 11, defect 4): a move and its audit entry commit
together, so a rerun that finds the move made finds its "contract.transition" entry too, once.

Each test, in each mode in turn, learns a clean run's calls, then breaks a sample of them in turn (its first call and up
to three writes: tests.faults.points.fault_points), on a fresh contract, and then makes the retries the system makes:
the termination job's next hourly run, the purge's next run, a staff member sending the request again. The modes share
one test, and so one moto, as setting moto up costs more than a mode's sweep.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from doti import runtime
from doti.auth.staff import create_staff_key
from doti.clock import utcnow
from doti.contracts import lifecycle, terms
from doti.entities import Contract
from doti.jobs import schedule
from doti.jobs.termination import TerminationReport, run_termination
from doti.oversight import audit
from tests.faults.inject import MODES, Call, Plan
from tests.faults.points import attempt, sweep
from tests.support import admin_call

# Isolated (moto emptied before each test): the termination job takes every due contract.
pytestmark = pytest.mark.isolated

GRACE_DAYS = 30
STAFF = "staff:stf_faults"
JOB = audit.job_actor("termination")
MOVE = Call("dynamodb", "TransactWriteItems")  # a move with its contract.transition entry (the run's first transaction)


def new_contract() -> str:
    """An active contract, and nothing else: a transition needs no site, camera or user."""
    contract = terms.create_contract(
        name="Fault Shop",
        contact_email="owner@fault-shop.example",
        plan=terms.Plan(),
        security_contract_id=None,
        now=utcnow(),
    )
    return contract.contract_id


def moves_of(contract_id: str) -> list[tuple[str, str]]:
    """The chain's transition entries, oldest first, as (from, to)."""
    entries, _ = audit.entries(contract_id, limit=100)
    return [(e.details["from"], e.details["to"]) for e in reversed(entries) if e.action == "contract.transition"]


def assert_chain_intact(contract_id: str) -> None:
    report = audit.verify_chain(contract_id)
    assert report.intact, report


# the audit log alone


def test_an_entry_whose_transaction_was_sent_twice_is_written_once(aws):
    # Given a contract, and its next audit entry's transaction applied, then sent again by botocore (the resend
    # fails its own conditions: the entry exists and the head moved)
    contract_id = new_contract()
    before = audit.verify_chain(contract_id).entries

    # When the entry is recorded
    plan = Plan("dup", at=1)  # GetItem (the head), then TransactWriteItems
    entry, failure = attempt(plan, lambda: audit.record(contract_id, actor=STAFF, action="test.once", now=utcnow()))

    # Then the caller got it, and the chain holds it once
    assert (plan.fired, failure) == (Call("dynamodb", "TransactWriteItems"), None)
    entries, _ = audit.entries(contract_id, limit=100)
    assert [e.action for e in entries].count("test.once") == 1
    assert entry.seq == before + 1
    assert_chain_intact(contract_id)


# the termination job ends a cancellation that took effect


def run_job(at: datetime) -> TerminationReport:
    return run_termination(
        storage=runtime.storage(),
        mailer=runtime.mailer(),
        now=at,
        remaining_ms=lambda: 900_000.0,
        purge_grace_days=GRACE_DAYS,
    )


def tidy_purge_work(contract_id: str) -> None:
    """Each contract terminated here leaves its purge scheduled in 30 days; later runs of the job would sweep it
    again (more calls each time), so it goes once the contract has been checked."""
    contract = terms.get_contract(contract_id)
    if contract.purge_due_at is not None:
        schedule.done_work(schedule.work_for(schedule.PURGE, contract_id, None, contract.purge_due_at))


def forget_earlier_purges() -> None:
    """The purge work of every contract terminated before, the clean runs' among them (no check tidies theirs): the
    job's runs would sweep them all again, more each time, and learn more calls than a broken run makes."""
    for work in schedule.due_work(schedule.PURGE, utcnow() + timedelta(days=GRACE_DAYS + 1), 1000):
        schedule.done_work(work)


def test_a_cancellation_the_job_ends_under_any_single_fault_is_audited_once(aws):
    now = utcnow()
    job_at = now + timedelta(minutes=1)

    def cancelling() -> str:
        # Given a contract whose customer cancelled it at once (Art. 13-2), effective a second from now (and no other
        # awaiting purge)
        forget_earlier_purges()
        contract_id = new_contract()
        lifecycle.transition(
            contract_id, "cancelling", "art13-2", "the customer ends it", now + timedelta(seconds=1), STAFF, now
        )
        return contract_id

    def check(contract_id: str, plan: Plan, outcome: Any) -> None:
        # Then the broken run either finished the move, or its report says what it could not finish
        finished = terms.get_contract(contract_id).state == "terminated"
        if isinstance(outcome, TerminationReport) and not finished:
            assert outcome.failed >= 1, (plan, outcome)
        # When the job runs again, an hour later, unbroken
        rerun = run_job(job_at + timedelta(hours=1))
        # Then the contract is terminated, with one entry for the move, in an intact chain, and nothing left to redo
        assert terms.get_contract(contract_id).state == "terminated", plan
        assert moves_of(contract_id) == [("active", "cancelling"), ("cancelling", "terminated")], plan
        assert_chain_intact(contract_id)
        assert rerun.failed == 0, (plan, rerun)
        tidy_purge_work(contract_id)

    # When the job's run is broken at each sampled call in turn, and always at the move's transaction (with its entry:
    # defect 4 lost it when the move and the entry were two writes)
    for mode in MODES:
        sweep(mode, cancelling, lambda _contract_id: run_job(job_at), check, keep=(MOVE,))


# the purge's last step: terminated -> purged (doti.jobs.purge calls lifecycle.transition so)


def test_the_move_to_purged_under_any_single_fault_is_audited_once(aws):
    now = utcnow()
    past_grace = now + timedelta(days=GRACE_DAYS + 1)

    def terminated() -> str:
        # Given a terminated contract whose grace period is over
        contract_id = new_contract()
        lifecycle.transition(contract_id, "terminated", "art12-1-6", "given", None, STAFF, now)
        tidy_purge_work(contract_id)
        return contract_id

    def purged(contract_id: str) -> Contract:
        return lifecycle.transition(contract_id, "purged", None, "data purged (Art. 10-5)", None, JOB, past_grace)

    def check(contract_id: str, plan: Plan, outcome: Any) -> None:
        # When the purge runs again, as its next run does: the move once more unless the contract is purged
        if terms.get_contract(contract_id).state == "terminated":
            purged(contract_id)
        # Then the contract is purged, with one entry for the move, in an intact chain
        assert terms.get_contract(contract_id).state == "purged", plan
        assert moves_of(contract_id) == [("active", "terminated"), ("terminated", "purged")], (plan, outcome)
        assert_chain_intact(contract_id)

    # (the move and its entry are one transaction, the run's only write: always broken, as defect 4 lost the entry)
    for mode in MODES:
        sweep(mode, terminated, purged, check, keep=(MOVE,))


# a staff member suspends a contract in an emergency (with the customer's notice) and retries on an error


def test_an_emergency_suspension_under_any_single_fault_is_audited_once(aws):
    _, key = create_staff_key("Sam Staff", "operator", utcnow())
    body = {"to": "suspended", "ground": "art8-1-2", "reason": "relay station fire"}

    def suspend(contract_id: str) -> dict[str, Any]:
        response = admin_call("POST", f"/v1/admin/contracts/{contract_id}/transitions", key, body)
        assert response["statusCode"] < 500, response["body"]
        return response

    def check(contract_id: str, plan: Plan, outcome: Any) -> None:
        # When the staff member sends the request again after an error (a 409 says it is suspended already)
        if not isinstance(outcome, dict) or outcome["statusCode"] >= 300:
            retried = suspend(contract_id)
            assert retried["statusCode"] in (200, 409), retried["body"]
        # Then the contract is suspended, with one entry for the move, in an intact chain
        assert terms.get_contract(contract_id).state == "suspended", plan
        assert moves_of(contract_id) == [("active", "suspended")], (plan, outcome)
        assert_chain_intact(contract_id)

    for mode in MODES:
        sweep(mode, new_contract, suspend, check)
