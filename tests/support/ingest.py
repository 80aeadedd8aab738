"""Frames posted by a device through the ingest handler, what ingest stores, and AWS calls failed on purpose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from functions.ingest import app as ingest
from infra.provision import Provisioned
from tests.support import (
    LambdaContext,
    World,
    now,
)
from tests.support.images import jpeg  # noqa: F401 - re-exported: tests/device/test_claim_faults.py imports it from here
from tests.support.viewer import listed_ids, owner_token

QUOTA = 20_000  # a small world's monthly quota: room for one 320x240 frame (a still stores no thumbnail), not two


def post(event: dict[str, Any]) -> dict[str, Any]:
    return ingest.lambda_handler(event, LambdaContext())


@dataclass(frozen=True)
class Stored:
    objects: dict[str, bytes]
    items: list[dict[str, Any]]

    @property
    def keys(self) -> list[str]:
        return sorted(self.objects)


def stored(aws: Provisioned) -> Stored:
    """Every object under frames/ and thumbs/ and every frame index item."""
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = aws.refs["FramesBucket"]
    objects: dict[str, bytes] = {}
    for prefix in ("frames/", "thumbs/"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                objects[entry["Key"]] = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    items = [
        item for page in ddb.get_paginator("scan").paginate(TableName=aws.refs["FramesTable"]) for item in page["Items"]
    ]
    return Stored(objects, items)


def object_tags(aws: Provisioned, key: str) -> dict[str, str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    tags = s3.get_object_tagging(Bucket=aws.refs["FramesBucket"], Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def customer_frame_ids(world: World) -> list[str]:
    """The frame ids the contract's owner sees for its camera, through the viewer."""
    return listed_ids(owner_token(world), world.camera_id)


@dataclass
class Fault:
    service: str
    operation: str
    matches: Callable[[dict[str, Any]], bool]
    times: int
    error: dict[str, Any] = field(
        default_factory=lambda: {
            "Error": {"Code": "InternalError", "Message": "injected by the test"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        }
    )


@dataclass
class Hook:
    service: str
    operation: str
    matches: Callable[[dict[str, Any]], bool]
    run: Callable[[], None]


@dataclass
class AwsFaults:
    faults: list[Fault] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    lagging_tables: set[str] = field(default_factory=set)

    def fail(self, service: str, operation: str, matches: Callable[[dict[str, Any]], bool] = lambda _: True) -> None:
        """Make the next matching call fail as AWS would with a 500."""
        self.faults.append(Fault(service, operation, matches, times=1))

    def cancel_transaction(self, reasons: list[str], times: int = 1) -> None:
        """Make the next `times` TransactWriteItems calls be cancelled as DynamoDB does, one reason code per item
        ("None" for an item that was fine), e.g. ["None", "TransactionConflict", "None"]."""
        error = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled (injected)"},
            "CancellationReasons": [{"Code": code} for code in reasons],
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        self.faults.append(Fault("dynamodb", "TransactWriteItems", lambda _: True, times=times, error=error))

    def lag(self, table: str) -> None:
        """Make eventually consistent GetItem reads of `table` miss every item, as DynamoDB's may just after a write;
        strongly consistent reads are answered as usual."""
        self.lagging_tables.add(table)

    def stale_read(self, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        lagging = operation == "GetItem" and params.get("TableName") in self.lagging_tables
        return {"ResponseMetadata": {"HTTPStatusCode": 200}} if lagging and not params.get("ConsistentRead") else None

    def before(
        self,
        service: str,
        operation: str,
        hook: Callable[[], None],
        matches: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> None:
        """Run `hook` once, just before the next matching call of `operation`."""
        self.hooks.append(Hook(service, operation, matches, hook))

    def intercept(self, service: str, operation: str, params: dict[str, Any]) -> None:
        for fault in self.faults:
            if fault.times and (fault.service, fault.operation) == (service, operation) and fault.matches(params):
                fault.times -= 1
                raise ClientError(fault.error, operation)
        for hook in [h for h in self.hooks if (h.service, h.operation) == (service, operation) and h.matches(params)]:
            self.hooks.remove(hook)
            hook.run()


@pytest.fixture
def aws_faults(monkeypatch: pytest.MonkeyPatch) -> AwsFaults:
    faults = AwsFaults()
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        faults.intercept(client.meta.service_model.service_name, operation, params)
        return faults.stale_read(operation, params) or original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return faults


def is_original(params: dict[str, Any]) -> bool:
    return params["Key"].startswith("frames/")


def is_table(aws: Provisioned, table: str) -> Callable[[dict[str, Any]], bool]:
    return lambda params: params.get("TableName") == aws.refs[table]


def age_claim(aws: Provisioned, world: World, device_frame_id: str, by: timedelta) -> None:
    """Date the claim back, as if the request holding it had stopped `by` ago (a crashed Lambda cannot say so)."""
    when = (now() - by).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")  # PynamoDB's UTCDateTimeAttribute format
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=aws.refs["IdempotencyTable"],
        Key={"id": {"S": f"{world.device_id}#{device_frame_id}"}},
        UpdateExpression="SET claimed_at = :when",
        ExpressionAttributeValues={":when": {"S": when}},
    )


def set_attribute(aws: Provisioned, table: str, key: dict[str, str], name: str, value: str) -> None:
    """Change one registry attribute in place: the staff routes for state changes do not exist yet."""
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=aws.refs[table],
        Key={attr: {"S": val} for attr, val in key.items()},
        UpdateExpression="SET #name = :value",
        ExpressionAttributeNames={"#name": name},
        ExpressionAttributeValues={":value": {"S": value}},
    )
