"""A device's frame and event, and a customer's note, under a single fault at any AWS call (issue 11, defect 5).

A request claims the device's frame id (or event id) with a conditional write. When botocore resends an applied claim,
or the answer to it is lost, the claim is there and is the request's own: the request goes on, and the device never gets
a 409 for its own single request. Each test learns a clean request's calls, breaks its first call and up to three writes
in turn (the claim's PutItem always among them), then retries as the device does: the same frame or event, signed anew,
after any answer but a 2xx. Only a request that died (crash) may leave its claim in progress; the retry is then told so
(409 in_progress) until the claim is stale (2 minutes), and completes the frame after that.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest

from doti.clock import utcnow
from infra.provision import Provisioned
from tests.faults.inject import MODES, Call, Plan
from tests.faults.points import sweep
from tests.support import World, body_of, frame_event, scan_table
from tests.support.ingest import age_claim, jpeg, post
from tests.support.notes import audit_entries, post_event, post_note, stored_notes
from tests.support.viewer import owner_token

OK = (200, 201)


def answered(outcome: Any) -> int | None:
    """The status the device got, or None when the request died or failed before answering."""
    return outcome["statusCode"] if isinstance(outcome, dict) else None


def in_progress(response: dict[str, Any]) -> bool:
    return response["statusCode"] == 409 and body_of(response)["error"]["details"].get("in_progress") is True


def indexed(aws: Provisioned, world: World, device_frame_id: str) -> list[dict[str, Any]]:
    items = scan_table(aws.refs["FramesTable"])
    return [i for i in items if (i["device_id"]["S"], i["device_frame_id"]["S"]) == (world.device_id, device_frame_id)]


def objects_charged(aws: Provisioned, world: World) -> int:
    items = [i for i in scan_table(aws.refs["UsageTable"]) if i["contract_id"]["S"] == world.contract_id]
    return sum(int(i["objects_stored"]["N"]) for i in items)


@pytest.mark.isolated  # counts every frame index item
@pytest.mark.parametrize("mode", MODES)
def test_a_frame_under_any_single_fault_is_stored_once_and_its_retry_is_never_refused(aws, world, mode):
    image = jpeg(320, 240)
    captured_at = utcnow() - timedelta(seconds=30)

    def send(device_frame_id: str) -> dict[str, Any]:
        return post(frame_event(world, image, captured_at=captured_at, frame_id=device_frame_id))

    def check(device_frame_id: str, plan: Plan, outcome: Any) -> None:
        # Then the device was not refused its own request: a 201, or an error it may retry
        first = answered(outcome)
        assert first is None or first == 201 or first >= 500, (plan, outcome)
        # When it retries after anything but a 2xx
        if first not in OK:
            retried = send(device_frame_id)
            if in_progress(retried):
                # only a request that died holds the claim: the device waits out the stale window
                assert plan.mode == "crash", (plan, retried["body"])
                age_claim(aws, world, device_frame_id, timedelta(minutes=3))
                retried = send(device_frame_id)
            assert retried["statusCode"] in OK, (plan, retried["body"])
        # Then the frame is stored once, and charged once
        assert len(indexed(aws, world, device_frame_id)) == 1, plan
        assert objects_charged(aws, world) == len(scan_table(aws.refs["FramesTable"])), plan

    # Given a frame of the device's camera, under a new frame id each time (the claim's PutItem, resent or
    # unanswered in defect 5, always among the calls broken)
    sweep(mode, lambda: f"panel-{secrets.token_hex(6)}", send, check, keep=(Call("dynamodb", "PutItem"),))


@pytest.mark.parametrize("mode", MODES)
def test_a_device_event_under_any_single_fault_is_stored_once_and_answered_as_new(aws, world, mode):
    occurred_at = (utcnow() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")

    def send(event_id: str) -> dict[str, Any]:
        event = {"camera_id": world.camera_id, "occurred_at": occurred_at, "text": "Alarm", "event_id": event_id}
        return post_event(world, event)

    def check(event_id: str, plan: Plan, outcome: Any) -> None:
        # Then the request that stored the event answered 201 (a 200 says "you sent this before"), or an error
        first = answered(outcome)
        assert first is None or first == 201 or first >= 500, (plan, outcome)
        # When the device retries after anything but a 2xx, Then it gets the event
        if first not in OK:
            retried = send(event_id)
            assert retried["statusCode"] in OK, (plan, retried["body"])
        # and the event is stored once
        notes = [n for n in scan_table(aws.refs["NotesTable"]) if n.get("event_id", {}).get("S") == event_id]
        assert len(notes) == 1, plan

    # Given an event of the device, under a new event id each time
    sweep(mode, lambda: f"evt-{secrets.token_hex(6)}", send, check)


@pytest.mark.parametrize("mode", MODES)
def test_a_customer_note_under_any_single_fault_is_never_refused_and_never_unaudited(aws, world, mode):
    token = owner_token(world)

    def send(text: str) -> dict[str, Any]:
        return post_note(token, world.camera_id, {"text": text})

    def check(text: str, plan: Plan, outcome: Any) -> None:
        # Then the customer was not refused their own request: a 201, or an error they may retry
        first = answered(outcome)
        assert first is None or first == 201 or first >= 500, (plan, outcome)
        if first != 201:
            assert send(text)["statusCode"] == 201, plan
        # and every note stored has its "note.created" entry, once (a note has no idempotency key: a retry after a
        # lost answer is a second note, audited as one)
        notes = {n["note_id"]["S"] for n in stored_notes(world.contract_id) if n["text"]["S"] == text}
        entries = [e.subject for e in audit_entries(world.contract_id, "note.created") if e.subject in notes]
        assert notes, plan
        assert sorted(entries) == sorted(notes), (plan, notes, entries)

    # Given a note of the owner's, with a new text each time
    sweep(mode, lambda: f"Delivery at the back door ({secrets.token_hex(4)})", send, check)
