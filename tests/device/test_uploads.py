"""POST /v1/device/uploads through the ingest handler: the upload grant for large frames and clips (SPEC §4, §12).

moto does not check presigned POSTs (STACK-NOTES), so these tests read the POST policy we sign and assert what S3
will enforce: the exact key, content type, byte range and metadata.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from doti.clock import format_rfc3339, parse_rfc3339
from doti.contracts import registry
from doti.ingest import uploads
from doti.oversight import audit
from tests.support import assert_error, body_of, camera_consents, frame_event, scan_table
from tests.support.contract_states import put_in_state
from tests.support.images import jpeg
from tests.support.ingest import post
from tests.support.uploads import grant, now, upload_event, upload_request

MAX_OBJECT_BYTES = 4 * 1024 * 1024  # contracts.Plan's default, which world_factory() uses
DEFAULT_RETENTION_DAYS = 31


def policy_of(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))


def incoming_objects(aws) -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    listing = s3.list_objects_v2(Bucket=aws.refs["FramesBucket"], Prefix="incoming/")
    return [entry["Key"] for entry in listing.get("Contents", [])]


def assert_nothing_granted_or_stored(aws) -> None:
    assert incoming_objects(aws) == []
    assert scan_table(aws.refs["IdempotencyTable"]) == []
    assert scan_table(aws.refs["FramesTable"]) == []


# the grant


@pytest.mark.isolated  # reads every stored frame object and index item
def test_grant_is_a_presigned_post_for_exactly_the_declared_upload(aws, world):
    # Given a device that wants to upload a 2 MB clip of its camera
    request = upload_request(world, size=2_000_000, frame_id="clip-0001")

    # When it asks for an upload grant
    before = now()
    response = post(upload_event(world, request))

    # Then it gets a SigV4 presigned POST for a key under incoming/<contract>/<device>/
    assert response["statusCode"] == 201, response["body"]
    granted = body_of(response)
    assert set(granted) == {"url", "fields", "expires_at"}
    fields = granted["fields"]
    bucket = aws.refs["FramesBucket"]
    assert bucket in granted["url"]
    assert fields["key"].startswith(f"incoming/{world.contract_id}/{world.device_id}/upl_")
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert {"x-amz-credential", "x-amz-date", "x-amz-signature", "policy"} <= set(fields)

    # And the fields the device sends pin the content type and the metadata the processor trusts
    assert fields["Content-Type"] == "video/mp4"
    assert fields["x-amz-meta-camera-id"] == world.camera_id
    assert fields["x-amz-meta-device-id"] == world.device_id
    assert fields["x-amz-meta-frame-id"] == "clip-0001"
    assert fields["x-amz-meta-captured-at"] == request["captured_at"]

    # And the policy S3 enforces requires each of them exactly, the key exactly, and 1..size bytes
    policy = policy_of(fields)
    conditions = policy["conditions"]
    assert {"bucket": bucket} in conditions
    assert {"key": fields["key"]} in conditions
    assert ["content-length-range", 1, 2_000_000] in conditions
    for name in ("Content-Type", "x-amz-meta-camera-id", "x-amz-meta-device-id", "x-amz-meta-frame-id"):
        assert {name: fields[name]} in conditions
    assert {"x-amz-meta-captured-at": request["captured_at"]} in conditions
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]

    # And both the policy and the response expire after the grant's lifetime
    expires_at = parse_rfc3339(granted["expires_at"], "expires_at")
    assert before + uploads.GRANT_TTL - timedelta(seconds=1) <= expires_at <= now() + uploads.GRANT_TTL
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert abs(expiration - expires_at) < timedelta(seconds=5)

    # And nothing is stored until the device uploads
    assert_nothing_granted_or_stored(aws)


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "video/mp4"])
def test_stills_and_clips_can_be_granted(aws, world, content_type):
    response = grant(world, content_type=content_type, size=1000)

    assert response["statusCode"] == 201, response["body"]
    fields = body_of(response)["fields"]
    assert fields["Content-Type"] == content_type
    assert ["content-length-range", 1, 1000] in policy_of(fields)["conditions"]


def test_each_grant_has_its_own_key(aws, world):
    keys = {body_of(grant(world, frame_id="clip-same"))["fields"]["key"] for _ in range(3)}

    assert len(keys) == 3


def test_a_grant_up_to_the_plan_maximum_is_given(aws, world):
    response = grant(world, size=MAX_OBJECT_BYTES)

    assert response["statusCode"] == 201, response["body"]
    assert ["content-length-range", 1, MAX_OBJECT_BYTES] in policy_of(body_of(response)["fields"])["conditions"]


# refusals (SPEC §10): nothing is granted


@pytest.mark.isolated  # reads every stored frame object and index item
def test_a_size_over_the_plan_is_payload_too_large(aws, world):
    response = grant(world, size=MAX_OBJECT_BYTES + 1)

    error = assert_error(response, 413, "payload_too_large")
    assert error["details"]["max_bytes"] == MAX_OBJECT_BYTES
    assert_nothing_granted_or_stored(aws)


@pytest.mark.isolated  # reads every stored frame object and index item
@pytest.mark.parametrize("content_type", ["image/gif", "video/quicktime", "application/octet-stream", "text/plain"])
def test_a_content_type_other_than_jpeg_png_or_mp4_is_unsupported(aws, world, content_type):
    response = grant(world, content_type=content_type)

    error = assert_error(response, 415, "unsupported_media_type")
    assert set(error["details"]["accepted"]) == {"image/jpeg", "image/png", "video/mp4"}
    assert_nothing_granted_or_stored(aws)


def test_a_request_body_that_is_not_json_by_its_content_type_is_unsupported(aws, world):
    response = post(upload_event(world, upload_request(world), content_type="text/plain"))

    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.isolated  # reads every stored frame object and index item
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"size": 0}, "size"),
        ({"size": -5}, "size"),
        ({"size": "2000"}, "size"),
        ({"size": True}, "size"),
        ({"camera_id": ""}, "camera_id"),
        ({"frame_id": None}, "frame_id"),
        ({"captured_at": 12}, "captured_at"),
        ({"extra": "x"}, "extra"),
    ],
)
def test_a_malformed_request_names_the_field(aws, world, overrides, field):
    response = grant(world, **overrides)

    error = assert_error(response, 422, "validation_error")
    assert field in [problem["field"] for problem in error["details"]["problems"]]
    assert_nothing_granted_or_stored(aws)


def test_a_request_missing_fields_names_each(aws, world):
    response = post(upload_event(world, {"camera_id": world.camera_id}))

    error = assert_error(response, 422, "validation_error")
    assert {p["field"] for p in error["details"]["problems"]} == {"content_type", "size", "captured_at", "frame_id"}


def test_a_body_that_is_not_json_is_a_validation_error(aws, world):
    response = post(upload_event(world, "{not json"))

    assert_error(response, 422, "validation_error")


@pytest.mark.isolated  # reads every stored frame object and index item
@pytest.mark.parametrize(
    "captured_at",
    [
        lambda: now() + timedelta(minutes=10),
        lambda: now() - timedelta(days=DEFAULT_RETENTION_DAYS, minutes=1),
    ],
    ids=["in-the-future", "older-than-retention"],
)
def test_capture_times_follow_the_direct_routes_rules(aws, world, captured_at):
    response = grant(world, captured_at=format_rfc3339(captured_at()))

    assert_error(response, 422, "validation_error")
    assert_nothing_granted_or_stored(aws)


def test_a_capture_time_without_offset_is_a_validation_error(aws, world):
    response = grant(world, captured_at="2026-11-25T12:00:00")

    assert_error(response, 422, "validation_error")


def test_a_device_frame_id_with_other_characters_is_a_validation_error(aws, world):
    response = grant(world, frame_id="clip 1/2")

    assert_error(response, 422, "validation_error")


@pytest.mark.isolated  # reads every stored frame object and index item
def test_another_tenants_camera_is_not_found(aws, world_factory):
    # Given two tenants
    mine, theirs = world_factory(), world_factory()

    # When my device asks to upload for their camera
    response = grant(mine, camera_id=theirs.camera_id)

    # Then it is told the camera does not exist, as for an unknown one
    assert_error(response, 404, "not_found")
    assert_error(grant(mine, camera_id="cam_doesnotexist"), 404, "not_found")
    assert_nothing_granted_or_stored(aws)


def test_a_camera_of_another_site_of_the_same_contract_is_not_found(aws, world):
    # Given a second site of the same contract with its own camera
    at = now()
    site = registry.create_site(world.contract_id, "Warehouse", None, at)
    camera = registry.create_camera(world.contract_id, site.site_id, "Dock", at, consents=camera_consents(at))

    # When the first site's device asks to upload for it
    response = grant(world, camera_id=camera.camera_id)

    # Then it is not found: a device relays only its own site's cameras
    assert_error(response, 404, "not_found")


@pytest.mark.isolated  # reads whole tables
def test_quota_exceeded_when_the_declared_size_does_not_fit_the_month(aws, world_factory):
    # Given a plan whose monthly quota is one maximum-size object, part of it used by a frame
    world = world_factory(max_object_bytes=1024 * 1024, monthly_byte_quota=1024 * 1024)
    assert post(frame_event(world, jpeg(320, 240)))["statusCode"] == 201

    # When the device asks to upload a full-size object
    response = grant(world, size=1024 * 1024)

    # Then it is told the quota is exceeded and when it resets
    error = assert_error(response, 429, "quota_exceeded")
    assert error["details"]["quota_bytes"] == 1024 * 1024
    assert "resets_at" in error["details"]
    assert incoming_objects(aws) == []


def test_a_suspended_contract_gets_no_grant(aws, world):
    put_in_state(world.contract_id, "suspended")

    assert_error(grant(world), 403, "contract_suspended")


# authentication: checked before anything about the request is told


@pytest.mark.isolated  # reads every stored frame object and index item
def test_a_wrong_signature_is_unauthorized(aws, world):
    response = post(upload_event(world, upload_request(world), secret="not-the-secret"))

    assert_error(response, 401, "unauthorized")
    assert_nothing_granted_or_stored(aws)


def test_a_signature_over_another_body_is_unauthorized(aws, world):
    sent = upload_request(world, size=MAX_OBJECT_BYTES)
    signed = json.dumps({**sent, "size": 10})

    response = post(upload_event(world, sent, signed_body=signed))

    assert_error(response, 401, "unauthorized")


def test_an_old_signature_is_expired(aws, world):
    response = post(upload_event(world, upload_request(world), signed_at=now() - timedelta(minutes=10)))

    assert_error(response, 401, "signature_expired")


def test_an_unsigned_malformed_request_is_unauthorized_not_described(aws, world):
    response = post(upload_event(world, "{not json", secret="not-the-secret"))

    assert_error(response, 401, "unauthorized")


def test_a_revoked_device_gets_no_grant(aws, world):
    registry.revoke_device(world.device_id, actor=audit.job_actor("test"), now=now())

    assert_error(grant(world), 401, "unauthorized")


def test_the_direct_route_still_takes_only_stills(aws, world):
    # Clips are accepted only through the upload path: a direct POST of video/mp4 stays 415.
    response = post(frame_event(world, b"\x00\x00\x00\x18ftypisom" + bytes(64), content_type="video/mp4"))

    assert_error(response, 415, "unsupported_media_type")
