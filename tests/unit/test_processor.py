"""Large uploads end to end in moto: grant, upload into incoming/, the S3 notification in IncomingQueue, the processor
(SPEC §1, §4). The processor runs the direct route's pipeline; a failing message returns to the queue alone and ends
in the dead-letter queue after the queue's maxReceiveCount receives.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any
from urllib.parse import unquote_plus

import boto3
import cv2
import numpy as np
import pytest

from doti import audit, registry
from doti.clock import utcnow
from functions.processor import app as processor
from functions.viewer import app as viewer
from infra.gateway import LocalFunction
from infra.queues import QueuePump, queue_sources, sqs_event
from infra.template import functions
from tests.support import EVENTS, LambdaContext, World, body_of, customer_event, scan_table
from tests.unit.test_ingest import customer_frame_ids, jpeg, stored
from tests.unit.test_uploads import grant
from tests.unit.test_video import clip, with_zeroed_media_data
from tests.unit.test_viewer import login

REGION = "us-east-1"


def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def upload(aws, world: World, data: bytes, content_type: str, **request: Any) -> str:
    """Grant an upload and store the file as S3 stores an accepted POST; returns the incoming/ key.

    The grant's POST itself cannot be sent here: it is a multipart form POST to the bucket's URL, made with an HTTP
    client that the in-process moto (hooked into botocore) never sees, and moto does not enforce POST policies anyway
    (STACK-NOTES; test_uploads asserts the policy). So the object is put exactly as S3 keeps it after accepting the
    POST: at the granted key, with the pinned content type and x-amz-meta-* fields as its metadata.
    """
    response = grant(world, content_type=content_type, size=len(data), **request)
    assert response["statusCode"] == 201, response["body"]
    fields = body_of(response)["fields"]
    metadata = {
        name.removeprefix("x-amz-meta-"): value for name, value in fields.items() if name.startswith("x-amz-meta-")
    }
    s3().put_object(
        Bucket=aws.refs["FramesBucket"],
        Key=fields["key"],
        Body=data,
        ContentType=fields["Content-Type"],
        Metadata=metadata,
    )
    return fields["key"]


def receive(aws) -> list[dict[str, Any]]:
    """Every message waiting in IncomingQueue (hidden for a while, as the event source mapping's receive does)."""
    messages: list[dict[str, Any]] = []
    request = {"QueueUrl": aws.refs["IncomingQueue"], "MaxNumberOfMessages": 10, "VisibilityTimeout": 60}
    while batch := sqs().receive_message(**request, MessageSystemAttributeNames=["All"]).get("Messages"):
        messages.extend(batch)
    return messages


def notified_keys(message: dict[str, Any]) -> list[str]:
    body = json.loads(message["Body"])
    return [unquote_plus(record["s3"]["object"]["key"]) for record in body.get("Records", [])]


def message_for(messages: list[dict[str, Any]], key: str) -> dict[str, Any]:
    (found,) = [message for message in messages if key in notified_keys(message)]
    return found


def run(aws, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The processor on the SQS event the event source mapping would send for these messages."""
    event = sqs_event(messages, aws.arns["IncomingQueue"], REGION)
    return processor.lambda_handler(event, LambdaContext())


def failed_message_ids(response: dict[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def incoming_keys(aws) -> list[str]:
    listing = s3().list_objects_v2(Bucket=aws.refs["FramesBucket"], Prefix="incoming/")
    return [entry["Key"] for entry in listing.get("Contents", [])]


def frame_items(aws) -> list[dict[str, Any]]:
    return scan_table(aws.refs["FramesTable"])


def customer_frame(world: World, frame_id: str) -> dict[str, Any]:
    response = viewer.lambda_handler(
        customer_event(
            "viewer/list_frames.json",
            login(world.login_id, world.password),
            path=f"/v1/cameras/{world.camera_id}/frames/{frame_id}",
            resource="/v1/cameras/{camera_id}/frames/{frame_id}",
            path_parameters={"camera_id": world.camera_id, "frame_id": frame_id},
            query={},
        ),
        LambdaContext(),
    )
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


# the happy path


def test_an_uploaded_still_becomes_a_frame_and_leaves_incoming(aws, world):
    # Given a device that was granted an upload and put a JPEG at the granted key
    image = jpeg(1280, 720)
    key = upload(aws, world, image, "image/jpeg", frame_id="still-0001")

    # When S3's notification arrives in the queue and the processor runs on it
    messages = receive(aws)
    assert [key] in [notified_keys(message) for message in messages]  # S3 -> SQS, as the template configures it
    response = run(aws, messages)

    # Then no message fails (S3's s3:TestEvent in the queue is ignored too)
    assert response == {"batchItemFailures": []}
    # And the customer sees one frame, stored from exactly the uploaded bytes, with a thumbnail
    (frame_id,) = customer_frame_ids(world)
    state = stored(aws)
    original = next(k for k in state.keys if k.startswith("frames/"))
    assert original.endswith(f"{frame_id}.jpg")
    assert hashlib.sha256(state.objects[original]).hexdigest() == hashlib.sha256(image).hexdigest()
    assert any(k.startswith("thumbs/") for k in state.keys)
    (item,) = frame_items(aws)
    assert item["device_frame_id"]["S"] == "still-0001"
    assert item["sha256"]["S"] == hashlib.sha256(image).hexdigest()
    # And the upload is gone from incoming/
    assert incoming_keys(aws) == []


def test_an_uploaded_clip_is_stored_with_its_poster_thumbnail_duration_and_frame_count(aws, world):
    # Given a 2 s clip at 10 fps, 320x240, uploaded as video/mp4
    data = clip(2.0, 10, 320, 240)
    upload(aws, world, data, "video/mp4")

    # When the processor runs on the notification
    response = run(aws, receive(aws))

    # Then the clip is stored as it came, with its duration and frame count in the index
    assert response == {"batchItemFailures": []}
    state = stored(aws)
    original = next(k for k in state.keys if k.startswith("frames/"))
    assert original.endswith(".mp4")
    assert state.objects[original] == data
    (item,) = frame_items(aws)
    assert item["content_type"]["S"] == "video/mp4"
    assert (int(item["duration_ms"]["N"]), int(item["frame_count"]["N"])) == (2000, 20)
    assert (int(item["width"]["N"]), int(item["height"]["N"])) == (320, 240)
    # And the poster frame is the thumbnail, a JPEG that decodes
    thumb = next(k for k in state.keys if k.startswith("thumbs/"))
    decoded = cv2.imdecode(np.frombuffer(state.objects[thumb], dtype=np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == (240, 320)
    # And the customer's view of the frame says so
    frame = customer_frame(world, item["frame_id"]["S"])
    assert (frame["content_type"], frame["duration_ms"], frame["frame_count"]) == ("video/mp4", 2000, 20)
    assert incoming_keys(aws) == []


def test_a_clip_from_a_masked_camera_is_stored_blacked_out(aws, world):
    # Given a camera with a privacy mask over the left half of the picture
    left_half = [[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]]
    registry.set_privacy_mask(
        world.camera_id, left_half, reason="neighbour's window", actor=audit.job_actor("test"), now=utcnow()
    )
    data = clip(2.0, 10, 320, 240)
    upload(aws, world, data, "video/mp4")

    # When the processor runs
    assert run(aws, receive(aws)) == {"batchItemFailures": []}

    # Then the stored clip is re-encoded, black under the mask in every frame
    state = stored(aws)
    original = state.objects[next(k for k in state.keys if k.startswith("frames/"))]
    assert original != data
    (item,) = frame_items(aws)
    assert item["sha256"]["S"] == hashlib.sha256(original).hexdigest()
    assert int(item["frame_count"]["N"]) == 20
    thumb = state.objects[next(k for k in state.keys if k.startswith("thumbs/"))]
    assert int(cv2.imdecode(np.frombuffer(thumb, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)[:, :150].max()) <= 16


# idempotency


def test_the_same_frame_id_uploaded_twice_is_one_frame(aws, world):
    # Given the same still uploaded twice under one device frame id (the device retried the whole upload)
    image = jpeg(640, 360)
    upload(aws, world, image, "image/jpeg", frame_id="still-retried")
    upload(aws, world, image, "image/jpeg", frame_id="still-retried")

    # When both notifications are processed in one batch
    response = run(aws, receive(aws))

    # Then both succeed, one frame is stored and charged once, and both uploads leave incoming/
    assert response == {"batchItemFailures": []}
    assert len(frame_items(aws)) == 1
    assert len(customer_frame_ids(world)) == 1
    (usage,) = scan_table(aws.refs["UsageTable"])
    (item,) = frame_items(aws)
    assert int(usage["bytes_stored"]["N"]) == int(item["size"]["N"]) + int(item["thumb_size"]["N"])
    assert incoming_keys(aws) == []


def test_a_notification_delivered_again_finds_its_work_done(aws, world):
    # Given an upload the processor has already handled
    upload(aws, world, jpeg(320, 240), "image/jpeg")
    messages = receive(aws)
    assert run(aws, messages) == {"batchItemFailures": []}

    # When SQS delivers the same message again (at-least-once)
    response = run(aws, messages)

    # Then it succeeds without a second frame
    assert response == {"batchItemFailures": []}
    assert len(frame_items(aws)) == 1


# failures: only the failing records return to the queue


def test_in_a_batch_only_the_corrupt_uploads_fail(aws, world):
    # Given a good still, a clip whose frames do not decode and a truncated JPEG, uploaded together
    good = upload(aws, world, jpeg(640, 360), "image/jpeg")
    bad_clip = upload(aws, world, with_zeroed_media_data(clip()), "video/mp4")
    bad_jpeg = upload(aws, world, jpeg(640, 360)[:-200], "image/jpeg")
    messages = receive(aws)

    # When the processor runs on the batch
    response = run(aws, messages)

    # Then exactly the two corrupt ones are reported as failed
    expected = {message_for(messages, bad_clip)["MessageId"], message_for(messages, bad_jpeg)["MessageId"]}
    assert failed_message_ids(response) == expected
    # And the good one is stored and gone from incoming/, while the failed ones stay for their retries
    assert len(frame_items(aws)) == 1
    assert sorted(incoming_keys(aws)) == sorted([bad_clip, bad_jpeg])
    assert good not in incoming_keys(aws)


def test_an_upload_from_a_device_revoked_since_its_grant_fails_and_stores_nothing(aws, world):
    # Given an upload, then the device is revoked before the processor gets to it
    upload(aws, world, jpeg(320, 240), "image/jpeg")
    registry.revoke_device(world.device_id, actor=audit.job_actor("test"), now=utcnow())
    messages = [m for m in receive(aws) if notified_keys(m)]

    # When the processor runs
    response = run(aws, messages)

    # Then the message fails and nothing is stored
    assert failed_message_ids(response) == {messages[0]["MessageId"]}
    assert frame_items(aws) == []
    assert stored(aws).keys == []


def test_an_upload_whose_metadata_names_another_device_fails(aws, world_factory):
    # Given an object in my incoming/ prefix whose metadata claims another tenant's device
    mine, theirs = world_factory(), world_factory()
    key = upload(aws, mine, jpeg(320, 240), "image/jpeg")
    bucket = aws.refs["FramesBucket"]
    head = s3().head_object(Bucket=bucket, Key=key)
    forged = {**head["Metadata"], "device-id": theirs.device_id}
    s3().copy_object(
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": bucket, "Key": key},
        Metadata=forged,
        MetadataDirective="REPLACE",
        ContentType="image/jpeg",
    )

    # When the processor runs on the notifications
    messages = [m for m in receive(aws) if key in notified_keys(m)]
    response = run(aws, messages)

    # Then they fail and nothing is stored for either tenant
    assert failed_message_ids(response) == {m["MessageId"] for m in messages}
    assert frame_items(aws) == []


@pytest.mark.parametrize(
    "body",
    ["not json", json.dumps({"Records": []}), json.dumps({"Records": [{"eventName": "ObjectRemoved:Delete"}]})],
    ids=["not-json", "no-records", "not-an-upload"],
)
def test_a_message_that_is_not_an_upload_notification_fails(aws, body):
    sqs().send_message(QueueUrl=aws.refs["IncomingQueue"], MessageBody=body)
    messages = [m for m in receive(aws) if m["Body"] == body]

    response = run(aws, messages)

    assert failed_message_ids(response) == {messages[0]["MessageId"]}


def test_a_poison_upload_ends_in_the_dead_letter_queue_without_blocking_the_rest(aws, world, template):
    # Given a corrupt clip and a good still waiting in the queue, delivered by the local stack's pump with no
    # visibility timeout, so each failure is retried at once
    poison = upload(aws, world, with_zeroed_media_data(clip()), "video/mp4")
    upload(aws, world, jpeg(320, 240), "image/jpeg")
    spec = functions(template)["ProcessorFunction"]
    (source,) = [s for s in queue_sources(template) if s.function == "ProcessorFunction"]
    pump = QueuePump(
        [source],
        {"ProcessorFunction": LocalFunction(spec, processor.lambda_handler, threading.Lock())},
        aws.refs,
        sqs(),
        region=REGION,
        visibility_timeout=0,
        wait_seconds=0,
    )
    max_receives = int(template["Resources"]["IncomingQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"])

    # When the pump delivers until the queue is empty
    deliveries = []
    while (delivery := pump.deliver(source)).received:
        deliveries.append(delivery)

    # Then the good still was stored on the first delivery, alongside the poison message's first failure
    assert deliveries[0].failed == 1
    assert deliveries[0].deleted == deliveries[0].received - 1
    assert len(frame_items(aws)) == 1
    # And the poison message was tried maxReceiveCount times, then moved to the dead-letter queue
    assert [d.failed for d in deliveries] == [1] * max_receives
    dead = sqs().receive_message(QueueUrl=aws.refs["IncomingDeadLetterQueue"], MaxNumberOfMessages=10)["Messages"]
    assert [notified_keys(message) for message in dead] == [[poison]]
    assert len(frame_items(aws)) == 1


def test_the_sample_event_runs_through_the_handler(aws, world):
    # Given events/processor's sample, pointed at a real upload in this bucket
    key = upload(aws, world, jpeg(320, 240), "image/jpeg")
    event = json.loads((EVENTS / "processor" / "incoming_upload.json").read_text(encoding="utf-8"))
    notification = json.loads(event["Records"][0]["body"])
    notification["Records"][0]["s3"]["bucket"]["name"] = aws.refs["FramesBucket"]
    notification["Records"][0]["s3"]["object"]["key"] = key
    event["Records"][0]["body"] = json.dumps(notification)

    # When the handler gets it (its second record is S3's test event)
    response = processor.lambda_handler(event, LambdaContext())

    # Then both records succeed and the upload is a frame
    assert response == {"batchItemFailures": []}
    assert len(frame_items(aws)) == 1


def test_records_are_handed_back_when_the_invocation_is_nearly_out_of_time(aws, world):
    # Given an upload waiting, and an invocation with too little time left to process it safely
    upload(aws, world, jpeg(320, 240), "image/jpeg")
    messages = [m for m in receive(aws) if notified_keys(m)]
    event = sqs_event(messages, aws.arns["IncomingQueue"], REGION)

    # When the processor runs
    response = processor.lambda_handler(event, LambdaContext(remaining_ms=processor.RECORD_TIME_RESERVE_MS - 1))

    # Then the record goes back to the queue untouched, to be processed by a later invocation
    assert failed_message_ids(response) == {messages[0]["MessageId"]}
    assert frame_items(aws) == []
    assert len(incoming_keys(aws)) == 1
