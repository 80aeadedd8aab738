"""POST /v1/device/frames through the ingest handler, with moto in-process (SPEC §4, §10, §12)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import pytest

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339, parse_rfc3339
from doti.contracts import registry
from infra.provision import Provisioned
from tests.support import (
    World,
    api_event,
    assert_error,
    body_of,
    camera_consents,
    frame_event,
)
from tests.support.images import (
    jpeg,
    jpeg_with_scan_bytes_flipped,
    jpeg_with_scan_cut_in_the_middle,
    png,
    with_jpeg_dimensions,
)
from tests.support.ingest import (
    customer_frame_ids,
    is_original,
    is_table,
    now,
    object_tags,
    post,
    set_attribute,
    stored,
)

# Isolated (moto emptied before each test): its checks read every stored frame object and index item.
pytestmark = pytest.mark.isolated

ROUTE = "/v1/device/frames"
CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
DEFAULT_RETENTION_DAYS = 31  # contracts.Plan's default, which world_factory() uses


# images


def png_chunk_offset(data: bytes, kind: bytes) -> int:
    pos = 8
    while data[pos + 4 : pos + 8] != kind:
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    return pos


def png_with_renamed_iend(data: bytes) -> bytes:
    pos = png_chunk_offset(data, b"IEND")
    return data[: pos + 4] + b"IENX" + data[pos + 8 :]


def png_with_flipped_idat(data: bytes) -> bytes:
    pos = png_chunk_offset(data, b"IDAT") + 8 + 40
    return data[:pos] + bytes(b ^ 0xFF for b in data[pos : pos + 16]) + data[pos + 16 :]


# requests


def device_event(
    world: World,
    body: bytes,
    *,
    content_type: str = "image/jpeg",
    sign_path: str = ROUTE,
    signed_body: bytes | None = None,
    drop: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A device request with exactly these headers; its signature may cover another path or body than the one sent.

    (support.frame_event merges the sample's headers back in, so it cannot leave one out.)
    """
    auth = signed_headers(
        world.device_id, world.device_secret, "POST", sign_path, body if signed_body is None else signed_body, now()
    )
    sent = {
        **auth,
        "Content-Type": content_type,
        "X-Doti-Camera": world.camera_id,
        "X-Doti-Captured-At": format_rfc3339(now()),
        "X-Doti-Frame-Id": new_frame_id(),
    }
    sent = {name: value for name, value in sent.items() if name not in drop}
    return api_event("ingest/post_frame.json", headers=sent, replace_headers=True, body=body, binary=True)


def new_frame_id() -> str:
    return f"panel-{secrets.token_hex(6)}"


# what is stored


def assert_nothing_stored(aws: Provisioned) -> None:
    state = stored(aws)
    assert state.keys == []
    assert state.items == []


# AWS faults, injected at botocore's client layer (under boto3 and PynamoDB alike)


# the happy path


def test_jpeg_frame_is_stored_with_thumbnail_tags_and_index_item(aws, world):
    # Given a 1280x720 JPEG captured a few seconds ago, on a whole second
    image = jpeg(1280, 720)
    captured_at = (now() - timedelta(seconds=3)).replace(microsecond=0)

    # When the device posts it
    response = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-0001-000001"))

    # Then it is created, described by its digest, dimensions and expiry
    assert response["statusCode"] == 201, response["body"]
    frame = body_of(response)
    assert len(frame["frame_id"]) == 26
    assert set(frame["frame_id"]) <= CROCKFORD
    assert frame["device_frame_id"] == "panel-0001-000001"
    assert frame["camera_id"] == world.camera_id
    assert frame["sha256"] == hashlib.sha256(image).hexdigest()
    assert (frame["width"], frame["height"], frame["size"]) == (1280, 720, len(image))
    assert frame["content_type"] == "image/jpeg"
    assert parse_rfc3339(frame["captured_at"], "t") == captured_at
    assert parse_rfc3339(frame["expires_at"], "t") == captured_at + timedelta(days=DEFAULT_RETENTION_DAYS)

    # And only the original is stored, tagged with the retention class: its 320-px thumbnail is rendered when viewed
    state = stored(aws)
    [original] = state.keys
    assert original.startswith(f"frames/{world.contract_id}/{world.camera_id}/")
    assert original.endswith(f"{frame['frame_id']}.jpg")
    assert state.objects[original] == image
    assert object_tags(aws, original) == {"doti-retention": f"d{DEFAULT_RETENTION_DAYS}"}

    # And one index item carries the TTL attribute
    assert len(state.items) == 1
    item = state.items[0]
    assert item["frame_id"]["S"] == frame["frame_id"]
    assert int(item["expires_at"]["N"]) == int((captured_at + timedelta(days=DEFAULT_RETENTION_DAYS)).timestamp())
    assert item["sha256"]["S"] == frame["sha256"]
    # naming no stored thumbnail, only the size the rendered one has
    assert "thumb_key" not in item
    assert (item["thumb_size"]["N"], item["thumb_width"]["N"], item["thumb_height"]["N"]) == ("0", "320", "180")


def test_expiry_is_rounded_up_to_the_whole_second_the_index_keeps(aws, world):
    # Given a capture time with milliseconds
    captured_at = (now() - timedelta(seconds=3)).replace(microsecond=250_000)

    # When the frame is ingested
    frame = body_of(post(frame_event(world, jpeg(320, 240), captured_at=captured_at)))

    # Then the expiry is the next whole second after captured_at + retention, as in the TTL attribute
    expected = captured_at.replace(microsecond=0) + timedelta(days=DEFAULT_RETENTION_DAYS, seconds=1)
    assert parse_rfc3339(frame["expires_at"], "t") == expected
    assert int(stored(aws).items[0]["expires_at"]["N"]) == int(expected.timestamp())


def test_png_frame_is_accepted_and_stored_as_png(aws, world):
    # Given a PNG
    image = png(640, 360)

    # When the device posts it as image/png
    response = post(frame_event(world, image, content_type="image/png"))

    # Then it is stored as a PNG, alone, with the size of its JPEG thumbnail of long edge 320 (rendered when viewed)
    assert response["statusCode"] == 201, response["body"]
    frame = body_of(response)
    assert (frame["content_type"], frame["width"], frame["height"]) == ("image/png", 640, 360)
    state = stored(aws)
    [original] = state.keys
    assert original.endswith(".png")
    assert state.objects[original] == image
    assert len(state.items) == 1
    assert (state.items[0]["thumb_width"]["N"], state.items[0]["thumb_height"]["N"]) == ("320", "180")


def test_frame_ids_sort_by_capture_time(aws, world):
    # Given two frames, the later one posted first
    earlier = now() - timedelta(minutes=2)
    later = earlier + timedelta(milliseconds=1)

    # When both are ingested
    second = body_of(post(frame_event(world, jpeg(320, 240), captured_at=later)))
    first = body_of(post(frame_event(world, jpeg(320, 240), captured_at=earlier)))

    # Then their ids sort in capture order
    assert first["frame_id"] < second["frame_id"]


# replays and conflicts


def test_replay_of_the_same_frame_answers_200_with_the_first_result(aws, world):
    # Given a frame already ingested
    image = jpeg(640, 480)
    captured_at = now() - timedelta(seconds=5)
    first = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-7-42"))
    assert first["statusCode"] == 201, first["body"]
    before = stored(aws)

    # When the device retries the same frame id with the same body
    replay = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-7-42"))

    # Then it gets the same frame back and nothing more is stored
    assert replay["statusCode"] == 200, replay["body"]
    assert body_of(replay) == body_of(first)
    after = stored(aws)
    assert after.keys == before.keys
    assert len(after.items) == 1


def test_replay_with_another_capture_time_keeps_the_first_frame(aws, world):
    # Given a frame already ingested
    image = jpeg(640, 480)
    first = post(frame_event(world, image, captured_at=now() - timedelta(seconds=30), frame_id="panel-8-1"))
    assert first["statusCode"] == 201, first["body"]

    # When the device retries the same frame id and body but stamps another capture time
    replay = post(frame_event(world, image, captured_at=now() - timedelta(seconds=10), frame_id="panel-8-1"))

    # Then the first frame stands: one object pair, one item
    assert replay["statusCode"] == 200, replay["body"]
    assert body_of(replay)["frame_id"] == body_of(first)["frame_id"]
    assert len(stored(aws).items) == 1


def test_same_frame_id_with_another_body_is_a_conflict(aws, world):
    # Given a frame already ingested
    captured_at = now() - timedelta(seconds=5)
    first = post(frame_event(world, jpeg(640, 480), captured_at=captured_at, frame_id="panel-9-9"))
    assert first["statusCode"] == 201, first["body"]

    # When the same frame id arrives with another image
    response = post(frame_event(world, jpeg(320, 240), captured_at=captured_at, frame_id="panel-9-9"))

    # Then it is a conflict and the first image is untouched
    error = assert_error(response, 409, "conflict")
    assert error["details"]["frame_id"] == body_of(first)["frame_id"]
    state = stored(aws)
    assert len(state.keys) == 1
    assert len(state.items) == 1
    assert jpeg(640, 480) in state.objects.values()


@pytest.mark.parametrize(
    "window",
    [
        # before the original's PutObject; before the index transaction, the original stored (no thumbnail is)
        pytest.param(("s3", "PutObject", is_original), id="claimed-but-no-objects-yet"),
        pytest.param(("dynamodb", "TransactWriteItems", lambda _: True), id="original-stored-but-unindexed"),
    ],
)
def test_duplicate_with_another_body_while_the_first_is_in_flight_is_in_progress_and_never_mixes_them(
    aws, world, aws_faults, window
):
    # Given a first request for a frame id still in flight: claimed, its objects (or its index item) not yet written...
    captured_at = now() - timedelta(seconds=5)
    first_image, second_image = jpeg(640, 480), jpeg(320, 240)
    answers: list[dict[str, Any]] = []

    def second_request() -> None:
        answers.append(post(frame_event(world, second_image, captured_at=captured_at, frame_id="panel-race")))

    service, operation, matches = window
    aws_faults.before(service, operation, second_request, matches)

    # When a second request with the same frame id and another image arrives in that window
    first = post(frame_event(world, first_image, captured_at=captured_at, frame_id="panel-race"))

    # Then the second is told the frame is in progress, the first is the frame, and the bytes are the first image
    error = assert_error(answers[0], 409, "conflict")
    assert error["details"]["in_progress"] is True
    assert first["statusCode"] == 201, first["body"]
    state = stored(aws)
    assert len(state.keys) == 1
    assert len(state.items) == 1
    item = state.items[0]
    assert state.objects[item["object_key"]["S"]] == first_image
    assert hashlib.sha256(state.objects[item["object_key"]["S"]]).hexdigest() == item["sha256"]["S"]


def test_duplicate_with_the_same_body_during_the_first_store_is_in_progress_then_a_replay(aws, world, aws_faults):
    # Given a first request that has claimed its frame id but not yet written its objects...
    captured_at = now() - timedelta(seconds=5)
    image = jpeg(640, 480)
    answers: list[dict[str, Any]] = []

    def second_request() -> None:
        answers.append(post(frame_event(world, image, captured_at=captured_at, frame_id="panel-twice")))

    aws_faults.before("s3", "PutObject", second_request, is_original)

    # When the device's retry of the same frame arrives in that window
    first = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-twice"))

    # Then the retry is told the frame is in progress (never a second frame), and the first creates it
    assert assert_error(answers[0], 409, "conflict")["details"]["in_progress"] is True
    assert first["statusCode"] == 201, first["body"]

    # And a later retry gets the first result
    later = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-twice"))
    assert later["statusCode"] == 200, later["body"]
    assert body_of(later) == body_of(first)
    state = stored(aws)
    assert len(state.keys) == 1
    assert len(state.items) == 1


# device authentication


def test_bad_signature_is_unauthorized(aws, world):
    event = frame_event(world, jpeg(320, 240))
    event["headers"]["X-Doti-Signature"] = "0" * 64

    error = assert_error(post(event), 401, "unauthorized")

    assert error["message"] == "invalid device credentials"
    assert_nothing_stored(aws)


def test_signature_made_with_another_devices_secret_is_unauthorized(aws, world_factory):
    # Given two tenants' devices
    ours, theirs = world_factory(), world_factory()

    # When our device id is used with a signature under the other device's secret
    response = post(frame_event(ours, jpeg(320, 240), secret=theirs.device_secret))

    # Then it is refused
    assert_error(response, 401, "unauthorized")
    assert_nothing_stored(aws)


@pytest.mark.parametrize("skew", [timedelta(minutes=-10), timedelta(minutes=10)], ids=["10-min-old", "10-min-ahead"])
def test_timestamp_outside_the_skew_is_signature_expired(aws, world, skew):
    response = post(frame_event(world, jpeg(320, 240), signed_at=now() + skew))

    error = assert_error(response, 401, "signature_expired")
    assert error["details"]["max_skew_seconds"] == 300
    assert_nothing_stored(aws)


def test_timestamp_that_is_not_rfc3339_is_unauthorized(aws, world):
    event = frame_event(world, jpeg(320, 240))
    event["headers"]["X-Doti-Timestamp"] = "yesterday"

    assert_error(post(event), 401, "unauthorized")
    assert_nothing_stored(aws)


@pytest.mark.parametrize("header", ["X-Doti-Signature", "X-Doti-Device", "X-Doti-Timestamp"])
def test_missing_auth_header_is_unauthorized(aws, world, header):
    response = post(device_event(world, jpeg(320, 240), drop=(header,)))

    error = assert_error(response, 401, "unauthorized")
    assert error["details"]["missing"] == [header.lower()]
    assert_nothing_stored(aws)


def test_unknown_device_looks_exactly_like_a_bad_signature(aws, world):
    # Given a request for a device id that does not exist, and one with a wrong signature for one that does
    unknown = frame_event(world, jpeg(320, 240), device_id=f"dev_{secrets.token_hex(10)}")
    forged = frame_event(world, jpeg(320, 240))
    forged["headers"]["X-Doti-Signature"] = "f" * 64

    # When both are posted
    unknown_response, forged_response = post(unknown), post(forged)

    # Then nothing tells them apart: the device id cannot be probed
    assert assert_error(unknown_response, 401, "unauthorized") == assert_error(forged_response, 401, "unauthorized")
    assert unknown_response["multiValueHeaders"] == forged_response["multiValueHeaders"]
    assert_nothing_stored(aws)


def test_body_changed_after_signing_is_unauthorized(aws, world):
    response = post(device_event(world, jpeg(640, 480), signed_body=jpeg(320, 240)))

    assert_error(response, 401, "unauthorized")
    assert_nothing_stored(aws)


def test_signature_for_another_route_is_unauthorized(aws, world):
    response = post(device_event(world, jpeg(320, 240), sign_path="/v1/device/events"))

    assert_error(response, 401, "unauthorized")
    assert_nothing_stored(aws)


def test_header_names_are_case_insensitive(aws, world):
    # Given a signed request whose header names arrive in unusual case (HTTP/2 proxies lower-case them)
    event = frame_event(world, jpeg(320, 240))
    event["headers"] = {
        (name.upper() if i % 2 else name.lower()): value for i, (name, value) in enumerate(event["headers"].items())
    }

    # When it is posted / Then the device is recognised and the frame stored
    assert post(event)["statusCode"] == 201
    assert len(stored(aws).items) == 1


def test_revoked_device_is_unauthorized(aws, world):
    # Given a device that staff revoked
    set_attribute(aws, "DevicesTable", {"device_id": world.device_id}, "status", "revoked")

    # When it posts a correctly signed frame / Then it is refused
    assert_error(post(frame_event(world, jpeg(320, 240))), 401, "unauthorized")
    assert_nothing_stored(aws)


# contract state (SPEC §3)


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("pending", "contract_not_started"),
        ("suspended", "contract_suspended"),
        ("terminated", "contract_terminated"),
    ],
)
def test_contract_that_is_not_serving_refuses_frames(aws, world, state, code):
    # Given a contract that is not active
    set_attribute(aws, "ContractsTable", {"contract_id": world.contract_id}, "state", state)

    # When its device posts a frame / Then it is refused with the state's code
    assert_error(post(frame_event(world, jpeg(320, 240))), 403, code)
    assert_nothing_stored(aws)


def test_contract_being_cancelled_still_takes_frames(aws, world):
    set_attribute(aws, "ContractsTable", {"contract_id": world.contract_id}, "state", "cancelling")

    assert post(frame_event(world, jpeg(320, 240)))["statusCode"] == 201


# tenancy


def test_camera_of_another_contract_is_not_found_like_a_missing_camera(aws, world_factory):
    # Given two tenants
    ours, theirs = world_factory(), world_factory()

    # When our device posts for their camera, and for a camera that does not exist
    foreign = post(frame_event(ours, jpeg(320, 240), camera_id=theirs.camera_id))
    missing = post(frame_event(ours, jpeg(320, 240), camera_id=f"cam_{secrets.token_hex(10)}"))

    # Then both are the same not_found, naming nothing of the other tenant
    error = assert_error(foreign, 404, "not_found")
    assert error == assert_error(missing, 404, "not_found")
    assert theirs.contract_id not in foreign["body"]
    assert theirs.camera_id not in foreign["body"]
    assert_nothing_stored(aws)


def test_camera_at_another_site_of_the_same_contract_is_not_found(aws, world):
    # Given a second site of the same contract with its own camera
    at = now()
    other_site = registry.create_site(world.contract_id, "Warehouse", None, at)
    other_camera = registry.create_camera(
        world.contract_id, other_site.site_id, "Dock", at, consents=camera_consents(at)
    )

    # When the first site's device posts for it
    response = post(frame_event(world, jpeg(320, 240), camera_id=other_camera.camera_id))

    # Then the device may not relay it
    assert_error(response, 404, "not_found")
    assert_nothing_stored(aws)


# media


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"this is not an image at all", "image/jpeg", id="text-as-jpeg"),
        pytest.param(
            bytes.fromhex("47494638396101000100800000ffffff0000002c00000000010001000002024401003b"),
            "image/jpeg",
            id="gif-as-jpeg",
        ),
        pytest.param(jpeg(320, 240), "application/octet-stream", id="octet-stream"),
        pytest.param(b"hello", "text/plain", id="text-plain"),
    ],
)
def test_content_that_is_neither_jpeg_nor_png_is_unsupported(aws, world, body, content_type):
    response = post(device_event(world, body, content_type=content_type))

    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored(aws)


@pytest.mark.parametrize(
    ("body", "declared", "detected"),
    [
        pytest.param(png(64, 64), "image/jpeg", "image/png", id="png-declared-jpeg"),
        pytest.param(jpeg(320, 240), "image/png", "image/jpeg", id="jpeg-declared-png"),
    ],
)
def test_jpeg_or_png_declared_as_the_other_is_a_validation_error_naming_both(aws, world, body, declared, detected):
    # Given a valid image sent under the other accepted type / When the device posts it
    response = post(frame_event(world, body, content_type=declared))

    # Then it is a 422 naming both types (415 is for content that is neither JPEG nor PNG), and nothing is stored
    error = assert_error(response, 422, "validation_error")
    assert (error["details"]["declared"], error["details"]["detected"]) == (declared, detected)
    assert_nothing_stored(aws)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(jpeg(640, 480)[: len(jpeg(640, 480)) // 2], "image/jpeg", id="truncated-jpeg"),
        pytest.param(jpeg(640, 480)[:-2], "image/jpeg", id="jpeg-without-eoi"),
        pytest.param(jpeg_with_scan_cut_in_the_middle(jpeg()), "image/jpeg", id="jpeg-scan-cut-eoi-kept"),
        pytest.param(jpeg_with_scan_bytes_flipped(jpeg()), "image/jpeg", id="jpeg-scan-bytes-flipped"),
        pytest.param(png(320, 240)[:-12], "image/png", id="png-without-iend"),
        pytest.param(png(320, 240)[: len(png(320, 240)) // 2], "image/png", id="truncated-png"),
        pytest.param(png_with_renamed_iend(png(320, 240)), "image/png", id="png-with-mangled-iend"),
        pytest.param(png_with_flipped_idat(png(320, 240)), "image/png", id="png-with-corrupt-idat"),
    ],
)
def test_image_that_does_not_decode_whole_is_corrupt(aws, world, body, content_type):
    response = post(frame_event(world, body, content_type=content_type))

    assert_error(response, 422, "corrupt_image")
    assert_nothing_stored(aws)


def test_body_over_the_contracts_byte_limit_is_too_large(aws, world_factory):
    # Given a contract whose plan allows 20 000 bytes per frame
    world = world_factory(max_object_bytes=20_000)
    image = jpeg(1280, 720)
    assert len(image) > 20_000

    # When a larger frame arrives
    response = post(frame_event(world, image))

    # Then it is refused with the limit in the details
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"] == {"size": len(image), "max_bytes": 20_000}
    assert_nothing_stored(aws)


def test_image_over_the_contracts_pixel_limit_is_too_large(aws, world_factory):
    world = world_factory(max_pixels=64 * 64)

    response = post(frame_event(world, jpeg(100, 100)))

    error = assert_error(response, 413, "payload_too_large")
    assert error["details"]["max_pixels"] == 64 * 64
    assert_nothing_stored(aws)


def test_decompression_bomb_is_too_large(aws, world):
    # Given a few-KB JPEG whose header declares 30000x30000
    bomb = with_jpeg_dimensions(jpeg(64, 64), 30000, 30000)
    assert len(bomb) < 8 * 1024

    # When it is posted / Then it is refused from its header
    error = assert_error(post(frame_event(world, bomb)), 413, "payload_too_large")
    assert (error["details"]["width"], error["details"]["height"]) == (30000, 30000)
    assert_nothing_stored(aws)


# frame headers


@pytest.mark.parametrize("header", ["X-Doti-Camera", "X-Doti-Captured-At", "X-Doti-Frame-Id"])
def test_missing_frame_header_is_a_validation_error_naming_it(aws, world, header):
    response = post(device_event(world, jpeg(320, 240), drop=(header,)))

    error = assert_error(response, 422, "validation_error")
    assert error["details"]["missing"] == [header]
    assert_nothing_stored(aws)


def test_all_missing_frame_headers_are_listed(aws, world):
    response = post(device_event(world, jpeg(320, 240), drop=("X-Doti-Camera", "X-Doti-Frame-Id")))

    error = assert_error(response, 422, "validation_error")
    assert error["details"]["missing"] == ["X-Doti-Camera", "X-Doti-Frame-Id"]
    assert_nothing_stored(aws)


@pytest.mark.parametrize(
    "captured_at",
    [
        pytest.param(lambda: now() + timedelta(minutes=10), id="10-min-in-the-future"),
        pytest.param(lambda: now() - timedelta(days=DEFAULT_RETENTION_DAYS, hours=1), id="older-than-retention"),
    ],
)
def test_capture_time_outside_the_accepted_window_is_a_validation_error(aws, world, captured_at):
    response = post(frame_event(world, jpeg(320, 240), captured_at=captured_at()))

    assert_error(response, 422, "validation_error")
    assert_nothing_stored(aws)


def test_capture_time_a_little_ahead_is_accepted(aws, world):
    # Device clocks drift: up to 5 minutes ahead is tolerated
    response = post(frame_event(world, jpeg(320, 240), captured_at=now() + timedelta(minutes=4)))

    assert response["statusCode"] == 201, response["body"]


@pytest.mark.parametrize("value", ["yesterday", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z"])
def test_malformed_capture_time_is_a_validation_error(aws, world, value):
    event = frame_event(world, jpeg(320, 240))
    event["headers"]["X-Doti-Captured-At"] = value

    error = assert_error(post(event), 422, "validation_error")
    assert error["details"]["field"] == "X-Doti-Captured-At"
    assert_nothing_stored(aws)


@pytest.mark.parametrize("frame_id", ["has space", "x" * 129, "slash/in/it"])
def test_malformed_frame_id_is_a_validation_error(aws, world, frame_id):
    response = post(frame_event(world, jpeg(320, 240), frame_id=frame_id))

    error = assert_error(response, 422, "validation_error")
    assert error["details"]["field"] == "X-Doti-Frame-Id"
    assert_nothing_stored(aws)


# storage failures


def test_index_failure_after_the_objects_is_retryable_and_leaves_nothing_visible(aws, world, aws_faults):
    # Given the frame index (written in one transaction with the usage charge and the claim) failing once
    aws_faults.fail("dynamodb", "TransactWriteItems")
    image, captured_at = jpeg(640, 480), now() - timedelta(seconds=3)

    # When the device posts a frame
    failed = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-retry-1"))

    # Then it is told to retry, and customers see nothing
    assert_error(failed, 503, "storage_unavailable")
    orphans = stored(aws)
    assert orphans.items == []
    assert customer_frame_ids(world) == []

    # When the device retries after the index recovers
    retried = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-retry-1"))

    # Then the frame is complete, reusing the same key: one object (no thumbnail is stored), one item
    assert retried["statusCode"] == 201, retried["body"]
    state = stored(aws)
    assert state.keys == orphans.keys
    assert len(state.keys) == 1
    assert len(state.items) == 1
    assert customer_frame_ids(world) == [body_of(retried)["frame_id"]]


def test_object_store_failure_is_retryable_and_leaves_nothing_visible(aws, world, aws_faults):
    # Given S3 failing on the original's write
    aws_faults.fail("s3", "PutObject", is_original)
    image, captured_at = jpeg(640, 480), now() - timedelta(seconds=3)

    # When the device posts a frame
    failed = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-retry-2"))

    # Then it is told to retry and nothing is indexed
    assert_error(failed, 503, "storage_unavailable")
    assert stored(aws).items == []
    assert customer_frame_ids(world) == []

    # When it retries
    retried = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-retry-2"))

    # Then the frame is complete with its one object
    assert retried["statusCode"] == 201, retried["body"]
    state = stored(aws)
    assert len(state.keys) == 1
    assert len(state.items) == 1


@pytest.mark.parametrize(
    ("operation", "table"), [("PutItem", "IdempotencyTable"), ("GetItem", "UsageTable")], ids=["claim", "quota"]
)
def test_unreadable_claim_or_quota_before_any_write_stores_nothing_and_a_retry_succeeds(
    aws, world, aws_faults, operation, table
):
    # Given the claim table or the usage counter failing once, before any object is written
    aws_faults.fail("dynamodb", operation, is_table(aws, table))
    image, captured_at = jpeg(320, 240), now() - timedelta(seconds=3)

    # When a frame is posted / Then the device is told to retry and nothing is stored
    assert_error(
        post(frame_event(world, image, captured_at=captured_at, frame_id="panel-early")), 503, "storage_unavailable"
    )
    assert_nothing_stored(aws)

    # And its immediate retry stores the frame
    retried = post(frame_event(world, image, captured_at=captured_at, frame_id="panel-early"))
    assert retried["statusCode"] == 201, retried["body"]
    assert len(stored(aws).items) == 1


def test_base64_body_that_does_not_decode_is_refused(aws, world):
    event = frame_event(world, jpeg(320, 240))
    event["body"] = "!!not base64!!"

    # The signature covers the body's bytes, which cannot even be recovered
    assert_error(post(event), 401, "unauthorized")
    assert_nothing_stored(aws)
