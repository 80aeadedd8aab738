"""The walking skeleton over real HTTP: staff → device → customer → S3, against the local stack."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import cv2
import numpy as np
import pytest
import requests

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from infra.drawing import draw_frame, encode_jpeg
from tests.local_stack.http import Customer, Staff, send

pytestmark = pytest.mark.local_stack


@pytest.fixture(scope="module")
def staff(local_stack) -> Staff:
    return Staff(local_stack["api_url"], local_stack["staff_api_key"])


def _jpeg(width: int = 1280, height: int = 720) -> bytes:
    return encode_jpeg(draw_frame(width, height, "http test", datetime.now(UTC)))


def test_frame_goes_from_device_to_phone_with_exact_bytes(staff):
    # Given a tenant set up by staff through the admin routes
    tenant = staff.new_tenant(retention_days=7, signed_url_ttl=120)
    image = _jpeg()
    captured_at = datetime.now(UTC) - timedelta(seconds=30)

    # When the device posts a signed frame
    status, frame = send(tenant, image, captured_at=captured_at)

    # Then it is stored, and the customer finds it by time range with working signed URLs
    assert status == 201, frame
    assert frame["sha256"] == hashlib.sha256(image).hexdigest()
    customer = Customer(staff.api_url, tenant.login_id, tenant.password)
    cameras = customer.get("/v1/cameras").json()["items"]
    assert [c["camera_id"] for c in cameras] == [tenant.camera_id]
    window = {
        "from": (captured_at - timedelta(minutes=1)).isoformat(),
        "to": (captured_at + timedelta(minutes=1)).isoformat(),
    }
    items = customer.frames(tenant.camera_id, **window)
    assert [i["frame_id"] for i in items] == [frame["frame_id"]]
    assert "X-Amz-Expires=120" in items[0]["image_url"]

    original = requests.get(items[0]["image_url"], timeout=30)
    assert original.status_code == 200
    assert original.content == image
    assert original.headers["Content-Type"] == "image/jpeg"
    # the thumbnail is rendered when viewed, by ThumbnailFunction behind its local Function URL
    thumb = requests.get(items[0]["thumbnail_url"], timeout=30)
    assert (thumb.status_code, thumb.headers["Content-Type"]) == (200, "image/jpeg")
    decoded = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR)
    assert max(decoded.shape[:2]) == 320

    # And a window that excludes the capture time finds nothing
    later = {"from": (captured_at + timedelta(minutes=1)).isoformat()}
    assert customer.frames(tenant.camera_id, **later) == []


def test_a_gateway_batch_goes_from_device_to_phone_with_exact_bytes(staff):
    # Given a tenant, and three frames of its camera the gateway held
    tenant = staff.new_tenant()
    device = tenant.device
    start = datetime.now(UTC) - timedelta(minutes=2)
    images = [encode_jpeg(draw_frame(640, 360, f"batch {n}", start)) for n in range(3)]
    frames = [
        {
            "camera_id": device.camera_id,
            "captured_at": format_rfc3339(start + timedelta(seconds=10 * n)),
            "frame_id": f"http-batch-{n}",
            "content_type": "image/jpeg",
            "data": base64.b64encode(image).decode(),
        }
        for n, image in enumerate(images)
    ]
    body = json.dumps({"frames": frames}).encode()
    route = "/v1/device/frames/batch"

    # When it posts them in one signed request, over HTTP
    auth = signed_headers(device.device_id, device.device_secret, "POST", route, body, datetime.now(UTC))
    response = requests.post(
        device.api_url + route, data=body, headers={**auth, "Content-Type": "application/json"}, timeout=60
    )

    # Then each is stored, and the customer gets each one's exact bytes through its signed link
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(item["frame_id"], item["status"]) for item in items] == [(f"http-batch-{n}", 201) for n in range(3)]
    customer = Customer(staff.api_url, tenant.login_id, tenant.password)
    listed = customer.frames(device.camera_id, order="oldest")
    assert [item["frame_id"] for item in listed] == [item["frame"]["frame_id"] for item in items]
    for item, image in zip(listed, images, strict=True):
        assert requests.get(item["image_url"], timeout=30).content == image


BAD_REQUESTS = {
    # case: (how the request is made wrong, expected status, expected code)
    "bad_signature": ({"secret": "not-the-secret"}, 401, "unauthorized"),
    "expired_signature": ({"signed_at": datetime.now(UTC) - timedelta(minutes=10)}, 401, "signature_expired"),
    "unknown_device": ({"device_id": "dev_doesnotexist000000", "secret": "x"}, 401, "unauthorized"),
    "other_contract_camera": ({"camera_id": "<other>"}, 404, "not_found"),
    "not_an_image": ({"body": b"this is not an image at all" * 10}, 415, "unsupported_media_type"),
    "wrong_content_type": ({"content_type": "application/octet-stream"}, 415, "unsupported_media_type"),
    "truncated_jpeg": ({"body": "<truncated>"}, 422, "corrupt_image"),
    "oversize": ({"body": "<oversize>"}, 413, "payload_too_large"),
    "missing_headers": ({"omit": ("X-Doti-Camera", "X-Doti-Frame-Id")}, 422, "validation_error"),
}


@pytest.fixture(scope="module")
def refused(staff: Staff) -> tuple[Any, Any, list[tuple[Any, Customer]]]:
    """A tenant with a small object limit, another tenant, and each one's customer: made once for every broken
    request, since none of them may store anything (a case that did would fail, and so would those after it)."""
    tenant = staff.new_tenant(max_object_bytes=400_000)
    other = staff.new_tenant()
    customers = [(who, Customer(staff.api_url, who.login_id, who.password)) for who in (tenant, other)]
    return tenant, other, customers


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_device_requests_get_json_errors_and_store_nothing(refused, case):
    # Given a tenant with a small object limit, and another tenant
    tenant, other, customers = refused
    overrides, expected_status, expected_code = BAD_REQUESTS[case]
    overrides = dict(overrides)
    image = _jpeg(640, 360)
    body = {"<truncated>": image[: len(image) // 2], "<oversize>": _jpeg(3000, 2000)}.get(
        overrides.get("body"), overrides.get("body", image)
    )
    overrides.pop("body", None)
    if overrides.get("camera_id") == "<other>":
        overrides["camera_id"] = other.camera_id

    # When the device sends the broken request
    status, answer = send(tenant, body, **overrides)

    # Then the answer is the JSON error of SPEC §10, and nothing of the frame is visible to anyone
    assert status == expected_status, answer
    assert answer["error"]["code"] == expected_code
    assert set(answer["error"]) == {"code", "message", "details"}
    for who, customer in customers:
        assert customer.frames(who.camera_id) == []


def test_unknown_route_answers_like_api_gateway(local_stack):
    response = requests.get(local_stack["api_url"] + "/v1/nowhere", timeout=30)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_demo_contract_is_seeded_and_the_simulated_camera_sends_frames(local_stack):
    # Given the stack's state file, as `make run` writes it
    expected = {"api_url", "thumbnails_url", "aws_endpoint", "staff_api_key", "contract_id", "site_id", "camera_id"}
    verify_audit = {"audit_table", "contracts_table", "audit_anchor_bucket"}  # what infra.verify_audit --local reads
    assert expected | {"device_id", "device_secret", "login_id", "password"} | verify_audit == set(local_stack)

    # When the demo customer logs in
    customer = Customer(local_stack["api_url"], local_stack["login_id"], local_stack["password"])

    # Then the simulated camera's frames arrive within a few seconds, and their images load
    items: list = []
    for _ in range(50):
        items = customer.frames(local_stack["camera_id"], limit="5")
        if items:
            break
        time.sleep(0.2)
    assert items, "the simulated camera sent no frame"
    image = requests.get(items[0]["image_url"], timeout=30)
    assert image.status_code == 200
    assert hashlib.sha256(image.content).hexdigest() == items[0]["sha256"]
    # and their thumbnails, from the local renderer the state file names
    assert items[0]["thumbnail_url"].startswith(local_stack["thumbnails_url"] + "?")
    thumbnail = requests.get(items[0]["thumbnail_url"], timeout=30)
    assert (thumbnail.status_code, thumbnail.headers["Content-Type"]) == (200, "image/jpeg")
    # a link tampered with is refused as the deployed renderer refuses it
    refused = requests.get(items[0]["thumbnail_url"].replace("&s=", "&s=x"), timeout=30)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")


def test_openapi_documents_are_served(local_stack, staff):
    api = local_stack["api_url"]
    assert "/v1/device/frames" in requests.get(api + "/v1/device/openapi.json", timeout=30).json()["paths"]
    assert "/v1/cameras" in requests.get(api + "/v1/openapi.json", timeout=30).json()["paths"]
    assert requests.get(api + "/v1/admin/openapi.json", timeout=30).status_code == 401
    admin_doc = requests.get(api + "/v1/admin/openapi.json", headers=staff.headers, timeout=30)
    assert "/v1/admin/contracts" in admin_doc.json()["paths"]
