"""A device's large upload and the processor run over the incoming queue, as Lambda would run it."""

from __future__ import annotations

import json
from typing import Any

import boto3

from functions.processor import app as processor
from functions.viewer import app as viewer
from infra.queues import sqs_event
from tests.support import LambdaContext, World, body_of, customer_event, scan_table
from tests.support.uploads import grant
from tests.support.viewer import login

REGION = "us-east-1"


def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def upload(aws, world: World, data: bytes, content_type: str, **request: Any) -> str:
    """Grant an upload and store the file as S3 stores an accepted POST; returns the incoming/ key.

    The grant's POST itself cannot be sent here: it is a multipart form POST to the bucket's URL, made with an HTTP
    client that the in-process moto (hooked into botocore) never sees, and moto does not enforce POST policies anyway
    (STACK-NOTES; test_uploads asserts the policy). So the object is put exactly as S3 keeps it after accepting the
    POST: at the granted key, with the pinned content type and x-amz-meta-* fields as its metadata.
    """
    response = grant(world, content_type=content_type, size=len(data), **request)
    assert response["statusCode"] == 201, response["body"]
    fields = body_of(response)["fields"]
    metadata = {
        name.removeprefix("x-amz-meta-"): value for name, value in fields.items() if name.startswith("x-amz-meta-")
    }
    s3().put_object(
        Bucket=aws.refs["FramesBucket"],
        Key=fields["key"],
        Body=data,
        ContentType=fields["Content-Type"],
        Metadata=metadata,
    )
    return fields["key"]


def receive(aws) -> list[dict[str, Any]]:
    """Every message waiting in IncomingQueue (hidden for a while, as the event source mapping's receive does)."""
    messages: list[dict[str, Any]] = []
    request = {"QueueUrl": aws.refs["IncomingQueue"], "MaxNumberOfMessages": 10, "VisibilityTimeout": 60}
    while batch := sqs().receive_message(**request, MessageSystemAttributeNames=["All"]).get("Messages"):
        messages.extend(batch)
    return messages


def run(aws, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The processor on the SQS event the event source mapping would send for these messages."""
    event = sqs_event(messages, aws.arns["IncomingQueue"], REGION)
    return processor.lambda_handler(event, LambdaContext())


def frame_items(aws) -> list[dict[str, Any]]:
    return scan_table(aws.refs["FramesTable"])


def customer_frame(world: World, frame_id: str) -> dict[str, Any]:
    response = viewer.lambda_handler(
        customer_event(
            "viewer/list_frames.json",
            login(world.login_id, world.password),
            path=f"/v1/cameras/{world.camera_id}/frames/{frame_id}",
            resource="/v1/cameras/{camera_id}/frames/{frame_id}",
            path_parameters={"camera_id": world.camera_id, "frame_id": frame_id},
            query={},
        ),
        LambdaContext(),
    )
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def counted_codes(printed: str, metric: str) -> list[str | None]:
    """The `code` dimension (None without one) of every count of `metric` in the EMF records printed."""
    found: list[str | None] = []
    for line in printed.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        record = json.loads(line)
        for definition in record["_aws"]["CloudWatchMetrics"]:
            if any(m["Name"] == metric for m in definition["Metrics"]):
                dimensions = {name for names in definition["Dimensions"] for name in names}
                found += [record["code"] if "code" in dimensions else None] * len(record[metric])
    return found
