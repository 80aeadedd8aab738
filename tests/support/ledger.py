"""Expected deletion receipts (GET /v1/deletions), per source: retention and takedown, and the totals they add to."""

from __future__ import annotations

import copy
from typing import Any

import boto3

from functions.exporter import app as exporter
from functions.viewer import app as viewer
from infra.provision import Provisioned
from tests.support import LambdaContext, body_of, customer_event, sample_event


def counts(frames: int = 0, notes: int = 0, bytes_: int = 0) -> dict[str, int]:
    return {"frames": frames, "notes": notes, "bytes": bytes_}


def receipt(
    day: str, *, retention: dict[str, int] | None = None, takedown: dict[str, int] | None = None
) -> dict[str, Any]:
    """A day's receipt as the API gives it: the totals are the sum of the two sources."""
    split = {"retention": retention or counts(), "takedown": takedown or counts()}
    totals = {name: split["retention"][name] + split["takedown"][name] for name in ("frames", "notes", "bytes")}
    return {"day": day, **totals, "by_source": split}


def retained(day: str, *, frames: int = 0, notes: int = 0, bytes_: int = 0) -> dict[str, Any]:
    """A day on which only the retention job deleted."""
    return receipt(day, retention=counts(frames, notes, bytes_))


def taken_down(day: str, *, frames: int = 0, notes: int = 0, bytes_: int = 0) -> dict[str, Any]:
    """A day on which only takedowns deleted."""
    return receipt(day, takedown=counts(frames, notes, bytes_))


# the contract's exports (GET /v1/exports)


def list_exports(token: str, **query: str) -> dict[str, Any]:
    """GET /v1/exports through the viewer handler."""
    event = customer_event("viewer/list_cameras.json", token, path="/v1/exports", resource="/v1/exports", query=query)
    return viewer.lambda_handler(event, LambdaContext())


def listed_exports(token: str, **query: str) -> dict[str, Any]:
    response = list_exports(token, **query)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def build_queued_exports(aws: Provisioned) -> dict[str, Any]:
    """Drain the export queue into one SQS event for the exporter handler, as the event source would, and run it."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = aws.refs["ExportQueue"]
    sample = sample_event("exporter/export_requested.json")
    records = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            record = copy.deepcopy(sample["Records"][0])
            record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=message["Body"])
            records.append(record)
    assert records, "nothing was queued"
    return exporter.lambda_handler({"Records": records}, LambdaContext(900_000))
