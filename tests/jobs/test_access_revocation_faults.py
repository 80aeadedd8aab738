"""Closing a terminated contract's access under a single fault at any AWS call (issue 11): the termination job's
"contract.access_revoked" entry is written once, before the first revocation, so a run stopped midway loses no
entry and the next run finishes the revocations without a second one.

Each sweep, in each mode in turn, breaks the first call and up to three writes of a clean run (tests.faults.points) on a
contract staff terminated, whose customer is logged in, and then makes the retry the system makes: the job's next hourly
run.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from doti import runtime
from doti.clock import utcnow
from doti.contracts import lifecycle, terms
from doti.jobs import schedule
from doti.jobs.termination import TerminationReport, run_termination
from doti.oversight import audit
from doti.store.models import DeviceModel, SessionModel
from functions.viewer import app as viewer
from tests.faults.inject import MODES, Call, Plan
from tests.faults.points import attempt, sweep
from tests.support import LambdaContext, World, api_event

# Isolated (moto emptied before each test): the termination job takes every due contract.
pytestmark = pytest.mark.isolated

GRACE_DAYS = 30


def run_job(at: datetime) -> TerminationReport:
    return run_termination(
        storage=runtime.storage(),
        mailer=runtime.receipt_mailer(),
        now=at,
        remaining_ms=lambda: 900_000.0,
        purge_grace_days=GRACE_DAYS,
    )


def log_in(world: World) -> None:
    event = api_event("viewer/login.json", body=json.dumps({"login_id": world.login_id, "password": world.password}))
    assert viewer.lambda_handler(event, LambdaContext())["statusCode"] == 200


def forget_earlier_purges() -> None:
    """The purge work of the contracts terminated before, the clean runs' among them (no check tidies theirs): the job
    sweeps every contract awaiting purge on every run, so each run would revoke all of them again, more each time."""
    for work in schedule.due_work(schedule.PURGE, utcnow() + timedelta(days=GRACE_DAYS + 1), 1000):
        schedule.done_work(work)


def revocations(contract_id: str) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(contract_id, limit=100)
    return [e for e in entries if e.action == "contract.access_revoked"]


def test_access_closed_under_any_single_fault_is_audited_once_before_it_is_revoked(aws, world_factory):
    def terminated() -> World:
        # Given a contract staff terminated, with an active device and a logged-in customer (the only one awaiting
        # purge, so that every run makes the clean run's calls)
        forget_earlier_purges()
        world = world_factory()
        log_in(world)
        lifecycle.transition(world.contract_id, "terminated", "art12-1-1", "fees unpaid", None, "staff:stf_x", utcnow())
        return world

    def check(world: World, plan: Plan, outcome: Any) -> None:
        # When the job runs again an hour later
        rerun = run_job(utcnow() + timedelta(hours=1))
        # Then the device is revoked and the session gone, with one entry saying so, written before either went
        cid = world.contract_id
        assert [d.status for d in DeviceModel.by_contract.query(cid)] == ["revoked"], plan
        assert list(SessionModel.scan(SessionModel.contract_id == cid)) == [], plan
        (entry,) = revocations(cid)
        assert entry.details == {"devices_revoked": 1, "sessions_deleted": 1, "shares_revoked": 0}, plan
        assert audit.verify_chain(cid).intact, plan
        assert rerun.failed == 0, (plan, rerun)
        # (its purge, 30 days away, would make every later run longer: it goes once checked)
        contract = terms.get_contract(cid)
        assert contract.purge_due_at is not None
        schedule.done_work(schedule.work_for(schedule.PURGE, cid, None, contract.purge_due_at))

    for mode in MODES:
        sweep(mode, terminated, lambda _world: run_job(utcnow()), check)


def test_a_contract_whose_access_could_not_be_closed_is_not_purged_by_that_run(aws, world_factory):
    def ended() -> tuple[World, datetime]:
        # a contract staff terminated with no grace period, whose customer is logged in; the job's next run
        world = world_factory()
        log_in(world)
        now = utcnow()
        lifecycle.transition(
            world.contract_id, "terminated", "art12-1-1", "fees unpaid", None, "staff:stf_x", now, purge_grace_days=0
        )
        return world, now + timedelta(hours=1)

    # (the run's calls, learned on contracts of their own: the first run fills what the process keeps)
    for _ in range(2):
        clean = Plan()
        _, at = ended()
        assert attempt(clean, lambda: run_job(at))[0].purged == 1  # noqa: B023 - called at once
    closing = clean.calls.index(Call("dynamodb", "TransactWriteItems"))

    # Given such a contract
    world, at = ended()

    # When the job runs and the entry of closing its access cannot be written (the run's first transaction)
    plan = Plan("err", at=closing)
    report, failure = attempt(plan, lambda: run_job(at))

    # Then that run does not purge it (the purge would delete its sessions with no entry), and says so
    assert failure is None
    assert plan.fired == Call("dynamodb", "TransactWriteItems")
    assert terms.get_contract(world.contract_id).state == "terminated"
    assert (report.failed, report.purged, report.purges_incomplete) == (1, 0, 1)
    assert revocations(world.contract_id) == []

    # When the next run comes / Then it closes the access, with its entry, and purges the contract
    rerun = run_job(at + timedelta(hours=1))
    assert (rerun.failed, rerun.purged) == (0, 1)
    (entry,) = revocations(world.contract_id)
    assert entry.details == {"devices_revoked": 1, "sessions_deleted": 1, "shares_revoked": 0}
    assert terms.get_contract(world.contract_id).state == "purged"
