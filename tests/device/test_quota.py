"""Monthly byte quota of the plan (Art. 7-⑩, SPEC §4): checked before anything is stored, charged once per stored
frame (original + any stored thumbnail: a clip's poster; a still has none) in the UTC month it was received, through
the ingest handler."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from doti.clock import format_rfc3339
from doti.ingest import usage
from infra.provision import Provisioned
from tests.support import World, admin_call, assert_error, body_of, frame_event, scan_table
from tests.support.images import jpeg, with_jpeg_dimensions
from tests.support.ingest import QUOTA, now, post, stored


def usage_of(aws: Provisioned, world: World, period: str | None = None) -> dict[str, int]:
    period = period or usage.period_of(now())
    for item in scan_table(aws.refs["UsageTable"]):
        if (item["contract_id"]["S"], item["period"]["S"]) == (world.contract_id, period):
            return {"bytes": int(item["bytes_stored"]["N"]), "objects": int(item["objects_stored"]["N"])}
    return {"bytes": 0, "objects": 0}


def stored_bytes(aws: Provisioned) -> int:
    """Original + stored thumbnail bytes of every indexed frame."""
    return sum(int(item["size"]["N"]) + int(item["thumb_size"]["N"]) for item in stored(aws).items)


def next_month_start() -> str:
    return format_rfc3339(usage.period_end(now()))


@pytest.mark.isolated  # reads every stored frame object and index item
def test_a_stored_still_is_charged_its_original_in_the_utc_month(aws, world):
    # When a frame is stored
    response = post(frame_event(world, jpeg(640, 480)))
    assert response["statusCode"] == 201, response["body"]

    # Then the contract's counter for this UTC month holds its original's bytes (no thumbnail is stored), one object
    assert stored(aws).items[0]["thumb_size"]["N"] == "0"
    assert usage_of(aws, world) == {"bytes": len(jpeg(640, 480)), "objects": 1}


@pytest.mark.isolated  # reads every stored frame object and index item
def test_frame_over_the_monthly_quota_is_refused_with_the_reset_time_and_nothing_stored(aws, small_world):
    # Given a contract whose first frame of the month used most of its quota
    first = post(frame_event(small_world, jpeg(320, 240)))
    assert first["statusCode"] == 201, first["body"]
    used = usage_of(aws, small_world)["bytes"]
    assert used <= QUOTA < 2 * used
    before = stored(aws)

    # When another frame arrives, and is retried
    second = post(frame_event(small_world, jpeg(300, 240), frame_id="panel-over"))
    retried = post(frame_event(small_world, jpeg(300, 240), frame_id="panel-over"))

    # Then both are refused with the quota, what is used and when it resets (the first instant of next month, UTC)
    for response in (second, retried):
        error = assert_error(response, 429, "quota_exceeded")
        assert error["details"]["quota_bytes"] == QUOTA
        assert error["details"]["used_bytes"] == used
        assert error["details"]["resets_at"] == next_month_start()
        assert error["details"]["period"] == usage.period_of(now())

    # And nothing more is stored or charged
    assert stored(aws).keys == before.keys
    assert len(stored(aws).items) == 1
    assert usage_of(aws, small_world) == {"bytes": used, "objects": 1}


def test_replay_of_a_stored_frame_is_answered_even_when_the_quota_is_used_up(aws, small_world):
    # Given a frame stored, and the quota then used up by it
    first = post(frame_event(small_world, jpeg(320, 240), frame_id="panel-kept"))
    assert first["statusCode"] == 201, first["body"]
    assert_error(post(frame_event(small_world, jpeg(300, 240))), 429, "quota_exceeded")

    # When the device retries the stored frame / Then it gets the first response, and is not charged again
    replay = post(frame_event(small_world, jpeg(320, 240), frame_id="panel-kept"))
    assert replay["statusCode"] == 200, replay["body"]
    assert body_of(replay) == body_of(first)
    assert usage_of(aws, small_world)["objects"] == 1


def claim_exists(aws: Provisioned, world: World, device_frame_id: str) -> bool:
    key = {"id": {"S": f"{world.device_id}#{device_frame_id}"}}
    found = boto3.client("dynamodb", region_name="us-east-1").get_item(TableName=aws.refs["IdempotencyTable"], Key=key)
    return "Item" in found


def raise_quota(world: World, quota: int) -> None:
    path = f"/v1/admin/contracts/{world.contract_id}"
    response = admin_call("PATCH", path, world.staff_key, {"monthly_byte_quota": quota})
    assert response["statusCode"] == 200, response["body"]


def test_a_frame_id_refused_for_the_quota_is_free_for_another_image_once_there_is_room(aws, small_world):
    # Given a frame refused because the month's quota is used up
    assert post(frame_event(small_world, jpeg(320, 240)))["statusCode"] == 201
    assert_error(post(frame_event(small_world, jpeg(300, 240), frame_id="panel-later")), 429, "quota_exceeded")

    # Then it leaves no claim on its frame id behind
    assert not claim_exists(aws, small_world, "panel-later")

    # When the plan gets room and the device sends another image under that frame id
    raise_quota(small_world, 10 * QUOTA)
    response = post(frame_event(small_world, jpeg(280, 210), frame_id="panel-later"))

    # Then it is stored and charged (not a 409 for the refused image)
    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["sha256"] == hashlib.sha256(jpeg(280, 210)).hexdigest()
    assert usage_of(aws, small_world)["objects"] == 2


def test_last_months_usage_does_not_count(aws, small_world):
    # Given last month's counter at the quota
    last_month = usage.period_of(usage.period_end(now()) - timedelta(days=40))
    boto3.client("dynamodb", region_name="us-east-1").put_item(
        TableName=aws.refs["UsageTable"],
        Item={
            "contract_id": {"S": small_world.contract_id},
            "period": {"S": last_month},
            "bytes_stored": {"N": str(QUOTA)},
            "objects_stored": {"N": "3"},
        },
    )

    # When a frame arrives this month / Then it is stored and charged to this month
    assert post(frame_event(small_world, jpeg(320, 240)))["statusCode"] == 201
    assert usage_of(aws, small_world)["objects"] == 1
    assert usage_of(aws, small_world, last_month) == {"bytes": QUOTA, "objects": 3}


def rejected(kind: str) -> dict[str, Any]:
    return {
        "too-many-bytes": {"body": jpeg(1280, 720)},
        "too-many-pixels": {"body": jpeg(640, 480)},
        "decompression-bomb": {"body": with_jpeg_dimensions(jpeg(64, 64), 30000, 30000)},
        "corrupt": {"body": jpeg(320, 240)[:-2]},
        "not-an-image": {"body": b"GIF89a not a frame"},
    }[kind]


@pytest.mark.isolated  # reads the whole usage table
@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("too-many-bytes", 413),
        ("too-many-pixels", 413),
        ("decompression-bomb", 413),
        ("corrupt", 422),
        ("not-an-image", 415),
    ],
)
def test_refused_frames_are_not_charged(aws, world_factory, kind, status):
    # Given a plan of 60 000 bytes and 100 000 pixels per frame
    world = world_factory(max_object_bytes=60_000, max_pixels=100_000)

    # When a frame over a limit, or not a valid image, arrives
    response = post(frame_event(world, **rejected(kind)))

    # Then it is refused, and neither stored nor charged
    assert response["statusCode"] == status, response["body"]
    assert stored(aws).keys == []
    assert scan_table(aws.refs["UsageTable"]) == []


@pytest.mark.isolated  # reads the whole usage table
def test_two_frames_racing_for_the_last_room_store_and_charge_only_one(aws, small_world, aws_faults):
    # Given a first frame that has passed the quota check and written its objects, not yet charged...
    answers: list[dict[str, Any]] = []

    def other_frame() -> None:
        answers.append(post(frame_event(small_world, jpeg(300, 240), frame_id="panel-b")))

    aws_faults.before("dynamodb", "TransactWriteItems", other_frame)

    # When another frame takes the month's last room in that window
    first = post(frame_event(small_world, jpeg(320, 240), frame_id="panel-a"))

    # Then the other frame is stored; the first is refused with the reset time, and its objects are gone
    assert answers[0]["statusCode"] == 201, answers[0]["body"]
    assert assert_error(first, 429, "quota_exceeded")["details"]["resets_at"] == next_month_start()
    state = stored(aws)
    assert len(state.items) == 1
    assert state.keys == [state.items[0]["object_key"]["S"]]  # a still stores no thumbnail
    assert usage_of(aws, small_world) == {"bytes": stored_bytes(aws), "objects": 1}
    assert stored_bytes(aws) <= QUOTA

    # And the refused frame id is free: with room, another image under it is stored
    assert not claim_exists(aws, small_world, "panel-a")
    raise_quota(small_world, 10 * QUOTA)
    assert post(frame_event(small_world, jpeg(280, 210), frame_id="panel-a"))["statusCode"] == 201


@pytest.mark.parametrize(
    ("moment", "resets"),
    [
        (datetime(2026, 11, 25, 13, 0, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)),
        (datetime(2027, 2, 28, 23, 0, tzinfo=timezone(timedelta(hours=9))), datetime(2027, 3, 1, tzinfo=UTC)),
    ],
)
def test_the_quota_resets_at_the_first_instant_of_the_next_utc_month(moment, resets):
    assert usage.period_end(moment) == resets
    assert usage.period_of(resets - timedelta(microseconds=1)) == usage.period_of(moment)


@pytest.mark.isolated  # reads every stored frame object and index item
def test_a_plan_may_allow_clips_larger_than_the_direct_route_carries(aws: Provisioned, world_factory: Any) -> None:
    # Given a plan whose object limit is above what a Lambda event carries
    world = world_factory(max_object_bytes=64 * 1024 * 1024, monthly_byte_quota=10 * 1024**3)
    # When the device sends a 5 MiB body to the direct route
    body = b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024)
    response = post(frame_event(world, body))
    # Then it is refused before anything is stored, and pointed at the presigned upload route
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"]["upload_route"] == "/v1/device/uploads"
    assert stored(aws).items == []
    assert stored(aws).objects == {}
