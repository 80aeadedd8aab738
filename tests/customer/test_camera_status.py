"""Camera status (SPEC §6, §12): GET /v1/cameras gives each camera `status` (online, stale, offline) and
`last_frame_at`, from its newest frame's capture time against the interval staff expect it to send at (60 s unless
set; PUT /v1/admin/cameras/{camera_id}/expected-interval, 10 to 86400 s).

The boundaries are checked exactly on doti.viewing.cameras.camera_status with both times set by the test; through the
API, frames are placed a minute inside or outside each boundary of a one-hour interval, so the test's own run time
never decides the answer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from doti.clock import format_rfc3339, utcnow
from doti.contracts import registry
from doti.ids import frame_id, id_time
from doti.viewing.cameras import camera_status
from tests.support import admin_call, assert_error, body_of
from tests.support.notes import audit_entries
from tests.support.viewer import get_cameras, ingest_frame_id, owner_token

HOUR = 3600


def listed_camera(token: str, camera_id: str) -> dict[str, Any]:
    response = get_cameras(token)
    assert response["statusCode"] == 200, response["body"]
    return next(item for item in body_of(response)["items"] if item["camera_id"] == camera_id)


def set_interval(key: str, camera_id: str, seconds: Any) -> dict[str, Any]:
    body = {"expected_interval_seconds": seconds, "reason": "sends every hour"}
    return admin_call("PUT", f"/v1/admin/cameras/{camera_id}/expected-interval", key, body)


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (timedelta(0), "online"),
        (timedelta(seconds=-30), "online"),  # a device clock a little ahead
        (timedelta(seconds=180), "online"),  # 3 intervals of 60 s
        (timedelta(seconds=180, milliseconds=1), "stale"),
        (timedelta(seconds=1800), "stale"),  # 30 intervals
        (timedelta(seconds=1800, milliseconds=1), "offline"),
        (timedelta(days=3), "offline"),
    ],
)
def test_status_boundaries_with_the_default_interval(world, age, status):
    # Given the camera's newest frame captured `age` before now (both times set here)
    now = utcnow()
    camera = registry.camera_of_contract(world.contract_id, world.camera_id)
    camera = replace(camera, last_frame_id=frame_id(now - age, world.device_id, "f-1"))
    # Then its status is measured against 60 s
    assert camera_status(camera, now) == (status, id_time(camera.last_frame_id))


@pytest.mark.parametrize(("age", "status"), [(3 * 600, "online"), (3 * 600 + 1, "stale"), (30 * 600 + 1, "offline")])
def test_status_boundaries_follow_the_cameras_own_interval(world, age, status):
    now = utcnow()
    camera = registry.camera_of_contract(world.contract_id, world.camera_id)
    camera = replace(camera, expected_interval_seconds=600, last_frame_id=frame_id(now, world.device_id, "f-1"))
    assert camera_status(camera, now + timedelta(seconds=age))[0] == status


def test_a_camera_that_never_sent_a_frame_is_offline(world):
    camera = listed_camera(owner_token(world), world.camera_id)
    assert camera["status"] == "offline"
    assert camera["last_frame_at"] is None


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (timedelta(seconds=3 * HOUR - 60), "online"),
        (timedelta(seconds=3 * HOUR + 60), "stale"),
        (timedelta(seconds=30 * HOUR - 60), "stale"),
        (timedelta(seconds=30 * HOUR + 60), "offline"),
    ],
)
def test_the_listing_gives_each_cameras_status_and_last_frame_time(world, operator_key, age, status):
    # Given a camera staff expect to send hourly, whose newest frame is `age` old
    assert set_interval(operator_key, world.camera_id, HOUR)["statusCode"] == 200
    captured = utcnow() - age
    frame = ingest_frame_id(world, captured)

    # When the owner lists the cameras
    camera = listed_camera(owner_token(world), world.camera_id)

    # Then the camera's status is measured against its hour, and its last frame time is the frame's capture time
    assert camera["status"] == status
    assert camera["last_frame_at"] == format_rfc3339(captured)
    assert camera["last_frame_id"] == frame


def test_staff_set_the_interval_within_bounds_and_it_is_audited(world, operator_key):
    for seconds in (10, 86_400, 300):
        response = set_interval(operator_key, world.camera_id, seconds)
        assert response["statusCode"] == 200, response["body"]
        assert body_of(response)["expected_interval_seconds"] == seconds
    entries = audit_entries(world.contract_id, "camera.expected_interval_set")
    assert [entry.details["seconds"] for entry in entries] == [300, 86_400, 10]  # newest first


@pytest.mark.parametrize("seconds", [9, 86_401, 0, -60, "often", None])
def test_an_interval_out_of_bounds_is_422(world, operator_key, seconds):
    assert_error(set_interval(operator_key, world.camera_id, seconds), 422, "validation_error")


def test_an_unknown_camera_is_not_found(world, operator_key):
    assert_error(set_interval(operator_key, "cam_nope", 60), 404, "not_found")


def test_the_interval_needs_a_staff_key(world):
    assert set_interval(None, world.camera_id, 60)["statusCode"] in (401, 403)
    assert registry.camera_of_contract(world.contract_id, world.camera_id).expected_interval_seconds is None
