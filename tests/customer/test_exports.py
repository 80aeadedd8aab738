"""Backup exports (Art. 10-4; SPEC §6, §12; issue 5 §5): a customer requests a ZIP of a camera's frames in a window,
the exporter function builds it from the queue's message by streaming into an S3 multipart upload, and the customer
downloads it by a signed link.

Frames come in through the ingest handler; customers use the viewer handler; the exporter runs from an SQS event
built from events/exporter/ with the message the viewer actually queued.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import pytest
from botocore.client import BaseClient

from doti import runtime
from doti.auth import customer
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.oversight import audit
from doti.store.models import ExportModel, FrameModel
from doti.viewing import exports
from functions.exporter import app as exporter
from infra.provision import Provisioned
from infra.template import load_template
from tests.support import LambdaContext, World, assert_error, body_of, sample_event, scan_table
from tests.support.exports import get_export, read_archive, request_export, requested, s3
from tests.support.processor import receive, upload
from tests.support.processor import run as run_processor
from tests.support.video import clip
from tests.support.viewer import add_site, add_user, ingest_frame, login, owner_token, set_contract_state

# Isolated (moto emptied before each test): the export and incoming queues are drained whole.
pytestmark = pytest.mark.isolated


@pytest.fixture
def s3_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every S3 call as (operation, parameters), recorded at botocore's client layer."""
    calls: list[tuple[str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "s3":
            calls.append((operation, params))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return calls


def queued_messages(aws: Provisioned) -> list[dict[str, Any]]:
    """Drain the export queue as the SQS event source would."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=aws.refs["ExportQueue"], MaxNumberOfMessages=10).get("Messages"):
        messages.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=aws.refs["ExportQueue"], ReceiptHandle=message["ReceiptHandle"])
    return messages


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    sample = sample_event("exporter/export_requested.json")
    records = []
    for message in messages:
        record = copy.deepcopy(sample["Records"][0])
        record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=message["Body"])
        records.append(record)
    return {"Records": records}


def run_exporter(aws: Provisioned, remaining_ms: float = 900_000) -> dict[str, Any]:
    messages = queued_messages(aws)
    assert messages, "nothing was queued"
    return exporter.lambda_handler(sqs_event(messages), LambdaContext(remaining_ms))


def export_status(token: str, export_id: str) -> dict[str, Any]:
    response = get_export(token, export_id)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def manifest_of(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))


def stored_original(aws: Provisioned, camera_id: str, frame_id: str) -> bytes:
    key = FrameModel.get(camera_id, frame_id).object_key
    return s3().get_object(Bucket=aws.refs["FramesBucket"], Key=key)["Body"].read()


def user_of(token: str) -> Any:
    return customer.authenticate_session(f"Bearer {token}", utcnow())[1]


# the whole path


def test_an_export_is_queued_built_and_downloaded_with_a_verifiable_manifest(aws: Provisioned, world, base_time):
    # Given frames before, inside and after a window
    start, end = base_time, base_time + timedelta(minutes=10)
    before = ingest_frame(world, start - timedelta(milliseconds=1))
    inside = [ingest_frame(world, start + timedelta(minutes=m)) for m in (0, 3, 6)]
    at_end = ingest_frame(world, end)
    token = owner_token(world)

    # When the owner requests an export of the window
    response = request_export(token, world.camera_id, start, end)

    # Then it is accepted and queued
    assert response["statusCode"] == 202, response["body"]
    body = body_of(response)
    assert body == {"export_id": body["export_id"], "status": "queued"}
    assert export_status(token, body["export_id"])["status"] == "queued"

    # When the exporter runs on the queued message
    result = run_exporter(aws)

    # Then nothing failed, and the export is ready with a signed download link
    assert result == {"batchItemFailures": []}
    status = export_status(token, body["export_id"])
    assert (status["status"], status["frames"]) == ("ready", 3)
    assert "error" not in status
    link = urlparse(status["download_url"])
    key = unquote(link.path.lstrip("/"))
    assert key == f"exports/{world.contract_id}/{body['export_id']}.zip"  # purged with the contract's exports/ prefix
    # and the archive holds exactly the window's frames, each byte for byte the stored original
    archive = read_archive(aws, key)
    assert archive.testzip() is None
    rows = manifest_of(archive)
    assert [row["frame_id"] for row in rows] == [f["frame_id"] for f in inside]
    assert list(rows[0]) == ["frame_id", "captured_at", "content_type", "size", "sha256", "file_name"]
    for row, frame in zip(rows, inside, strict=True):
        original = stored_original(aws, world.camera_id, frame["frame_id"])
        assert row["sha256"] == hashlib.sha256(original).hexdigest() == frame["sha256"]
        assert archive.read(row["file_name"]) == original
        assert (row["captured_at"], row["content_type"], int(row["size"])) == (
            frame["captured_at"],
            "image/jpeg",
            len(original),
        )
    assert before["frame_id"] not in archive.read("manifest.csv").decode()
    assert at_end["frame_id"] not in archive.read("manifest.csv").decode()
    # and the export's size and digest describe the stored archive
    stored = s3().get_object(Bucket=aws.refs["FramesBucket"], Key=key)["Body"].read()
    assert (status["size"], status["sha256"]) == (len(stored), hashlib.sha256(stored).hexdigest())


def test_a_clip_is_exported_as_an_mp4_with_its_content_type_and_digest(aws, world, base_time):
    # Given a still and, a minute later, a clip (a large upload through the processor) in the window
    start, end = base_time, base_time + timedelta(minutes=10)
    still = ingest_frame(world, start)
    data = clip(2.0, 10, 320, 240)
    upload(aws, world, data, "video/mp4", captured_at=format_rfc3339(start + timedelta(minutes=1)))
    assert run_processor(aws, receive(aws)) == {"batchItemFailures": []}
    token = owner_token(world)

    # When the owner exports the window
    export_id = requested(token, world.camera_id, start, end)
    assert run_exporter(aws) == {"batchItemFailures": []}

    # Then the clip is in the archive as an .mp4, byte for byte as uploaded, next to the still's .jpg
    status = export_status(token, export_id)
    archive = read_archive(aws, unquote(urlparse(status["download_url"]).path.lstrip("/")))
    still_row, clip_row = manifest_of(archive)
    assert still_row["frame_id"] == still["frame_id"]
    assert still_row["file_name"].endswith(f"_{still['frame_id']}.jpg")
    assert clip_row["file_name"].endswith(f"_{clip_row['frame_id']}.mp4")
    assert archive.read(clip_row["file_name"]) == data
    # And the manifest gives its type, size and SHA-256, which match the bytes and the index
    assert (clip_row["content_type"], int(clip_row["size"])) == ("video/mp4", len(data))
    assert (
        clip_row["sha256"]
        == hashlib.sha256(data).hexdigest()
        == FrameModel.get(world.camera_id, clip_row["frame_id"]).sha256
    )


def test_the_download_link_is_an_attachment_signed_for_the_contracts_ttl(aws, world_factory, base_time):
    # Given a contract with 120 s signed URLs and a ready export
    world = world_factory(signed_url_ttl=120)
    ingest_frame(world, base_time)
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))
    run_exporter(aws)

    # When the owner asks for the export
    status = export_status(token, export_id)

    # Then the link downloads the ZIP as an attachment and expires with the contract's TTL
    query = {k: v[0] for k, v in parse_qs(urlparse(status["download_url"]).query).items()}
    assert query["X-Amz-Expires"] == "120"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["response-content-disposition"] == f'attachment; filename="doti-export-{export_id}.zip"'
    assert query["response-content-type"] == "application/zip"
    issued = parse_rfc3339(status["url_expires_at"], "url_expires_at")
    assert utcnow() < issued <= utcnow() + timedelta(seconds=120)


def test_requests_and_builds_are_audited(aws, world, base_time):
    # Given an export requested by the owner and built
    ingest_frame(world, base_time)
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))
    run_exporter(aws)

    # When the audit log is read
    entries, _ = audit.entries(world.contract_id, limit=50)
    of_export = [(e.actor, e.action, e.details) for e in reversed(entries) if e.subject == export_id]

    # Then it holds the request (the user) and the build (the exporter)
    assert [(actor, action) for actor, action, _ in of_export] == [
        (f"user:{user_of(token).user_id}", "export.requested"),
        ("job:exporter", "export.ready"),
    ]
    assert of_export[0][2]["from"] == format_rfc3339(base_time)
    assert of_export[1][2]["frames"] == 1


# asking again


def queue_of(aws: Provisioned) -> exports.ExportQueue:
    return exports.ExportQueue(boto3.client("sqs", region_name="us-east-1"), aws.refs["ExportQueue"])


def requested_entries(contract_id: str) -> list[str | None]:
    entries, _ = audit.entries(contract_id, limit=100)
    return [e.subject for e in reversed(entries) if e.action == "export.requested"]


def test_the_same_request_asked_again_gets_the_same_export_and_its_message_sent_again(aws, world, base_time):
    # Given a queued export of a window (its message perhaps never sent: the request may have died after it)
    ingest_frame(world, base_time)
    token = owner_token(world)
    window = (base_time, base_time + timedelta(minutes=1))
    first = request_export(token, world.camera_id, *window)

    # When the owner asks for the same window again
    again = request_export(token, world.camera_id, *window)

    # Then both answers are 202 with the same queued export, requested once in the audit log, its message sent twice
    assert (first["statusCode"], again["statusCode"]) == (202, 202)
    assert body_of(again) == body_of(first) == {"export_id": body_of(first)["export_id"], "status": "queued"}
    export_id = body_of(first)["export_id"]
    assert requested_entries(world.contract_id) == [export_id]
    messages = queued_messages(aws)
    assert [json.loads(m["Body"])["export_id"] for m in messages] == [export_id, export_id]
    # and the two messages build it once
    assert exporter.lambda_handler(sqs_event(messages), LambdaContext()) == {"batchItemFailures": []}
    entries, _ = audit.entries(world.contract_id, limit=100)
    assert [e.action for e in entries if e.subject == export_id].count("export.ready") == 1
    # and once it is ready, asking again gets it, ready, without a message
    ready = request_export(token, world.camera_id, *window)
    assert (ready["statusCode"], body_of(ready)) == (202, {"export_id": export_id, "status": "ready"})
    assert queued_messages(aws) == []


def test_another_window_camera_or_user_is_another_export(aws, world, base_time):
    # Given an export of a window by the owner
    token = owner_token(world)
    window = (base_time, base_time + timedelta(minutes=1))
    first = requested(token, world.camera_id, *window)

    # When the owner asks for a window one second longer, and a manager for the same window
    longer = requested(token, world.camera_id, base_time, window[1] + timedelta(seconds=1))
    by_manager = requested(login(*add_user(world, role="manager")), world.camera_id, *window)

    # Then each is an export of its own
    assert len({first, longer, by_manager}) == 3
    assert requested_entries(world.contract_id) == [first, longer, by_manager]


def test_asking_again_after_a_failure_or_long_after_it_was_ready_makes_a_new_export(aws, world, base_time):
    # Given an export built, as the owner asks for it
    token = owner_token(world)
    user, queue, window = user_of(token), queue_of(aws), (base_time, base_time + timedelta(minutes=1))
    asked_at = utcnow()
    built = exports.request_export(user, world.camera_id, *window, queue=queue, now=asked_at)
    run_exporter(aws)

    # When the owner asks again just before REPEAT_WINDOW has passed since it was ready, and then just after it
    ready_at = ExportModel.get(built.export_id).updated_at
    soon = exports.request_export(
        user, world.camera_id, *window, queue=queue, now=ready_at + exports.REPEAT_WINDOW - timedelta(seconds=1)
    )
    later = exports.request_export(user, world.camera_id, *window, queue=queue, now=ready_at + exports.REPEAT_WINDOW)

    # Then the first gets the ready export back; the second is a new export, queued (frames may have come since)
    assert (soon.export_id, soon.status) == (built.export_id, "ready")
    assert later.export_id != built.export_id
    assert later.status == "queued"
    assert [json.loads(m["Body"])["export_id"] for m in queued_messages(aws)] == [later.export_id]

    # When that export fails, and the owner asks again
    ExportModel(export_id=later.export_id).update(actions=[ExportModel.status.set("failed")])
    retried = exports.request_export(user, world.camera_id, *window, queue=queue, now=utcnow())

    # Then that is a new export too, and the audit log holds one request for each of the three
    assert retried.export_id not in (built.export_id, later.export_id)
    assert requested_entries(world.contract_id) == [built.export_id, later.export_id, retried.export_id]


def test_a_failed_send_leaves_the_export_queued_and_asking_again_sends_it(
    aws,
    world,
    base_time,
    aws_faults,
):
    # Given SQS failing the first send of an export's message (the message may have been sent all the same)
    ingest_frame(world, base_time)
    token = owner_token(world)
    window = (base_time, base_time + timedelta(minutes=1))
    aws_faults.fail("sqs", "SendMessage")

    # When the owner requests the export
    failed = request_export(token, world.camera_id, *window)

    # Then the answer is a 503 naming the export, which stays queued, not failed: no "export.failed" in the log
    assert_error(failed, 503, "storage_unavailable")
    export_id = body_of(failed)["error"]["details"]["export_id"]
    assert ExportModel.get(export_id).status == "queued"
    entries, _ = audit.entries(world.contract_id, limit=100)
    assert [e.action for e in reversed(entries) if e.subject == export_id] == ["export.requested"]

    # When the owner asks again
    again = request_export(token, world.camera_id, *window)

    # Then it is the same export, sent to the queue this time, and built
    assert (again["statusCode"], body_of(again)["export_id"]) == (202, export_id)
    run_exporter(aws)
    assert export_status(token, export_id)["status"] == "ready"


def test_a_redelivered_message_builds_nothing_twice(aws, world, base_time, s3_calls):
    # Given a built export
    ingest_frame(world, base_time)
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))
    message = queued_messages(aws)
    exporter.lambda_handler(sqs_event(message), LambdaContext())
    first = export_status(token, export_id)
    s3_calls.clear()

    # When SQS delivers the same message again
    result = exporter.lambda_handler(sqs_event(message), LambdaContext())

    # Then the exporter does nothing: no upload, same archive, one "ready" in the audit log
    assert result == {"batchItemFailures": []}
    assert [op for op, _ in s3_calls] == []
    again = export_status(token, export_id)
    assert (again["sha256"], again["size"]) == (first["sha256"], first["size"])
    entries, _ = audit.entries(world.contract_id, limit=50)
    assert [e.action for e in entries if e.subject == export_id].count("export.ready") == 1


def test_a_duplicate_delivery_while_the_export_is_being_built_builds_nothing_and_returns(
    aws, world, base_time, s3_calls
):
    # Given a queued export of a frame, and its message (SQS delivers a message at least once, maybe twice)
    ingest_frame(world, base_time)
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))
    message = queued_messages(aws)
    duplicate: dict[str, Any] = {}

    def remaining_ms() -> float:
        # The build asks for its remaining time before each frame: the duplicate arrives in the middle of the build.
        if not duplicate:
            calls_before = len(s3_calls)
            duplicate["result"] = exporter.lambda_handler(sqs_event(message), LambdaContext())
            duplicate["s3_calls"] = [op for op, _ in s3_calls[calls_before:]]
            duplicate["status"] = ExportModel.get(export_id).status
        return 900_000

    # When one run builds the export and the same message is delivered to another run meanwhile
    built = exports.build_export(
        export_id, storage=runtime.storage(), events=runtime.events(), now=utcnow(), remaining_ms=remaining_ms
    )

    # Then the duplicate leaves the export to the run building it: no S3 call, still building, and its message goes
    # back to the queue (acknowledged, it would be gone if the building run stopped: nobody would finish the export)
    assert duplicate == {
        "result": {"batchItemFailures": [{"itemIdentifier": message[0]["MessageId"]}]},
        "s3_calls": [],
        "status": "building",
    }
    # and the first run finishes it: one upload, one archive, one "ready" in the audit log
    assert built is not None
    assert built.status == "ready"
    assert [op for op, _ in s3_calls].count("CreateMultipartUpload") == 1
    assert export_status(token, export_id)["frames"] == 1
    entries, _ = audit.entries(world.contract_id, limit=50)
    assert [e.action for e in entries if e.subject == export_id].count("export.ready") == 1


def test_an_export_left_building_by_a_run_that_stopped_is_built_when_its_message_returns(aws, world, base_time):
    # Given an export whose build a run claimed longer ago than the exporter's timeout, then stopped (killed at the
    # timeout: nothing marked it failed), and its message back on the queue after the visibility timeout
    ingest_frame(world, base_time)
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))
    claimed_at = utcnow() - exports.BUILD_TIMEOUT - timedelta(seconds=1)
    ExportModel.get(export_id).update(
        actions=[ExportModel.status.set("building"), ExportModel.updated_at.set(claimed_at)]
    )

    # When the exporter receives the message again
    result = run_exporter(aws)

    # Then this run takes the export over and builds it
    assert result == {"batchItemFailures": []}
    status = export_status(token, export_id)
    assert (status["status"], status["frames"]) == ("ready", 1)
    # and the claim's timeout is the exporter function's own
    timeout = load_template()["Resources"]["ExporterFunction"]["Properties"]["Timeout"]
    assert timeout == exports.BUILD_TIMEOUT.total_seconds()


# streaming


def test_the_archive_streams_through_several_parts_never_holding_more_than_a_part(
    aws, world, base_time, s3_calls, monkeypatch
):
    # Given twelve frames and a part size of 20 KiB (moto lowered to accept parts that small; S3 wants 5 MiB)
    monkeypatch.setattr("moto.s3.models.S3_UPLOAD_PART_MIN_SIZE", 1024)
    frames = [ingest_frame(world, base_time + timedelta(seconds=i)) for i in range(12)]
    largest_frame = max(f["size"] for f in frames)
    part_size = 20 * 1024
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))
    s3_calls.clear()

    # When the export is built with that part size
    built = exports.build_export(
        export_id,
        storage=runtime.storage(),
        events=runtime.events(),
        now=utcnow(),
        remaining_ms=lambda: 900_000,
        part_size=part_size,
    )

    # Then it went up as a multipart upload of several parts, none holding more than a part plus one frame's bytes
    assert built is not None
    assert built.status == "ready"
    parts = [len(params["Body"]) for op, params in s3_calls if op == "UploadPart"]
    assert len(parts) >= 4
    assert all(part_size <= size < part_size + largest_frame + 1024 for size in parts[:-1])
    assert sum(parts) == built.size
    assert [op for op, _ in s3_calls if "Multipart" in op] == ["CreateMultipartUpload", "CompleteMultipartUpload"]
    # and never a single put of the whole archive; each frame was read once, as a stream
    assert "PutObject" not in [op for op, _ in s3_calls]
    gets = [params["Key"] for op, params in s3_calls if op == "GetObject"]
    assert len(gets) == len(set(gets)) == len(frames)
    # and the frames all arrived intact
    archive = read_archive(aws, built.object_key)
    assert [row["frame_id"] for row in manifest_of(archive)] == [f["frame_id"] for f in frames]


def test_an_altered_frame_fails_the_export_and_aborts_the_upload(aws, world, base_time):
    # Given an export of two frames, one of whose stored bytes no longer match its recorded SHA-256
    ingest_frame(world, base_time)
    bad = ingest_frame(world, base_time + timedelta(seconds=1))
    bucket = aws.refs["FramesBucket"]
    s3().put_object(Bucket=bucket, Key=FrameModel.get(world.camera_id, bad["frame_id"]).object_key, Body=b"altered")
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))

    # When the exporter runs
    result = run_exporter(aws)

    # Then the message is done (retrying cannot help), the export failed and says why, and nothing is left in S3
    assert result == {"batchItemFailures": []}
    status = export_status(token, export_id)
    assert status["status"] == "failed"
    assert status["error"]["code"] == "integrity_error"
    assert "download_url" not in status
    assert s3().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    listed = s3().list_objects_v2(Bucket=bucket, Prefix=f"exports/{world.contract_id}/")
    assert listed.get("KeyCount", 0) == 0
    entries, _ = audit.entries(world.contract_id, limit=50)
    assert [e.action for e in entries if e.subject == export_id][:1] == ["export.failed"]


def test_an_export_that_does_not_fit_in_one_run_fails_asking_to_split_it(aws, world, base_time):
    # Given an export whose build starts with less time left than the reserve
    ingest_frame(world, base_time)
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))

    # When the exporter runs short of time
    result = run_exporter(aws, remaining_ms=exports.RESERVE_MS - 1)

    # Then the export failed with a code that tells the customer to split the window, and no upload is left
    assert result == {"batchItemFailures": []}
    status = export_status(token, export_id)
    assert (status["status"], status["error"]["code"]) == ("failed", "export_too_large")
    assert "split" in status["error"]["message"]
    assert s3().list_multipart_uploads(Bucket=aws.refs["FramesBucket"]).get("Uploads", []) == []


def test_an_empty_window_gives_an_archive_with_only_its_manifest(aws, world, base_time):
    # Given a window with no frame
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))

    # When it is built
    run_exporter(aws)

    # Then it is ready, with zero frames, a manifest of the header alone and the export's description
    status = export_status(token, export_id)
    assert (status["status"], status["frames"]) == ("ready", 0)
    archive = read_archive(aws, unquote(urlparse(status["download_url"]).path.lstrip("/")))
    assert sorted(archive.namelist()) == ["export.json", "manifest.csv"]
    assert manifest_of(archive) == []
    assert json.loads(archive.read("export.json"))["export_id"] == export_id


# refusals


def test_a_viewer_cannot_request_or_read_exports(aws, world, base_time):
    # Given an export the owner requested, and a viewer of the same contract
    export_id = requested(owner_token(world), world.camera_id, base_time, base_time + timedelta(minutes=1))
    viewer_token = login(*add_user(world, role="viewer"))

    # When the viewer requests an export or reads the owner's
    # Then both are forbidden
    assert_error(request_export(viewer_token, world.camera_id, base_time, utcnow()), 403, "forbidden")
    assert_error(get_export(viewer_token, export_id), 403, "forbidden")


def test_a_manager_may_export(aws, world, base_time):
    # Given a manager
    token = login(*add_user(world, role="manager"))

    # When they request an export
    # Then it is accepted
    assert request_export(token, world.camera_id, base_time, utcnow())["statusCode"] == 202


def test_another_tenants_camera_or_export_is_not_found(aws, world_factory, base_time):
    # Given two tenants and an export of tenant B
    tenant_a, tenant_b = world_factory(), world_factory()
    b_export = requested(owner_token(tenant_b), tenant_b.camera_id, base_time, utcnow())
    a_token = owner_token(tenant_a)

    # When A's owner exports B's camera, reads B's export or an unknown id
    # Then all are not found, and nothing was queued for A
    assert_error(request_export(a_token, tenant_b.camera_id, base_time, utcnow()), 404, "not_found")
    assert_error(get_export(a_token, b_export), 404, "not_found")
    assert_error(get_export(a_token, "exp_nosuchexport00000000"), 404, "not_found")
    assert len(queued_messages(aws)) == 1


def test_a_site_scoped_manager_exports_only_their_sites_cameras(aws, world, base_time):
    # Given a manager limited to a second site, and an export of the first site's camera by the owner
    annex = add_site(world)
    owner_export = requested(owner_token(world), world.camera_id, base_time, utcnow())
    token = login(*add_user(world, role="manager", site_ids=[annex.site_id]))

    # When the scoped manager exports each camera and reads the owner's export
    # Then only their site's camera is theirs
    assert request_export(token, annex.camera_id, base_time, utcnow())["statusCode"] == 202
    assert_error(request_export(token, world.camera_id, base_time, utcnow()), 404, "not_found")
    assert_error(get_export(token, owner_export), 404, "not_found")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-01-01T11:00:00Z", "2026-01-01T10:00:00Z"),
        ("2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"),
        ("2026-01-01T10:00:00Z", None),
        ("2026-01-01", "2026-01-02"),
    ],
    ids=["inverted", "empty", "no-end", "dates-only"],
)
def test_an_invalid_window_is_refused_and_nothing_is_queued(aws: Provisioned, world: World, start, end):
    # Given the owner
    # When they request an export with an invalid window
    response = request_export(owner_token(world), world.camera_id, start, end)

    # Then it is a validation error; no export is recorded or queued
    assert_error(response, 422, "validation_error")
    assert scan_table(aws.refs["ExportsTable"]) == []
    assert queued_messages(aws) == []


@pytest.mark.parametrize(
    ("state", "code"), [("suspended", "contract_suspended"), ("terminated", "contract_terminated")]
)
def test_a_contract_out_of_service_neither_requests_nor_downloads(aws, world, base_time, state, code):
    # Given a ready export, then the contract leaves service
    ingest_frame(world, base_time)
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))
    run_exporter(aws)
    set_contract_state(world.contract_id, state)

    # When the owner requests another export or the download link
    # Then both are refused with the contract's state
    assert_error(request_export(token, world.camera_id, base_time, utcnow()), 403, code)
    assert_error(get_export(token, export_id), 403, code)


def test_a_contract_suspended_before_the_build_fails_the_export(aws, world, base_time):
    # Given an export requested, then the contract suspended before the exporter runs
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))
    set_contract_state(world.contract_id, "suspended")

    # When the exporter runs
    run_exporter(aws)

    # Then no archive is built and the export records why
    item = ExportModel.get(export_id)
    assert (item.status, item.error_code, item.object_key) == ("failed", "contract_suspended", None)


# expiry


def test_exports_expire_after_seven_days_in_the_item_and_in_the_bucket(aws, world, base_time):
    # Given an export requested eight days ago (time injected into the domain, as the handler does with its clock)
    token = owner_token(world)
    queue = exports.ExportQueue(boto3.client("sqs", region_name="us-east-1"), aws.refs["ExportQueue"])
    old = exports.request_export(
        user_of(token),
        world.camera_id,
        base_time,
        base_time + timedelta(minutes=1),
        queue=queue,
        now=utcnow() - timedelta(days=8),
    )
    fresh_id = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))

    # When the owner asks for each
    # Then the old one is gone and the fresh one lives seven days, in its TTL and in the bucket's lifecycle rule
    assert_error(get_export(token, old.export_id), 404, "not_found")
    fresh = export_status(token, fresh_id)
    created_at = parse_rfc3339(fresh["created_at"], "created_at")
    assert parse_rfc3339(fresh["expires_at"], "expires_at") == created_at.replace(microsecond=0) + timedelta(days=7)
    assert ExportModel.get(fresh_id).expires_at == (created_at + timedelta(days=7)).replace(microsecond=0)
    rules = load_template()["Resources"]["FramesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if r.get("Prefix") == "exports/"]
    assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", exports.EXPORT_LIFETIME.days)
    # and the old export's message builds nothing
    run_exporter(aws)
    assert ExportModel.get(old.export_id).status == "queued"
