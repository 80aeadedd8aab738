"""The timeline's slots under a single fault at any AWS call (doti.store.timeline): a frame is counted in its slot in
the transaction that indexes it, and uncounted in the one that deletes its index item on a takedown, so no fault
leaves a slot whose count, first frame or highest score disagrees with the frames indexed in it, whatever the
device or staff retry.

Each test learns a clean run's calls, breaks a sample of them in each mode (tests.faults.points), then retries as the
device does (the same frame, after anything but a 2xx; a died request's claim is waited out) or as staff do (the same
takedown, after anything but a 200).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest

from doti.clock import utcnow
from doti.store import timeline
from doti.store.models import FrameModel, TimelineSlotModel
from infra.provision import Provisioned
from tests.faults.inject import MODES, Call, Plan
from tests.faults.points import sweep
from tests.support import World, body_of, frame_event
from tests.support.ingest import age_claim, jpeg, post
from tests.support.takedown import take_down

OK = (200, 201)


def in_progress(response: dict[str, Any]) -> bool:
    return response["statusCode"] == 409 and body_of(response)["error"]["details"].get("in_progress") is True


def assert_slot_agrees_with_the_index(world: World, start, plan: Plan, *, takedowns: bool = False) -> None:
    """The slot's count, first frame and highest score are those of the frames indexed in it (after takedowns, the
    highest score may be a frame's taken down: doti.store.timeline keeps the highest seen)."""
    upper = timeline.slot_start(start) + timeline.SLOT
    frames = [
        item for item in FrameModel.query(world.camera_id, consistent_read=True) if start <= item.captured_at < upper
    ]
    try:
        slot = TimelineSlotModel.get(world.camera_id, timeline.slot_key(start), consistent_read=True)
    except TimelineSlotModel.DoesNotExist:
        slot = None
    counted = int(slot.frames) if slot else 0
    assert counted == len(frames), (plan, counted, len(frames))
    if frames:
        assert slot.first_frame_id == min(f.frame_id for f in frames), plan
        scores = [f.activity_score for f in frames if f.activity_score is not None]
        highest = max(scores) if scores else None
        if takedowns:
            assert highest is None or slot.max_activity >= highest, plan
        else:
            assert slot.max_activity == highest, plan


@pytest.mark.parametrize("mode", MODES)
def test_a_frame_under_any_single_fault_is_counted_once_in_its_slot(aws: Provisioned, world, mode):
    # Given frames of one 5-minute slot, each under a new frame id, sent in an order unrelated to their capture
    start = timeline.slot_start(utcnow() - timedelta(minutes=30))

    def a_frame() -> tuple[str, Any, int]:
        captured_at = start + timedelta(seconds=secrets.randbelow(299), milliseconds=7)
        return f"panel-{secrets.token_hex(6)}", captured_at, 90 + secrets.randbelow(4)

    def send(frame: tuple[str, Any, int]) -> dict[str, Any]:
        device_frame_id, captured_at, height = frame
        image = jpeg(160, height)  # images differ a little (activity scores differ); a retry sends the same one
        return post(frame_event(world, image, captured_at=captured_at, frame_id=device_frame_id))

    def check(frame: tuple[str, Any, int], plan: Plan, outcome: Any) -> None:
        # When the device retries after anything but a 2xx (a died request's claim once it is stale)
        if not (isinstance(outcome, dict) and outcome["statusCode"] in OK):
            retried = send(frame)
            if in_progress(retried):
                age_claim(aws, world, frame[0], timedelta(minutes=3))
                retried = send(frame)
            assert retried["statusCode"] in OK, (plan, retried["body"])
        # Then the slot counts every frame indexed in it once, with the smallest id and the highest score
        assert_slot_agrees_with_the_index(world, start, plan)

    # the indexing transaction, where the slot is written, always among the calls broken
    assert sweep(mode, a_frame, send, check, keep=(Call("dynamodb", "TransactWriteItems"),)) > 0


@pytest.mark.parametrize("mode", MODES)
def test_a_takedown_under_any_single_fault_uncounts_its_frame_once(
    aws: Provisioned, world, operator_key, mode, monkeypatch
):
    # Given frames of one slot, the earliest of which staff take down each time (the slot's first frame moves on)
    start = timeline.slot_start(utcnow() - timedelta(minutes=30))
    offset = iter(range(290, 0, -1))  # each new frame earlier than the last: it is the slot's first

    def a_frame() -> str:
        captured_at = start + timedelta(seconds=next(offset))
        response = post(frame_event(world, jpeg(160, 90), captured_at=captured_at))
        assert response["statusCode"] == 201, response["body"]
        return body_of(response)["frame_id"]

    def remove(frame_id: str) -> dict[str, Any]:
        body = {"camera_id": world.camera_id, "frame_id": frame_id, "ground": "art7-1-3", "reason": "neighbour"}
        return take_down(operator_key, world.contract_id, **body)

    def check(frame_id: str, plan: Plan, outcome: Any) -> None:
        # When staff repeat a takedown that did not answer 200 (a repeat of one that went through finds nothing)
        if not (isinstance(outcome, dict) and outcome["statusCode"] == 200):
            assert remove(frame_id)["statusCode"] in (200, 404), plan
        # Then the frame is gone from the index, and its slot agrees with the frames left
        gone = FrameModel.count(
            world.camera_id, range_key_condition=FrameModel.frame_id == frame_id, consistent_read=True
        )
        assert gone == 0, plan
        assert_slot_agrees_with_the_index(world, start, plan, takedowns=True)

    a_frame()  # one frame that stays
    # every write broken in turn (a takedown makes few): its audit entry's transaction and its own among them
    monkeypatch.setenv("DOTI_FAULT_SWEEP", "full")
    sweep(mode, a_frame, remove, check)
