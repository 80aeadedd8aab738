"""Issue 16 end to end on the local stack, over real HTTP: a camera stops sending, the health job (every minute, as
scheduled) marks it offline, and the event reaches a receiver on loopback (the local stack's setting) through the
events and deliveries queues, signed so that the Standard Webhooks reference algorithm, written out here apart from
doti's, verifies it. The receiver fails the first attempt, so the retry is seen too; a frame then brings the camera
back online."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from infra.drawing import draw_frame, encode_jpeg
from tests.local_stack.http import Customer, Staff, send
from tests.support.webhook_receiver import Received, answer_status, running_receiver, verify_standard_webhook

pytestmark = pytest.mark.local_stack

HEALTH_RUN = 60  # HealthFunction's rate(1 minute)


def reference_verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """https://www.standardwebhooks.com, symmetric v1 (tests.support's implementation, apart from doti's), and a
    timestamp within the 5 minutes a receiver accepts."""
    fresh = abs(time.time() - int(headers["webhook-timestamp"])) <= 300
    return fresh and verify_standard_webhook(secret, headers, body)


def wait_for(received: list[Received], predicate: Any, seconds: float, count: int = 1) -> list[Received]:
    """The requests whose payload matches, once there are `count` of them (fewer if `seconds` pass first)."""
    deadline = time.monotonic() + seconds
    found: list[Received] = []
    while time.monotonic() < deadline:
        found = [r for r in received if predicate(json.loads(r.body))]
        if len(found) >= count:
            break
        time.sleep(0.5)
    return found


def test_a_camera_that_stops_is_told_offline_to_a_loopback_receiver_which_verifies_it(local_stack) -> None:
    staff = Staff(local_stack["api_url"], local_stack["staff_api_key"])
    tenant = staff.new_tenant()
    interval = requests.put(
        f"{staff.api_url}/v1/admin/cameras/{tenant.camera_id}/expected-interval",
        json={"seconds": 60},
        headers=staff.headers,
        timeout=30,
    )
    assert interval.status_code == 200, interval.text
    owner = Customer(staff.api_url, tenant.login_id, tenant.password)
    answers = iter([answer_status(500)])

    def answer(handler: Any) -> None:
        next(answers, answer_status(204))(handler)

    with running_receiver(answer) as receiver:
        made = requests.post(
            f"{staff.api_url}/v1/webhooks",
            json={"url": receiver.url("/doti"), "events": ["camera.offline", "camera.online"]},
            headers=owner.headers,
            timeout=30,
        )
        assert made.status_code == 201, made.text
        hook = made.json()

        # one frame, captured 55 s ago (still fresh: it brings the camera online and arms its check 5 s from now),
        # then silence: past its 60 s interval at the next health run
        last = datetime.now(UTC) - timedelta(seconds=55)
        status, _ = send(tenant, encode_jpeg(draw_frame(320, 240, "last", last)), captured_at=last)
        assert status == 201
        # the first attempt gets a 500; its retry comes 5 s later
        offline = wait_for(receiver.received, lambda p: p["type"] == "camera.offline", HEALTH_RUN + 30, count=2)
        assert offline, "no camera.offline reached the receiver"
        # the camera sends again: camera.online follows without waiting for the job
        status, _ = send(tenant, encode_jpeg(draw_frame(320, 240, "back", datetime.now(UTC))))
        assert status == 201
        online = wait_for(receiver.received, lambda p: p["type"] == "camera.online", 30)

    assert len(offline) == 2  # the first attempt got a 500, its retry a 204
    assert offline[0].headers["webhook-id"] == offline[1].headers["webhook-id"]
    for got in offline:
        assert reference_verify(hook["secret"], got.headers, got.body)
    payload = json.loads(offline[-1].body)
    assert (payload["contract_id"], payload["site_id"], payload["camera_id"]) == (
        tenant.contract_id,
        tenant.site_id,
        tenant.camera_id,
    )
    assert online
    assert reference_verify(hook["secret"], online[0].headers, online[0].body)
    log = owner.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").json()["items"]
    offline_attempts = [(a["attempt"], a["ok"], a["status"]) for a in log if a["event_type"] == "camera.offline"]
    assert offline_attempts == [(2, True, 204), (1, False, 500)]
