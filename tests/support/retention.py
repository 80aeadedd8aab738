"""Frames ingested at given times and the retention job run over them, with what it leaves stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import boto3

from doti import runtime
from doti.clock import format_rfc3339
from doti.jobs.retention import RetentionReport, run_retention
from functions.ingest import app as ingest
from infra.provision import Provisioned
from tests.support import LambdaContext, World, body_of, frame_event, now, sample_event
from tests.support.images import jpeg
from tests.support.notes import added, recorded, stored_notes
from tests.support.viewer import owner_token

PLENTY_MS = 900_000.0


def ingested(world: World, captured_at: datetime) -> dict[str, Any]:
    """A frame posted by the world's device through the ingest handler."""
    response = ingest.lambda_handler(
        frame_event(world, jpeg(480, 270, label=world.camera_id), captured_at=captured_at), LambdaContext()
    )
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def scheduled_event() -> dict[str, Any]:
    return sample_event("retention/scheduled.json")


def run(at: datetime, remaining_ms: Callable[[], float] = lambda: PLENTY_MS, **options: Any) -> RetentionReport:
    return run_retention(storage=runtime.storage(), now=at, remaining_ms=remaining_ms, **options)


def object_sizes(aws: Provisioned) -> dict[str, int]:
    """Size of every object under frames/ and thumbs/, by key."""
    s3 = boto3.client("s3", region_name="us-east-1")
    sizes: dict[str, int] = {}
    for prefix in ("frames/", "thumbs/"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=aws.refs["FramesBucket"], Prefix=prefix):
            sizes.update({entry["Key"]: entry["Size"] for entry in page.get("Contents", [])})
    return sizes


def indexed_frame_ids(aws: Provisioned) -> set[str]:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    pages = ddb.get_paginator("scan").paginate(TableName=aws.refs["FramesTable"])
    return {item["frame_id"]["S"] for page in pages for item in page["Items"]}


def stored_frame_ids(aws: Provisioned) -> set[str]:
    """Frames that still have an index item or any object."""
    from_objects = {key.rsplit("/", 1)[-1].split(".")[0] for key in object_sizes(aws)}
    return indexed_frame_ids(aws) | from_objects


def bytes_of(aws: Provisioned, frames: list[dict[str, Any]]) -> int:
    ids = {frame["frame_id"] for frame in frames}
    return sum(size for key, size in object_sizes(aws).items() if key.rsplit("/", 1)[-1].split(".")[0] in ids)


def ids_of(*frames: dict[str, Any]) -> set[str]:
    return {frame["frame_id"] for frame in frames}


def keys_of(aws: Provisioned, frame: dict[str, Any]) -> list[str]:
    return [key for key in object_sizes(aws) if key.rsplit("/", 1)[-1].startswith(frame["frame_id"])]


def calls_about(calls: list[tuple[str, dict[str, Any]]], world: World) -> Counter[str]:
    """The operations whose parameters name the world's contract, camera or site (its events' key range)."""
    names = (world.contract_id, world.camera_id, world.site_id)
    return Counter(op for op, params in calls if any(name in str(params) for name in names))


def expiring_notes(world: World, count: int) -> tuple[list[str], str]:
    """`count` notes on the world's camera, oldest first, and an event of its site (naming no camera), all 6½ days
    old: the note ids, and the event's."""
    token, at = owner_token(world), now() - timedelta(days=6, hours=12)
    notes = [added(token, world.camera_id, f"note {n}", at - timedelta(seconds=n)) for n in reversed(range(count))]
    event = recorded(world, {"occurred_at": format_rfc3339(at), "text": "site event"})
    return [note["note_id"] for note in notes], event["note_id"]


def note_ids(world: World) -> set[str]:
    return {item["note_id"]["S"] for item in stored_notes(world.contract_id)}
