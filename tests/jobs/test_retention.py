"""The retention job (SPEC §5, §9): frames come in through the ingest handler, then time moves on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from doti.retention import RetentionReport
from functions.retention import app as retention
from infra.provision import Provisioned
from tests.support import LambdaContext
from tests.support.retention import (
    PLENTY_MS,
    bytes_of,
    ids_of,
    indexed_frame_ids,
    ingested,
    now,
    object_sizes,
    run,
    scheduled_event,
    stored_frame_ids,
)

# Isolated (moto emptied before each test): the retention job walks every contract.
pytestmark = pytest.mark.isolated


# what is stored


def countdown(*values: float) -> Callable[[], float]:
    """A remaining-time clock that returns `values` in turn, then the last one forever."""
    readings: Iterator[float] = iter(values)
    last = [values[-1]]

    def remaining() -> float:
        last[0] = next(readings, last[0])
        return last[0]

    return remaining


# the job


def test_frames_past_their_contracts_retention_are_deleted_and_the_rest_kept(aws, world_factory):
    # Given a 7-day contract with frames 6 days, 1 day and 1 hour old, and a 31-day contract with a 6-day-old frame
    week, month = world_factory(retention_days=7), world_factory(retention_days=31)
    start = now()
    oldest = ingested(week, start - timedelta(days=6))
    younger = [ingested(week, start - timedelta(days=1)), ingested(week, start - timedelta(hours=1))]
    other_tenant = ingested(month, start - timedelta(days=6))
    freed = bytes_of(aws, [oldest])

    # When the job runs two days later
    report = run(start + timedelta(days=2))

    # Then only the frame past 7 days is gone, objects and index item alike, and the report says what it freed
    assert stored_frame_ids(aws) == ids_of(*younger, other_tenant)
    assert indexed_frame_ids(aws) == ids_of(*younger, other_tenant)
    assert report == RetentionReport(contracts=2, cameras=2, frames_deleted=1, bytes_freed=freed)


def test_a_7_day_contract_is_empty_8_days_later_and_a_rerun_changes_nothing(aws, world_factory):
    # Given recent frames of a 7-day contract and of a 31-day contract
    week, month = world_factory(retention_days=7), world_factory(retention_days=31)
    start = now()
    expiring = [ingested(week, start - timedelta(minutes=m)) for m in (1, 30, 90)]
    kept = [ingested(month, start - timedelta(minutes=m)) for m in (1, 30)]
    freed = bytes_of(aws, expiring)
    objects_before = object_sizes(aws)

    # When the job runs 8 days later
    first = run(start + timedelta(days=8))

    # Then the 7-day contract's frames are gone and the other contract's objects are untouched
    assert first.frames_deleted == 3
    assert first.bytes_freed == freed
    assert stored_frame_ids(aws) == ids_of(*kept)
    remaining = object_sizes(aws)
    assert remaining == {key: size for key, size in objects_before.items() if key in remaining}
    assert len(remaining) == 2 * len(kept)

    # When it runs again / Then nothing more happens
    second = run(start + timedelta(days=8))
    assert (second.frames_deleted, second.bytes_freed, second.stopped_early) == (0, 0, False)
    assert object_sizes(aws) == remaining
    assert stored_frame_ids(aws) == ids_of(*kept)


def test_job_stops_before_the_timeout_and_the_next_run_finishes(aws, world_factory):
    # Given three expired frames, deleted one per batch
    week = world_factory(retention_days=7)
    start = now()
    frames = [ingested(week, start - timedelta(minutes=m)) for m in (1, 2, 3)]
    later = start + timedelta(days=8)

    # When the first run has time for one batch only
    first = run(later, countdown(PLENTY_MS, 1_000.0), batch=1)

    # Then it stops early, having deleted one frame completely
    assert first.stopped_early is True
    assert first.frames_deleted == 1
    assert len(stored_frame_ids(aws)) == 2
    assert stored_frame_ids(aws) < ids_of(*frames)

    # When the next run has time / Then it finishes the work
    second = run(later, batch=1)
    assert second.stopped_early is False
    assert second.frames_deleted == 2
    assert stored_frame_ids(aws) == set()


def test_job_with_no_time_left_does_nothing_and_says_so(aws, world_factory):
    week = world_factory(retention_days=7)
    frame = ingested(week, now() - timedelta(minutes=1))

    report = run(now() + timedelta(days=8), lambda: 1_000.0)

    assert report.stopped_early is True
    assert report.frames_deleted == 0
    assert stored_frame_ids(aws) == ids_of(frame)


# how it talks to AWS


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """Every AWS call as (service, operation, parameters), recorded at botocore's client layer."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        calls.append((client.meta.service_model.service_name, operation, params))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return calls


def test_deletes_in_batches_with_key_range_queries_and_never_scans_frames(aws, world_factory, aws_calls):
    # Given 30 expired frames on one camera
    week = world_factory(retention_days=7)
    start = now()
    for second in range(30):
        ingested(week, start - timedelta(seconds=second))
    aws_calls.clear()

    # When the job runs
    report = run(start + timedelta(days=8))

    # Then it queried the camera's key range, deleted items 25 at most per batch and objects 1000 at most per call
    assert report.frames_deleted == 30
    frames_table = aws.refs["FramesTable"]
    on_frames = [(op, params) for service, op, params in aws_calls if params.get("TableName") == frames_table]
    assert [op for op, _ in on_frames if op == "Scan"] == []
    queries = [params for op, params in on_frames if op == "Query"]
    assert queries
    assert all("KeyConditionExpression" in params for params in queries)
    item_batches = [len(params["RequestItems"][frames_table]) for _, op, params in aws_calls if op == "BatchWriteItem"]
    assert sum(item_batches) == 30
    assert max(item_batches) <= 25
    object_batches = [len(params["Delete"]["Objects"]) for _, op, params in aws_calls if op == "DeleteObjects"]
    assert sum(object_batches) == 60
    assert max(object_batches) <= 1000
    assert object_sizes(aws) == {}


# the scheduled handler


def shorten_retention(aws: Provisioned, contract_id: str, days: int) -> None:
    """What a staff plan change will do; the admin route for it does not exist yet."""
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=aws.refs["ContractsTable"],
        Key={"contract_id": {"S": contract_id}},
        UpdateExpression="SET retention_days = :days",
        ExpressionAttributeValues={":days": {"N": str(days)}},
    )


def test_scheduled_run_applies_a_shortened_retention(aws, world_factory):
    # Given a 7-day contract with frames 3 days and 1 hour old, shortened to 1 day, and another 7-day contract
    shortened, untouched = world_factory(retention_days=7), world_factory(retention_days=7)
    old = ingested(shortened, now() - timedelta(days=3))
    recent = ingested(shortened, now() - timedelta(hours=1))
    other = ingested(untouched, now() - timedelta(days=3))
    freed = bytes_of(aws, [old])
    shorten_retention(aws, shortened.contract_id, 1)

    # When the hourly schedule fires
    result = retention.lambda_handler(scheduled_event(), LambdaContext())

    # Then the frame past the new retention is gone and the report is returned
    assert result == asdict(RetentionReport(contracts=2, cameras=2, frames_deleted=1, bytes_freed=freed))
    assert stored_frame_ids(aws) == ids_of(recent, other)


def test_scheduled_run_near_its_timeout_leaves_the_work_to_the_next_run(aws, world_factory):
    # Given an expired frame (retention shortened to 1 day)
    world = world_factory(retention_days=7)
    old = ingested(world, now() - timedelta(days=3))
    shorten_retention(aws, world.contract_id, 1)

    # When the schedule fires with 5 seconds left before the Lambda timeout
    hurried = retention.lambda_handler(scheduled_event(), LambdaContext(remaining_ms=5_000))

    # Then it stops without deleting anything
    assert hurried["stopped_early"] is True
    assert hurried["frames_deleted"] == 0
    assert stored_frame_ids(aws) == ids_of(old)

    # When the next run has its full time / Then the frame is deleted
    finished = retention.lambda_handler(scheduled_event(), LambdaContext())
    assert (finished["stopped_early"], finished["frames_deleted"]) == (False, 1)
    assert stored_frame_ids(aws) == set()
