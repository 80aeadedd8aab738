"""The contract lifecycle (SPEC §3; Art. 8, 12, 13): every allowed transition, no other, grounds and their rules.

Transitions go through POST /v1/admin/contracts/{id}/transitions; Given-steps that need a time other than now (a
cancellation that took effect, a grace period that passed) call doti.contracts.lifecycle with that time, as the jobs do.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest

from doti.auth.staff import create_staff_key
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.contracts import lifecycle
from doti.contracts.terms import add_months
from doti.errors import Conflict
from doti.jobs import schedule
from doti.oversight import audit
from doti.store.contracts import update_versioned
from doti.store.models import ContractModel
from tests.faults.inject import INJECTOR
from tests.support import admin_call, assert_error, body_of
from tests.support.contract_states import put_in_state, state_of
from tests.support.mail import sent_mails

# Isolated (moto emptied before each test): the transitions' notices are counted among every mail sent.
pytestmark = pytest.mark.isolated

CONTRACT_BODY = {"name": "Lifecycle Shop", "contact_email": "owner@lifecycle-shop.example"}
GRACE_DAYS = 30  # the template's PurgeGraceDays default, which the aws fixture's environment carries
JOB = audit.job_actor("test-job")


# helpers


def move(key: str, contract_id: str, **body: Any) -> dict[str, Any]:
    return admin_call("POST", f"/v1/admin/contracts/{contract_id}/transitions", key, {"reason": "test", **body})


@pytest.fixture
def admin_key(aws) -> str:
    return create_staff_key("Ada Admin", "admin", utcnow())[1]


def new_contract(key: str, **fields: Any) -> str:
    response = admin_call("POST", "/v1/admin/contracts", key, {**CONTRACT_BODY, **fields})
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)["contract_id"]


def far_cancellation() -> str:
    return format_rfc3339(add_months(utcnow(), 3))


def contract_in(key: str, state: str) -> str:
    """Given: a contract brought into `state` by allowed transitions (later times where the rules need them)."""
    if state == "pending":
        return new_contract(key, service_start=format_rfc3339(utcnow() + timedelta(days=7)))
    contract_id = new_contract(key)
    if state != "active":
        put_in_state(contract_id, state)  # the purge comes 31 days after the termination: past GRACE_DAYS
    assert state_of(contract_id) == state
    return contract_id


def transitions_of(contract_id: str) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(contract_id, limit=100)
    return [e for e in entries if e.action == "contract.transition"]


# every allowed transition


ALLOWED = [
    ("pending", {"to": "active"}),
    ("active", {"to": "suspended", "ground": "art8-1-2"}),
    ("active", {"to": "suspended", "ground": "art12-1-6"}),
    ("active", {"to": "suspended", "ground": "security_contract_ended"}),
    ("suspended", {"to": "active"}),
    ("suspended", {"to": "active", "ground": "art8-1-1"}),
    ("active", {"to": "cancelling", "ground": "art13-1", "effective_at": "far"}),
    ("suspended", {"to": "cancelling", "ground": "art13-1", "effective_at": "far"}),
    ("active", {"to": "terminated", "ground": "art12-1-12"}),
    ("active", {"to": "terminated", "ground": "art12-2"}),
    ("active", {"to": "terminated", "ground": "art13-2"}),
    ("suspended", {"to": "terminated", "ground": "art12-1-2"}),
    ("suspended", {"to": "terminated", "ground": "security_contract_ended"}),
    ("cancelling", {"to": "terminated", "ground": "art12-1-5"}),
    ("cancelling", {"to": "terminated", "ground": "art13-2"}),
]


@pytest.mark.parametrize(("start", "request_body"), ALLOWED, ids=lambda v: v if isinstance(v, str) else v.get("ground"))
def test_an_allowed_transition_moves_the_contract_and_is_audited(admin_key, start, request_body):
    # Given a contract in the start state
    contract_id = contract_in(admin_key, start)
    body = dict(request_body)
    if body.get("effective_at") == "far":
        body["effective_at"] = far_cancellation()

    # When staff move it with a ground and a reason
    response = move(admin_key, contract_id, **body, reason="as the terms allow")

    # Then it is 200 with the contract in its new state, and the audit log says who moved it, from where, why
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["state"] == body["to"] == state_of(contract_id)
    entry = transitions_of(contract_id)[0]
    assert entry.actor.startswith("staff:stf_")
    assert entry.details["from"] == start
    assert entry.details["to"] == body["to"]
    assert entry.details["ground"] == body.get("ground")
    assert entry.details["reason"] == "as the terms allow"
    assert entry.subject == contract_id


def test_the_cancellation_takes_effect_with_art13_1_only_on_its_date(admin_key):
    # Given a contract cancelling under Art. 13-1
    contract_id = contract_in(admin_key, "cancelling")
    effective = ContractModel.get(contract_id).cancel_effective_at

    # When the termination is attempted before the date, then on it (as the termination job does)
    with pytest.raises(Conflict) as early:
        lifecycle.transition(contract_id, "terminated", "art13-1", "took effect", None, JOB, effective - timedelta(1))
    contract = lifecycle.transition(contract_id, "terminated", "art13-1", "took effect", None, JOB, effective)

    # Then only the second moves it; the first names the state and the date
    assert early.value.details["current_state"] == "cancelling"
    assert early.value.details["cancel_effective_at"] == format_rfc3339(effective)
    assert contract.state == "terminated"
    assert contract.terminated_at == effective


def test_purged_comes_only_after_the_grace_period(admin_key):
    # Given a terminated contract
    contract_id = contract_in(admin_key, "terminated")
    due = ContractModel.get(contract_id).purge_due_at

    # When it is purged before its purge date, then on it
    with pytest.raises(Conflict) as early:
        lifecycle.transition(contract_id, "purged", None, "purge done", None, JOB, due - timedelta(seconds=1))
    contract = lifecycle.transition(contract_id, "purged", None, "purge done", None, JOB, due)

    # Then only on the date; purged_at records it
    assert early.value.details["purge_due_at"] == format_rfc3339(due)
    assert contract.state == "purged"
    assert contract.purged_at == due


def test_a_staff_start_before_the_service_start_sets_the_start_to_now(admin_key):
    # Given a pending contract that would start in a week
    contract_id = contract_in(admin_key, "pending")

    # When staff start it now
    before = utcnow()
    contract = body_of(move(admin_key, contract_id, to="active"))

    # Then it is active and its service started now
    assert contract["state"] == "active"
    assert before <= parse_rfc3339(contract["service_start"], "service_start") <= utcnow()


# and no other


STATES = ["pending", "active", "suspended", "cancelling", "terminated", "purged"]
TARGET_BODIES = {
    "active": {"to": "active"},
    "suspended": {"to": "suspended", "ground": "art8-1-1"},
    "cancelling": {"to": "cancelling", "ground": "art13-2", "effective_at": "far"},
    "terminated": {"to": "terminated", "ground": "art12-1-2"},
}
FORBIDDEN = [
    (start, target) for start in STATES for target in TARGET_BODIES if (start, target) not in lifecycle.TRANSITIONS
]


def test_the_forbidden_table_is_the_complement_of_the_spec():
    # Given SPEC §3's moves, When the table of forbidden staff moves is built, Then it has exactly the rest
    assert set(lifecycle.TRANSITIONS) == {
        ("pending", "active"),
        ("active", "suspended"),
        ("suspended", "active"),
        ("active", "cancelling"),
        ("suspended", "cancelling"),
        ("active", "terminated"),
        ("suspended", "terminated"),
        ("cancelling", "terminated"),
        ("terminated", "purged"),
    }
    assert ("cancelling", "active") in FORBIDDEN  # a cancellation is not withdrawn (Art. 13 gives no way back)
    assert len(FORBIDDEN) == len(STATES) * len(TARGET_BODIES) - 8


@pytest.mark.parametrize(("start", "target"), FORBIDDEN, ids=[f"{s}-to-{t}" for s, t in FORBIDDEN])
def test_a_forbidden_transition_is_a_conflict_naming_the_current_state(admin_key, start, target):
    # Given a contract in the start state
    contract_id = contract_in(admin_key, start)
    body = dict(TARGET_BODIES[target])
    if body.get("effective_at") == "far":
        body["effective_at"] = far_cancellation()

    # When staff ask for a move that SPEC §3 does not have
    response = move(admin_key, contract_id, **body)

    # Then it is 409 conflict naming the current and the requested state; nothing changed, nothing audited
    error = assert_error(response, 409, "conflict")
    assert error["details"]["current_state"] == start
    assert error["details"]["requested"] == target
    assert state_of(contract_id) == start
    assert len(transitions_of(contract_id)) == (0 if start in {"pending", "active"} else 1 + (start == "purged"))


def test_purged_is_not_a_target_of_the_staff_route(admin_key):
    # Given a terminated contract
    contract_id = contract_in(admin_key, "terminated")

    # When staff ask for purged
    response = move(admin_key, contract_id, to="purged")

    # Then the request is invalid: only the termination job purges, after deleting the data
    assert_error(response, 422, "validation_error")
    assert state_of(contract_id) == "terminated"


# grounds


@pytest.mark.parametrize(
    "body",
    [
        {"to": "suspended"},  # a suspension needs a ground
        {"to": "suspended", "ground": "art8-1-5"},  # no such item
        {"to": "suspended", "ground": "art12-2"},  # Art. 12-2 ends the contract, it does not suspend it
        {"to": "suspended", "ground": "art13-1"},
        {"to": "terminated", "ground": "art8-1-1"},  # an emergency suspends, it does not terminate
        {"to": "terminated", "ground": "art13-1"},  # Art. 13-1 takes effect on its date, through cancelling
        {"to": "terminated"},
        {"to": "cancelling", "ground": "art12-1-2", "effective_at": "far"},
        {"to": "suspended", "ground": "art8-2"},  # Art. 8-2 needs prior notice: a scheduled window
        {"to": "suspended", "ground": "art8-1-1", "effective_at": "far"},  # effective_at is for cancellations
        {"to": "active", "ground": "art8-1-1"},  # a pending contract starts without a ground
        {"to": "cancelling", "ground": "art13-1"},  # a cancellation needs its date
    ],
    ids=[
        "suspend-without-ground",
        "unknown-ground",
        "suspend-art12-2",
        "suspend-art13-1",
        "terminate-art8-1-1",
        "terminate-art13-1",
        "terminate-without-ground",
        "cancel-art12",
        "suspend-art8-2",
        "effective-at-on-suspension",
        "start-with-ground",
        "cancel-without-date",
    ],
)
def test_a_ground_that_does_not_fit_the_move_is_a_validation_error(admin_key, body):
    # Given a contract that could make the move (pending for a start, active otherwise)
    contract_id = contract_in(admin_key, "pending" if body["to"] == "active" else "active")
    before = state_of(contract_id)
    body = dict(body)
    if body.get("effective_at") == "far":
        body["effective_at"] = far_cancellation()

    # When staff ask for it with that ground
    response = move(admin_key, contract_id, **body)

    # Then it is 422 and the contract is unchanged
    error = assert_error(response, 422, "validation_error")
    assert error["details"].get("field") in {"ground", "effective_at"}
    assert state_of(contract_id) == before


def test_a_transition_without_a_reason_is_refused(admin_key):
    # Given an active contract, When staff suspend it without a reason
    contract_id = contract_in(admin_key, "active")
    response = admin_call(
        "POST", f"/v1/admin/contracts/{contract_id}/transitions", admin_key, {"to": "suspended", "ground": "art8-1-1"}
    )

    # Then it is 422 and nothing changed
    assert_error(response, 422, "validation_error")
    assert state_of(contract_id) == "active"


def test_an_unknown_contract_is_not_found(admin_key):
    response = move(admin_key, "ctr_doesnotexist00000000", to="suspended", ground="art8-1-1")
    assert_error(response, 404, "not_found")


def test_terminating_needs_an_admin_key(operator_key, admin_key):
    # Given an active contract
    contract_id = contract_in(operator_key, "active")

    # When an operator terminates it, then an admin
    refused = move(operator_key, contract_id, to="terminated", ground="art12-1-2")
    accepted = move(admin_key, contract_id, to="terminated", ground="art12-1-2")

    # Then only the admin may
    assert_error(refused, 403, "forbidden")
    assert accepted["statusCode"] == 200
    assert state_of(contract_id) == "terminated"


# Art. 13: two months' notice, unless Art. 13-2


def test_a_customer_cancellation_two_months_ahead_is_accepted_and_scheduled(operator_key):
    # Given an active contract and a date just over two calendar months away
    contract_id = contract_in(operator_key, "active")
    effective = add_months(utcnow(), 2) + timedelta(minutes=5)

    # When the customer's cancellation is recorded
    response = move(
        operator_key, contract_id, to="cancelling", ground="art13-1", effective_at=format_rfc3339(effective)
    )

    # Then the contract is cancelling until that date, and the termination job has an item due then
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["cancel_effective_at"] == format_rfc3339(effective)
    due = schedule.due_work(schedule.CANCEL_EFFECTIVE, effective, 10)
    assert [(w.contract_id, w.due_at) for w in due] == [(contract_id, effective)]
    assert not schedule.due_work(schedule.CANCEL_EFFECTIVE, effective - timedelta(seconds=1), 10)


def test_a_customer_cancellation_less_than_two_months_ahead_is_refused(operator_key):
    # Given an active contract and a date a day short of two months
    contract_id = contract_in(operator_key, "active")
    effective = add_months(utcnow(), 2) - timedelta(days=1)

    # When the customer's cancellation is recorded under Art. 13-1
    response = move(
        operator_key, contract_id, to="cancelling", ground="art13-1", effective_at=format_rfc3339(effective)
    )

    # Then it is refused with the earliest date allowed, and nothing is scheduled
    error = assert_error(response, 422, "validation_error")
    earliest = parse_rfc3339(error["details"]["earliest_effective_at"], "earliest")
    assert earliest > effective
    assert state_of(contract_id) == "active"
    assert not schedule.due_work(schedule.CANCEL_EFFECTIVE, add_months(utcnow(), 3), 10)


def test_art13_2_overrides_the_two_months_with_its_recorded_reason(operator_key):
    # Given an active contract
    contract_id = contract_in(operator_key, "active")
    effective = utcnow() + timedelta(days=7)

    # When staff record a cancellation in a week under Art. 13-2 with a reason
    reason = "Secom refused to perform (Art. 13-2); customer letter of 2026-11-20"
    response = move(
        operator_key,
        contract_id,
        to="cancelling",
        ground="art13-2",
        effective_at=format_rfc3339(effective),
        reason=reason,
    )

    # Then it is accepted and the reason is in the audit log
    assert response["statusCode"] == 200, response["body"]
    entry = transitions_of(contract_id)[0]
    assert entry.details["ground"] == "art13-2"
    assert entry.details["reason"] == reason
    assert entry.details["effective_at"] == format_rfc3339(effective)


def test_art13_2_does_not_cancel_in_the_past(operator_key):
    contract_id = contract_in(operator_key, "active")
    past = format_rfc3339(utcnow() - timedelta(days=1))
    response = move(operator_key, contract_id, to="cancelling", ground="art13-2", effective_at=past)
    assert_error(response, 422, "validation_error")


# effects of a transition


def test_a_termination_sets_the_purge_date_and_schedules_the_purge(admin_key):
    # Given a contract cancelling (with its cancel_effective item)
    contract_id = contract_in(admin_key, "cancelling")
    effective = ContractModel.get(contract_id).cancel_effective_at

    # When staff terminate it at once on an Art. 12 ground
    before = utcnow()
    contract = body_of(move(admin_key, contract_id, to="terminated", ground="art12-1-3"))

    # Then it is terminated now, purged after the grace period, the purge is scheduled and the cancellation is not
    terminated_at = parse_rfc3339(contract["terminated_at"], "terminated_at")
    purge_due_at = parse_rfc3339(contract["purge_due_at"], "purge_due_at")
    assert before <= terminated_at <= utcnow()
    assert purge_due_at == terminated_at + timedelta(days=GRACE_DAYS)
    assert [w.contract_id for w in schedule.due_work(schedule.PURGE, purge_due_at, 10)] == [contract_id]
    assert not schedule.due_work(schedule.CANCEL_EFFECTIVE, effective, 10)


def test_an_emergency_suspension_notifies_the_customer(operator_key):
    # Given an active contract
    contract_id = contract_in(operator_key, "active")
    mails_before = len(sent_mails())

    # When staff suspend it in an emergency (Art. 8-1-2: equipment stopped by an accident)
    move(operator_key, contract_id, to="suspended", ground="art8-1-2", reason="relay station fire")

    # Then a notice goes to the registered address, and the audit entry says the customer was notified
    new = sent_mails()[mails_before:]
    assert [m.destinations["ToAddresses"] for m in new] == [[CONTRACT_BODY["contact_email"]]]
    assert "art8-1-2" in new[0].body
    assert transitions_of(contract_id)[0].details["customer_notified"] is True


def test_termination_publishes_no_notice(admin_key):
    # Given an active contract, When staff terminate it on Art. 12-1-6 grounds
    contract_id = contract_in(admin_key, "active")
    mails_before = len(sent_mails())
    move(admin_key, contract_id, to="terminated", ground="art12-1-6")

    # Then no notice is sent (Art. 12: without notice), and the audit entry records that
    assert len(sent_mails()) == mails_before
    assert transitions_of(contract_id)[0].details["customer_notified"] is False


# concurrency


def test_concurrent_transitions_cannot_both_win(admin_key):
    # Given an active contract and several staff members suspending it at the same moment, each on their own ground
    # (the same target: a move that is legal after another, like cancelling after suspended, is a later move)
    contract_id = contract_in(admin_key, "active")
    now = utcnow()
    moves = [("suspended", ground, None) for ground in ("art8-1-1", "art8-1-2", "art8-1-3", "art12-1-2", "art12-1-4")]
    start = threading.Barrier(len(moves))
    outcomes: list[Any] = [None] * len(moves)

    def attempt(index: int, to: str, ground: str, effective: datetime | None) -> None:
        start.wait()
        try:
            outcomes[index] = lifecycle.transition(contract_id, to, ground, "race", effective, JOB, now)
        except Conflict as exc:
            outcomes[index] = exc

    # When they all try at once (each AWS call on its own, as DynamoDB applies a transaction: moto's rolls back by
    # restoring a copy of the table, which would undo a transaction another thread committed meanwhile)
    INJECTOR.install()
    threads = [threading.Thread(target=attempt, args=(i, *m)) for i, m in enumerate(moves)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one wins; every other gets a conflict naming the state the winner left; one audit entry
    winners = [o for o in outcomes if not isinstance(o, Conflict)]
    assert len(winners) == 1
    final = state_of(contract_id)
    assert winners[0].state == final
    assert {o.details["current_state"] for o in outcomes if isinstance(o, Conflict)} == {final}
    assert [e.details["to"] for e in transitions_of(contract_id)] == [final]


def test_a_write_that_lost_the_race_to_a_transition_is_a_conflict(admin_key):
    # Given an active contract, and a write that read it before another transition was stored
    contract_id = contract_in(admin_key, "active")
    interleaved: list[str] = []

    def actions_after_a_competitor_won(_item: ContractModel) -> list[Any]:
        if not interleaved:  # between our read and our write, someone else suspends the contract
            interleaved.append(
                lifecycle.transition(contract_id, "suspended", "art8-1-1", "first", None, JOB, utcnow()).state
            )
        return [ContractModel.state.set("terminated")]

    # When our version-conditional write is attempted
    with pytest.raises(Conflict) as lost:
        update_versioned(contract_id, actions_after_a_competitor_won)

    # Then it loses: the conflict names the winner's state, which stands
    assert interleaved == ["suspended"]
    assert lost.value.details["current_state"] == "suspended"
    assert state_of(contract_id) == "suspended"


def test_a_transition_that_raced_a_change_of_another_field_is_retried(admin_key):
    # Given an active contract whose last use is recorded between a transition's read and its write
    contract_id = contract_in(admin_key, "active")
    touched: list[bool] = []

    def note_use_once(_item: ContractModel) -> list[Any]:
        if not touched:
            touched.append(True)
            used = ContractModel.get(contract_id, consistent_read=True)
            used.update(actions=[ContractModel.last_used_at.set(utcnow())])
        return [ContractModel.state.set("suspended")]

    # When the write finds the version moved but the state unchanged
    before, after = update_versioned(contract_id, note_use_once)

    # Then it is recomputed and written: the state moves and the last use is kept
    assert (before.state, after.state) == ("active", "suspended")
    assert after.last_used_at is not None
