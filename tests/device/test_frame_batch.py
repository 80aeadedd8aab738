"""Several frames in one signed request (POST /v1/device/frames/batch, doti.ingest.batches; issue 17 point 2).

Each frame gets the answer the direct route would have given it; the frames that pass are indexed and charged in one
transaction. Every guarantee of the direct route holds per frame: idempotency, charged once, visible when charged,
the quota, tenant isolation, and nothing stored half-way when an AWS call fails.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from botocore.client import BaseClient

from doti.clock import format_rfc3339
from doti.ingest import batches, usage
from infra.provision import Provisioned
from tests.support import World, assert_error, body_of, scan_table
from tests.support.batches import batch_event, batch_frame
from tests.support.images import jpeg
from tests.support.ingest import QUOTA, now, post, set_attribute, stored

pytestmark = pytest.mark.isolated  # reads every stored object, index item and charge

ROUTE = "/v1/device/frames/batch"


def send(world: World, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = post(batch_event(world, frames))
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]


def statuses(items: list[dict[str, Any]]) -> list[tuple[str, int, str | None]]:
    return [(item["frame_id"], item["status"], (item.get("error") or {}).get("code")) for item in items]


def usage_of(aws: Provisioned, world: World) -> tuple[int, int]:
    for item in scan_table(aws.refs["UsageTable"]):
        if (item["contract_id"]["S"], item["period"]["S"]) == (world.contract_id, usage.period_of(now())):
            return int(item["bytes_stored"]["N"]), int(item["objects_stored"]["N"])
    return 0, 0


def indexed_bytes(aws: Provisioned) -> int:
    return sum(int(i["size"]["N"]) + int(i.get("thumb_size", {}).get("N", 0)) for i in stored(aws).items)


def slot_frames(aws: Provisioned, world: World) -> int:
    return sum(
        int(i["frames"]["N"]) for i in scan_table(aws.refs["TimelineTable"]) if i["camera_id"]["S"] == world.camera_id
    )


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """AWS operations made, by name; a transaction by the tables it writes too ("TransactWriteItems:<table>")."""
    made: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def count(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        made[operation] += 1
        for table in {next(iter(item.values()))["TableName"] for item in params.get("TransactItems", [])}:
            made[f"{operation}:{table}"] += 1
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", count)
    return made


def test_a_batch_stores_each_frame_once_indexed_charged_and_counted_in_one_transaction(aws, world, calls):
    # Given three frames of a camera, 10 s apart
    start = now() - timedelta(minutes=1)
    images = [jpeg(320, 240, label=f"batch-{n}") for n in range(3)]
    sent = [batch_frame(world, image, f"gw-{n}", start + timedelta(seconds=10 * n)) for n, image in enumerate(images)]

    # When the gateway sends them in one request
    items = send(world, sent)

    # Then each is stored (201, in order), with the frame the direct route would answer
    assert statuses(items) == [("gw-0", 201, None), ("gw-1", 201, None), ("gw-2", 201, None)]
    assert [item["frame"]["device_frame_id"] for item in items] == ["gw-0", "gw-1", "gw-2"]
    assert [item["frame"]["size"] for item in items] == [len(image) for image in images]
    # indexed, charged and counted together: one transaction for the three, one usage write, one slot write
    assert calls[f"TransactWriteItems:{aws.refs['FramesTable']}"] == 1
    assert len(stored(aws).items) == 3
    assert usage_of(aws, world) == (indexed_bytes(aws), 3)
    assert slot_frames(aws, world) == 3


def test_a_replayed_batch_answers_the_first_frames_and_charges_nothing_more(aws, world):
    start = now() - timedelta(minutes=1)
    sent = [
        batch_frame(world, jpeg(320, 240, label=f"batch-{n}"), f"gw-r{n}", start + timedelta(seconds=n))
        for n in range(2)
    ]
    first = send(world, sent)
    charged = usage_of(aws, world)

    # When the gateway sends the same batch again (its answer was lost), one frame restamped
    again = [sent[0], {**sent[1], "captured_at": format_rfc3339(start + timedelta(seconds=30))}]
    replayed = send(world, again)

    # Then both are replays with the first frames (the first capture time stands); nothing more is stored or charged
    assert statuses(replayed) == [("gw-r0", 200, None), ("gw-r1", 200, None)]
    assert [item["frame"] for item in replayed] == [item["frame"] for item in first]
    assert usage_of(aws, world) == charged
    assert len(stored(aws).items) == 2
    assert slot_frames(aws, world) == 2


def test_each_frame_gets_its_own_refusal_and_only_the_good_ones_are_stored(aws, world, world_factory):
    other = world_factory()
    at = now() - timedelta(seconds=20)
    taken = send(world, [batch_frame(world, jpeg(320, 240, label="batch-9"), "gw-taken", at)])
    assert statuses(taken) == [("gw-taken", 201, None)]

    items = send(
        world,
        [
            batch_frame(world, jpeg(320, 240, label="batch-1"), "gw-good", at),
            batch_frame(world, b"\xff\xd8\xff\xe0 not a whole jpeg", "gw-corrupt", at),
            batch_frame(world, jpeg(320, 240, label="batch-2"), "gw-elsewhere", at, camera_id=other.camera_id),
            batch_frame(world, jpeg(320, 240, label="batch-3"), "gw-taken", at),
            batch_frame(world, jpeg(320, 240, label="batch-4"), "gw-future", now() + timedelta(hours=1)),
            batch_frame(world, b"GIF89a not an image we take", "gw-gif", at, content_type="image/gif"),
        ],
    )

    assert statuses(items) == [
        ("gw-good", 201, None),
        ("gw-corrupt", 422, "corrupt_image"),
        ("gw-elsewhere", 404, "not_found"),  # another contract's camera is not found, as on every route
        ("gw-taken", 409, "conflict"),  # that frame id holds another image
        ("gw-future", 422, "validation_error"),
        ("gw-gif", 415, "unsupported_media_type"),
    ]
    assert {i["device_frame_id"]["S"] for i in stored(aws).items} == {"gw-taken", "gw-good"}
    assert usage_of(aws, world) == (indexed_bytes(aws), 2)
    assert [i for i in stored(aws).items if i["contract_id"]["S"] == other.contract_id] == []


def test_frames_past_the_monthly_quota_are_refused_and_their_ids_stay_free(aws, small_world):
    # Given a month with room for one small frame and not two
    at = now() - timedelta(seconds=30)
    items = send(
        small_world,
        [
            batch_frame(small_world, jpeg(320, 240, label=f"batch-{n}"), f"gw-q{n}", at + timedelta(seconds=n))
            for n in range(3)
        ],
    )

    # Then the first is stored, the others are refused with the quota and nothing of theirs is stored or charged
    assert statuses(items) == [("gw-q0", 201, None), ("gw-q1", 429, "quota_exceeded"), ("gw-q2", 429, "quota_exceeded")]
    assert items[1]["error"]["details"]["quota_bytes"] == QUOTA
    assert len(stored(aws).items) == 1
    assert usage_of(aws, small_world) == (indexed_bytes(aws), 1)
    assert len(stored(aws).keys) == len({k for k in stored(aws).keys if "gw" not in k})  # no orphan object
    # and the refused ids are free: the direct route's answer for them is the quota again, not a conflict
    again = send(small_world, [batch_frame(small_world, jpeg(320, 240, label="batch-1"), "gw-q1", at)])
    assert statuses(again) == [("gw-q1", 429, "quota_exceeded")]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"frames": []}, 422, "validation_error"),
        ({"frames": "x"}, 422, "validation_error"),
        ({"frames": [{}]}, 422, "validation_error"),
        (
            {
                "frames": [
                    {"camera_id": "c", "captured_at": "t", "frame_id": "f", "content_type": "image/jpeg", "data": "!!"}
                ]
            },
            422,
            "validation_error",
        ),
        ({"frames": [], "extra": 1}, 422, "validation_error"),
        ("not json", 422, "validation_error"),
    ],
)
def test_a_malformed_batch_is_refused_whole_and_nothing_is_stored(aws, world, payload, status, code):
    assert_error(post(batch_event(world, payload)), status, code)
    assert stored(aws).items == []
    assert stored(aws).keys == []


def test_a_frame_id_twice_in_one_batch_is_refused_naming_it(aws, world):
    at = now() - timedelta(seconds=5)
    twice = [
        batch_frame(world, jpeg(320, 240, label="batch-1"), "gw-same", at),
        batch_frame(world, jpeg(320, 240, label="batch-2"), "gw-same", at),
    ]
    error = assert_error(post(batch_event(world, {"frames": twice})), 422, "validation_error")
    assert error["details"]["problems"] == [{"field": "frames[1].frame_id", "problem": "already in this batch"}]
    assert stored(aws).items == []


def test_more_frames_than_a_batch_carries_is_413(aws, world):
    at = now() - timedelta(seconds=5)
    many = [batch_frame(world, jpeg(32, 24, label="tiny"), f"gw-{n}", at) for n in range(batches.MAX_FRAMES + 1)]
    error = assert_error(post(batch_event(world, {"frames": many})), 413, "payload_too_large")
    assert error["details"]["max_frames"] == batches.MAX_FRAMES
    assert stored(aws).items == []


def test_authentication_comes_before_any_other_answer(aws, world):
    assert_error(post(batch_event(world, "not json", secret="wrong" * 8)), 401, "unauthorized")
    event = batch_event(world, {"frames": []})
    event["headers"]["Content-Type"] = event["multiValueHeaders"]["Content-Type"][0] = "text/plain"
    assert_error(post(event), 415, "unsupported_media_type")


def test_a_suspended_contract_refuses_the_whole_batch(aws, world):
    set_attribute(aws, "ContractsTable", {"contract_id": world.contract_id}, "state", "suspended")
    at = now() - timedelta(seconds=5)
    assert_error(
        post(batch_event(world, {"frames": [batch_frame(world, jpeg(320, 240), "gw-s", at)]})),
        403,
        "contract_suspended",
    )
    assert stored(aws).items == []


def test_a_failed_transaction_stores_nothing_visible_and_the_retry_stores_each_frame_once(aws, world, aws_faults):
    # Given the indexing transaction failing once as AWS would (a 500)
    aws_faults.fail("dynamodb", "TransactWriteItems")
    at = now() - timedelta(seconds=30)
    sent = [
        batch_frame(world, jpeg(320, 240, label=f"batch-{n}"), f"gw-f{n}", at + timedelta(seconds=n)) for n in range(3)
    ]

    # When the batch is sent / Then every frame is told to retry, and none is visible or charged
    assert [status for _, status, _ in statuses(send(world, sent))] == [503, 503, 503]
    assert stored(aws).items == []
    assert usage_of(aws, world) == (0, 0)

    # And the retry stores each once (the claims were given up, so it takes them over at once)
    assert [status for _, status, _ in statuses(send(world, sent))] == [201, 201, 201]
    assert len(stored(aws).items) == 3
    assert usage_of(aws, world) == (indexed_bytes(aws), 3)
