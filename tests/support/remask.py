"""Re-mask jobs: started through the API, their queue messages, and a Lambda context that runs out of time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from doti.store.models import FrameModel
from functions.ingest import app as ingest
from infra.drawing import draw_frame, encode_jpeg, encode_png
from infra.provision import Provisioned
from tests.support import LambdaContext, World, admin_call, body_of, frame_event, sample_event

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


SLICE_MS = 60_000  # each slice starts with a minute left and spends 10 s per look at the clock: a few frames each


class RunningDownContext(LambdaContext):
    """A Lambda context whose remaining time drops by `step_ms` every time it is asked."""

    def __init__(self, start_ms: float = SLICE_MS, step_ms: float = 10_000):
        super().__init__(start_ms)
        self._step = step_ms

    def get_remaining_time_in_millis(self) -> float:
        remaining, self._remaining = self._remaining, self._remaining - self._step
        return remaining


def post(world: World, second: int, content_type: str = "image/jpeg") -> dict[str, Any]:
    img = draw_frame(960, 540, f"Entrance {second}", START + timedelta(seconds=second))
    body = encode_png(img) if content_type == "image/png" else encode_jpeg(img)
    event = frame_event(world, body, content_type=content_type, captured_at=START + timedelta(seconds=second))
    response = ingest.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def start(world: World, key: str | None = None, camera_id: str | None = None) -> dict[str, Any]:
    return admin_call(
        "POST",
        f"/v1/admin/cameras/{camera_id or world.camera_id}/remask",
        key or world.staff_key,
        {"reason": "privacy complaint from the neighbour, ticket 4711"},
    )


def job_status(world: World, job_id: str) -> dict[str, Any]:
    response = admin_call("GET", f"/v1/admin/remask-jobs/{job_id}", world.staff_key)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def queued(aws: Provisioned) -> list[str]:
    """The bodies of the messages waiting in the re-mask queue (received and deleted, as Lambda's poller does)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = aws.refs["RemaskQueue"]
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def sqs_event(body: str) -> dict[str, Any]:
    event = sample_event("remask/slice.json")
    event["Records"][0]["body"] = body
    return event


def index_item(world: World, frame_id: str) -> FrameModel:
    return FrameModel.get(world.camera_id, frame_id, consistent_read=True)
