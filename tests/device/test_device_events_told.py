"""A device's event text is told as a `device.event` (issue 16 §2) once it is stored, and a queue that refuses the
event does not fail the device's request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from doti.clock import format_rfc3339
from doti.webhooks.events import event_id
from doti.webhooks.producers import DEVICE_TEXT_CAP
from infra.provision import Provisioned
from tests.support import World, body_of, now
from tests.support.events import events_queue_down, told, unpublished_counted
from tests.support.notes import post_event, recorded, stored_notes


def test_a_stored_device_event_is_told_once_with_its_ids_and_text(aws: Provisioned, world: World) -> None:
    # Given a device event about one camera
    at = now() - timedelta(minutes=2)
    payload = {"camera_id": world.camera_id, "occurred_at": format_rfc3339(at), "text": "扉3 強制開放 / door 3 forced"}

    # When the device sends it
    note = recorded(world, {**payload, "event_id": "alarm-0001"})

    # Then exactly one event is queued, naming the contract, site, camera, device and note, with the text
    (event,) = told(aws, world.contract_id)
    assert event == {
        "type": "device.event",
        "id": event_id("device.event", world.contract_id, note["note_id"]),
        "time": format_rfc3339(at),
        "contract_id": world.contract_id,
        "site_id": world.site_id,
        "camera_id": world.camera_id,
        "data": {
            "device_id": world.device_id,
            "note_id": note["note_id"],
            "device_event_id": "alarm-0001",
            "text": payload["text"],
            "text_truncated": False,
        },
    }


def test_a_replay_is_told_again_under_the_same_id_and_long_text_is_capped(aws: Provisioned, world: World) -> None:
    # Given a site-wide event (no camera) whose text is longer than an event carries
    payload = {"occurred_at": format_rfc3339(now() - timedelta(minutes=1)), "text": "x" * 1500, "event_id": "e-2"}
    first = recorded(world, payload)
    (told_first,) = told(aws, world.contract_id)

    # When the device sends it again (its retry)
    again = post_event(world, payload)

    # Then the same note, and the same event again (the id of the fact), so a lost event is made up for
    assert again["statusCode"] == 200, again["body"]
    assert body_of(again)["note_id"] == first["note_id"]
    assert told(aws, world.contract_id) == [told_first]
    assert told_first["camera_id"] is None
    assert told_first["data"]["text"] == "x" * DEVICE_TEXT_CAP
    assert told_first["data"]["text_truncated"] is True


def test_an_event_the_queue_refuses_does_not_fail_the_device(
    aws: Provisioned, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the events queue is unreachable
    payload = {"camera_id": world.camera_id, "occurred_at": format_rfc3339(now()), "text": "motion"}

    # When the device sends its event
    with events_queue_down() as refused:
        response = post_event(world, payload)

    # Then the event text is stored and the device gets its 201; the event was tried and is lost
    assert response["statusCode"] == 201, response["body"]
    assert refused
    assert [n["note_id"]["S"] for n in stored_notes(world.contract_id)] == [body_of(response)["note_id"]]
    assert told(aws, world.contract_id) == []
    # and the loss is counted, for an alarm
    assert unpublished_counted(capsys.readouterr().out) == 1
