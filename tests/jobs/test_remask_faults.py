"""Re-mask jobs under a single fault at any AWS call (issue 11): a job staff can see started runs to its end, and each
of its audit entries ("camera.remask_started", "frame.remasked" per frame, "camera.remask_finished") is written once.

A start is broken at one call, then checked as staff would find it. A slice is broken at one call, then its message
comes back as SQS brings it back (after the visibility timeout, when the lease a broken slice left has run out) until
a delivery acknowledges it, as the remask function's event source mapping does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from doti.clock import utcnow
from doti.ingest import masks
from doti.oversight import audit
from doti.store.models import RemaskJobModel
from functions.remask import app as remask_fn
from infra.provision import Provisioned
from tests.faults.inject import MODES, Call, Crash, Plan
from tests.faults.points import attempt, sweep
from tests.support import World
from tests.support.masks import CENTRE, set_mask
from tests.support.remask import RunningDownContext, index_item, job_status, post, queued, sqs_event, start

# Isolated (moto emptied before each test): the re-mask queue is drained whole.
pytestmark = pytest.mark.isolated

MAX_RECEIVES = 5  # RemaskQueue's maxReceiveCount (template.yaml)
STARTED, REMASKED, FINISHED = "camera.remask_started", "frame.remasked", "camera.remask_finished"


def deliver(body: str, receives: int = 1) -> dict[str, Any] | BaseException:
    """One delivery of a message (its `receives`-th) to the remask function: its answer, or what it ended with."""
    event = sqs_event(body)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(receives)
    try:
        return remask_fn.lambda_handler(event, RunningDownContext(600_000))
    except (Crash, BatchProcessingError) as exc:  # the process died, or every record failed: not acknowledged
        return exc


def acknowledged(outcome: Any) -> bool:
    return outcome == {"batchItemFailures": []}


def lease_runs_out(job_id: str) -> None:
    """The message comes back a visibility timeout (six function timeouts) later: a lease a broken slice kept has run
    out by then."""
    try:
        job = RemaskJobModel.get(job_id, consistent_read=True)
    except RemaskJobModel.DoesNotExist:
        return
    if job.lease_until is not None:
        job.update(actions=[RemaskJobModel.lease_until.set(utcnow() - timedelta(seconds=1))])


def redeliver_until_acknowledged(body: str, outcome: Any) -> int:
    """SQS's redelivery of a message a delivery did not acknowledge; the receives it took."""
    receives = 1
    while not acknowledged(outcome):
        assert receives < MAX_RECEIVES, f"the message would go to the dead-letter queue: {outcome!r}"
        lease_runs_out(json.loads(body)["job_id"])
        receives += 1
        outcome = deliver(body, receives)
    return receives


def actions(world: World, action: str) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(world.contract_id, limit=500)
    return [e for e in reversed(entries) if e.action == action]


def assert_chain_intact(world: World) -> None:
    report = audit.verify_chain(world.contract_id)
    assert report.intact, report


def jobs_of(world: World) -> list[str]:
    return sorted(job.job_id for job in RemaskJobModel.scan(RemaskJobModel.camera_id == world.camera_id))


# starting a job


def test_a_start_staff_can_see_has_its_message_under_any_single_fault_and_a_failed_one_leaves_no_job(
    aws: Provisioned, world_factory: Callable[..., World]
):
    def masked_camera() -> World:
        # Given a camera with a privacy mask (and an empty queue: earlier runs' messages are theirs)
        world = world_factory()
        set_mask(world, CENTRE)
        queued(aws)
        return world

    def check(world: World, plan: Plan, outcome: Any) -> None:
        # Then a job is stored exactly when its start is audited, and each has its message
        started = sorted(e.details["job_id"] for e in actions(world, STARTED))
        messages = queued(aws)
        sent = [json.loads(body)["job_id"] for body in messages]
        assert jobs_of(world) == started, (plan, outcome)
        assert set(started) <= set(sent), (plan, outcome, sent)
        assert len(started) <= 1, (plan, started)
        if isinstance(outcome, dict) and outcome["statusCode"] == 202:
            assert len(started) == 1, plan
        assert_chain_intact(world)
        # And a message whose job was never stored comes back once, and is then dropped, not dead-lettered
        for body in messages:
            if json.loads(body)["job_id"] not in started:
                assert not acknowledged(deliver(body, receives=1)), plan
                assert acknowledged(deliver(body, receives=2)), plan

    for mode in MODES:
        sweep(mode, masked_camera, start, check)


# the slices


def one_frame_job(world_factory: Callable[..., World], aws: Provisioned) -> Callable[[], tuple[World, str]]:
    def given() -> tuple[World, str]:
        # Given a frame stored before the mask, and a re-mask started under it, its first message queued
        world = world_factory()
        queued(aws)
        post(world, 0)
        set_mask(world, CENTRE)
        assert start(world)["statusCode"] == 202
        (body,) = queued(aws)
        return world, body

    return given


def assert_ran_once(world: World) -> None:
    """The job completed with its frame masked, its frame's entry and its end's entry once each."""
    (job_id,) = jobs_of(world)
    done = job_status(world, job_id)
    assert (done["status"], done["frames_masked"], done["frames_done"]) == ("completed", 1, 1), done
    remasked, finished = actions(world, REMASKED), actions(world, FINISHED)
    assert (len(remasked), len(finished)) == (1, 1), (remasked, finished)
    item = index_item(world, remasked[0].subject)
    assert item.mask_version == masks.mask_version(CENTRE)
    assert remasked[0].details["new_sha256"] == item.sha256
    assert (finished[0].details["status"], finished[0].details["frames_masked"]) == ("completed", 1)
    assert_chain_intact(world)


@pytest.mark.parametrize("mode", MODES)
def test_a_slice_broken_at_any_call_ends_the_job_with_each_entry_once(
    aws: Provisioned, world_factory: Callable[..., World], mode: str
):
    def check(subject: tuple[World, str], plan: Plan, outcome: Any) -> None:
        # When SQS brings the message back until a delivery acknowledges it
        world, body = subject
        if isinstance(outcome, Crash):
            outcome = None
        redeliver_until_acknowledged(body, outcome)
        assert queued(aws) == [], plan
        # Then the job completed, its frame masked, with each entry once
        assert_ran_once(world)

    sweep(mode, one_frame_job(world_factory, aws), lambda subject: deliver(subject[1]), check)


def test_a_lease_whose_write_was_sent_twice_is_the_slice_own(aws: Provisioned, world_factory: Callable[..., World]):
    # Given a job; its slice's first call is the lease
    world, body = one_frame_job(world_factory, aws)()
    plan = Plan("dup", at=0)

    # When the lease's conditional write applies and botocore resends it (the resend fails its own condition)
    outcome, failure = attempt(plan, lambda: deliver(body))

    # Then the slice knew the lease as its own and ran the job to its end, in that one delivery
    assert (plan.fired, failure) == (Call("dynamodb", "UpdateItem"), None)
    assert acknowledged(outcome)
    assert_ran_once(world)


def test_a_job_end_whose_write_failed_is_ended_and_audited_when_the_message_comes_back(
    aws: Provisioned, world_factory: Callable[..., World]
):
    # Given a job, whose slice's last write (the job's end, with its entry) fails
    world, body = one_frame_job(world_factory, aws)()
    clean = Plan()
    attempt(clean, lambda: deliver(body))
    world, body = one_frame_job(world_factory, aws)()
    plan = Plan("err", at=len(clean.calls) - 1)

    # When the message is delivered, then comes back
    outcome, _ = attempt(plan, lambda: deliver(body))
    assert not acknowledged(outcome)
    redeliver_until_acknowledged(body, outcome)

    # Then the job completed with its "camera.remask_finished" entry, once
    assert_ran_once(world)
