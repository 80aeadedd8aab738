"""Idempotent ingest and crash safety (SPEC §4, §12 "Conventions"; issue 4 points 3 and 4), through the ingest handler.

A device's frame id is claimed in the idempotency table before anything is stored; the claim is completed in one
transaction with the index item and the usage charge. These tests retry, race and crash that sequence.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import boto3
import pytest

from doti import runtime
from doti.contracts import registry
from infra.provision import Provisioned
from tests.support import World, assert_error, body_of, frame_event, scan_table
from tests.support.images import jpeg
from tests.support.ingest import (
    age_claim,
    customer_frame_ids,
    is_original,
    is_table,
    now,
    object_tags,
    post,
    stored,
)

# Isolated (moto emptied before each test): the charges are summed over every contract.
pytestmark = pytest.mark.isolated

THREADS = 8
RETENTION_TAG = {"doti-retention": "d31"}  # the default plan's retention class


def usage_items(aws: Provisioned) -> list[dict[str, Any]]:
    return scan_table(aws.refs["UsageTable"])


def charged(aws: Provisioned) -> tuple[int, int]:
    """(bytes, objects) charged across every contract and month."""
    items = usage_items(aws)
    return sum(int(i["bytes_stored"]["N"]) for i in items), sum(int(i["objects_stored"]["N"]) for i in items)


def claim_item(aws: Provisioned, world: World, device_frame_id: str) -> dict[str, Any]:
    return boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=aws.refs["IdempotencyTable"], Key={"id": {"S": f"{world.device_id}#{device_frame_id}"}}
    )["Item"]


def assert_one_frame(aws: Provisioned, world: World, image: bytes, frame: dict[str, Any]) -> None:
    """One object (a still stores no thumbnail), one index item, one charge: the original's bytes."""
    state = stored(aws)
    assert len(state.keys) == 1
    assert len(state.items) == 1
    assert state.items[0]["frame_id"]["S"] == frame["frame_id"]
    assert state.objects[state.items[0]["object_key"]["S"]] == image
    assert state.items[0]["thumb_size"]["N"] == "0"
    assert charged(aws) == (len(image), 1)
    assert customer_frame_ids(world) == [frame["frame_id"]]


def assert_nothing_visible_or_charged(aws: Provisioned, world: World) -> None:
    """No index item, no charge, and whatever objects are left carry the retention tag that expires them."""
    state = stored(aws)
    assert state.items == []
    assert charged(aws) == (0, 0)
    assert customer_frame_ids(world) == []
    for key in state.keys:
        assert object_tags(aws, key) == RETENTION_TAG


# retries


def test_concurrent_retries_of_one_frame_store_it_once(aws, world):
    # Given 8 copies of one signed request, each its own event, released at the same instant
    image, captured_at = jpeg(640, 480), now() - timedelta(seconds=2)
    events = [frame_event(world, image, captured_at=captured_at, frame_id="panel-burst") for _ in range(THREADS)]
    start = threading.Barrier(THREADS)
    answers: list[dict[str, Any]] = [{}] * THREADS

    def send(i: int) -> None:
        start.wait()
        answers[i] = post(events[i])

    # When all are handled concurrently
    threads = [threading.Thread(target=send, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one created the frame; every other one is a replay of it or was told it is in progress
    created = [a for a in answers if a["statusCode"] == 201]
    assert len(created) == 1, [a["body"] for a in answers]
    first = body_of(created[0])
    for answer in answers:
        if answer["statusCode"] == 200:
            assert body_of(answer) == first
        elif answer["statusCode"] == 409:
            assert assert_error(answer, 409, "conflict")["details"]["in_progress"] is True
        else:
            assert answer["statusCode"] == 201, answer["body"]

    # And one object pair, one index item and one charge exist, and a later retry gets the first response
    assert_one_frame(aws, world, image, first)
    replay = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-burst"))
    assert replay["statusCode"] == 200, replay["body"]
    assert body_of(replay) == first
    # the claim stays in progress: the index item it names is what says the frame is stored (doti.store.indexing)
    claim = claim_item(aws, world, "panel-burst")
    assert (claim["status"]["S"], claim["frame_id"]["S"]) == ("in_progress", first["frame_id"])


def test_replay_with_another_capture_time_answers_the_first_response_and_is_not_charged_again(aws, world):
    # Given a frame already stored
    image = jpeg(640, 480)
    first = post(frame_event(world, image, captured_at=now() - timedelta(seconds=40), frame_id="panel-again"))
    assert first["statusCode"] == 201, first["body"]

    # When the device retries it twice, once stamping another capture time
    same = post(frame_event(world, image, captured_at=now() - timedelta(seconds=40), frame_id="panel-again"))
    restamped = post(frame_event(world, image, captured_at=now() - timedelta(seconds=5), frame_id="panel-again"))

    # Then both get the first response: its id and its capture time; nothing more is stored or charged
    for replay in (same, restamped):
        assert replay["statusCode"] == 200, replay["body"]
        assert body_of(replay) == body_of(first)
    assert_one_frame(aws, world, image, body_of(first))


def test_another_body_under_a_used_frame_id_is_a_conflict_and_not_charged(aws, world):
    # Given a frame already stored
    first = post(frame_event(world, jpeg(640, 480), frame_id="panel-used"))
    assert first["statusCode"] == 201, first["body"]

    # When another image arrives under the same frame id
    response = post(frame_event(world, jpeg(320, 240), frame_id="panel-used"))

    # Then it is a plain conflict naming the first frame, and only the first is stored and charged
    error = assert_error(response, 409, "conflict")
    assert error["details"] == {"frame_id": body_of(first)["frame_id"]}
    assert_one_frame(aws, world, jpeg(640, 480), body_of(first))


def test_replay_right_after_the_first_response_reads_the_frame_consistently(aws, world, aws_faults):
    # Given a frame just stored, and the index not yet showing it to eventually consistent reads
    image = jpeg(320, 240)
    first = post(frame_event(world, image, frame_id="panel-fast"))
    assert first["statusCode"] == 201, first["body"]
    aws_faults.lag(aws.refs["FramesTable"])

    # When the device retries at once / Then it gets the first response, not "no longer stored"
    replay = post(frame_event(world, image, frame_id="panel-fast"))
    assert replay["statusCode"] == 200, replay["body"]
    assert body_of(replay) == body_of(first)


def test_same_frame_id_from_another_device_is_another_frame(aws, world):
    # Given a second device at the same site, and a frame id the first device already used
    other = registry.register_device(world.contract_id, world.site_id, "Panel 2", runtime.secret_box(), now())
    image = jpeg(320, 240)
    assert post(frame_event(world, image, frame_id="panel-1"))["statusCode"] == 201

    # When the second device sends the same frame id and image
    event = frame_event(world, image, frame_id="panel-1", device_id=other.device.device_id, secret=other.secret)

    # Then it is its own frame: claims are per device
    assert post(event)["statusCode"] == 201
    assert len(stored(aws).items) == 2
    assert charged(aws)[1] == 2


# crash safety: a failure at each step, then a retry

# A still has no thumbnail step: its thumbnail is rendered when viewed (doti.viewing.renders).
STEPS = {
    "original": ("s3", "PutObject", is_original),
    # one transaction: the index item, the usage charge and the claim's completion, all or nothing
    "index-charge-completion": ("dynamodb", "TransactWriteItems", lambda _: True),
}


@pytest.mark.parametrize("step", STEPS)
def test_failure_at_each_step_shows_nothing_and_a_retry_completes_the_first_frame(aws, world, aws_faults, step):
    # Given AWS failing once at one step of storing a frame
    service, operation, matcher = STEPS[step]
    aws_faults.fail(service, operation, matcher)
    image, first_capture = jpeg(640, 480), now() - timedelta(seconds=30)

    # When the device posts the frame
    failed = post(frame_event(world, image, captured_at=first_capture, frame_id="panel-fail"))

    # Then it is told to retry; customers see nothing, nothing is charged, and leftovers expire with retention
    assert_error(failed, 503, "storage_unavailable")
    assert_nothing_visible_or_charged(aws, world)
    leftovers = stored(aws).keys

    # When it retries at once, even stamping another capture time
    retried = post(frame_event(world, image, captured_at=now() - timedelta(seconds=1), frame_id="panel-fail"))

    # Then the frame is complete with the first capture time, over the first attempt's key: one object, one charge
    assert retried["statusCode"] == 201, retried["body"]
    frame = body_of(retried)
    assert frame["captured_at"] == frame_event(world, image, captured_at=first_capture)["headers"]["X-Doti-Captured-At"]
    assert set(leftovers) <= set(stored(aws).keys)
    assert_one_frame(aws, world, image, frame)


@pytest.mark.parametrize("step", STEPS)
def test_crash_at_each_step_is_in_progress_until_stale_then_a_retry_completes(aws, world, aws_faults, step):
    # Given a request that dies at one step, without giving its claim up (a crashed or timed-out Lambda)
    service, operation, matcher = STEPS[step]
    aws_faults.fail(service, operation, matcher)
    aws_faults.fail("dynamodb", "UpdateItem", is_table(aws, "IdempotencyTable"))
    image, captured_at = jpeg(640, 480), now() - timedelta(seconds=30)
    assert_error(
        post(frame_event(world, image, captured_at=captured_at, frame_id="panel-crash")), 503, "storage_unavailable"
    )
    assert_nothing_visible_or_charged(aws, world)

    # When the device retries at once / Then the frame is still in progress: never a second frame
    early = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-crash"))
    assert assert_error(early, 409, "conflict")["details"]["in_progress"] is True
    assert_nothing_visible_or_charged(aws, world)

    # When it retries after the claim has gone stale (its holder stopped more than 2 minutes ago)
    age_claim(aws, world, "panel-crash", timedelta(minutes=3))
    retried = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-crash"))

    # Then the retry takes the claim over and completes the frame: one object, one item, one charge
    assert retried["statusCode"] == 201, retried["body"]
    assert_one_frame(aws, world, image, body_of(retried))


def test_claim_younger_than_the_stale_limit_is_not_taken_over(aws, world, aws_faults):
    # Given a crashed request whose claim is a minute old
    aws_faults.fail("s3", "PutObject", is_original)
    aws_faults.fail("dynamodb", "UpdateItem", is_table(aws, "IdempotencyTable"))
    image, captured_at = jpeg(320, 240), now() - timedelta(seconds=30)
    post(frame_event(world, image, captured_at=captured_at, frame_id="panel-young"))
    age_claim(aws, world, "panel-young", timedelta(minutes=1))

    # When the device retries / Then it is still in progress
    response = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-young"))
    assert assert_error(response, 409, "conflict")["details"]["in_progress"] is True
    assert stored(aws).items == []


def test_stale_claim_is_not_taken_over_by_another_body(aws, world, aws_faults):
    # Given a crashed request's stale claim
    aws_faults.fail("s3", "PutObject", is_original)
    aws_faults.fail("dynamodb", "UpdateItem", is_table(aws, "IdempotencyTable"))
    post(frame_event(world, jpeg(640, 480), frame_id="panel-stale"))
    age_claim(aws, world, "panel-stale", timedelta(minutes=3))

    # When another image arrives under the same frame id / Then it is a conflict, not a takeover
    response = post(frame_event(world, jpeg(320, 240), frame_id="panel-stale"))
    assert "in_progress" not in assert_error(response, 409, "conflict")["details"]
    assert_nothing_visible_or_charged(aws, world)


# contention on the contract's usage item, which every frame's transaction updates

CONFLICT_ON_USAGE = ["None", "TransactionConflict", "None"]  # index item, usage item, claim


def test_transaction_cancelled_by_a_conflict_on_the_usage_item_is_retried(aws, world, aws_faults):
    # Given the index-charge-completion transaction cancelled once by another frame's transaction on the usage item
    aws_faults.cancel_transaction(CONFLICT_ON_USAGE)
    image = jpeg(320, 240)

    # When a frame is posted
    response = post(frame_event(world, image, frame_id="panel-busy"))

    # Then the transaction is tried again: the frame is created, stored once and charged once
    assert response["statusCode"] == 201, response["body"]
    assert_one_frame(aws, world, image, body_of(response))


def test_conflict_that_outlasts_the_retries_is_retryable_and_stores_nothing(aws, world, aws_faults):
    # Given the transaction cancelled by conflicts on every one of its tries
    aws_faults.cancel_transaction(CONFLICT_ON_USAGE, times=4)
    image = jpeg(320, 240)

    # When a frame is posted / Then the device is told to retry, and nothing is visible or charged
    assert_error(post(frame_event(world, image, frame_id="panel-contended")), 503, "storage_unavailable")
    assert_nothing_visible_or_charged(aws, world)

    # And its retry stores the frame once
    retried = post(frame_event(world, image, frame_id="panel-contended"))
    assert retried["statusCode"] == 201, retried["body"]
    assert_one_frame(aws, world, image, body_of(retried))


def test_failure_after_the_frame_is_stored_does_not_fail_it(aws, world, aws_faults):
    # Given the camera's newest-frame pointer failing to update (after the frame is indexed and charged)
    aws_faults.fail("dynamodb", "UpdateItem", is_table(aws, "CamerasTable"))
    image = jpeg(320, 240)

    # When a frame is posted / Then it is created, stored once and charged once
    response = post(frame_event(world, image, frame_id="panel-pointer"))
    assert response["statusCode"] == 201, response["body"]
    assert_one_frame(aws, world, image, body_of(response))


def test_claim_expires_with_the_frame(aws, world):
    # Given a stored frame
    frame = body_of(post(frame_event(world, jpeg(320, 240), frame_id="panel-ttl")))

    # Then its claim's TTL is the frame's expiry (epoch seconds)
    claim = claim_item(aws, world, "panel-ttl")
    assert int(claim["expires_at"]["N"]) == int(stored(aws).items[0]["expires_at"]["N"])
    assert claim["frame_id"]["S"] == frame["frame_id"]
