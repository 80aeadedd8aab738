"""Facts of the customer API told as events (issue 16 §2): `export.ready` when the exporter finishes an export, and
`share.viewed` when a share link is opened; each once its fact is stored, and never failing it when the events
queue refuses the event."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from doti.clock import format_rfc3339
from doti.webhooks.events import event_id
from functions.exporter import app as exporter
from infra.provision import Provisioned
from tests.support import LambdaContext, World, body_of, sample_event
from tests.support.events import events_queue_down, told
from tests.support.exports import get_export, requested
from tests.support.shares import GROUND, created, open_page, opened
from tests.support.viewer import ingest_frame, owner_token

# Isolated (moto emptied before each test): the export queue is drained whole.
pytestmark = pytest.mark.isolated


def run_exporter(aws: Provisioned) -> dict[str, Any]:
    """The exporter on every message the export queue holds, as its SQS event source delivers them."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = aws.refs["ExportQueue"]
    records = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            record = copy.deepcopy(sample_event("exporter/export_requested.json")["Records"][0])
            record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=message["Body"])
            records.append(record)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert records, "nothing was queued"
    return exporter.lambda_handler({"Records": records}, LambdaContext())


def exported(aws: Provisioned, world: World, start: datetime) -> tuple[str, str]:
    """Two frames in a window, and its export requested by the owner: (owner's token, export id)."""
    for minute in (1, 2):
        ingest_frame(world, start + timedelta(minutes=minute))
    token = owner_token(world)
    return token, requested(token, world.camera_id, start, start + timedelta(minutes=5))


# export.ready


def test_a_finished_export_is_told_once_without_a_download_link(aws: Provisioned, world: World, base_time) -> None:
    # Given an export requested by the owner
    token, export_id = exported(aws, world, base_time)

    # When the exporter builds it
    assert run_exporter(aws) == {"batchItemFailures": []}

    # Then exactly one export.ready is queued: its ids, window, frame count and size; no link to the ZIP
    export = body_of(get_export(token, export_id))
    assert export["status"] == "ready"
    (event,) = told(aws, world.contract_id)
    assert event == {
        "type": "export.ready",
        "id": event_id("export.ready", world.contract_id, export_id),
        "time": event["time"],
        "contract_id": world.contract_id,
        "site_id": world.site_id,
        "camera_id": world.camera_id,
        "data": {
            "export_id": export_id,
            "camera_id": world.camera_id,
            "from": format_rfc3339(base_time),
            "to": format_rfc3339(base_time + timedelta(minutes=5)),
            "frames": 2,
            "size": export["size"],
        },
    }
    assert "http" not in str(event)


def test_an_export_whose_event_the_queue_refuses_is_ready_all_the_same(
    aws: Provisioned, world: World, base_time
) -> None:
    # Given an export requested, and the events queue unreachable
    token, export_id = exported(aws, world, base_time)

    # When the exporter builds it
    with events_queue_down() as refused:
        result = run_exporter(aws)

    # Then the message is done and the export ready: the event was tried and is lost
    assert result == {"batchItemFailures": []}
    assert refused
    assert body_of(get_export(token, export_id))["status"] == "ready"
    assert told(aws, world.contract_id) == []


# share.viewed


def test_an_opened_share_link_is_told_with_its_purpose_and_nothing_of_its_holder(
    aws: Provisioned, world: World
) -> None:
    # Given a link to one frame
    frame_id = ingest_frame(world)["frame_id"]
    share = created(owner_token(world), camera_id=world.camera_id, frame_id=frame_id, purpose=GROUND, expires_in=600)

    # When its holder opens it
    page = open_page(share["url"], headers={"X-Forwarded-For": "203.0.113.9", "User-Agent": "Holder/1.0"})

    # Then exactly one share.viewed is queued, naming the link, camera, frame and purpose; not the holder
    assert page["statusCode"] == 200, page["body"]
    (event,) = told(aws, world.contract_id)
    assert event["type"] == "share.viewed"
    assert event["id"].startswith("evt_")
    assert event["frame_id"] == frame_id  # the frame an endpoint with image links may be sent a thumbnail of
    assert (event["contract_id"], event["site_id"], event["camera_id"]) == (
        world.contract_id,
        world.site_id,
        world.camera_id,
    )
    assert event["data"] == {
        "share_id": share["share_id"],
        "camera_id": world.camera_id,
        "frame_id": frame_id,
        "from": None,
        "to": None,
        "purpose": GROUND,
        "one_time": False,
    }
    assert "203.0.113.9" not in str(event)
    assert "Holder" not in str(event)


def test_each_opening_is_its_own_event_and_an_interstitial_is_none(aws: Provisioned, world: World) -> None:
    # Given a one-time link and a reusable one
    frame_id = ingest_frame(world)["frame_id"]
    token = owner_token(world)
    once = created(token, camera_id=world.camera_id, frame_id=frame_id, purpose=GROUND, expires_in=600, one_time=True)
    reusable = created(token, camera_id=world.camera_id, frame_id=frame_id, purpose=GROUND, expires_in=600)

    # When the one-time link's interstitial is shown (a preview bot's GET), then its button pressed
    assert open_page(once["url"])["statusCode"] == 200
    assert told(aws, world.contract_id) == []
    assert opened(once["url"])["statusCode"] == 200
    # and the reusable link is opened twice
    open_page(reusable["url"])
    open_page(reusable["url"])

    # Then one event per view that showed footage, each with its own id
    events = told(aws, world.contract_id)
    assert [(e["type"], e["data"]["share_id"]) for e in events] == [
        ("share.viewed", once["share_id"]),
        ("share.viewed", reusable["share_id"]),
        ("share.viewed", reusable["share_id"]),
    ]
    assert len({e["id"] for e in events}) == 3


def test_a_share_view_whose_event_the_queue_refuses_still_shows_the_footage(aws: Provisioned, world: World) -> None:
    # Given a link, and the events queue unreachable
    frame_id = ingest_frame(world)["frame_id"]
    share = created(owner_token(world), camera_id=world.camera_id, frame_id=frame_id, purpose=GROUND, expires_in=600)

    # When its holder opens it
    with events_queue_down() as refused:
        page = open_page(share["url"])

    # Then the page shows the frame; the event was tried and is lost
    assert page["statusCode"] == 200, page["body"]
    assert "<img" in page["body"]
    assert refused
    assert told(aws, world.contract_id) == []
