"""Camera health (issue 16 §1, §2): the health job marks offline a camera that stopped sending, once, and telling
camera.offline; its next frame brings it back with camera.online; frame.activity is debounced per camera.

Frames go in through the device route (captured a few seconds before the wall clock, as a device sends them); each
job run is `run_health` at a chosen `now`, set from those capture times, as EventBridge would fire it then. Events
are read off the events queue (moto SQS), as the webhooks function would take them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import cv2
import pytest

from doti import runtime
from doti.clock import format_rfc3339, utcnow
from doti.jobs.health import HealthReport, run_health
from doti.oversight import audit
from doti.store import registry as registry_store
from functions.health import app as health
from functions.ingest import app as ingest
from infra.drawing import draw_frame, encode_jpeg
from infra.provision import Provisioned
from tests.support import LambdaContext, World, admin_call, body_of, frame_event, sample_event, scan_table
from tests.support.contract_states import put_in_state
from tests.support.ingest import AwsFaults, is_table
from tests.support.processor import receive, upload
from tests.support.processor import run as run_processor
from tests.support.viewer import get_camera, owner_token

pytestmark = pytest.mark.isolated  # the job takes every due item, and the tests read every event queued

PLENTY_MS = 900_000.0
INTERVAL = timedelta(seconds=60)  # the default expected interval
WIDTH, HEIGHT = 640, 360


def scene(at: datetime, box_x: int | None = None) -> bytes:
    """The entrance at `at` (its timestamp overlay), with a dark box (a person, say) whose left edge is at box_x."""
    img = draw_frame(WIDTH, HEIGHT, "Entrance", at)
    if box_x is not None:
        cv2.rectangle(img, (box_x, HEIGHT // 3), (box_x + WIDTH // 8, HEIGHT - 10), (20, 20, 20), -1)
    return encode_jpeg(img)


def send(world: World, captured_at: datetime, box_x: int | None = None) -> str:
    response = ingest.lambda_handler(
        frame_event(world, scene(captured_at, box_x), captured_at=captured_at), LambdaContext()
    )
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)["frame_id"]


def just_now() -> datetime:
    """A capture time a device would send now: a moment ago, to the millisecond (frame ids keep milliseconds)."""
    return utcnow() - timedelta(seconds=2)


def run(at: datetime) -> HealthReport:
    return run_health(now=at, events=runtime.events(), remaining_ms=lambda: PLENTY_MS)


def told(aws: Provisioned) -> list[dict[str, Any]]:
    """The events queued since the last call (taken off the queue, as the webhooks function takes them)."""
    sqs = runtime.sqs_client(runtime.get_settings().region)
    url = runtime.get_settings().events_queue_url
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def health_items(world: World) -> list[tuple[str, datetime]]:
    """The camera's camera_health items in the schedule table: (due key, due time)."""
    items = [i for i in scan_table(runtime.get_settings().schedule_table) if i["kind"]["S"] == "camera_health"]
    return sorted(
        (i["due_key"]["S"], datetime.fromisoformat(i["due_key"]["S"].split("#")[0].replace("Z", "+00:00")))
        for i in items
        if i.get("ref", {}).get("S") == world.camera_id
    )


def health_of(world: World) -> str | None:
    return registry_store.get_camera(world.camera_id, consistent_read=True).health


def tables_of(params: dict[str, Any]) -> set[str]:
    """The tables a DynamoDB call names, a transaction's items included."""
    named = {params["TableName"]} if "TableName" in params else set()
    for item in params.get("TransactItems", []):
        named |= {action["TableName"] for action in item.values()}
    return named


def staff(world: World, method: str, path: str, body: Any) -> dict[str, Any]:
    response = admin_call(method, path, world.staff_key, body)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


# offline and back


def test_a_camera_that_stops_sending_is_told_offline_once_and_online_again_at_its_next_frame(aws, world):
    # Given a camera that sent a frame: online, its health item due when that frame turns one interval old
    first = just_now()
    first_id = send(world, first)
    assert health_of(world) == "online"
    assert [due for _, due in health_items(world)] == [first + INTERVAL]
    assert told(aws) == []  # a camera's first frame tells nothing: it was never offline

    # When the job runs before the item is due, then just after it
    before = run(first + INTERVAL - timedelta(seconds=1))
    after = run(first + INTERVAL + timedelta(seconds=1))

    # Then the first run found nothing to do, and the second marked it offline and told of it
    assert before.examined == 0
    assert after.outcomes == {"offline": 1}
    (offline,) = told(aws)
    assert offline["type"] == "camera.offline"
    assert (offline["contract_id"], offline["site_id"], offline["camera_id"]) == (
        world.contract_id,
        world.site_id,
        world.camera_id,
    )
    assert offline["data"] == {
        "camera_name": "Entrance",
        "last_frame_at": format_rfc3339(first),
        "expected_interval_seconds": 60,
    }
    assert offline["frame_id"] == first_id
    assert health_of(world) == "offline"
    assert health_items(world) == []

    # And the customer's viewer says offline too, though the frame is a few seconds old by the wall clock
    card = body_of(get_camera(owner_token(world), world.camera_id))
    assert card["status"] == "offline"

    # When the job runs again, later
    again = run(first + 10 * INTERVAL)

    # Then it tells nothing more: one silence, one event
    assert again.examined == 0
    assert told(aws) == []

    # When the camera sends its next frame
    second = just_now()
    second_id = send(world, second)

    # Then it is online, told once, and its item armed from that frame
    (online,) = told(aws)
    assert online["type"] == "camera.online"
    assert online["frame_id"] == second_id
    assert online["data"]["offline_since"] == format_rfc3339(first + INTERVAL + timedelta(seconds=1))
    assert online["data"]["captured_at"] == format_rfc3339(second)
    assert health_of(world) == "online"
    assert [due for _, due in health_items(world)] == [second + INTERVAL]
    assert body_of(get_camera(owner_token(world), world.camera_id))["status"] == "online"


def test_a_camera_that_keeps_sending_is_rearmed_from_its_newest_frame_and_never_told_of(aws, world):
    # Given a camera that sent a frame, and another half an interval later
    first = just_now() - timedelta(seconds=30)
    send(world, first)
    second = first + timedelta(seconds=30)
    send(world, second)

    # When the job runs when the first frame's item is due
    report = run(first + INTERVAL + timedelta(seconds=1))

    # Then the camera is still online, its item moved to the second frame's, and nothing told
    assert report.outcomes == {"rearmed": 1}
    assert [due for _, due in health_items(world)] == [second + INTERVAL]
    assert health_of(world) == "online"
    assert told(aws) == []

    # When nothing more comes by that item's time
    later = run(second + INTERVAL + timedelta(seconds=1))

    # Then it goes offline
    assert later.outcomes == {"offline": 1}
    assert [e["type"] for e in told(aws)] == ["camera.offline"]


def test_a_run_stops_at_its_limit_and_the_next_run_takes_the_rest(aws, world_factory):
    # Given three cameras whose items are due
    worlds = [world_factory() for _ in range(3)]
    first = just_now()
    for world in worlds:
        send(world, first)

    # When a run may take two items, then the next run comes
    at = first + INTERVAL + timedelta(seconds=1)
    stopped = run_health(now=at, events=runtime.events(), remaining_ms=lambda: PLENTY_MS, max_items=2)
    rest = run(at + INTERVAL)

    # Then the first stopped after two, and the next did the third: each camera told of once
    assert (stopped.stopped_early, stopped.outcomes, rest.outcomes) == (True, {"offline": 2}, {"offline": 1})
    assert sorted(e["camera_id"] for e in told(aws)) == sorted(w.camera_id for w in worlds)


def test_a_camera_that_never_sent_a_frame_has_no_item_and_is_never_told_of(aws, world):
    # Given a camera registered and silent
    # When the job runs, at any time
    reports = [run(utcnow() + timedelta(hours=hours)) for hours in (0, 1, 48)]

    # Then there was nothing due, nothing told, and the camera has no health yet
    assert [r.examined for r in reports] == [0, 0, 0]
    assert told(aws) == []
    assert health_of(world) is None


def test_a_suspended_contract_s_camera_is_paused_silently_and_comes_back_silently_after_the_lift(aws, world):
    # Given a camera online, then its contract suspended
    first = just_now()
    send(world, first)
    put_in_state(world.contract_id, "suspended")

    # When its item comes due
    report = run(first + INTERVAL + timedelta(seconds=1))

    # Then it is paused: nothing told, no item left
    assert report.outcomes == {"paused": 1}
    assert health_of(world) == "paused"
    assert health_items(world) == []
    assert told(aws) == []

    # When the suspension is lifted and the camera sends again
    staff(world, "POST", f"/v1/admin/contracts/{world.contract_id}/transitions", {"to": "active", "reason": "lift"})
    second = just_now()
    send(world, second)

    # Then it is online again without a camera.online (it was paused, not offline), its item armed
    assert health_of(world) == "online"
    assert [due for _, due in health_items(world)] == [second + INTERVAL]
    assert told(aws) == []


def test_the_scheduled_handler_runs_the_job_and_reports_what_it_did(aws, world):
    # Given a camera whose item is long due (its frame an hour old, sent when the camera had a one-hour interval)
    staff(world, "PUT", f"/v1/admin/cameras/{world.camera_id}/expected-interval", {"seconds": 3600})
    send(world, just_now() - timedelta(minutes=59))
    staff(world, "PUT", f"/v1/admin/cameras/{world.camera_id}/expected-interval", {"seconds": 60})

    # When EventBridge fires the function
    report = health.lambda_handler(sample_event("health/scheduled.json"), LambdaContext())

    # Then the run told of the silent camera
    assert report["outcomes"] == {"offline": 1}
    assert report["failed"] == 0
    assert [e["type"] for e in told(aws)] == ["camera.offline"]


# the interval, set by staff


def test_staff_set_the_published_interval_body_and_an_online_camera_s_item_moves_with_it(aws, world):
    # Given a camera online with the default interval
    first = just_now()
    send(world, first)
    path = f"/v1/admin/cameras/{world.camera_id}/expected-interval"

    # When staff set its interval through the published body
    camera = staff(world, "PUT", path, {"seconds": 300, "reason": "sends every five minutes"})

    # Then it is stored, audited, and the camera's one item is due five minutes after its frame
    assert camera["expected_interval_seconds"] == 300
    assert [due for _, due in health_items(world)] == [first + timedelta(seconds=300)]
    entries, _ = audit.entries(world.contract_id, limit=10)
    assert entries[0].action == "camera.expected_interval_set"
    assert entries[0].details["seconds"] == 300

    # And the job at the old due time finds nothing, at the new one marks it offline
    assert run(first + INTERVAL + timedelta(seconds=1)).examined == 0
    assert run(first + timedelta(seconds=301)).outcomes == {"offline": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seconds": 59}, "seconds"),
        ({"seconds": 86_401}, "seconds"),
        ({}, "seconds"),
        ({"seconds": 120, "expected_interval_seconds": 120}, "seconds"),
        ({"reason": "no interval"}, "seconds"),
        ({"expected_interval_seconds": 9}, "expected_interval_seconds"),
    ],
)
def test_an_interval_body_out_of_range_or_without_one_interval_is_refused_naming_the_field(aws, world, body, field):
    response = admin_call("PUT", f"/v1/admin/cameras/{world.camera_id}/expected-interval", world.staff_key, body)

    assert response["statusCode"] == 422, response["body"]
    error = body_of(response)["error"]
    named = {error.get("details", {}).get("field")} | {p["field"] for p in error.get("details", {}).get("problems", [])}
    assert field in named, error


def test_the_older_interval_body_still_takes_intervals_under_a_minute(aws, world):
    path = f"/v1/admin/cameras/{world.camera_id}/expected-interval"

    assert staff(world, "PUT", path, {"expected_interval_seconds": 30})["expected_interval_seconds"] == 30


# frame.activity


def test_frame_activity_is_told_at_most_once_per_the_camera_s_window(aws, world):
    # Given a camera whose frame.activity window staff set to 10 minutes (audited with its threshold)
    path = f"/v1/admin/cameras/{world.camera_id}/activity-threshold"
    staff(world, "PUT", path, {"threshold": 2.0, "event_minutes": 10, "reason": "alerts for the back door"})
    entries, _ = audit.entries(world.contract_id, limit=10)
    assert entries[0].details["event_minutes"] == 10
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)

    # When a still scene is followed by a person entering, moving within the window, and again 11 minutes later
    send(world, start)
    entering = send(world, start + timedelta(seconds=1), box_x=60)
    send(world, start + timedelta(seconds=2), box_x=200)
    back = send(world, start + timedelta(minutes=11), box_x=400)

    # Then two events: the entry, and the frame past the window (the move inside it is not told)
    events = told(aws)
    assert [(e["type"], e["frame_id"]) for e in events] == [("frame.activity", entering), ("frame.activity", back)]
    first = events[0]
    assert first["data"]["frame_id"] == entering
    assert first["data"]["captured_at"] == format_rfc3339(start + timedelta(seconds=1))
    assert first["data"]["threshold"] == 2.0
    assert first["data"]["activity_score"] >= 2.0
    assert first["camera_id"] == world.camera_id


@pytest.mark.parametrize("minutes", [0, 1441])
def test_an_activity_window_out_of_range_is_refused_naming_it(aws, world, minutes):
    path = f"/v1/admin/cameras/{world.camera_id}/activity-threshold"
    response = admin_call("PUT", path, world.staff_key, {"threshold": 2.0, "event_minutes": minutes})

    assert response["statusCode"] == 422, response["body"]
    assert "event_minutes" in response["body"]


# cost: the common path adds nothing


def test_a_frame_of_a_camera_already_online_costs_no_request_beyond_the_pointer_move(aws, world, aws_calls):
    # Given a camera online
    send(world, just_now() - timedelta(seconds=1))
    before = len(aws_calls)

    # When it sends another frame of the same still scene
    send(world, just_now())

    # Then that frame made one camera write, the pointer's, and neither a schedule write nor an event
    made = aws_calls[before:]
    settings = runtime.get_settings()
    # (its lookup among the frame's checks, and the pointer's move)
    assert [op for op, params in made if settings.cameras_table in tables_of(params)] == ["GetItem", "UpdateItem"]
    assert [op for op, params in made if settings.schedule_table in tables_of(params)] == []
    assert [op for op, _ in made if op.startswith("SendMessage")] == []
    assert told(aws) == []


# failures never lose a transition


def test_a_job_run_whose_publish_fails_leaves_the_camera_for_the_next_run_which_tells_the_same_event(
    aws, world, aws_faults: AwsFaults
):
    # Given a camera whose item is due, and the events queue failing once
    first = just_now()
    send(world, first)
    aws_faults.fail("sqs", "SendMessageBatch")

    # When the job runs
    failed = run(first + INTERVAL + timedelta(seconds=1))

    # Then the item failed and stays, the camera online, nothing told
    assert (failed.failed, health_of(world)) == (1, "online")
    assert len(health_items(world)) == 1
    assert told(aws) == []

    # When the next run comes
    retried = run(first + INTERVAL + timedelta(seconds=61))

    # Then it tells and marks it
    assert retried.outcomes == {"offline": 1}
    assert [e["type"] for e in told(aws)] == ["camera.offline"]
    assert health_of(world) == "offline"


def test_a_job_run_whose_write_fails_after_telling_tells_again_with_the_same_id(aws, world, aws_faults: AwsFaults):
    # Given a camera whose item is due, and its offline write failing once
    first = just_now()
    send(world, first)
    aws_faults.fail("dynamodb", "UpdateItem", is_table(aws, "CamerasTable"))

    # When the job runs twice
    failed = run(first + INTERVAL + timedelta(seconds=1))
    retried = run(first + INTERVAL + timedelta(seconds=61))

    # Then the event was told twice with one id (receivers drop the copy), and the camera is offline once
    assert (failed.failed, retried.outcomes) == (1, {"offline": 1})
    first_told, second_told = told(aws)
    assert first_told["type"] == second_told["type"] == "camera.offline"
    assert first_told["id"] == second_told["id"]
    assert health_of(world) == "offline"


@pytest.mark.parametrize(("service", "operation"), [("sqs", "SendMessageBatch"), ("dynamodb", "TransactWriteItems")])
def test_a_frame_whose_online_transition_fails_is_stored_and_the_next_frame_tells_the_same_event(
    aws, world, aws_faults: AwsFaults, service, operation
):
    # Given a camera told offline
    first = just_now() - timedelta(seconds=5)
    send(world, first)
    run(first + INTERVAL + timedelta(seconds=1))
    told(aws)
    # and its next frame's camera.online (or the write after it) failing
    schedule_table = runtime.get_settings().schedule_table
    aws_faults.fail(service, operation, lambda params: service == "sqs" or schedule_table in tables_of(params))

    # When it sends a frame, and another
    send(world, just_now() - timedelta(seconds=1))
    still_offline = health_of(world)
    send(world, just_now())

    # Then the first frame was stored (201) though its transition failed, and the second brought the camera back
    assert still_offline == "offline"
    events = [e for e in told(aws) if e["type"] == "camera.online"]
    assert len(events) == (2 if operation == "TransactWriteItems" else 1)
    assert len({e["id"] for e in events}) == 1
    assert health_of(world) == "online"
    assert len(health_items(world)) == 1


def test_a_large_upload_through_the_processor_brings_a_camera_back_as_a_direct_frame_does(aws, world):
    # Given a camera told offline
    first = just_now() - timedelta(seconds=5)
    send(world, first)
    run(first + INTERVAL + timedelta(seconds=1))
    offline = told(aws)

    # When its next frame comes as a large upload, through the processor
    captured = just_now()
    upload(aws, world, scene(captured), "image/jpeg", captured_at=format_rfc3339(captured))
    assert run_processor(aws, receive(aws)) == {"batchItemFailures": []}

    # Then it is back online, told with the frame the processor stored
    (online,) = told(aws)
    assert [e["type"] for e in offline] == ["camera.offline"]
    assert online["type"] == "camera.online"
    assert online["data"]["captured_at"] == format_rfc3339(captured)
    assert health_of(world) == "online"
    assert [due for _, due in health_items(world)] == [captured + INTERVAL]


def test_a_frame_captured_longer_ago_than_the_interval_does_not_bring_a_camera_online(aws, world):
    # When a camera's first frame arrives late, captured longer ago than its interval
    send(world, utcnow() - INTERVAL - timedelta(seconds=5))

    # Then the frame is stored, but the camera is not online (it would be offline at once): no item, nothing told
    assert health_of(world) is None
    assert health_items(world) == []
    assert told(aws) == []


def test_a_frame_that_arrives_while_the_job_tells_offline_is_followed_by_camera_online(
    aws, world, aws_faults: AwsFaults
):
    # Given a camera whose item is due, and a frame that arrives just as the job writes it offline
    first = just_now()
    send(world, first)
    aws_faults.before(
        "dynamodb",
        "UpdateItem",
        lambda: send(world, first + timedelta(seconds=1.5)),
        is_table(aws, "CamerasTable"),
    )

    # When the job runs: it has told camera.offline before its write, which the new frame makes moot
    report = run(first + INTERVAL + timedelta(seconds=1))

    # Then receivers hear it is back, in an event tied to that offline one; the camera stays online, and the item
    # stays for the next run, which re-arms it from the new frame and tells nothing
    offline, back = told(aws)
    assert (offline["type"], back["type"]) == ("camera.offline", "camera.online")
    assert back["data"]["offline_event_id"] == offline["id"]
    assert report.failed == 0
    assert health_of(world) == "online"
    assert run(first + INTERVAL + timedelta(seconds=1)).outcomes == {"rearmed": 1}
    assert told(aws) == []
