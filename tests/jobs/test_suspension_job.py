"""The suspension job (SPEC §9; Art. 3, 8, 12-1): runs at injected times carry out what has come due, once.

Given-steps go through the staff API (windows, service starts, security-contract ends); each When is a job run
at a chosen `now`, as EventBridge would fire it then. The handler itself is run once with the scheduled event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count
from typing import Any

import pytest

from doti import runtime
from doti.auth.staff import create_staff_key
from doti.clock import format_rfc3339, utcnow
from doti.contracts import lifecycle
from doti.contracts.terms import add_months
from doti.jobs.suspension import SuspensionReport, run_suspension
from doti.oversight import audit
from doti.store.models import ContractModel, NoticeModel
from functions.suspension import app as suspension
from tests.support import LambdaContext, admin_call, body_of, sample_event
from tests.support.contract_states import state_of
from tests.support.mail import sent_mails

pytestmark = (
    pytest.mark.isolated
)  # the suspension job takes every due window, and its notices are counted among every mail sent

PLENTY_MS = 900_000.0
CONTRACT_BODY = {"name": "Ueno Pharmacy", "contact_email": "owner@ueno-pharmacy.example"}


def staff(method: str, path: str, key: str, body: Any = None) -> Any:
    response = admin_call(method, path, key, body)
    assert response["statusCode"] in {200, 201, 204}, response["body"]
    return body_of(response)


@pytest.fixture
def key(aws) -> str:
    return create_staff_key("Otto Operator", "operator", utcnow())[1]


def new_contract(key: str, **fields: Any) -> str:
    return staff("POST", "/v1/admin/contracts", key, {**CONTRACT_BODY, **fields})["contract_id"]


def plan_window(key: str, contract_id: str, starts_at: datetime, ends_at: datetime) -> str:
    body = {"starts_at": format_rfc3339(starts_at), "ends_at": format_rfc3339(ends_at), "ground": "art8-2"}
    path = f"/v1/admin/contracts/{contract_id}/suspensions"
    return staff("POST", path, key, {**body, "reason": "maintenance"})["suspension_id"]


def window_status(key: str, contract_id: str, suspension_id: str) -> str:
    items = staff("GET", f"/v1/admin/contracts/{contract_id}/suspensions", key)["items"]
    return next(w["status"] for w in items if w["suspension_id"] == suspension_id)


def run(at: datetime, remaining_ms: Callable[[], float] = lambda: PLENTY_MS) -> SuspensionReport:
    return run_suspension(now=at, mailer=runtime.mailer(), events=runtime.events(), remaining_ms=remaining_ms)


def stop_after(items: int) -> Callable[[], float]:
    """A Lambda clock that has time for `items` items, then reports less than the job's reserve."""
    calls = count()
    return lambda: PLENTY_MS if next(calls) < items else 0.0


def job_transitions(contract_id: str) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(contract_id, limit=100)
    return [e for e in reversed(entries) if e.action == "contract.transition" and e.actor == "job:suspension"]


# planned windows


def test_a_window_is_applied_at_its_start_and_lifted_at_its_end(key):
    # Given an active contract with a window from +1 h to +3 h
    now = utcnow()
    contract_id = new_contract(key)
    starts, ends = now + timedelta(hours=1), now + timedelta(hours=3)
    window = plan_window(key, contract_id, starts, ends)

    # When the job runs before the start, at the start, again, in the window, at the end and again
    before = run(starts - timedelta(minutes=5))
    state_before = state_of(contract_id)
    at_start = run(starts)
    state_in = state_of(contract_id)
    rerun = run(starts)
    during = run(starts + timedelta(minutes=5))
    at_end = run(ends)
    state_after = state_of(contract_id)
    rerun_end = run(ends + timedelta(minutes=5))

    # Then it suspends exactly at the start and lifts exactly at the end, each once
    assert (before.examined, before.changed, state_before) == (0, 0, "active")
    assert (at_start.changed, state_in) == (1, "suspended")
    assert (rerun.examined, rerun.changed, during.changed) == (0, 0, 0)
    assert (at_end.changed, state_after) == (1, "active")
    assert (rerun_end.examined, rerun_end.changed) == (0, 0)
    assert window_status(key, contract_id, window) == "lifted"
    moves = job_transitions(contract_id)
    assert [(e.details["from"], e.details["to"], e.details["ground"]) for e in moves] == [
        ("active", "suspended", "art8-2"),
        ("suspended", "active", "art8-2"),
    ]
    assert [e.at for e in moves] == [starts, ends]
    assert moves[0].details["suspension_id"] == window
    assert moves[0].details["customer_notified"] is True  # the prior notice went out when the window was planned


def test_a_window_does_not_lift_a_suspension_it_did_not_make(key):
    # Given a window that was applied, then lifted by staff, then a suspension on another ground
    now = utcnow()
    contract_id = new_contract(key)
    starts, ends = now + timedelta(hours=1), now + timedelta(hours=3)
    window = plan_window(key, contract_id, starts, ends)
    run(starts)
    actor = audit.job_actor("staff-stand-in")
    lifecycle.transition(
        contract_id, "active", None, "work finished early", None, actor, starts + timedelta(minutes=30)
    )
    lifecycle.transition(contract_id, "suspended", "art12-1-2", "breach", None, actor, starts + timedelta(hours=1))

    # When the window's end comes
    report = run(ends)

    # Then the other suspension stands
    assert report.changed == 0
    assert state_of(contract_id) == "suspended"
    assert window_status(key, contract_id, window) == "lifted"


def test_a_window_on_a_contract_that_is_not_active_is_skipped(key):
    # Given a window on a contract that staff suspend on an Art. 12 ground before it starts
    now = utcnow()
    contract_id = new_contract(key)
    starts, ends = now + timedelta(hours=1), now + timedelta(hours=3)
    window = plan_window(key, contract_id, starts, ends)
    lifecycle.transition(contract_id, "suspended", "art12-1-2", "breach", None, audit.job_actor("x"), now)

    # When the job runs at the window's start and end
    at_start, at_end = run(starts), run(ends)

    # Then the window is skipped and never lifts the other suspension
    assert (at_start.changed, at_end.changed) == (0, 0)
    assert window_status(key, contract_id, window) == "skipped"
    assert state_of(contract_id) == "suspended"


def test_a_window_the_job_only_saw_after_its_end_is_skipped(key):
    # Given a window whose start and end both passed while the job did not run
    now = utcnow()
    contract_id = new_contract(key)
    starts, ends = now + timedelta(hours=1), now + timedelta(hours=2)
    window = plan_window(key, contract_id, starts, ends)

    # When the job runs after both
    report = run(ends + timedelta(minutes=1))

    # Then the contract was never suspended for a window already over
    assert report.changed == 0
    assert state_of(contract_id) == "active"
    assert window_status(key, contract_id, window) == "skipped"


# pending contracts (Art. 3)


def test_a_pending_contract_starts_when_its_service_start_comes(key):
    # Given a contract whose service starts in two days
    starts = utcnow() + timedelta(days=2)
    contract_id = new_contract(key, service_start=format_rfc3339(starts))

    # When the job runs a minute before, then at the start
    early = run(starts - timedelta(minutes=1))
    state_early = state_of(contract_id)
    on_time = run(starts)

    # Then it is active from then on, by the job's hand
    assert (early.changed, state_early) == (0, "pending")
    assert on_time.changed == 1
    assert state_of(contract_id) == "active"
    assert [(e.details["from"], e.details["to"], e.at) for e in job_transitions(contract_id)] == [
        ("pending", "active", starts)
    ]


def test_a_stopped_run_finishes_on_the_next_and_a_rerun_changes_nothing(key):
    # Given five contracts whose service starts at the same time
    starts = utcnow() + timedelta(days=1)
    ids = [new_contract(key, service_start=format_rfc3339(starts)) for _ in range(5)]

    # When a run has time for two items only, then the next run has plenty, then a rerun
    stopped = run(starts, remaining_ms=stop_after(2))
    states_after_stop = sorted(state_of(c) for c in ids)
    resumed = run(starts + timedelta(minutes=5))
    rerun = run(starts + timedelta(minutes=10))

    # Then the first stops cleanly after two, the second does the other three, the third finds nothing
    assert (stopped.stopped_early, stopped.examined, stopped.changed) == (True, 2, 2)
    assert states_after_stop == ["active", "active", "pending", "pending", "pending"]
    assert (resumed.stopped_early, resumed.changed) == (False, 3)
    assert {state_of(c) for c in ids} == {"active"}
    assert (rerun.examined, rerun.changed, rerun.failed) == (0, 0, 0)


# security-service contract ended (Art. 12-1)


def test_a_contract_is_suspended_when_its_security_contract_ends(key):
    # Given an active contract whose security-service contract ends in ten days
    now = utcnow()
    contract_id = new_contract(key, security_contract_id="SEC-77")
    ended = now + timedelta(days=10)
    staff("PATCH", f"/v1/admin/contracts/{contract_id}", key, {"security_contract_ended_at": format_rfc3339(ended)})
    mails_before = len(sent_mails())

    # When the job runs before and at that time, and again
    early = run(ended - timedelta(minutes=5))
    due = run(ended)
    rerun = run(ended + timedelta(minutes=5))

    # Then the contract is suspended then, on that ground, with a notice to the customer; once
    assert early.changed == 0
    assert (due.changed, rerun.changed) == (1, 0)
    assert state_of(contract_id) == "suspended"
    move = job_transitions(contract_id)[0]
    assert move.details["ground"] == "security_contract_ended"
    assert move.details["customer_notified"] is True
    assert len(sent_mails()) == mails_before + 1


def test_a_withdrawn_security_contract_end_suspends_nothing(key):
    # Given an end date that staff recorded and then cleared
    ended = utcnow() + timedelta(days=10)
    contract_id = new_contract(key)
    path = f"/v1/admin/contracts/{contract_id}"
    staff("PATCH", path, key, {"security_contract_ended_at": format_rfc3339(ended)})
    staff("PATCH", path, key, {"security_contract_ended_at": None})

    # When the job runs after the date
    report = run(ended + timedelta(minutes=1))

    # Then the stale item is examined and dropped, and the contract stays active
    assert (report.examined, report.changed) == (1, 0)
    assert state_of(contract_id) == "active"


# no use for three months (Art. 12-1-11)


def inactivity_notices(contract_id: str) -> list[NoticeModel]:
    return [n for n in NoticeModel.query(contract_id) if n.kind == "inactivity"]


def test_an_idle_contract_is_notified_once(key):
    # Given a contract never used since it was created
    contract_id = new_contract(key)
    created = ContractModel.get(contract_id).created_at
    idle_from = add_months(created, 3)

    # When the job runs just before three months, at three months, again, and three months later still unused
    early = run(idle_from - timedelta(minutes=1))
    due = run(idle_from)
    rerun = run(idle_from + timedelta(minutes=5))
    much_later = run(add_months(idle_from, 3))

    # Then one inactivity notice goes out, at three months, and the contract records when
    assert early.changed == 0
    assert due.changed == 1
    assert (rerun.examined, rerun.changed) == (0, 0)
    assert (much_later.examined, much_later.changed) == (1, 0)
    assert len(inactivity_notices(contract_id)) == 1
    assert ContractModel.get(contract_id).idle_notified_at == idle_from
    flagged, _ = audit.entries(contract_id, limit=50)
    assert [e.details["ground"] for e in flagged if e.action == "contract.idle_flagged"] == ["art12-1-11"]
    assert state_of(contract_id) == "active"  # ending it is for staff, if the customer does not answer


def test_a_contract_in_use_is_checked_again_three_months_after_its_last_use(key):
    # Given a contract used two months after it was created
    contract_id = new_contract(key)
    created = ContractModel.get(contract_id).created_at
    used = add_months(created, 2)
    ContractModel.get(contract_id).update(actions=[ContractModel.last_used_at.set(used)])

    # When the job runs at three months after creation, then three months after the use
    at_three = run(add_months(created, 3))
    after_use = run(add_months(used, 3))

    # Then the first only reschedules, the second notifies
    assert (at_three.examined, at_three.changed) == (1, 0)
    assert after_use.changed == 1
    assert len(inactivity_notices(contract_id)) == 1


# the handler


def test_the_handler_runs_the_job_on_the_scheduled_event(key, capsys):
    # Given a contract whose security-service contract ended a minute ago
    contract_id = new_contract(key)
    ended = format_rfc3339(utcnow() - timedelta(minutes=1))
    staff("PATCH", f"/v1/admin/contracts/{contract_id}", key, {"security_contract_ended_at": ended})
    event = sample_event("suspension/scheduled.json")

    # When EventBridge fires the job
    report = suspension.lambda_handler(event, LambdaContext())

    # Then the contract is suspended and the run reports and publishes its counts
    assert (report["examined"], report["changed"], report["failed"], report["stopped_early"]) == (1, 1, 0, False)
    assert state_of(contract_id) == "suspended"
    emitted = capsys.readouterr().out
    for metric in ("SuspensionItemsExamined", "SuspensionItemsChanged", "SuspensionItemsFailed"):
        assert metric in emitted


def test_a_handler_near_its_timeout_stops_before_doing_anything(key):
    # Given due work and a Lambda with less time left than the job's reserve
    contract_id = new_contract(key)
    ended = format_rfc3339(utcnow() - timedelta(minutes=1))
    staff("PATCH", f"/v1/admin/contracts/{contract_id}", key, {"security_contract_ended_at": ended})
    event = sample_event("suspension/scheduled.json")

    # When the job is fired
    report = suspension.lambda_handler(event, LambdaContext(remaining_ms=1_000))

    # Then it stops cleanly and the work waits for the next run, which does it
    assert (report["stopped_early"], report["examined"]) == (True, 0)
    assert state_of(contract_id) == "active"
    assert run(utcnow()).changed == 1
    assert state_of(contract_id) == "suspended"
