"""The events queue as the webhooks function will read it, and a queue that refuses every event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import EndpointConnectionError

from infra.provision import Provisioned
from tests.support.hooks import botocore_hook


def told_all(aws: Provisioned) -> list[dict[str, Any]]:
    """Every event waiting on the events queue, in the queue's form (received and deleted, as Lambda's poller does)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = aws.refs["EventsQueue"]
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def told(aws: Provisioned, contract_id: str) -> list[dict[str, Any]]:
    """The events waiting about `contract_id` (another tenant's are taken off the queue too, and never returned)."""
    return [event for event in told_all(aws) if event["contract_id"] == contract_id]


@contextmanager
def events_queue_down() -> Iterator[list[str]]:
    """Every SendMessageBatch fails before it reaches SQS (no connection), as an outage does; yields the events
    queue calls refused. Nothing else is touched."""
    refused: list[str] = []

    def refuse(params: dict[str, Any], **_: Any) -> None:
        refused.append(params.get("QueueUrl", ""))
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    with botocore_hook("before-call.sqs.SendMessageBatch", refuse, "events-queue-down"):
        yield refused


def unpublished_counted(stdout: str) -> float:
    """The EventsUnpublished metric the handler flushed (EMF lines on stdout, as CloudWatch reads them)."""
    total = 0.0
    for line in stdout.splitlines():
        if line.startswith("{") and '"EventsUnpublished"' in line:
            value = json.loads(line)["EventsUnpublished"]
            total += sum(value) if isinstance(value, list) else value
    return total
