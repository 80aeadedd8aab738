"""Large uploads end to end in moto: grant, upload into incoming/, the S3 notification in IncomingQueue, the processor
(SPEC §1, §4). The processor runs the direct route's pipeline. An upload it refuses (4xx) is final: deleted, counted
and acknowledged. A message that is not an upload notification, or that fails transiently, returns to the queue
alone and ends in the dead-letter queue after the queue's maxReceiveCount receives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import cv2
import numpy as np
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from doti import runtime
from doti.clock import utcnow
from doti.contracts import registry, terms
from doti.errors import Conflict
from doti.ingest import uploads, usage, video
from doti.oversight import audit
from doti.store.models import UsageModel
from functions.processor import app as processor
from infra.gateway import LocalFunction
from infra.queues import Delivery, QueuePump, QueueSource, queue_sources, sqs_event
from infra.template import functions
from tests.support import LambdaContext, World, sample_event, scan_table
from tests.support.images import jpeg
from tests.support.ingest import customer_frame_ids, stored
from tests.support.processor import REGION, counted_codes, customer_frame, frame_items, receive, run, s3, sqs, upload
from tests.support.video import clip, with_zeroed_media_data

# Isolated (moto emptied before each test): the incoming queue is drained whole, and the frames table is read whole.
pytestmark = pytest.mark.isolated


def notified_keys(message: dict[str, Any]) -> list[str]:
    body = json.loads(message["Body"])
    return [unquote_plus(record["s3"]["object"]["key"]) for record in body.get("Records", [])]


def message_for(messages: list[dict[str, Any]], key: str) -> dict[str, Any]:
    (found,) = [message for message in messages if key in notified_keys(message)]
    return found


def failed_message_ids(response: dict[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def incoming_keys(aws) -> list[str]:
    listing = s3().list_objects_v2(Bucket=aws.refs["FramesBucket"], Prefix="incoming/")
    return [entry["Key"] for entry in listing.get("Contents", [])]


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
    # And the customer sees one frame, stored from exactly the uploaded bytes, alone: a still's thumbnail is rendered
    # when viewed, never stored
    (frame_id,) = customer_frame_ids(world)
    state = stored(aws)
    [original] = state.keys
    assert original.endswith(f"{frame_id}.jpg")
    assert hashlib.sha256(state.objects[original]).hexdigest() == hashlib.sha256(image).hexdigest()
    (item,) = frame_items(aws)
    assert "thumb_key" not in item
    assert (item["thumb_width"]["N"], item["thumb_height"]["N"]) == ("320", "180")
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
    # And the clip encoder's staged copy was taken back and deleted
    assert [k for k in state.keys if k.startswith("staging/")] == []


@pytest.fixture
def deployed_clip_function(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The processor as deployed: CLIP_FUNCTION_NAME set, so masked clips go to the clip function through Lambda's
    Invoke (which moto cannot run: the test makes it fail)."""
    monkeypatch.setenv("CLIP_FUNCTION_NAME", "doti-test-ClipFunction")
    runtime.reset()
    yield
    monkeypatch.delenv("CLIP_FUNCTION_NAME")
    runtime.reset()
    runtime.init()


def test_a_masked_clip_whose_encode_fails_is_retried_and_nothing_of_it_is_stored(
    aws, world, aws_faults, capsys, deployed_clip_function
):
    # Given a masked camera's clip uploaded, and the clip function's invoke failing (a throttle, a timeout, an error)
    registry.set_privacy_mask(
        world.camera_id, [[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]], reason="a window", actor=audit.job_actor("test"),
        now=utcnow(),
    )  # fmt: skip
    key = upload(aws, world, clip(2.0, 10, 320, 240), "video/mp4")
    aws_faults.fail("lambda", "Invoke")
    messages = [m for m in receive(aws) if notified_keys(m)]

    # When the processor runs
    response = run(aws, messages)

    # Then the message goes back to the queue, counted by its code, the upload still in incoming/ for the retry
    assert failed_message_ids(response) == {message_for(messages, key)["MessageId"]}
    assert counted_codes(capsys.readouterr().out, "UploadsFailed") == ["clip_encoder_failed"]
    assert incoming_keys(aws) == [key]
    # And no object, index item or frame of it is stored
    assert [k for k in stored(aws).keys if not k.startswith("incoming/")] == []
    assert frame_items(aws) == []
    assert customer_frame_ids(world) == []


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


def test_a_notification_delivered_again_finds_its_work_done(aws, world, capsys):
    # Given an upload the processor has already stored and deleted from incoming/ (S3 now answers 404 NoSuchKey)
    upload(aws, world, jpeg(320, 240), "image/jpeg")
    messages = receive(aws)
    assert run(aws, messages) == {"batchItemFailures": []}
    assert incoming_keys(aws) == []
    capsys.readouterr()

    # When SQS delivers the same message again (at-least-once)
    response = run(aws, messages)

    # Then it is acknowledged as done, without a second frame or a refusal
    assert response == {"batchItemFailures": []}
    assert len(frame_items(aws)) == 1
    printed = capsys.readouterr().out
    assert counted_codes(printed, "UploadsAlreadyProcessed") == [None]
    assert counted_codes(printed, "UploadsRefused") == counted_codes(printed, "FramesIngested") == []


# refusals are final: a 4xx upload is deleted, logged, counted and its message acknowledged

FRAME_ID = "refused-0001"
STAFF = "staff:test"


def rewrite(aws, key: str, *, content_type: str = "image/jpeg", **metadata: str) -> None:
    """Change an uploaded object's metadata or content type in place, as no granted POST could."""
    bucket = aws.refs["FramesBucket"]
    head = s3().head_object(Bucket=bucket, Key=key)
    s3().copy_object(
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": bucket, "Key": key},
        Metadata={**head["Metadata"], **metadata},
        MetadataDirective="REPLACE",
        ContentType=content_type,
    )


def corrupt_still(aws, mine: World, theirs: World) -> tuple[str, str]:
    return upload(aws, mine, jpeg(640, 360)[:-200], "image/jpeg", frame_id=FRAME_ID), "corrupt_image"


def corrupt_clip(aws, mine: World, theirs: World) -> tuple[str, str]:
    return upload(aws, mine, with_zeroed_media_data(clip()), "video/mp4", frame_id=FRAME_ID), "corrupt_image"


def unsupported_type(aws, mine: World, theirs: World) -> tuple[str, str]:
    key = upload(aws, mine, jpeg(320, 240), "image/jpeg", frame_id=FRAME_ID)
    rewrite(aws, key, content_type="image/gif")
    return key, "unsupported_media_type"


def larger_than_the_plan_since_the_grant(aws, mine: World, theirs: World) -> tuple[str, str]:
    key = upload(aws, mine, jpeg(640, 360), "image/jpeg", frame_id=FRAME_ID)
    terms.update_plan(mine.contract_id, {"max_object_bytes": 1024}, actor=STAFF, now=utcnow())
    return key, "payload_too_large"


def over_the_monthly_quota(aws, mine: World, theirs: World) -> tuple[str, str]:
    image = jpeg(640, 360)
    key = upload(aws, mine, image, "image/jpeg", frame_id=FRAME_ID)
    # the still fits the plan's object size, but not in what is left of the month (a byte of it already used)
    plan = {"max_object_bytes": len(image), "monthly_byte_quota": len(image)}
    terms.update_plan(mine.contract_id, plan, actor=STAFF, now=utcnow())
    UsageModel(mine.contract_id, usage.period_of(utcnow()), bytes_stored=1, objects_stored=0).save()
    return key, "quota_exceeded"


def device_revoked_since_the_grant(aws, mine: World, theirs: World) -> tuple[str, str]:
    key = upload(aws, mine, jpeg(320, 240), "image/jpeg", frame_id=FRAME_ID)
    registry.revoke_device(mine.device_id, actor=audit.job_actor("test"), now=utcnow())
    return key, "unauthorized"


def metadata_naming_another_device(aws, mine: World, theirs: World) -> tuple[str, str]:
    key = upload(aws, mine, jpeg(320, 240), "image/jpeg", frame_id=FRAME_ID)
    rewrite(aws, key, **{"device-id": theirs.device_id})
    return key, "validation_error"


def camera_not_of_the_contract(aws, mine: World, theirs: World) -> tuple[str, str]:
    key = upload(aws, mine, jpeg(320, 240), "image/jpeg", frame_id=FRAME_ID)
    rewrite(aws, key, **{"camera-id": theirs.camera_id})
    return key, "not_found"


REFUSALS = [
    corrupt_still,
    corrupt_clip,
    unsupported_type,
    larger_than_the_plan_since_the_grant,
    over_the_monthly_quota,
    device_revoked_since_the_grant,
    metadata_naming_another_device,
    camera_not_of_the_contract,
]


def pump(aws, template: dict) -> tuple[QueuePump, QueueSource]:
    """The local stack's queue pump for the processor, with no visibility timeout: a failure is retried at once."""
    spec = functions(template)["ProcessorFunction"]
    (source,) = [s for s in queue_sources(template) if s.function == "ProcessorFunction"]
    local = LocalFunction(spec, processor.lambda_handler, threading.Lock())
    queue_pump = QueuePump(
        [source], {"ProcessorFunction": local}, aws.refs, sqs(), region=REGION, visibility_timeout=0, wait_seconds=0
    )
    return queue_pump, source


def deliver_until_empty(aws, template: dict) -> list[Delivery]:
    queue_pump, source = pump(aws, template)
    deliveries = []
    while (delivery := queue_pump.deliver(source)).received:
        deliveries.append(delivery)
        assert len(deliveries) <= 20, "the queue does not drain"
    return deliveries


def dead_letters(aws) -> list[dict[str, Any]]:
    return (
        sqs().receive_message(QueueUrl=aws.refs["IncomingDeadLetterQueue"], MaxNumberOfMessages=10).get("Messages", [])
    )


def refusal_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage().startswith("upload refused")]


@pytest.mark.parametrize("refuse", REFUSALS, ids=[refuse.__name__ for refuse in REFUSALS])
def test_a_refused_upload_is_deleted_logged_counted_and_acknowledged_once(
    aws, world_factory, template, refuse, capsys, caplog
):
    # Given an upload that the processor must refuse (4xx), and another tenant
    mine, theirs = world_factory(), world_factory()
    key, code = refuse(aws, mine, theirs)
    capsys.readouterr()

    # When the queue delivers until it is empty, retrying any failure at once
    deliveries = deliver_until_empty(aws, template)

    # Then the first delivery acknowledged every message: nothing was retried, nothing is in the dead-letter queue
    assert [delivery.failed for delivery in deliveries] == [0]
    assert dead_letters(aws) == []
    # And nothing is stored for anyone, and the upload is gone from incoming/
    assert frame_items(aws) == []
    assert stored(aws).keys == []
    assert incoming_keys(aws) == []
    # And the refusal is counted once under its code, and logged with whose upload it was (no image bytes)
    assert counted_codes(capsys.readouterr().out, "UploadsRefused") == [code]
    (entry,) = refusal_logs(caplog)
    assert (entry.code, entry.key, entry.device_id, entry.device_frame_id) == (code, key, mine.device_id, FRAME_ID)
    assert entry.camera_id in (mine.camera_id, theirs.camera_id)


def test_a_duplicate_met_while_the_first_is_being_stored_is_retried_not_refused(aws, world, aws_faults):
    # Given the same still uploaded twice under one frame id, the second delivery arriving while the first is storing
    image = jpeg(320, 240)
    first = upload(aws, world, image, "image/jpeg", frame_id="still-twice")
    second = upload(aws, world, image, "image/jpeg", frame_id="still-twice")
    messages = [m for m in receive(aws) if notified_keys(m)]
    meanwhile: list[Conflict] = []

    def second_delivery() -> None:
        with pytest.raises(Conflict) as conflict:
            uploads.process_notification(
                json.loads(message_for(messages, second)["Body"]),
                storage=runtime.storage(),
                pipeline=video.pipeline(runtime.clip_encoder()),
                events=runtime.events(),
                now=utcnow(),
            )
        meanwhile.append(conflict.value)

    aws_faults.before("s3", "PutObject", second_delivery, lambda params: params["Key"].startswith("frames/"))

    # When the first is processed
    assert run(aws, [message_for(messages, first)]) == {"batchItemFailures": []}

    # Then the second met it in progress (409, not a refusal): it failed for a retry, its upload kept
    assert [conflict.details.get("in_progress") for conflict in meanwhile] == [True]
    assert incoming_keys(aws) == [second]

    # When its message is delivered again / Then it is a replay of the first: one frame, incoming/ empty
    assert run(aws, [message_for(messages, second)]) == {"batchItemFailures": []}
    assert len(frame_items(aws)) == 1
    assert incoming_keys(aws) == []


def test_a_notification_of_a_refused_upload_delivered_again_is_acknowledged(aws, world):
    # Given a corrupt upload the processor has refused and deleted
    upload(aws, world, jpeg(640, 360)[:-200], "image/jpeg")
    messages = [m for m in receive(aws) if notified_keys(m)]
    assert run(aws, messages) == {"batchItemFailures": []}

    # When SQS delivers the same message again (at-least-once)
    response = run(aws, messages)

    # Then it is acknowledged: the object is gone, so there is nothing left to refuse or store
    assert response == {"batchItemFailures": []}
    assert frame_items(aws) == []
    assert incoming_keys(aws) == []


# failures that are not the upload's fault: only those records return to the queue, and end in the dead-letter queue


def stray_object(aws) -> str:
    """An object under incoming/ at a key no grant makes: S3 sends a genuine notification the processor cannot use."""
    key = "incoming/stray-upload.jpg"
    s3().put_object(Bucket=aws.refs["FramesBucket"], Key=key, Body=jpeg(320, 240), ContentType="image/jpeg")
    return key


def test_in_a_batch_only_the_poison_message_fails(aws, world):
    # Given a good still, a corrupt still and a notification for a key outside the incoming/ layout, queued together
    good = upload(aws, world, jpeg(640, 360), "image/jpeg")
    corrupt = upload(aws, world, jpeg(640, 360)[:-200], "image/jpeg")
    stray = stray_object(aws)
    messages = receive(aws)

    # When the processor runs on the batch
    response = run(aws, messages)

    # Then exactly the poison message is reported as failed
    assert failed_message_ids(response) == {message_for(messages, stray)["MessageId"]}
    # And the good still is stored, the corrupt one refused, both gone from incoming/; the stray object is left to
    # the incoming/ lifecycle rule
    assert len(frame_items(aws)) == 1
    assert incoming_keys(aws) == [stray]
    assert {good, corrupt}.isdisjoint(incoming_keys(aws))


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps(["not", "an", "event"]),
        json.dumps({"Records": []}),
        json.dumps({"Records": [{"eventName": "ObjectRemoved:Delete"}]}),
    ],
    ids=["not-json", "not-an-object", "no-records", "not-an-upload"],
)
def test_a_message_that_is_not_an_upload_notification_fails(aws, body):
    sqs().send_message(QueueUrl=aws.refs["IncomingQueue"], MessageBody=body)
    messages = [m for m in receive(aws) if m["Body"] == body]

    response = run(aws, messages)

    assert failed_message_ids(response) == {messages[0]["MessageId"]}


def test_a_poison_message_ends_in_the_dead_letter_queue_without_blocking_the_rest(aws, world, template):
    # Given a notification for a key outside the incoming/ layout, a corrupt still and a good still waiting in the
    # queue, delivered by the local stack's pump with no visibility timeout, so each failure is retried at once
    stray = stray_object(aws)
    upload(aws, world, jpeg(320, 240)[:-200], "image/jpeg")
    upload(aws, world, jpeg(320, 240), "image/jpeg")
    max_receives = int(template["Resources"]["IncomingQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"])

    # When the pump delivers until the queue is empty
    deliveries = deliver_until_empty(aws, template)

    # Then the good still was stored and the corrupt one refused on the first delivery, alongside the poison
    # message's first failure
    assert deliveries[0].failed == 1
    assert deliveries[0].deleted == deliveries[0].received - 1
    assert len(frame_items(aws)) == 1
    # And the poison message was tried maxReceiveCount times, then moved to the dead-letter queue, alone
    assert [d.failed for d in deliveries] == [1] * max_receives
    assert [notified_keys(message) for message in dead_letters(aws)] == [[stray]]
    assert len(frame_items(aws)) == 1


def test_a_storage_failure_returns_the_message_and_the_retry_stores_the_frame(aws, world, aws_faults):
    # Given an upload, and S3 failing the first write of the frame's original (a transient 5xx)
    upload(aws, world, jpeg(320, 240), "image/jpeg")
    messages = [m for m in receive(aws) if notified_keys(m)]
    aws_faults.fail("s3", "PutObject", lambda params: params["Key"].startswith("frames/"))

    # When the processor runs
    failed = run(aws, messages)

    # Then the message returns to the queue with its object still in incoming/, and nothing is visible
    assert failed_message_ids(failed) == {messages[0]["MessageId"]}
    assert len(incoming_keys(aws)) == 1
    assert frame_items(aws) == []

    # When SQS delivers it again / Then the frame is stored once and the upload leaves incoming/
    assert run(aws, messages) == {"batchItemFailures": []}
    assert len(frame_items(aws)) == 1
    assert incoming_keys(aws) == []


@pytest.fixture
def access_denied_once(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """S3 answers GetObject on the keys put in the returned set with 403 AccessDenied, once each: what real S3 says
    about a missing key to a caller without s3:ListBucket, and about any key to a caller the policy denies."""
    keys: set[str] = set()
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "GetObject" and params.get("Key") in keys:
            keys.discard(params["Key"])
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
            raise ClientError({**error, "ResponseMetadata": {"HTTPStatusCode": 403}}, operation)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return keys


def test_access_denied_on_an_upload_is_not_taken_for_gone(aws, world, access_denied_once):
    # Given an upload that S3 refuses to read once with 403 (only a 404 NoSuchKey means the object is gone)
    key = upload(aws, world, jpeg(320, 240), "image/jpeg")
    messages = [m for m in receive(aws) if notified_keys(m)]
    access_denied_once.add(key)

    # When the processor runs
    failed = run(aws, messages)

    # Then the message fails rather than being acknowledged as done, and the upload waits for the retry
    assert failed_message_ids(failed) == {messages[0]["MessageId"]}
    assert incoming_keys(aws) == [key]

    # When SQS delivers it again / Then the frame is stored
    assert run(aws, messages) == {"batchItemFailures": []}
    assert len(frame_items(aws)) == 1
    assert incoming_keys(aws) == []


def test_the_sample_event_runs_through_the_handler(aws, world):
    # Given events/processor's sample, pointed at a real upload in this bucket
    key = upload(aws, world, jpeg(320, 240), "image/jpeg")
    event = sample_event("processor/incoming_upload.json")
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
