"""The event envelope (doti.webhooks.events): ids from the fact, the payload receivers get, the queue's form."""

from __future__ import annotations

from datetime import UTC, datetime

from doti.webhooks.events import EVENT_TYPES, MAIL_EVENT_TYPES, WEBHOOK_TEST, event_id, from_message, new_event

AT = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def test_the_same_fact_gives_the_same_id_and_another_fact_another() -> None:
    one = new_event("frame.activity", "frame-1", time=AT, contract_id="ctr_a")
    again = new_event("frame.activity", "frame-1", time=AT.replace(second=9), contract_id="ctr_a")
    other_frame = new_event("frame.activity", "frame-2", time=AT, contract_id="ctr_a")
    other_type = new_event("camera.offline", "frame-1", time=AT, contract_id="ctr_a")
    other_contract = new_event("frame.activity", "frame-1", time=AT, contract_id="ctr_b")

    assert one.event_id == again.event_id
    assert len({one.event_id, other_frame.event_id, other_type.event_id, other_contract.event_id}) == 4
    assert one.event_id.startswith("evt_")
    assert len(one.event_id) == 36


def test_the_parts_of_a_fact_cannot_run_into_each_other() -> None:
    assert event_id("a", "bc") != event_id("ab", "c")


def test_a_payload_is_the_envelope_with_its_data_and_never_the_frame_key() -> None:
    event = new_event(
        "frame.activity",
        "frame-1",
        time=AT,
        contract_id="ctr_a",
        site_id="sit_a",
        camera_id="cam_a",
        data={"activity_score": 0.5},
        frame_id="frame-1",
    )

    assert event.payload() == {
        "type": "frame.activity",
        "id": event.event_id,
        "time": "2026-03-04T05:06:07.890Z",
        "contract_id": "ctr_a",
        "site_id": "sit_a",
        "camera_id": "cam_a",
        "data": {"activity_score": 0.5},
    }
    assert event.payload({"thumbnail_url": "https://x"})["data"] == {
        "activity_score": 0.5,
        "thumbnail_url": "https://x",
    }


def test_an_event_goes_through_the_queue_unchanged() -> None:
    event = new_event("device.event", "note-1", time=AT, contract_id="ctr_a", data={"text": "Alarm"}, frame_id="f1")

    assert from_message(event.to_message()) == event


def test_the_types_an_endpoint_may_subscribe_to_and_those_mailed() -> None:
    assert EVENT_TYPES == (
        "camera.offline",
        "camera.online",
        "device.event",
        "frame.activity",
        "export.ready",
        "notice.published",
        "share.viewed",
    )
    assert WEBHOOK_TEST not in EVENT_TYPES
    assert set(MAIL_EVENT_TYPES) == {"camera.offline", "device.event"}
