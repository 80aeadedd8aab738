"""The termination job (SPEC §3, §9): cancellations take effect, ended contracts lose access, purges after grace.

Contracts and their devices and sessions are real (ingest and viewer handlers); time moves by the `now` the job
is given, and the hourly scheduled event drives the handler itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from moto.ses.models import ses_backends

from doti import runtime
from doti.contracts import contract_states, lifecycle, terms
from doti.errors import StorageError
from doti.jobs import schedule
from doti.jobs.purge import receipt_subject
from doti.jobs.termination import TerminationReport, run_termination
from doti.oversight import audit
from functions.ingest import app as ingest
from functions.termination import app as termination
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    api_event,
    body_of,
    frame_event,
    sample_event,
    scan_table,
)
from tests.support import now as real_now
from tests.support.images import jpeg
from tests.support.viewer import get_me

# Isolated (moto emptied before each test): the termination job takes every due contract; checks scan whole tables.
pytestmark = pytest.mark.isolated

PLENTY_MS = 900_000.0
GRACE_DAYS = 30
STAFF_ACTOR = "staff:stf_test"


def run(at: datetime, remaining_ms: Callable[[], float] = lambda: PLENTY_MS, **options: Any) -> TerminationReport:
    return run_termination(
        storage=runtime.storage(),
        mailer=runtime.mailer(),
        now=at,
        remaining_ms=remaining_ms,
        purge_grace_days=GRACE_DAYS,
        **options,
    )


def scheduled_event() -> dict[str, Any]:
    return sample_event("termination/scheduled.json")


# what the device and the customer get


def post_frame(world: World, label: str = "x") -> dict[str, Any]:
    return ingest.lambda_handler(
        frame_event(world, jpeg(320, 180, label=label), captured_at=real_now()), LambdaContext()
    )


def logged_in(world: World) -> str:
    event = api_event("viewer/login.json", body=json.dumps({"login_id": world.login_id, "password": world.password}))
    response = viewer.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["token"]


def error_code(response: dict[str, Any]) -> str:
    return body_of(response)["error"]["code"]


# contracts in their states


def cancelling(world: World, ground: str = contract_states.CUSTOMER_NOTICE) -> datetime:
    """The customer gives notice (Art. 13-1: two months ahead; Art. 13-2: staff override); returns the date."""
    now = real_now()
    effective_at = now + (timedelta(days=70) if ground == contract_states.CUSTOMER_NOTICE else timedelta(days=3))
    lifecycle.transition(world.contract_id, "cancelling", ground, "moving away", effective_at, STAFF_ACTOR, now)
    return effective_at


def terminated_by_staff(world: World, grace_days: int = GRACE_DAYS) -> datetime:
    now = real_now()
    lifecycle.transition(
        world.contract_id, "terminated", "art12-1-1", "fees unpaid", None, STAFF_ACTOR, now, purge_grace_days=grace_days
    )
    return now


def state_of(world: World) -> terms.Contract:
    return terms.get_contract(world.contract_id)


def entries(world: World, action: str) -> list[audit.AuditEntry]:
    page, _ = audit.entries(world.contract_id, limit=1000)
    return [e for e in page if e.action == action]


def devices_of(world: World) -> list[dict[str, Any]]:
    return [d for d in scan_table(runtime.get_settings().devices_table) if d["contract_id"]["S"] == world.contract_id]


def sessions_of(world: World) -> list[dict[str, Any]]:
    return [s for s in scan_table(runtime.get_settings().sessions_table) if s["contract_id"]["S"] == world.contract_id]


def pending(kind: str, world: World) -> list[schedule.ScheduledWork]:
    return [
        w for w in schedule.due_work(kind, real_now() + timedelta(days=3650), 100) if w.contract_id == world.contract_id
    ]


# cancellations


def test_a_cancellation_takes_effect_on_its_date_and_the_contract_loses_device_and_customer_access(aws, world_factory):
    # Given a contract whose customer gave notice, with a session, and another active contract
    leaving, staying = world_factory(), world_factory()
    effective_at = cancelling(leaving)
    token, other_token = logged_in(leaving), logged_in(staying)

    # When the job runs an hour before the effective date / Then nothing changes, the customer is still served
    early = run(effective_at - timedelta(hours=1))
    assert (early.changed, early.terminated) == (0, 0)
    assert state_of(leaving).state == "cancelling"
    assert get_me(token)["statusCode"] == 200
    assert post_frame(leaving)["statusCode"] == 201

    # When it runs an hour after the effective date
    at = effective_at + timedelta(hours=1)
    report = run(at)

    # Then the contract is terminated now, its purge is due after the grace period and scheduled
    contract = state_of(leaving)
    assert (contract.state, contract.terminated_at) == ("terminated", at)
    assert contract.purge_due_at == at + timedelta(days=GRACE_DAYS)
    assert [w.due_at for w in pending(schedule.PURGE, leaving)] == [contract.purge_due_at]
    assert pending(schedule.CANCEL_EFFECTIVE, leaving) == []
    (transition,) = [e for e in entries(leaving, "contract.transition") if e.details["to"] == "terminated"]
    assert (transition.actor, transition.details["ground"]) == ("job:termination", "art13-1")
    # and its devices are revoked and its sessions gone: the device's signed request and the token get 401
    assert [(d["status"]["S"], "revoked_at" in d) for d in devices_of(leaving)] == [("revoked", True)]
    assert sessions_of(leaving) == []
    assert ingest_status(leaving) == (401, "unauthorized")
    assert (get_me(token)["statusCode"], error_code(get_me(token))) == (401, "unauthorized")
    assert report.terminated == 1
    assert report.devices_revoked == 1
    assert report.sessions_deleted == 1
    # while the other contract's device and customer work as before
    assert post_frame(staying)["statusCode"] == 201
    assert get_me(other_token)["statusCode"] == 200


def ingest_status(world: World) -> tuple[int, str]:
    response = post_frame(world)
    return response["statusCode"], error_code(response)


def test_a_staff_override_cancellation_ends_under_its_own_ground(aws, world_factory):
    # Given a cancellation that staff allowed at short notice (Art. 13-2)
    world = world_factory()
    effective_at = cancelling(world, contract_states.CUSTOMER_IMMEDIATE)

    # When the job runs after its date
    run(effective_at + timedelta(minutes=5))

    # Then the termination cites Art. 13-2, as the cancellation did
    (transition,) = [e for e in entries(world, "contract.transition") if e.details["to"] == "terminated"]
    assert transition.details["ground"] == "art13-2"


def test_a_stale_cancellation_item_changes_nothing(aws, world_factory):
    # Given a cancel_effective item for a contract that is active (no notice given)
    world = world_factory()
    schedule.schedule_work(schedule.CANCEL_EFFECTIVE, real_now() - timedelta(hours=1), world.contract_id)

    # When the job runs
    report = run(real_now())

    # Then the item is examined and dropped, and the contract stays active
    assert (report.examined, report.changed, report.failed) == (1, 0, 0)
    assert state_of(world).state == "active"
    assert pending(schedule.CANCEL_EFFECTIVE, world) == []


# contracts terminated by staff


def test_a_contract_terminated_by_staff_loses_access_at_the_next_run_and_a_rerun_changes_nothing(aws, world_factory):
    # Given a contract staff terminated at once (Art. 12), whose customer had a session, and an active one
    ended, active = world_factory(), world_factory()
    token, other_token = logged_in(ended), logged_in(active)
    terminated_by_staff(ended)
    assert ingest_status(ended) == (403, "contract_terminated")

    # When the hourly job runs (through its handler and scheduled event)
    report = termination.lambda_handler(scheduled_event(), LambdaContext())

    # Then the device is revoked and the session deleted, and that is audited
    assert (report["changed"], report["devices_revoked"], report["sessions_deleted"]) == (1, 1, 1)
    assert ingest_status(ended) == (401, "unauthorized")
    assert get_me(token)["statusCode"] == 401
    (revoked,) = entries(ended, "contract.access_revoked")
    assert revoked.details == {"devices_revoked": 1, "sessions_deleted": 1, "shares_revoked": 0}
    assert get_me(other_token)["statusCode"] == 200
    devices, stored_sessions = devices_of(ended), scan_table(runtime.get_settings().sessions_table)

    # When it runs again / Then it changes nothing and writes nothing
    again = termination.lambda_handler(scheduled_event(), LambdaContext())
    assert (again["changed"], again["failed"], again["devices_revoked"], again["sessions_deleted"]) == (0, 0, 0, 0)
    assert devices_of(ended) == devices
    assert scan_table(runtime.get_settings().sessions_table) == stored_sessions
    assert len(entries(ended, "contract.access_revoked")) == 1


# purges


def test_the_hourly_run_purges_a_contract_past_its_grace_period_and_sends_the_receipt(aws, world_factory):
    # Given a contract terminated with no grace period left, with frames, and another contract with frames
    ended, active = world_factory(), world_factory()
    for label in ("a", "b"):
        assert post_frame(ended, label)["statusCode"] == 201
    assert post_frame(active)["statusCode"] == 201
    terminated_by_staff(ended, grace_days=0)

    # When the scheduled event fires the job
    report = termination.lambda_handler(scheduled_event(), LambdaContext())

    # Then the contract is purged, with its certificate and receipt, and the other one keeps its frame
    assert (report["purged"], report["failed"], report["stopped_early"]) == (1, 0, False)
    assert report["bytes_freed"] > 0
    assert state_of(ended).state == "purged"
    (certificate,) = entries(ended, "contract.purged")
    assert certificate.details["counts"]["frame_items"] == 2
    assert certificate.details["bytes_deleted"] == report["bytes_freed"]
    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    assert [m.destinations["ToAddresses"] for m in sent if m.subject == receipt_subject(ended.contract_id)] == [
        ["owner@test-shop.example"]
    ]
    frames = scan_table(runtime.get_settings().frames_table)
    assert {f["contract_id"]["S"] for f in frames} == {active.contract_id}
    assert pending(schedule.PURGE, ended) == []

    # When it fires again / Then there is nothing left to do
    again = termination.lambda_handler(scheduled_event(), LambdaContext())
    assert (again["examined"], again["changed"], again["purged"], again["bytes_freed"]) == (0, 0, 0, 0)


def test_no_purge_before_the_grace_period_is_over(aws, world_factory):
    # Given a contract terminated now with 30 days of grace
    world = world_factory()
    assert post_frame(world)["statusCode"] == 201
    terminated_at = terminated_by_staff(world)

    # When the job runs a day before the purge is due
    report = run(terminated_at + timedelta(days=GRACE_DAYS - 1))

    # Then the data is kept
    assert report.purged == 0
    assert state_of(world).state == "terminated"
    assert len(scan_table(runtime.get_settings().frames_table)) == 1


def test_a_purge_stopped_by_the_time_budget_is_finished_by_the_next_run(aws, world_factory):
    # Given a contract with three frames, terminated with no grace left
    world = world_factory()
    for label in ("a", "b", "c"):
        assert post_frame(world, label)["statusCode"] == 201
    terminated_at = terminated_by_staff(world, grace_days=0)
    at = terminated_at + timedelta(minutes=1)

    # When the first run has time for a few batches of one item only
    first = run(at, remaining_ms=countdown(8), purge_batch=1)

    # Then it stops cleanly, with part of the data deleted and the contract still terminated
    assert first.stopped_early is True
    assert first.purged == 0
    assert first.items_deleted > 0
    assert state_of(world).state == "terminated"

    # When the next run has time / Then it finishes, and the certificate counts what both runs deleted
    second = run(at + timedelta(hours=1), purge_batch=1)
    assert (second.purged, second.stopped_early) == (1, False)
    (certificate,) = entries(world, "contract.purged")
    assert certificate.details["counts"]["frame_items"] == 3
    assert certificate.details["counts"]["frames_objects"] == 3
    assert certificate.details["bytes_deleted"] == first.bytes_freed + second.bytes_freed


def countdown(checks: int) -> Callable[[], float]:
    """Plenty of time for `checks` checks of the clock, then none."""
    readings: Iterator[float] = iter([PLENTY_MS] * checks)
    return lambda: next(readings, 0.0)


# stopping and resuming


def test_a_run_capped_at_one_item_leaves_the_rest_to_the_next_runs(aws, world_factory):
    # Given three contracts whose cancellations are due
    worlds = [world_factory() for _ in range(3)]
    due = max(cancelling(world, contract_states.CUSTOMER_IMMEDIATE) for world in worlds)
    at = due + timedelta(hours=1)

    # When a run may take on one item only
    first = run(at, max_items=1)

    # Then it ends one contract and stops
    assert (first.terminated, first.stopped_early) == (1, True)
    assert sorted(state_of(w).state for w in worlds) == ["cancelling", "cancelling", "terminated"]

    # When more runs follow / Then all are ended, each exactly once, and the last run finds nothing to do
    reports = [run(at, max_items=1) for _ in range(6)]
    assert sum(r.terminated for r in reports) == 2
    assert [state_of(w).state for w in worlds] == ["terminated"] * 3
    for world in worlds:
        assert len([e for e in entries(world, "contract.transition") if e.details["to"] == "terminated"]) == 1
        assert len(entries(world, "contract.access_revoked")) == 1
    assert reports[-1].changed == 0


def test_a_run_with_no_time_left_does_nothing_and_says_so(aws, world_factory):
    # Given a due cancellation
    world = world_factory()
    due = cancelling(world, contract_states.CUSTOMER_IMMEDIATE)

    # When the run starts inside its reserve
    report = run(due + timedelta(hours=1), remaining_ms=lambda: 1_000.0)

    # Then it stops before doing anything
    assert (report.stopped_early, report.examined, report.changed) == (True, 0, 0)
    assert state_of(world).state == "cancelling"


@pytest.mark.parametrize("state", ["active", "suspended"])
def test_live_contracts_are_never_touched(aws, world_factory, state):
    # Given a live contract with a session (suspended under Art. 12-1-1 where asked)
    world = world_factory()
    token = logged_in(world)
    if state == "suspended":
        lifecycle.transition(world.contract_id, "suspended", "art12-1-1", "fees late", None, STAFF_ACTOR, real_now())

    # When the job runs far in the future
    report = run(real_now() + timedelta(days=400))

    # Then nothing of it changed
    assert report.changed == 0
    assert state_of(world).state == state
    assert [d["status"]["S"] for d in devices_of(world)] == ["active"]
    assert len(sessions_of(world)) == 1
    assert get_me(token)["statusCode"] == 200


class UnreachableMailer:
    """SES refusing every mail (a failing collaborator, as the job's mailer parameter allows)."""

    def send(self, to: str, subject: str, body: str, now: datetime) -> datetime:  # noqa: ARG002 - the Mailer protocol
        raise StorageError("could not send the e-mail")


def test_a_purge_whose_receipt_cannot_be_sent_fails_visibly_and_the_next_run_completes_it_once(aws, world_factory):
    # Given a contract past its grace period, with a frame
    world = world_factory()
    assert post_frame(world)["statusCode"] == 201
    at = terminated_by_staff(world, grace_days=0) + timedelta(minutes=1)

    # When the job runs while mail cannot be sent
    failed = run_termination(
        storage=runtime.storage(),
        mailer=UnreachableMailer(),
        now=at,
        remaining_ms=lambda: PLENTY_MS,
        purge_grace_days=GRACE_DAYS,
    )

    # Then the failure is counted, the contract is not yet purged and its purge stays due
    assert (failed.failed, failed.purged) == (1, 0)
    assert failed.failures == [{"kind": "purge", "contract_id": world.contract_id, "code": "storage_unavailable"}]
    assert state_of(world).state == "terminated"
    assert len(pending(schedule.PURGE, world)) == 1

    # When the next run can send mail / Then it finishes with one certificate, counting the frame deleted before
    second = run(at + timedelta(hours=1))
    assert (second.failed, second.purged) == (0, 1)
    (certificate,) = entries(world, "contract.purged")
    assert certificate.details["counts"]["frame_items"] == 1
    assert certificate.details["bytes_deleted"] == failed.bytes_freed > 0
    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    assert len([m for m in sent if m.subject == receipt_subject(world.contract_id)]) == 1
